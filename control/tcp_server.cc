#include "control/tcp_server.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/clock.h"
#include "control/tcp_syn_filter.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

constexpr size_t kMaxFrame = 65535;
// Stream bytes read per connection per Poll(), so one busy peer cannot starve
// the others; level-triggered epoll brings us back for the rest.
constexpr size_t kReadBudget = 64 * 1024;
constexpr int kMaxEvents = 128;
constexpr int kAcceptBatch = 64;
// Listener tokens have bit 32 set; connection tokens are the conn id itself.
constexpr uint64_t kListenerTag = uint64_t{1} << 32;
// Buffers above this are freed once empty, so idle connections stay small.
constexpr size_t kKeepInputCapacity = 2048;
constexpr size_t kKeepOutputCapacity = 64 * 1024;

// Closes with a reset instead of a FIN: for connections we refuse or drop
// unheard, so that a flood of them leaves no TIME_WAIT or FIN exchange behind.
void CloseWithReset(int fd) {
  const linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  close(fd);
}

bool IsTransientAcceptError(int err) {
  // Errors of the connection being accepted, not of the listener (accept(2)).
  switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
    case EPERM:  // firewall rules
      return true;
    default:
      return false;
  }
}

}  // namespace

struct TcpServer::Connection {
  uint32_t id = 0;
  int fd = -1;
  SocketAddress peer;
  SourceKey source = 0;
  uint64_t accepted_ms = 0;
  uint64_t last_frame_ms = 0;
  bool authenticated = false;
  // The partial frame being reassembled (length prefix included); empty at a
  // frame boundary.
  std::vector<uint8_t> in;
  // Pending output: bytes [out_off, out.size()) are not yet written.
  std::string out;
  size_t out_off = 0;
  bool want_write = false;
  bool closed = false;
};

TcpServer::TcpServer(const TcpServerOptions& options, FrameHandler on_frame, CloseHandler on_close)
    : options_(options), on_frame_(std::move(on_frame)), on_close_(std::move(on_close)) {}

TcpServer::~TcpServer() {
  for (auto& [id, c] : connections_) {
    if (c->fd >= 0) close(c->fd);
  }
  connections_.clear();
  graveyard_.clear();
  for (int fd : listen_fds_) close(fd);
  if (reserve_fd_ >= 0) close(reserve_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

absl::StatusOr<std::unique_ptr<TcpServer>> TcpServer::Create(const TcpServerOptions& options,
                                                             FrameHandler on_frame,
                                                             CloseHandler on_close) {
  if (!on_frame) return absl::InvalidArgumentError("TcpServer needs a FrameHandler");
  std::unique_ptr<TcpServer> server(
      new TcpServer(options, std::move(on_frame), std::move(on_close)));
  absl::Status status = server->Init();
  if (!status.ok()) return status;
  return server;
}

absl::Status TcpServer::Init() {
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::ErrnoToStatus(errno, "epoll_create1");
  reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
  scratch_.resize(kReadBudget);
  for (const SocketAddress& addr : options_.listeners) {
    if (addr.family() != AF_INET && addr.family() != AF_INET6) {
      return absl::InvalidArgumentError("TCP listener address is unset");
    }
    absl::Status status = AddListener(addr, !ListensDualStack(addr, options_.listeners));
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::Status TcpServer::AddListener(const SocketAddress& addr, bool v6only) {
  int fd = socket(addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("TCP socket for %s", addr.ToString()));
  }
  listen_fds_.push_back(fd);  // closed by the destructor on any failure below
  int one = 1;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
    return absl::ErrnoToStatus(errno, "SO_REUSEADDR");
  }
  if (addr.is_v6() && addr.IsWildcard()) {
    // Explicit either way: the default follows net.ipv6.bindv6only.
    int value = v6only ? 1 : 0;
    if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &value, sizeof(value)) != 0) {
      return absl::ErrnoToStatus(errno, "IPV6_V6ONLY");
    }
  }
  sockaddr_storage ss;
  socklen_t len = addr.ToSockaddr(&ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("TCP bind %s", addr.ToString()));
  }
  if (listen(fd, SOMAXCONN) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("TCP listen %s", addr.ToString()));
  }
  sockaddr_storage bound_ss;
  socklen_t bound_len = sizeof(bound_ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&bound_ss), &bound_len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  absl::StatusOr<SocketAddress> bound =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&bound_ss), bound_len,
                                  /*unmap_v4=*/false);
  if (!bound.ok()) return bound.status();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kListenerTag | (listen_fds_.size() - 1);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::ErrnoToStatus(errno, "epoll_ctl(listener)");
  }
  bound_.push_back(*bound);
  LOG(INFO) << "TCP listening on " << bound->ToString()
            << (addr.is_v6() && addr.IsWildcard() ? (v6only ? " (IPv6 only)" : " (dual stack)")
                                                  : "");
  return absl::OkStatus();
}

