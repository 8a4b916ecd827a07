#include "dataplane/socket/socket_backend.h"

#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "dataplane/socket/udp_segment.h"
#include "dataplane/socket/udp_tx_batch.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

constexpr int kBurst = kSocketRxBurst;
// A coalesced (GRO) datagram carries at most this many messages.
constexpr int kMaxSegmentsPerDatagram = 64;
constexpr size_t kMaxMessagesPerBurst = size_t{kBurst} * kMaxSegmentsPerDatagram;
// Any UDP datagram can be relayed between UDP peers; only what goes to the
// control thread is bounded by kMaxMessageBytes.
constexpr size_t kMaxDatagramBytes = 65535;
constexpr int kSocketBufferBytes = 8 << 20;
constexpr int kPollTimeoutMs = 50;
// Bursts drained from one socket before looking at the next and at updates.
constexpr int kMaxBurstsPerWake = 8;

absl::StatusOr<int> OpenUdpSocket(const SocketAddress& addr, bool v6only, bool gro) {
  int fd = ::socket(addr.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::InternalError(absl::StrFormat("socket(%s): %s", addr.ToString(), strerror(errno)));
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  for (int opt : {SO_RCVBUF, SO_SNDBUF}) {
    int size = kSocketBufferBytes;
    int force = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
    if (setsockopt(fd, SOL_SOCKET, force, &size, sizeof(size)) != 0) {
      setsockopt(fd, SOL_SOCKET, opt, &size, sizeof(size));
    }
  }
  // Without kernel support nothing is coalesced: ignore a refusal.
  if (gro) setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
  if (addr.is_v6()) {
    int v6 = v6only ? 1 : 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6, sizeof(v6));
  }
  sockaddr_storage ss;
  socklen_t len = addr.ToSockaddr(&ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrFormat("cannot bind UDP listener %s: %s", addr.ToString(), strerror(err)));
  }
  return fd;
}

}  // namespace

absl::StatusOr<std::unique_ptr<SocketBackend>> SocketBackend::Create(
    const SocketBackendOptions& opts) {
  std::unique_ptr<SocketBackend> b(new SocketBackend());
  b->opts_ = opts;
  if (opts.listeners.empty()) return absl::InvalidArgumentError("no UDP listener configured");
  if (opts.workers < 1) return absl::InvalidArgumentError("need at least one worker");
  b->bound_ = opts.listeners;
  for (int w = 0; w < opts.workers; ++w) {
    auto worker = std::make_unique<Worker>();
    worker->core = std::make_unique<WorkerCore>(opts.relay, opts.send_unites_ms, opts.control_wakeup);
    b->workers_.push_back(std::move(worker));
  }
  for (size_t l = 0; l < opts.listeners.size(); ++l) {
    SocketAddress& addr = b->bound_[l];
    const bool v6only = !ListensDualStack(opts.listeners[l], opts.listeners);
    for (auto& worker : b->workers_) {
      absl::StatusOr<int> fd = OpenUdpSocket(addr, v6only, opts.udp_gro);
      if (!fd.ok()) return fd.status();
      worker->fds.push_back(*fd);
      worker->families.push_back(addr.family());
      if (addr.port() == 0) {  // resolve an ephemeral port once, share it
        sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        getsockname(*fd, reinterpret_cast<sockaddr*>(&ss), &len);
        auto bound = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len, false);
        if (bound.ok()) addr.set_port(bound->port());
      }
    }
  }
  ControlEgress& e = b->egress_;
  e.data.resize(UdpTxBatch::kMaxDatagrams);
  e.paths.resize(UdpTxBatch::kMaxDatagrams);
  for (int family : b->workers_[0]->families) e.batches.emplace_back(family == AF_INET6);
  return b;
}

SocketBackend::~SocketBackend() {
  Stop();
  for (auto& w : workers_) {
    for (int fd : w->fds) ::close(fd);
  }
}

absl::Status SocketBackend::Start() {
  if (started_) return absl::OkStatus();
  started_ = true;
  for (size_t i = 0; i < workers_.size(); ++i) {
    Worker* raw = workers_[i].get();
    raw->thread = std::thread([this, raw] { Run(raw); });
    // Named so that top, perf and the benchmarks can tell the workers apart.
    pthread_setname_np(raw->thread.native_handle(), absl::StrFormat("drasyl-w%d", i).c_str());
  }
  return absl::OkStatus();
}

void SocketBackend::Stop() {
  stop_.store(true, std::memory_order_relaxed);
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

bool SocketBackend::SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) {
  if (path.transport != Transport::kUdp || workers_.empty()) return false;
  Worker& w = *workers_[0];
  if (path.listener >= w.fds.size()) return false;
  if (len > ControlEgress::kSlotBytes) {
    // Rare (a large relay from a TCP peer): after what is queued, alone.
    FlushFromControl();
    sockaddr_storage ss;
    socklen_t sl = path.address().ToSockaddr(&ss, w.families[path.listener] == AF_INET6);
    ssize_t r = ::sendto(w.fds[path.listener], data, len, MSG_DONTWAIT,
                         reinterpret_cast<sockaddr*>(&ss), sl);
    return r == static_cast<ssize_t>(len);
  }
  ControlEgress& e = egress_;
  if (e.used == e.data.size()) FlushFromControl();
  const size_t slot = e.used++;
  std::memcpy(e.data[slot].data(), data, len);
  e.paths[slot] = path;
  e.batches[path.listener].Add(e.data[slot].data(), static_cast<uint32_t>(len), &e.paths[slot]);
  return true;
}

