// Kernel-socket backend of the load generator: K UDP sockets on distinct
// loopback addresses (ephemeral ports), sendmmsg per burst from one socket,
// epoll + recvmmsg over all sockets, SO_TIMESTAMPNS receive stamps.
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/loadgen/packet_io.h"
#include "common/byte_order.h"
#include "common/ip_prefix.h"

namespace drasyl::loadgen {
namespace {

constexpr int kMaxRx = 1024;
constexpr int kMaxTx = 256;
constexpr size_t kCmsgBytes = 64;

class SocketIo : public PacketIo {
 public:
  ~SocketIo() override {
    for (int fd : fds_) ::close(fd);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
  }

  const char* name() const override { return "socket"; }
  size_t num_ports() const override { return fds_.size(); }
  SocketAddress local_address(size_t port) const override { return locals_[port]; }
  uint64_t tx_errors() const override { return tx_errors_.load(std::memory_order_relaxed); }

  int Send(size_t port, const TxPacket* pkts, int n) override {
    n = std::min(n, kMaxTx);
    for (int i = 0; i < n; ++i) {
      tx_iov_[i] = {const_cast<uint8_t*>(pkts[i].data), pkts[i].len};
      msghdr& h = tx_mm_[i].msg_hdr;
      h.msg_iov = &tx_iov_[i];
      h.msg_iovlen = 1;
      h.msg_name = connected_ ? nullptr : &sp_;
      h.msg_namelen = connected_ ? 0 : sp_len_;
      h.msg_control = nullptr;
      h.msg_controllen = 0;
      h.msg_flags = 0;
    }
    int sent = 0;
    while (sent < n) {
      int r = ::sendmmsg(fds_[port], tx_mm_.data() + sent, n - sent, 0);
      if (r > 0) {
        sent += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) break;
      ++sent;  // an error that concerns the first message only: skip it
      tx_errors_.store(tx_errors() + 1, std::memory_order_relaxed);
    }
    if (sent < n) tx_errors_.store(tx_errors() + (n - sent), std::memory_order_relaxed);
    return sent;
  }

  int Receive(RxPacket* out, int max, int timeout_ms) override {
    max = std::min(max, kMaxRx);
    if (ready_pos_ >= ready_n_) {
      ready_n_ = ::epoll_wait(epoll_fd_, events_.data(), static_cast<int>(events_.size()),
                              timeout_ms);
      ready_pos_ = 0;
      if (ready_n_ <= 0) {
        ready_n_ = 0;
        return 0;
      }
    }
    int got = 0;
    while (ready_pos_ < ready_n_ && got < max) {
      const uint32_t port = events_[ready_pos_].data.u32;
      const int want = std::min(64, max - got);
      for (int i = 0; i < want; ++i) {
        const int slot = got + i;
        rx_iov_[slot] = {bufs_.data() + static_cast<size_t>(slot) * snap_, snap_};
        msghdr& h = rx_mm_[slot].msg_hdr;
        h.msg_iov = &rx_iov_[slot];
        h.msg_iovlen = 1;
        h.msg_name = nullptr;
        h.msg_namelen = 0;
        h.msg_control = kernel_ts_ ? cmsg_.data() + static_cast<size_t>(slot) * kCmsgBytes : nullptr;
        h.msg_controllen = kernel_ts_ ? kCmsgBytes : 0;
        h.msg_flags = 0;
      }
      int r = ::recvmmsg(fds_[port], rx_mm_.data() + got, want, MSG_DONTWAIT | MSG_TRUNC, nullptr);
      if (r < want) ++ready_pos_;  // drained: next socket (level-triggered epoll re-reports)
      if (r <= 0) continue;
      uint64_t user_ns = 0;
      for (int i = 0; i < r; ++i) {
        const int slot = got + i;
        RxPacket& p = out[slot];
        p.data = bufs_.data() + static_cast<size_t>(slot) * snap_;
        p.wire_len = rx_mm_[slot].msg_len;
        p.len = std::min<uint32_t>(p.wire_len, static_cast<uint32_t>(snap_));
        p.port = port;
        p.rx_ns = 0;
        if (kernel_ts_) {
          msghdr& h = rx_mm_[slot].msg_hdr;
          for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
              timespec ts;
              std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
              p.rx_ns = static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + ts.tv_nsec;
            }
          }
        }
        if (p.rx_ns == 0) {
          if (user_ns == 0) user_ns = NowNs();
          p.rx_ns = user_ns;
        }
      }
      got += r;
    }
    return got;
  }

  static absl::StatusOr<std::unique_ptr<PacketIo>> Create(const SocketIoOptions& o);

 private:
  std::vector<int> fds_;
  std::vector<SocketAddress> locals_;
  int epoll_fd_ = -1;
  sockaddr_storage sp_{};
  socklen_t sp_len_ = 0;
  bool connected_ = false;
  bool kernel_ts_ = false;
  size_t snap_ = 512;
  std::atomic<uint64_t> tx_errors_{0};
  std::vector<mmsghdr> tx_mm_ = std::vector<mmsghdr>(kMaxTx);
  std::vector<iovec> tx_iov_ = std::vector<iovec>(kMaxTx);
  std::vector<mmsghdr> rx_mm_ = std::vector<mmsghdr>(kMaxRx);
  std::vector<iovec> rx_iov_ = std::vector<iovec>(kMaxRx);
  std::vector<uint8_t> bufs_;
  std::vector<uint8_t> cmsg_ = std::vector<uint8_t>(kMaxRx * kCmsgBytes);
  std::vector<epoll_event> events_ = std::vector<epoll_event>(256);
  int ready_n_ = 0;
  int ready_pos_ = 0;
};