void TcpServer::Poll() {
  epoll_event events[kMaxEvents];
  int n = epoll_wait(epoll_fd_, events, kMaxEvents, 0);
  if (n < 0) {
    if (errno != EINTR) PLOG(ERROR) << "TCP epoll_wait";
    return;
  }
  bool was_in_poll = in_poll_;
  in_poll_ = true;
  for (int i = 0; i < n; ++i) {
    uint64_t token = events[i].data.u64;
    if (token & kListenerTag) {
      HandleAccept(static_cast<size_t>(token & 0xffffffffu));
      continue;
    }
    // Looked up by id: an earlier event of this batch may have closed it.
    Connection* c = Find(static_cast<uint32_t>(token));
    if (c == nullptr) continue;
    uint32_t ev = events[i].events;
    if (ev & EPOLLOUT) HandleWrite(c);
    if (c->closed) continue;  // still alive: in graveyard_ until this Poll ends
    if (ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) HandleRead(c);
  }
  in_poll_ = was_in_poll;
  if (!in_poll_) {
    graveyard_.clear();
    UpdateSynFilter();
  }
}

void TcpServer::NoteSourceCount(SourceKey source) {
  const size_t cap = options_.max_connections_per_source;
  if (cap == 0) return;
  const bool at_limit = !per_source_.Below(source, cap);
  const bool changed =
      at_limit ? sources_at_limit_.insert(source).second : sources_at_limit_.erase(source) > 0;
  syn_filter_stale_ |= changed;
}

void TcpServer::UpdateSynFilter() {
  if (!syn_filter_stale_ || syn_filter_broken_) return;
  syn_filter_stale_ = false;
  std::vector<SourceKey> blocked(sources_at_limit_.begin(), sources_at_limit_.end());
  std::sort(blocked.begin(), blocked.end());
  const std::vector<sock_filter> program = BuildSynFilter(blocked);
  for (int fd : listen_fds_) {
    if (absl::Status s = AttachSynFilter(fd, program); !s.ok()) {
      LOG(ERROR) << "TCP listeners: " << s.message()
                 << "; connection attempts over MAX_TCP_CONNECTIONS_PER_SOURCE are now refused "
                    "after accept (costlier under a connection flood)";
      syn_filter_broken_ = true;
      return;
    }
  }
  ++counters_.syn_filter_updates;
}

void TcpServer::HandleAccept(size_t listener_index) {
  if (listener_index >= listen_fds_.size()) return;
  int lfd = listen_fds_[listener_index];
  for (int i = 0; i < kAcceptBatch; ++i) {
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fd = accept4(lfd, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK) return;
      if (IsTransientAcceptError(err)) continue;
      if ((err == EMFILE || err == ENFILE) && reserve_fd_ >= 0) {
        // Out of descriptors: drop the waiting connection with the reserve
        // fd, or the listener stays readable and we spin.
        close(reserve_fd_);
        int victim = accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        if (victim >= 0) {
          close(victim);
          ++counters_.rejected_over_limit;
        }
        reserve_fd_ = open("/dev/null", O_RDONLY | O_CLOEXEC);
        LOG_EVERY_N(WARNING, 1000) << "TCP accept: out of file descriptors, dropping connections";
        continue;
      }
      LOG_EVERY_N(ERROR, 1000) << "TCP accept: " << strerror(err);
      return;
    }
    absl::StatusOr<SocketAddress> peer =
        SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&ss), len);
    if (!peer.ok() || !MakeRoomFor(SourceKeyOf(*peer))) {
      CloseWithReset(fd);
      continue;
    }
    Register(fd, ss, len);
  }
}

