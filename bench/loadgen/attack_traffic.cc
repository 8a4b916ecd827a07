#include "bench/loadgen/attack_traffic.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/loadgen/attack_nodes.h"
#include "bench/loadgen/packet_io.h"
#include "common/byte_order.h"
#include "common/clock.h"

namespace drasyl::loadgen {
namespace {

constexpr int kBatch = 64;

void Bump(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// Counts what came back to the attacker's UDP socket (ACKs above all).
void DrainAttackerSocket(int fd, AttackCounters* c) {
  static thread_local uint8_t bufs[kBatch][256];
  mmsghdr mm[kBatch];
  iovec iov[kBatch];
  for (int round = 0; round < 16; ++round) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], sizeof(bufs[i])};
      std::memset(&mm[i].msg_hdr, 0, sizeof(msghdr));
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    const int got = ::recvmmsg(fd, mm, kBatch, MSG_DONTWAIT, nullptr);
    if (got <= 0) return;
    for (int i = 0; i < got; ++i) {
      const uint8_t* p = bufs[i];
      if (mm[i].msg_len >= wire::kHeaderBytes && LoadBe32(p) == wire::kMagic &&
          p[wire::off::kType] < 4) {
        Bump(c->rx_by_type[p[wire::off::kType]]);
      } else {
        Bump(c->rx_other);
      }
    }
    if (got < kBatch) return;
  }
}

}  // namespace
void RaiseFileLimit() {
  rlimit r;
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

size_t FileLimit() {
  rlimit r;
  return getrlimit(RLIMIT_NOFILE, &r) == 0 ? static_cast<size_t>(r.rlim_cur) : 1024;
}

DatagramForge::DatagramForge(DatagramKind kind, const AttackTarget& t,
                             const std::vector<Identity>& ids, size_t first,
                             const std::vector<SessionKeys>& keys, bool arm,
                             const SocketAddress& attacker)
    : kind_(kind), t_(t), ids_(ids), first_(first), keys_(keys), arm_(arm), rng_(0xa77ac4) {
  n_ = std::max<size_t>(1, ids_.size() - first_);
  endpoint_.push_back(wire::Endpoint::From(attacker));
}

size_t DatagramForge::Build(uint8_t* out, size_t cap) {
  switch (kind_) {
    case DatagramKind::kForged: return Forged(out);
    case DatagramKind::kSybil: return Sybil(out, cap);
    default: return Garbage(out, cap);
  }
}

uint32_t DatagramForge::NextIdentity() {
  const uint32_t i = static_cast<uint32_t>(first_ + cursor_);
  cursor_ = (cursor_ + 1) % n_;
  return i;
}

wire::HeaderFields DatagramForge::Header(uint32_t id, wire::MessageType type) const {
  wire::HeaderFields h;
  h.network_id = t_.network_id;
  h.recipient = t_.pk;
  h.sender = ids_[id].public_key;
  h.pow = ids_[id].pow;
  h.type = type;
  return h;
}

// An armed HELLO whose random bytes, ciphertext and tag are random: the
// super peer must derive the sender's key to find out.
size_t DatagramForge::Forged(uint8_t* out) {
  const uint32_t id = NextIdentity();
  wire::WriteHeader(Header(id, wire::MessageType::kHello), true, out);
  const size_t body = wire::kArmOverhead + wire::kHelloFixedBytes + wire::kEndpointBytes;
  rng_.Fill(out + wire::kHeaderBytes, body);
  return wire::kHeaderBytes + body;
}

// A valid HELLO (armed with the identity's real key), newest time.
size_t DatagramForge::Sybil(uint8_t* out, size_t cap) {
  const uint32_t id = NextIdentity();
  wire::HelloBody hello;
  hello.time = UnixMicros();
  hello.child_time = 1;
  hello.endpoints = endpoint_;
  uint8_t body[wire::kMaxHelloBodyBytes];
  const size_t body_len = wire::WriteHelloBody(hello, body);
  uint8_t random[wire::kArmRandomBytes];
  rng_.Fill(random, sizeof(random));
  return wire::BuildMessage(Header(id, wire::MessageType::kHello), body, body_len,
                            arm_ ? &keys_[id].tx : nullptr, random, out, cap);
}

// One of several kinds of bad input, in turn.
size_t DatagramForge::Garbage(uint8_t* out, size_t cap) {
  const uint32_t id = NextIdentity();
  const uint64_t pick = variant_++ % 8;
  size_t len = 0;
  switch (pick) {
    case 0:  // random bytes of random length
      len = 1 + rng_.Below(std::min<size_t>(cap, 1400));
      rng_.Fill(out, len);
      break;
    case 1:  // the magic number, then random bytes
      len = 4 + rng_.Below(300);
      rng_.Fill(out, len);
      StoreBe32(out, wire::kMagic);
      break;
    case 2: {  // a header with an unknown message type
      len = wire::kHeaderBytes + rng_.Below(64);
      wire::WriteHeader(Header(id, wire::MessageType::kHello), arm_, out);
      out[wire::off::kType] = static_cast<uint8_t>(4 + rng_.Below(252));
      rng_.Fill(out + wire::kHeaderBytes, len - wire::kHeaderBytes);
      break;
    }
    case 3:  // an armed HELLO cut short
      wire::WriteHeader(Header(id, wire::MessageType::kHello), true, out);
      len = wire::kHeaderBytes + rng_.Below(wire::kArmOverhead);
      rng_.Fill(out + wire::kHeaderBytes, len - wire::kHeaderBytes);
      break;
    case 4: {  // a HELLO for another network
      wire::HeaderFields h = Header(id, wire::MessageType::kHello);
      h.network_id = t_.network_id + 1 + static_cast<int32_t>(rng_.Below(1000));
      wire::WriteHeader(h, arm_, out);
      len = wire::kHeaderBytes + 64;
      rng_.Fill(out + wire::kHeaderBytes, 64);
      break;
    }
    case 5:  // a HELLO with the wrong arming (and a garbage body)
      wire::WriteHeader(Header(id, wire::MessageType::kHello), !arm_, out);
      len = wire::kHeaderBytes + wire::kHelloFixedBytes + wire::kArmOverhead;
      rng_.Fill(out + wire::kHeaderBytes, len - wire::kHeaderBytes);
      break;
    case 6: {  // an APP to a recipient nobody registered
      wire::HeaderFields h = Header(id, wire::MessageType::kApp);
      rng_.Fill(h.recipient.data(), h.recipient.size());
      wire::WriteHeader(h, arm_, out);
      len = wire::kHeaderBytes + 80;
      rng_.Fill(out + wire::kHeaderBytes, 80);
      break;
    }
    default: {  // an ACK addressed to the super peer, a proof of work that fails
      wire::HeaderFields h = Header(id, pick == 7 && (variant_ & 8) ? wire::MessageType::kAck
                                                                     : wire::MessageType::kHello);
      h.pow = static_cast<int32_t>(rng_.Next());
      wire::WriteHeader(h, arm_, out);
      len = wire::kHeaderBytes + 64;
      rng_.Fill(out + wire::kHeaderBytes, 64);
      break;
    }
  }
  return len;
}

// forged, sybil, garbage: datagrams as fast as this thread sends.
void DatagramAttackLoop(int fd, DatagramForge* forge, const std::atomic<bool>* stop,
                        AttackCounters* c) {
  constexpr size_t kCap = 1500;
  static thread_local uint8_t bufs[kBatch][kCap];
  mmsghdr mm[kBatch];
  iovec iov[kBatch];
  const uint64_t start = MonoNs();
  uint64_t rounds = 0;
  while (!stop->load(std::memory_order_relaxed)) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {bufs[i], forge->Build(bufs[i], kCap)};
      std::memset(&mm[i].msg_hdr, 0, sizeof(msghdr));
      mm[i].msg_hdr.msg_iov = &iov[i];
      mm[i].msg_hdr.msg_iovlen = 1;
    }
    int done = 0;
    while (done < kBatch && !stop->load(std::memory_order_relaxed)) {
      const int r = ::sendmmsg(fd, mm + done, kBatch - done, 0);
      if (r > 0) {
        done += r;
      } else if (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) {
        DrainAttackerSocket(fd, c);
      } else {
        Bump(c->send_errors);  // e.g. ECONNREFUSED after an ICMP: skip this one
        ++done;
      }
    }
    Bump(c->sent, static_cast<uint64_t>(done));
    if (++rounds % 8 == 0) DrainAttackerSocket(fd, c);
  }
  DrainAttackerSocket(fd, c);
  c->seconds_ns.store(MonoNs() - start);
}

