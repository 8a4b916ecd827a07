// A DPDK worker: one lcore's poll loop over its RX queues, as in DPDK's
// l3fwd. Its own state (relay core, reassembly, notes for the log) it holds
// by value; what all workers share and only read (dpdk_worker_shared.h) it
// reads through one pointer, taken anew each poll round. Frames that are
// UDP to our listener are parsed, decided over the burst and rewritten and
// sent on the worker's own TX queue; the rest goes to the kernel through the
// port's TAP, and what the kernel sends through a TAP goes out on its port.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_WORKER_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_WORKER_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/dpdk/dpdk_fragments.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_idle_wait.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/dpdk/dpdk_port_plan.h"
#include "dataplane/dpdk/dpdk_worker_shared.h"
#include "dataplane/peer_path.h"
#include "dataplane/relay.h"
#include "dataplane/worker_core.h"

struct rte_mbuf;

namespace drasyl::dpdk {

// Frames with wrong checksums noted per port (then only counted), and the
// notes a worker keeps for the log at most.
inline constexpr uint8_t kChecksumLogsPerPort = 5;
inline constexpr uint32_t kChecksumNoteSlots = 64;

// A frame to the super peer itself whose checksums were wrong, noted for
// the log (a worker never logs).
struct ChecksumNote {
  uint16_t port;
  ChecksumFault fault;
  PeerPath from;
};

class Worker {
 public:
  // txq: its TX queue on every port; also its reader id of `conf`. Fails
  // when the fragment table cannot be had (DPDK memory on `socket`).
  static absl::StatusOr<std::unique_ptr<Worker>> Create(const SharedConf* conf,
                                                        const WorkerPlan& plan, uint16_t txq,
                                                        const RelayConfig& relay,
                                                        int64_t send_unites_ms,
                                                        int control_wakeup, int socket);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // The poll loop, until shared->stop. On the worker's lcore or thread.
  void Run();

  WorkerCore& core() { return core_; }

  // Hands the checksum notes published since the last call to
  // note(const ChecksumNote&). From one (the control) thread at a time.
  template <typename F>
  void TakeChecksumNotes(F&& note) {
    const uint32_t n = checksum_notes_published_.load(std::memory_order_acquire);
    for (; checksum_notes_read_ < n; ++checksum_notes_read_) {
      note(checksum_notes_[checksum_notes_read_]);
    }
  }

 private:
  Worker(const SharedConf* conf, const WorkerPlan& plan, uint16_t txq,
         const RelayConfig& relay, int64_t send_unites_ms, int control_wakeup,
         std::unique_ptr<Reassembler> reassembly);

  uint32_t NextFragmentId() { return next_fragment_id_ += fragment_id_stride_; }
  // A burst from an ethernet port: relay what is ours, the rest to the TAP.
  void FromWire(const RxSource& src, rte_mbuf** pkts, uint16_t n);
  // A burst the kernel sent through a TAP: out on its ethernet port.
  void FromKernel(const RxSource& src, rte_mbuf** pkts, uint16_t n);
  void ToKernel(const RxSource& src, rte_mbuf** exc, size_t e);
  void FromWireFragments(const RxSource& src, rte_mbuf** frags, const FragmentKind* kinds,
                         size_t n);
  void WholeDatagram(const RxSource& src, rte_mbuf* m);
  void SendFitted(rte_mbuf* m, uint16_t port, bool tagged);
  bool DrainEgress();
  void NoteBadChecksum(uint16_t port, const rte_mbuf* m, const ParsedFrame& f);

  const SharedConf* const conf_;
  const WorkerShared* shared_;  // conf_'s current one, taken at the start of each round
  WorkerCore core_;
  const uint16_t txq_;
  const std::vector<RxSource> rx_;
  const bool drains_egress_;
  std::unique_ptr<Reassembler> reassembly_;
  IdleWait idle_wait_;  // --af_xdp: sleeps on the sockets instead of naps
  // IPv4 / IPv6 identification of the datagrams it fragments: its own
  // residue class, so that no two workers (or the control thread) reuse
  // one at the same time.
  uint32_t next_fragment_id_;
  const uint32_t fragment_id_stride_;
  // The first kChecksumLogsPerPort per port while the slots last. The
  // worker fills a slot, then publishes it (release); TakeChecksumNotes
  // reads up to there.
  std::array<ChecksumNote, kChecksumNoteSlots> checksum_notes_;
  std::atomic<uint32_t> checksum_notes_published_{0};
  uint8_t checksum_notes_per_port_[kMaxPorts] = {};  // the worker's
  uint32_t checksum_notes_read_ = 0;                 // TakeChecksumNotes'
};

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_WORKER_H_