bool TcpServer::MakeRoomFor(SourceKey source) {
  if (!per_source_.Below(source, options_.max_connections_per_source)) {
    ++counters_.rejected_per_source;
    return false;
  }
  if (options_.max_connections == 0 || connections_.size() < options_.max_connections) return true;
  Connection* victim = OldestUnauthenticated();
  if (victim == nullptr) {
    ++counters_.rejected_over_limit;
    return false;
  }
  CloseConnection(victim, CloseReason::kEvicted);
  return true;
}

TcpServer::Connection* TcpServer::OldestUnauthenticated() {
  while (!unauthenticated_.empty()) {
    Connection* c = Find(unauthenticated_.front());
    if (c != nullptr && !c->authenticated) return c;
    unauthenticated_.pop_front();
  }
  return nullptr;
}

void TcpServer::MarkAuthenticated(uint32_t conn_id) {
  if (Connection* c = Find(conn_id)) c->authenticated = true;
}

size_t TcpServer::ExpireUnauthenticated(uint64_t now_ms) {
  size_t closed = 0;
  if (options_.auth_timeout_ms != 0) {
    while (Connection* c = OldestUnauthenticated()) {
      if (now_ms < c->accepted_ms + options_.auth_timeout_ms) break;
      unauthenticated_.pop_front();
      CloseConnection(c, CloseReason::kUnauthenticated);
      ++closed;
    }
  }
  // Entries of connections gone or authenticated behind a live head: keep
  // the queue proportional to the open connections.
  if (unauthenticated_.size() > 2 * connections_.size() + 64) {
    std::erase_if(unauthenticated_, [this](uint32_t id) {
      const Connection* c = Find(id);
      return c == nullptr || c->authenticated;
    });
  }
  UpdateSynFilter();
  return closed;
}

void TcpServer::Register(int fd, const sockaddr_storage& ss, socklen_t ss_len) {
  int one = 1;
  // Frames are small request/response messages: no Nagle delay.
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  uint32_t id = next_id_;
  // Ids count up and are never reused; after 2^32 - 1 connections skip 0 and
  // any id still open.
  while (id == 0 || connections_.contains(id)) ++id;
  next_id_ = id + 1;

  auto c = std::make_unique<Connection>();
  c->id = id;
  c->fd = fd;
  absl::StatusOr<SocketAddress> peer =
      SocketAddress::FromSockaddr(reinterpret_cast<const sockaddr*>(&ss), ss_len);
  if (peer.ok()) c->peer = *peer;
  c->source = SourceKeyOf(c->peer);
  c->accepted_ms = c->last_frame_ms = MonotonicMillis();

  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP;
  ev.data.u64 = id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    PLOG(ERROR) << "TCP epoll_ctl(add)";
    close(fd);
    ++counters_.rejected_over_limit;
    return;
  }
  ++counters_.accepted;
  VLOG(1) << "TCP connection " << id << " from " << c->peer.ToString();
  per_source_.Add(c->source);
  NoteSourceCount(c->source);
  unauthenticated_.push_back(id);
  connections_.emplace(id, std::move(c));
}

