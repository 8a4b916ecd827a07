#include "bench/loadgen/attack_nodes.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "absl/strings/str_format.h"
#include "bench/loadgen/packet_io.h"
#include "common/clock.h"
#include "common/wire.h"

namespace drasyl::loadgen {
namespace {

constexpr uint64_t kWatchedTag = uint64_t{1} << 32;
constexpr size_t kMaxFrame = 4096;
constexpr size_t kMaxPending = 256;  // a node that gets no answers forgets the oldest

// Binds fd to local and connects it to remote (a non-blocking TCP connect
// may still be in progress); closes it on failure.
absl::StatusOr<int> BindAndConnect(int fd, const SocketAddress& local, const SocketAddress& remote) {
  sockaddr_storage ss;
  socklen_t len = local.ToSockaddr(&ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    const int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrFormat("bind %s: %s", local.ToString(), strerror(e)));
  }
  len = remote.ToSockaddr(&ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    const int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrFormat("connect %s: %s", remote.ToString(), strerror(e)));
  }
  return fd;
}

}  // namespace

absl::StatusOr<int> OpenUdp(const SocketAddress& local, const SocketAddress& remote,
                            int buffer_bytes) {
  int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ResourceExhaustedError(absl::StrFormat("socket: %s", strerror(errno)));
  for (int opt : {SO_RCVBUFFORCE, SO_SNDBUFFORCE}) {
    if (setsockopt(fd, SOL_SOCKET, opt, &buffer_bytes, sizeof(buffer_bytes)) != 0) {
      setsockopt(fd, SOL_SOCKET, opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF, &buffer_bytes,
                 sizeof(buffer_bytes));
    }
  }
  return BindAndConnect(fd, local, remote);
}

absl::StatusOr<int> StartTcpConnect(const SocketAddress& local, const SocketAddress& remote) {
  int fd = ::socket(local.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ResourceExhaustedError(absl::StrFormat("socket: %s", strerror(errno)));
  int one = 1;
  // The port is picked at connect time, per destination: one source address
  // can then hold far more connections than ephemeral ports bound up front.
  setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return BindAndConnect(fd, local, remote);
}

AttackNodes::AttackNodes(const SocketAddress& sp_udp, std::optional<SocketAddress> sp_tcp,
                         const PublicKey& sp_pk, int32_t network_id, bool arm,
                         const std::vector<Identity>* ids, const std::vector<SessionKeys>* keys)
    : sp_udp_(sp_udp), sp_tcp_(sp_tcp), sp_pk_(sp_pk), network_id_(network_id), arm_(arm),
      ids_(ids), keys_(keys), epoll_fd_(epoll_create1(EPOLL_CLOEXEC)) {}

AttackNodes::~AttackNodes() {
  for (AttackNode& n : nodes_) {
    if (n.fd >= 0) ::close(n.fd);
  }
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

absl::StatusOr<size_t> AttackNodes::Add(uint32_t id, const SocketAddress& local, bool tcp) {
  if (tcp && !sp_tcp_) return absl::InvalidArgumentError("the super peer has no TCP port");
  AttackNode n;
  n.id = id;
  n.tcp = tcp;
  n.local = local;
  nodes_.push_back(std::move(n));
  const size_t i = nodes_.size() - 1;
  if (!tcp) {
    absl::StatusOr<int> fd = OpenUdp(local, sp_udp_, 1 << 20);
    if (!fd.ok()) return fd.status();
    nodes_[i].fd = *fd;
    sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    getsockname(*fd, reinterpret_cast<sockaddr*>(&ss), &len);
    absl::StatusOr<SocketAddress> bound =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    if (bound.ok()) nodes_[i].local = *bound;
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, *fd, &ev);
  }
  return i;
}

absl::Status AttackNodes::Watch(int fd) {
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = kWatchedTag | static_cast<uint32_t>(fd);
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) != 0) {
    return absl::InternalError(absl::StrFormat("epoll_ctl: %s", strerror(errno)));
  }
  watched_.push_back(fd);
  return absl::OkStatus();
}

void AttackNodes::Connect(size_t i, uint64_t now_ns) {
  AttackNode& n = nodes_[i];
  absl::StatusOr<int> fd = StartTcpConnect(n.local, *sp_tcp_);
  if (!fd.ok()) return;  // tried again at the next HELLO
  n.fd = *fd;
  n.connected = false;
  n.rx.clear();
  ++n.reconnects;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.u64 = i;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, n.fd, &ev);
  (void)now_ns;
}

void AttackNodes::Close(size_t i) {
  AttackNode& n = nodes_[i];
  if (n.fd < 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, n.fd, nullptr);
  ::close(n.fd);
  n.fd = -1;
  n.connected = false;
  n.rx.clear();
}