// tcp-idle: holds up to `want` connections that never send anything, and
// opens a new one for each the super peer closes (or, with abandon_ms, for
// each attempt still unestablished after abandon_ms).
void TcpIdleLoop(const SocketAddress& local, const SocketAddress& sp, size_t want,
                 uint64_t abandon_ms, const std::atomic<bool>* stop, AttackCounters* c) {
  enum : uint8_t { kClosed, kConnecting, kEstablished };
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  std::vector<uint8_t> state(FileLimit() + 1, kClosed);  // by descriptor, to close them at the end
  std::vector<uint64_t> started_ns(state.size(), 0);
  std::deque<std::pair<int, uint64_t>> connecting;  // (fd, started), oldest first
  const uint64_t abandon_ns = abandon_ms * 1'000'000;
  const uint64_t start = MonoNs();
  size_t open = 0;
  uint64_t backoff_until = 0;
  std::vector<epoll_event> events(1024);
  auto close_fd = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    ::close(fd);
    state[fd] = kClosed;
    --open;
  };
  while (!stop->load(std::memory_order_relaxed)) {
    // Open up to 256 per round so that closes are noticed in between.
    const uint64_t now = MonoNs();
    for (int k = 0; k < 256 && open < want && now >= backoff_until; ++k) {
      absl::StatusOr<int> fd = StartTcpConnect(local, sp);
      Bump(c->sent);
      if (!fd.ok() || static_cast<size_t>(*fd) >= state.size()) {
        if (fd.ok()) ::close(*fd);
        Bump(c->connect_errors);
        backoff_until = now + 10'000'000;  // out of ports or descriptors: retry in 10 ms
        break;
      }
      epoll_event ev{};
      ev.events = EPOLLRDHUP | EPOLLIN | (abandon_ns ? uint32_t{EPOLLOUT} : 0u);
      ev.data.fd = *fd;
      epoll_ctl(ep, EPOLL_CTL_ADD, *fd, &ev);
      state[*fd] = abandon_ns ? kConnecting : kEstablished;
      started_ns[*fd] = now;
      if (abandon_ns) connecting.emplace_back(*fd, now);
      ++open;
    }
    c->open.store(open, std::memory_order_relaxed);
    if (open > c->open_peak.load(std::memory_order_relaxed)) c->open_peak.store(open);
    const int got = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 5);
    for (int e = 0; e < got; ++e) {
      const int fd = events[e].data.fd;
      const uint32_t ev = events[e].events;
      if (!(ev & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
        // Writable only: the handshake completed; from now on wait for its end.
        state[fd] = kEstablished;
        epoll_event in{};
        in.events = EPOLLRDHUP | EPOLLIN;
        in.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &in);
        continue;
      }
      // Anything readable on a connection that sent nothing is its end (or
      // a refused connect): close it; the loop opens a new one.
      close_fd(fd);
      Bump(c->closed_by_peer);
    }
    const uint64_t after = MonoNs();
    while (!connecting.empty() && after - connecting.front().second >= abandon_ns) {
      const auto [fd, started] = connecting.front();
      connecting.pop_front();
      if (state[fd] != kConnecting || started_ns[fd] != started) continue;  // done or reused
      close_fd(fd);
      Bump(c->abandoned);
    }
  }
  c->seconds_ns.store(MonoNs() - start);
  for (size_t fd = 0; fd < state.size(); ++fd) {
    if (state[fd] != kClosed) ::close(static_cast<int>(fd));
  }
  c->open.store(0);
  ::close(ep);
}

}  // namespace drasyl::loadgen
