// The portable backend: kernel UDP sockets. Each worker thread owns one
// SO_REUSEPORT socket per listener, receives with recvmmsg and relays in the
// same burst with sendmmsg; the kernel spreads flows over the workers.
#ifndef DRASYL_DATAPLANE_SOCKET_SOCKET_BACKEND_H_
#define DRASYL_DATAPLANE_SOCKET_SOCKET_BACKEND_H_

#include <algorithm>
#include <array>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/backend.h"
#include "dataplane/socket/udp_tx_batch.h"

namespace drasyl {

struct SocketBackendOptions {
  // UDP listeners; a PeerPath's `listener` indexes this list.
  std::vector<SocketAddress> listeners;
  int workers = 1;
  RelayConfig relay;
  int64_t send_unites_ms = 5000;
  int control_wakeup = -1;  // eventfd of the control thread
  // Same-peer runs in a burst leave as one UDP GSO message (see UdpTxBatch).
  bool udp_gso = true;
  // UDP_GRO on the sockets: the kernel may hand over a node's consecutive
  // datagrams coalesced (NIC GRO, or a GSO sender on this host); they are
  // split back into messages here.
  bool udp_gro = true;
};

// Datagrams a worker's recvmmsg asks for at most (and sends on at most).
inline constexpr int kSocketRxBurst = UdpTxBatch::kMaxDatagrams;
// What a receive burst is sized for (NextRxBurst). A relayed burst is copied
// back into the kernel right after it arrived; while it fits in a core's L2
// cache that copy reads from the cache. 64 coalesced (GRO) datagrams of
// 64 KiB, 4 MiB, would not: the copy would come from memory.
inline constexpr uint64_t kSocketRxBurstBytes = 256 << 10;

// How many datagrams to ask the next recvmmsg for after one that received
// `datagrams` of `bytes` in all: as many as kSocketRxBurstBytes holds at
// that average size, 1 to kSocketRxBurst (all of them after an empty one).
inline int NextRxBurst(uint64_t bytes, int datagrams) {
  if (datagrams <= 0 || bytes == 0) return kSocketRxBurst;
  const uint64_t average = (bytes + datagrams - 1) / datagrams;
  return static_cast<int>(
      std::clamp<uint64_t>(kSocketRxBurstBytes / average, 1, uint64_t{kSocketRxBurst}));
}

class SocketBackend : public Backend {
 public:
  // Creates and binds every worker's sockets (so bind errors surface here).
  static absl::StatusOr<std::unique_ptr<SocketBackend>> Create(const SocketBackendOptions& opts);
  ~SocketBackend() override;

  const char* name() const override { return "socket"; }
  absl::Status Start() override;
  void Stop() override;
  size_t num_workers() const override { return workers_.size(); }
  // Queues into batches sent with sendmmsg (a sendto per ACK would cost the
  // control thread more than answering the HELLO).
  bool SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) override;
  uint64_t FlushFromControl() override;
  std::vector<SocketAddress> udp_listeners() const override { return bound_; }

 private:
  WorkerCore& worker(size_t i) override { return *workers_[i]->core; }

  struct Worker {
    std::unique_ptr<WorkerCore> core;
    std::vector<int> fds;        // one per listener
    std::vector<int> families;   // AF_INET / AF_INET6 of each fd
    std::thread thread;
  };
  // Control-thread egress: copies of the queued messages and their paths.
  struct ControlEgress {
    static constexpr size_t kSlotBytes = 2048;  // ACKs and UNITEs are smaller
    std::vector<std::array<uint8_t, kSlotBytes>> data;
    std::vector<PeerPath> paths;
    std::vector<UdpTxBatch> batches;  // one per listener
    size_t used = 0;
  };
  SocketBackend() = default;
  void Run(Worker* w);

  SocketBackendOptions opts_;
  std::vector<SocketAddress> bound_;
  std::vector<std::unique_ptr<Worker>> workers_;
  ControlEgress egress_;
  std::atomic<bool> stop_{false};
  bool started_ = false;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_SOCKET_SOCKET_BACKEND_H_