bool AttackNodes::SendBytes(size_t i, const uint8_t* data, size_t len) {
  AttackNode& n = nodes_[i];
  if (n.fd < 0) return false;
  if (!n.tcp) return ::send(n.fd, data, len, MSG_DONTWAIT) == static_cast<ssize_t>(len);
  if (!n.connected) return false;
  uint8_t frame[2 + kMaxFrame];
  if (len > kMaxFrame) return false;
  frame[0] = static_cast<uint8_t>(len >> 8);
  frame[1] = static_cast<uint8_t>(len);
  std::memcpy(frame + 2, data, len);
  // A short write of a small frame means the connection is stuck: drop it.
  const ssize_t w = ::send(n.fd, frame, len + 2, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (w == static_cast<ssize_t>(len + 2)) return true;
  if (w > 0 || (w < 0 && errno != EAGAIN)) Close(i);
  return false;
}

std::string AttackNodes::SendHello(size_t i, uint64_t now_ns) {
  AttackNode& n = nodes_[i];
  if (n.start_ns == 0) n.start_ns = now_ns;
  if (n.tcp && n.fd < 0) Connect(i, now_ns);
  if (n.tcp && !n.connected) return {};  // sent once connected
  wire::HeaderFields h;
  h.network_id = network_id_;
  h.recipient = sp_pk_;
  h.sender = (*ids_)[n.id].public_key;
  h.pow = (*ids_)[n.id].pow;
  h.type = wire::MessageType::kHello;
  wire::HelloBody hello;
  hello.time = std::max(UnixMicros(), n.last_time_us + 1);
  n.last_time_us = hello.time;
  hello.child_time = 1;
  if (!n.local.IsWildcard()) hello.endpoints.push_back(wire::Endpoint::From(n.local));
  uint8_t body[wire::kMaxHelloBodyBytes];
  const size_t body_len = wire::WriteHelloBody(hello, body);
  uint8_t random[wire::kArmRandomBytes];
  rng_.Fill(random, sizeof(random));
  uint8_t msg[wire::kHeaderBytes + wire::kArmOverhead + wire::kMaxHelloBodyBytes];
  const size_t len = wire::BuildMessage(h, body, body_len, arm_ ? &(*keys_)[n.id].tx : nullptr,
                                        random, msg, sizeof(msg));
  ++n.hellos;
  if (n.pending.size() >= kMaxPending) n.pending.erase(n.pending.begin());
  n.pending.emplace_back(hello.time, now_ns);
  SendBytes(i, msg, len);
  return std::string(reinterpret_cast<const char*>(msg), len);
}

void AttackNodes::SendRaw(size_t i, const std::string& bytes) {
  SendBytes(i, reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size());
}

void AttackNodes::Open(size_t i) {
  if (nodes_[i].tcp && nodes_[i].fd < 0) Connect(i, MonoNs());
}

void AttackNodes::SendApp(size_t from, size_t to) {
  const AttackNode& a = nodes_[from];
  wire::HeaderFields h;
  h.network_id = network_id_;
  h.recipient = (*ids_)[nodes_[to].id].public_key;
  h.sender = (*ids_)[a.id].public_key;
  h.pow = (*ids_)[a.id].pow;
  h.type = wire::MessageType::kApp;
  uint8_t body[32] = {'a', 't', 't', 'a', 'c', 'k'};
  uint8_t random[wire::kArmRandomBytes];
  rng_.Fill(random, sizeof(random));
  uint8_t msg[wire::kHeaderBytes + wire::kArmOverhead + sizeof(body)];
  // Armed like a real node's APP (with its super-peer key: the relay does
  // not look inside).
  const size_t len = wire::BuildMessage(h, body, sizeof(body), arm_ ? &(*keys_)[a.id].tx : nullptr,
                                        random, msg, sizeof(msg));
  SendBytes(from, msg, len);
}

void AttackNodes::HandleMessage(size_t i, uint8_t* data, size_t len, uint64_t now_ns,
                                std::vector<uint64_t>* rtt_sink) {
  AttackNode& n = nodes_[i];
  wire::Header hdr;
  if (wire::ParseHeader(data, len, &hdr) != wire::Error::kOk) return;
  const uint8_t type = data[wire::off::kType];
  if (type == static_cast<uint8_t>(wire::MessageType::kApp)) {
    ++n.apps;
    return;
  }
  if (type != static_cast<uint8_t>(wire::MessageType::kAck)) return;
  if (std::memcmp(data + wire::off::kSender, sp_pk_.data(), kPublicKeyBytes) != 0) return;
  uint8_t* body = data + wire::kHeaderBytes;
  size_t body_len = len - wire::kHeaderBytes;
  if (arm_ && wire::Disarm(data, len, (*keys_)[n.id].rx, &body, &body_len) != wire::Error::kOk) {
    ++acks_bad;
    return;
  }
  wire::AckBody ack;
  if (wire::ParseAckBody(body, body_len, &ack) != wire::Error::kOk) {
    ++acks_bad;
    return;
  }
  ++n.acks;
  if (n.acked_ns == 0) {
    n.acked_ns = now_ns;
    if (n.stop_when_acked) n.interval_ns = 0;
  }
  for (size_t p = 0; p < n.pending.size(); ++p) {
    if (n.pending[p].first != ack.time) continue;
    if (rtt_sink != nullptr && n.measure_rtt) rtt_sink->push_back(now_ns - n.pending[p].second);
    n.pending.erase(n.pending.begin() + static_cast<ptrdiff_t>(p));
    break;
  }
}

void AttackNodes::ReadUdp(size_t i, std::vector<uint64_t>* rtt_sink) {
  uint8_t buf[kMaxFrame];
  for (int round = 0; round < 64; ++round) {
    const ssize_t r = ::recv(nodes_[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r <= 0) return;
    HandleMessage(i, buf, static_cast<size_t>(r), MonoNs(), rtt_sink);
  }
}

void AttackNodes::ReadTcp(size_t i, std::vector<uint64_t>* rtt_sink) {
  AttackNode& n = nodes_[i];
  uint8_t buf[8192];
  for (;;) {
    const ssize_t r = ::recv(n.fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
      ++n.closed_by_peer;
      Close(i);
      return;
    }
    if (r < 0) return;
    n.rx.insert(n.rx.end(), buf, buf + r);
    const uint64_t now = MonoNs();
    size_t pos = 0;
    while (n.rx.size() - pos >= 2) {
      const size_t flen = (size_t{n.rx[pos]} << 8) | n.rx[pos + 1];
      if (n.rx.size() - pos - 2 < flen) break;
      HandleMessage(i, n.rx.data() + pos + 2, flen, now, rtt_sink);
      pos += 2 + flen;
    }
    n.rx.erase(n.rx.begin(), n.rx.begin() + static_cast<ptrdiff_t>(pos));
  }
}

void AttackNodes::ReadWatched(int fd) {
  uint8_t buf[kMaxFrame];
  for (int round = 0; round < 256; ++round) {
    const ssize_t r = ::recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (r <= 0) return;
    const uint8_t type = buf[wire::off::kType];
    if (r >= static_cast<ssize_t>(wire::kHeaderBytes) && LoadBe32(buf) == wire::kMagic && type < 4) {
      ++watched_by_type[type];
    } else {
      ++watched_other;
    }
  }
}

void AttackNodes::Poll(int timeout_ms, std::vector<uint64_t>* rtt_sink) {
  uint64_t now = MonoNs();
  for (size_t i = 0; i < nodes_.size(); ++i) {
    AttackNode& n = nodes_[i];
    if (n.interval_ns == 0 || n.next_hello_ns == 0 || now < n.next_hello_ns) continue;
    n.next_hello_ns += n.interval_ns;
    if (n.next_hello_ns < now) n.next_hello_ns = now + n.interval_ns;  // we fell behind
    SendHello(i, now);
  }
  epoll_event events[128];
  const int got = epoll_wait(epoll_fd_, events, 128, timeout_ms);
  for (int e = 0; e < got; ++e) {
    const uint64_t tag = events[e].data.u64;
    if (tag & kWatchedTag) {
      ReadWatched(static_cast<int>(tag & 0xffffffffu));
      continue;
    }
    const size_t i = static_cast<size_t>(tag);
    AttackNode& n = nodes_[i];
    if (n.fd < 0) continue;
    if (!n.tcp) {
      ReadUdp(i, rtt_sink);
      continue;
    }
    if (!n.connected && (events[e].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
      int err = 0;
      socklen_t len = sizeof(err);
      getsockopt(n.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0 || (events[e].events & (EPOLLERR | EPOLLHUP))) {
        Close(i);  // refused or reset: tried again at the next HELLO
        continue;
      }
      n.connected = true;
      epoll_event ev{};
      ev.events = EPOLLIN | EPOLLRDHUP;
      ev.data.u64 = i;
      epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, n.fd, &ev);
      // The HELLO that was due when the connection was opened.
      if (n.interval_ns != 0) SendHello(i, MonoNs());
    }
    if (n.fd >= 0 && (events[e].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
      ReadTcp(i, rtt_sink);
    }
  }
}

void AttackNodes::PollUntil(uint64_t deadline_ns, std::vector<uint64_t>* rtt_sink) {
  for (uint64_t now = MonoNs(); now < deadline_ns; now = MonoNs()) {
    Poll(static_cast<int>(std::min<uint64_t>(5, (deadline_ns - now) / 1000000 + 1)), rtt_sink);
  }
}

std::optional<double> QuantileMs(std::vector<uint64_t> samples_ns, double q) {
  if (samples_ns.empty()) return std::nullopt;
  std::sort(samples_ns.begin(), samples_ns.end());
  // Nearest rank: the smallest sample with at least q of them at or below it.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(samples_ns.size())));
  rank = std::clamp<size_t>(rank, 1, samples_ns.size()) - 1;
  const uint64_t v = samples_ns[rank];
  if (v == UINT64_MAX) return std::nullopt;
  return v / 1e6;
}

}  // namespace drasyl::loadgen