uint64_t SocketBackend::FlushFromControl() {
  ControlEgress& e = egress_;
  if (e.used == 0) return 0;
  uint64_t lost = 0;
  for (size_t l = 0; l < e.batches.size(); ++l) {
    if (e.batches[l].size() > 0) lost += e.batches[l].Flush(workers_[0]->fds[l]).dropped;
  }
  e.used = 0;
  return lost;
}

void SocketBackend::Run(Worker* w) {
  WorkerCore& core = *w->core;
  WorkerCounters& ctr = core.counters();
  const size_t nfds = w->fds.size();

  // Receive buffers double as transmit buffers: relayed messages leave from
  // where they arrived, with only the hop count changed.
  struct alignas(64) Buf {
    uint8_t data[kMaxDatagramBytes];
  };
  std::vector<Buf> bufs(kBurst);
  std::vector<mmsghdr> rx(kBurst);
  std::vector<iovec> rx_iov(kBurst);
  std::vector<sockaddr_storage> src(kBurst);
  std::vector<UdpSegmentControl> rx_control(kBurst);
  std::vector<UdpTxBatch> tx;
  for (size_t l = 0; l < nfds; ++l) {
    tx.emplace_back(w->families[l] == AF_INET6);
    if (!opts_.udp_gso) tx.back().DisableGso();
  }
  // One view per message: a coalesced datagram becomes several.
  std::vector<PacketView> views(kMaxMessagesPerBurst);
  std::vector<int> view_slot(kMaxMessagesPerBurst);
  std::vector<Decision> decisions(kMaxMessagesPerBurst);
  std::vector<pollfd> pfds(nfds);
  for (size_t i = 0; i < nfds; ++i) pfds[i] = {w->fds[i], POLLIN, 0};
  // Per socket: datagrams the next recvmmsg asks for (NextRxBurst).
  std::vector<int> rx_burst(nfds, kBurst);

  while (!stop_.load(std::memory_order_relaxed)) {
    int ready = ::poll(pfds.data(), nfds, kPollTimeoutMs);
    core.ApplyUpdates();
    if (ready <= 0) continue;
    for (size_t l = 0; l < nfds; ++l) {
      if (!(pfds[l].revents & POLLIN)) continue;
      for (int round = 0; round < kMaxBurstsPerWake; ++round) {
        const int want = rx_burst[l];
        for (int i = 0; i < want; ++i) {
          rx_iov[i] = {bufs[i].data, kMaxDatagramBytes};
          std::memset(&rx[i].msg_hdr, 0, sizeof(msghdr));
          rx[i].msg_hdr.msg_iov = &rx_iov[i];
          rx[i].msg_hdr.msg_iovlen = 1;
          rx[i].msg_hdr.msg_name = &src[i];
          rx[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
          rx[i].msg_hdr.msg_control = rx_control[i].buf;
          rx[i].msg_hdr.msg_controllen = sizeof(rx_control[i].buf);
        }
        int n = ::recvmmsg(w->fds[l], rx.data(), want, MSG_DONTWAIT, nullptr);
        if (n <= 0) break;
        size_t m = 0, truncated = 0;
        uint64_t bytes = 0;
        for (int i = 0; i < n; ++i) {
          bytes += rx[i].msg_len;
          if (rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
            ctr.Drop(DropReason::kOversized);
            ++truncated;
            continue;
          }
          const uint32_t len = rx[i].msg_len;
          const uint32_t segment = CoalescedSegmentBytes(rx[i].msg_hdr);
          if (segment == 0 || segment >= len) {
            views[m] = {bufs[i].data, len};
            view_slot[m++] = i;
            continue;
          }
          // Messages of `segment` bytes, the last one possibly shorter.
          for (uint32_t off = 0; off < len && m < kMaxMessagesPerBurst; off += segment) {
            views[m] = {bufs[i].data + off, std::min(segment, len - off)};
            view_slot[m++] = i;
          }
        }
        CounterAdd(ctr.rx_packets, m + truncated);
        CounterAdd(ctr.rx_bytes, bytes);
        rx_burst[l] = NextRxBurst(bytes, n);
        auto source_of = [&](size_t i) {
          const int slot = view_slot[i];
          auto a = SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&src[slot]),
                                               rx[slot].msg_hdr.msg_namelen);
          return a.ok() ? PeerPath::Udp(*a, static_cast<uint8_t>(l)) : PeerPath{};
        };
        core.Process(
            views.data(), m, MonotonicMillis(), source_of,
            [&](size_t i, const PeerPath& from) { return SameEndpoint(source_of(i), from); },
            decisions.data());
        // Relay: one batch per listener the destinations use.
        for (size_t out_l = 0; out_l < nfds; ++out_l) {
          UdpTxBatch& batch = tx[out_l];
          auto flush = [&] {
            const UdpTxBatch::Result r = batch.Flush(w->fds[out_l]);
            if (r.dropped) ctr.Drop(DropReason::kTxFailed, r.dropped);
            CounterAdd(ctr.tx_packets, r.packets);
            CounterAdd(ctr.tx_bytes, r.bytes);
          };
          for (size_t i = 0; i < m; ++i) {
            const Decision& d = decisions[i];
            if (d.verdict != Verdict::kForward || d.path->listener != out_l) continue;
            batch.Add(views[i].data, views[i].len, d.path);
            if (batch.size() == UdpTxBatch::kMaxDatagrams) flush();
          }
          if (batch.size() > 0) flush();
        }
        core.EndBurst();
        if (n < want) break;
      }
    }
  }
}

}  // namespace drasyl