// "a.b.c.d/len" -> (first address, count) in host order.
bool ParsePrefix(const std::string& text, uint32_t* base, uint32_t* count) {
  absl::StatusOr<IpPrefix> p = ParseIpPrefix(text);
  if (!p.ok() || !p->addr.is_v4() || p->length < 8 || p->length > 30) return false;
  const uint32_t mask = ~uint32_t{0} << (32 - p->length);
  *base = LoadBe32(p->addr.bytes().data()) & mask;
  *count = (~mask) - 1;  // without the all-zeros and all-ones host parts
  return true;
}

absl::StatusOr<std::unique_ptr<PacketIo>> SocketIo::Create(const SocketIoOptions& o) {
  auto io = std::make_unique<SocketIo>();
  io->snap_ = std::max<size_t>(o.snap, 160);
  io->bufs_.resize(static_cast<size_t>(kMaxRx) * io->snap_);
  io->sp_len_ = o.super_peer.ToSockaddr(&io->sp_);
  io->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (io->epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll: ", strerror(errno)));
  if (o.sockets == 0) return absl::InvalidArgumentError("need at least one socket");

  // Where each socket binds.
  std::string bind = o.bind;
  const bool sp_v4 = o.super_peer.is_v4();
  const bool sp_loopback =
      sp_v4 ? o.super_peer.bytes()[0] == 127
            : o.super_peer.bytes() == std::array<uint8_t, 16>{0, 0, 0, 0, 0, 0, 0, 0,
                                                              0, 0, 0, 0, 0, 0, 0, 1};
  if (bind == "auto") {
    if (sp_v4 && sp_loopback) bind = "127.100.0.0/16";
    else if (sp_v4) bind = "0.0.0.0";
    else bind = sp_loopback ? "::1" : "::";
  }
  uint32_t base = 0, count = 0;
  const bool range = ParsePrefix(bind, &base, &count);
  absl::StatusOr<SocketAddress> single;
  if (!range) {
    single = SocketAddress::Parse(bind.find(':') != std::string::npos && bind[0] != '['
                                      ? absl::StrCat("[", bind, "]:0")
                                      : absl::StrCat(bind, ":0"));
    if (!single.ok()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--bind '%s': expected an address or an IPv4 prefix a.b.c.d/len", bind));
    }
    if (single->family() != o.super_peer.family()) {
      return absl::InvalidArgumentError("--bind and the super peer differ in address family");
    }
  } else if (!sp_v4) {
    return absl::InvalidArgumentError("--bind prefix is IPv4 but the super peer is IPv6");
  }

  int rcvbuf = o.rcvbuf_bytes;
  if (rcvbuf <= 0) {
    rcvbuf = static_cast<int>(std::clamp<size_t>((512u << 20) / o.sockets, 256u << 10, 16u << 20));
  }
  for (size_t k = 0; k < o.sockets; ++k) {
    SocketAddress local = range ? SocketAddress::V4(base + 1 + static_cast<uint32_t>(k % count), 0)
                                : *single;
    int fd = ::socket(local.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      return absl::ResourceExhaustedError(
          absl::StrFormat("socket #%d: %s (raise ulimit -n?)", k, strerror(errno)));
    }
    io->fds_.push_back(fd);
    for (int opt : {SO_RCVBUFFORCE, SO_SNDBUFFORCE}) {
      int size = opt == SO_RCVBUFFORCE ? rcvbuf : (1 << 20);
      if (setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size)) != 0) {
        setsockopt(fd, SOL_SOCKET, opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF, &size,
                   sizeof(size));
      }
    }
    if (o.kernel_timestamps) {
      int one = 1;
      io->kernel_ts_ = setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one)) == 0;
    }
    sockaddr_storage ss;
    socklen_t len = local.ToSockaddr(&ss);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
      return absl::UnavailableError(
          absl::StrFormat("bind %s (socket #%d): %s", local.ToString(), k, strerror(errno)));
    }
    // Connected sockets skip the route lookup per message; the super peer
    // answers from the address in its URL.
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&io->sp_), io->sp_len_) != 0) {
      return absl::UnavailableError(absl::StrFormat("connect %s: %s", o.super_peer.ToString(),
                                                    strerror(errno)));
    }
    len = sizeof(ss);
    getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
    absl::StatusOr<SocketAddress> bound =
        SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
    io->locals_.push_back(bound.ok() ? *bound : local);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(k);
    epoll_ctl(io->epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  io->connected_ = true;
  return std::unique_ptr<PacketIo>(std::move(io));
}

}  // namespace

absl::StatusOr<std::unique_ptr<PacketIo>> CreateSocketIo(const SocketIoOptions& opts) {
  return SocketIo::Create(opts);
}

}  // namespace drasyl::loadgen