void TcpServer::HandleRead(Connection* c) {
  size_t budget = kReadBudget;
  while (budget > 0) {
    size_t want = std::min(budget, scratch_.size());
    ssize_t n = recv(c->fd, scratch_.data(), want, 0);
    if (n > 0) {
      counters_.bytes_in += static_cast<uint64_t>(n);
      budget -= static_cast<size_t>(n);
      if (!Consume(c, scratch_.data(), static_cast<size_t>(n))) return;
      // A short read drained the socket; level-triggered epoll reports
      // anything (data or EOF) that arrives later.
      if (static_cast<size_t>(n) < want) return;
      continue;
    }
    if (n == 0) {
      CloseConnection(c, CloseReason::kPeer);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    CloseConnection(c, CloseReason::kPeer);  // ECONNRESET, ETIMEDOUT, ...
    return;
  }
}

bool TcpServer::Consume(Connection* c, uint8_t* data, size_t len) {
  while (len > 0) {
    if (!c->in.empty()) {
      // Continue the frame begun in an earlier read.
      if (c->in.size() < 2) {
        c->in.push_back(*data++);
        --len;
        if (c->in.size() < 2) continue;
        size_t frame_len = LoadBe16(c->in.data());
        if (frame_len == 0) {
          CloseConnection(c, CloseReason::kMalformed);
          return false;
        }
        c->in.reserve(2 + frame_len);
        continue;
      }
      size_t frame_len = LoadBe16(c->in.data());
      size_t need = 2 + frame_len - c->in.size();
      size_t take = std::min(need, len);
      c->in.insert(c->in.end(), data, data + take);
      data += take;
      len -= take;
      if (take < need) return true;
      if (!Deliver(c, c->in.data() + 2, frame_len)) return false;
      if (c->in.capacity() > kKeepInputCapacity) {
        std::vector<uint8_t>().swap(c->in);
      } else {
        c->in.clear();
      }
      continue;
    }
    if (len < 2) {
      c->in.assign(data, data + len);
      return true;
    }
    size_t frame_len = LoadBe16(data);
    if (frame_len == 0) {
      CloseConnection(c, CloseReason::kMalformed);
      return false;
    }
    if (len < 2 + frame_len) {
      c->in.reserve(2 + frame_len);
      c->in.assign(data, data + len);
      return true;
    }
    if (!Deliver(c, data + 2, frame_len)) return false;
    data += 2 + frame_len;
    len -= 2 + frame_len;
  }
  return true;
}

bool TcpServer::Deliver(Connection* c, uint8_t* msg, size_t len) {
  ++counters_.frames_in;
  c->last_frame_ms = MonotonicMillis();
  bool keep = on_frame_(c->id, msg, len);
  if (c->closed) return false;  // the handler closed it (Close() or a failed Send())
  if (!keep) {
    CloseConnection(c, CloseReason::kMalformed);
    return false;
  }
  return true;
}

bool TcpServer::Send(uint32_t conn_id, const uint8_t* msg, size_t len) {
  if (len == 0 || len > kMaxFrame) return false;
  Connection* c = Find(conn_id);
  if (c == nullptr) return false;
  uint8_t header[2];
  StoreBe16(header, static_cast<uint16_t>(len));
  size_t total = 2 + len;
  size_t pending = c->out.size() - c->out_off;
  size_t written = 0;
  if (pending == 0) {
    // Nothing queued: hand the frame to the kernel right away, no copy.
    iovec iov[2] = {{header, 2}, {const_cast<uint8_t*>(msg), len}};
    msghdr mh{};
    mh.msg_iov = iov;
    mh.msg_iovlen = 2;
    for (;;) {
      ssize_t n = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n >= 0) {
        written = static_cast<size_t>(n);
        break;
      }
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      CloseConnection(c, CloseReason::kPeer);  // EPIPE, ECONNRESET, ...
      return false;
    }
    counters_.bytes_out += written;
  }
  size_t rest = total - written;
  if (rest > 0) {
    if (pending + rest > options_.max_output_bytes) {
      CloseConnection(c, CloseReason::kSlowReader);
      return false;
    }
    if (c->out_off > 0 && c->out_off >= c->out.size() / 2) {
      c->out.erase(0, c->out_off);
      c->out_off = 0;
    }
    if (written < 2) {
      c->out.append(reinterpret_cast<const char*>(header) + written, 2 - written);
      c->out.append(reinterpret_cast<const char*>(msg), len);
    } else {
      c->out.append(reinterpret_cast<const char*>(msg) + (written - 2), len - (written - 2));
    }
    if (!c->want_write && !SetWantWrite(c, true)) return false;
  }
  ++counters_.frames_out;
  return true;
}

