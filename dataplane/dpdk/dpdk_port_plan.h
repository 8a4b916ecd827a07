// How the DPDK backend sets up its ports, as a pure plan: from the ports'
// capabilities, the operator's addresses and options and the EAL's worker
// lcores, which TAPs to create under which names, how many workers, RX
// queues and RSS per port, what each worker polls, and how many mbufs. No
// DPDK calls, so every choice is unit-testable; DpdkBackend::Init probes
// the ports, plans, then applies the plan (configure, start, TAP addresses).
//
// A port kind is a PortCaps field: a kind whose link the kernel keeps (no
// TAP of ours) plans no TAP, and its RX sources have no kernel peer.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_PORT_PLAN_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_PORT_PLAN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "dataplane/dpdk/dpdk_backend.h"
#include "dataplane/dpdk/dpdk_tap.h"

namespace drasyl::dpdk {

inline constexpr uint16_t kBurst = 32;
inline constexpr uint16_t kRxDesc = 1024;
inline constexpr uint16_t kTxDesc = 1024;
inline constexpr uint16_t kTapDesc = 512;
inline constexpr unsigned kMbufCache = 256;
inline constexpr unsigned kEgressRingSize = 1024;
inline constexpr uint16_t kNoPort = 0xffff;

// What an ethernet port offers (from rte_eth_dev_info) and the MTU it runs
// with, in port id order.
struct PortCaps {
  uint16_t port_id = 0;
  std::string driver;  // e.g. "net_af_packet"
  uint16_t max_rx_queues = 1;
  uint16_t max_tx_queues = 1;
  uint64_t rss_offloads = 0;  // flow_type_rss_offloads
  uint16_t mtu = 1500;
  // The kernel sees the port's link through a TAP of ours (exceptions go
  // there, what the kernel sends comes from there). False: the kernel
  // keeps the link itself, no TAP.
  bool tap = true;
  // Every RX queue must be polled, each with its TX queue (net_af_xdp
  // under --af_xdp: our XDP program sends to each queue's socket).
  bool every_rx_queue = false;
};

// A TAP to create: the kernel side of ethernet port ports[eth_index], for
// its untagged traffic (vlan 0) or for VLAN `vlan` (untagged on the TAP).
struct TapPlan {
  size_t eth_index = 0;
  uint16_t vlan = 0;
  std::string name;  // <tap_name><k + eth_index>[.<vlan>]
  std::vector<InterfaceAddress> addrs;  // the --dpdk_addr addresses on it
  std::vector<std::string> text;        // the same, for the log
};

// The TAPs of the ports: first one per ethernet port with a TAP (in port
// order), then one per (port, VLAN) with addresses, in address order.
// Names <tap_name><k + i>[.<vid>] (i: the port's index) with the first k
// for which name_taken says no for all; several super peers may share a
// network namespace. Every address must be on one of `ports`.
absl::StatusOr<std::vector<TapPlan>> PlanTaps(
    const std::vector<PortCaps>& ports, const std::vector<DpdkAddress>& addresses,
    const std::string& tap_name, absl::FunctionRef<bool(const std::string&)> name_taken);

// Where a worker polls: an RX queue of an ethernet port (its exceptions go
// to `peer`, the port's TAP, or to the TAP of their VLAN) or of a TAP (its
// frames go out on `peer`, the ethernet port, tagged with `vlan` if not 0).
// Port ids (kNoPort: a port without TAP has no peer).
struct RxSource {
  uint16_t port;
  uint16_t queue;
  bool tap;
  uint16_t peer;
  uint16_t vlan = 0;
};

// One worker: its TX queue on every port (its index), what it polls, and
// the IP identifications it fragments with (first, first + stride, ...: a
// residue class of its own; the control thread has the last one).
struct WorkerPlan {
  std::vector<RxSource> rx;
  bool drains_egress = false;  // transmits the control thread's frames
  // --af_xdp (which has no TAP, whose frames could not wake a sleeper): the
  // AF_XDP sockets it sleeps on when idle. None: it naps.
  std::vector<int> wait_fds;
  uint32_t first_fragment_id = 0;
  uint32_t fragment_id_stride = 1;
};

struct PortQueues {
  uint16_t rx_queues = 1;
  uint16_t tx_queues = 0;      // 0: one per worker
  uint64_t rss_hf = 0;         // 0: no RSS
  bool kernel_fanout = false;  // RX queues spread by net_af_packet's fanout
};

struct QueuePlan {
  size_t workers = 1;  // = TX queues per port, RX and TX queues per TAP
  std::vector<PortQueues> ports;  // per ethernet port
  std::vector<WorkerPlan> worker;
  uint32_t control_fragment_id = 0;  // the control thread's first
  uint32_t fragment_id_stride = 1;
  // Mbufs of the main pool (2^k - 1, the best size for a mempool), their
  // data room, and of the pool for linearized datagrams.
  unsigned mbufs = 0;
  uint16_t data_room = 0;
  unsigned linear_mbufs = 0;
  std::vector<std::string> warnings;  // for the log
};

// What to run on the ports: `worker_lcores` EAL worker lcores (0: one
// worker on a registered thread), capped by every port's TX queues and
// every TAP's queues (tap_max_queues; the TAPs' port ids are tap_ports).
// RX queues: one per worker with RSS (or net_af_packet's kernel fanout),
// else one per port (every_rx_queue: all of them, TX queues paired); a
// port's queue q goes to worker (q + i) % workers. Each
// worker polls one queue of every TAP. af_packet_frame_size: a frame of
// net_af_packet's ring (AfPacketFrameSize), for the mbufs' data room.
absl::StatusOr<QueuePlan> PlanQueues(const std::vector<PortCaps>& ports,
                                     const std::vector<TapPlan>& taps,
                                     const std::vector<uint16_t>& tap_ports,
                                     uint16_t tap_max_queues, size_t worker_lcores,
                                     size_t af_packet_frame_size);

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_PORT_PLAN_H_