void TcpServer::HandleWrite(Connection* c) {
  while (c->out_off < c->out.size()) {
    ssize_t n = send(c->fd, c->out.data() + c->out_off, c->out.size() - c->out_off,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c->out_off += static_cast<size_t>(n);
      counters_.bytes_out += static_cast<uint64_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    CloseConnection(c, CloseReason::kPeer);
    return;
  }
  if (c->out.capacity() > kKeepOutputCapacity) {
    std::string().swap(c->out);
  } else {
    c->out.clear();
  }
  c->out_off = 0;
  if (c->want_write) SetWantWrite(c, false);
}

bool TcpServer::SetWantWrite(Connection* c, bool want) {
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
  ev.data.u64 = c->id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    PLOG(ERROR) << "TCP epoll_ctl(mod)";
    CloseConnection(c, CloseReason::kPeer);
    return false;
  }
  c->want_write = want;
  return true;
}

void TcpServer::CloseConnection(Connection* c, CloseReason reason) {
  if (c->closed) return;
  c->closed = true;
  switch (reason) {
    case CloseReason::kPeer:
      ++counters_.closed_by_peer;
      break;
    case CloseReason::kMalformed:
      ++counters_.closed_malformed;
      break;
    case CloseReason::kIdle:
      ++counters_.closed_idle;
      break;
    case CloseReason::kSlowReader:
      ++counters_.closed_slow_reader;
      break;
    case CloseReason::kServer:
      ++counters_.closed_by_server;
      break;
    case CloseReason::kEvicted:
      ++counters_.evicted_unauthenticated;
      break;
    case CloseReason::kUnauthenticated:
      ++counters_.closed_unauthenticated;
      break;
  }
  per_source_.Remove(c->source);
  NoteSourceCount(c->source);
  // Explicit DEL: close() alone leaves it registered if the file is shared
  // (e.g. inherited by a forked child).
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  if (reason == CloseReason::kEvicted || reason == CloseReason::kUnauthenticated) {
    CloseWithReset(c->fd);
  } else {
    close(c->fd);
  }
  c->fd = -1;
  uint32_t id = c->id;
  auto it = connections_.find(id);
  std::unique_ptr<Connection> owned;
  if (it != connections_.end()) {
    owned = std::move(it->second);
    connections_.erase(it);
  }
  // Within Poll() the caller still holds `c` (and maybe a frame inside it).
  if (in_poll_ && owned) graveyard_.push_back(std::move(owned));
  VLOG(1) << "TCP connection " << id << " closed (" << static_cast<int>(reason) << ")";
  if (on_close_) on_close_(id);
}

void TcpServer::Close(uint32_t conn_id) {
  Connection* c = Find(conn_id);
  if (c != nullptr) CloseConnection(c, CloseReason::kServer);
}

size_t TcpServer::CloseIdle(uint64_t now_ms, uint64_t idle_ms) {
  std::vector<uint32_t> idle;
  for (const auto& [id, c] : connections_) {
    if (now_ms >= c->last_frame_ms && now_ms - c->last_frame_ms >= idle_ms) idle.push_back(id);
  }
  size_t closed = 0;
  for (uint32_t id : idle) {
    // A CloseHandler may have closed it already.
    Connection* c = Find(id);
    if (c == nullptr) continue;
    CloseConnection(c, CloseReason::kIdle);
    ++closed;
  }
  UpdateSynFilter();
  return closed;
}

std::optional<SocketAddress> TcpServer::peer_address(uint32_t conn_id) const {
  Connection* c = Find(conn_id);
  if (c == nullptr) return std::nullopt;
  return c->peer;
}

TcpServer::Connection* TcpServer::Find(uint32_t conn_id) const {
  auto it = connections_.find(conn_id);
  return it == connections_.end() ? nullptr : it->second.get();
}

}  // namespace drasyl
