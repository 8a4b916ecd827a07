// What the DPDK workers share and only read (addresses, ports, pools, the
// control thread's egress ring), like l3fwd's per-lcore conf, and how it
// changes while they run: the control thread writes a copy and publishes it
// with one pointer store; the old copy is touched again only after every
// reader has passed a quiescent point (DPDK's RCU, rte_rcu_qsbr). Readers
// never lock and never wait.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_WORKER_SHARED_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_WORKER_SHARED_H_

#include <rte_rcu_qsbr.h>

#include <atomic>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "dataplane/dpdk/dpdk_packet_config.h"

struct rte_mempool;
struct rte_ring;

namespace drasyl::dpdk {

class EgressWake;  // dataplane/dpdk/dpdk_idle_wait.h

// What every worker reads and none writes.
struct WorkerShared {
  PacketConfig pcfg;
  rte_mempool* pool = nullptr;
  // Mbufs of kLinearMbufDataRoom for reassembled datagrams and the control
  // thread's oversized frames, while they are handled.
  rte_mempool* linear_pool = nullptr;
  // Per ethernet port id: its MTU (IP bytes of a frame; --dpdk_mtu or the
  // port's), and the longest untagged frame that fits it.
  uint16_t mtu[kMaxPorts] = {};
  uint32_t max_untagged_frame[kMaxPorts] = {};
  bool is_eth[kMaxPorts] = {};
  // Per ethernet port id: (VLAN id, TAP port id) of its VLANs. Read on the
  // exception path only.
  std::vector<std::pair<uint16_t, uint16_t>> vlan_taps[kMaxPorts];
  rte_ring* egress = nullptr;  // control thread -> worker 0 (mbuf->port = destination)
  EgressWake* egress_wake = nullptr;  // --af_xdp: wakes that worker from its idle sleep
  int idle_sleep_us = 0;
  const std::atomic<bool>* stop = nullptr;
};

class SharedConf {
 public:
  SharedConf() = default;
  ~SharedConf();
  SharedConf(const SharedConf&) = delete;
  SharedConf& operator=(const SharedConf&) = delete;

  // Before any reader runs: the conf to fill in.
  WorkerShared& setup() { return slots_[0]; }
  // After the EAL is up, before the readers start: room for `readers`
  // reader ids (0 .. readers-1).
  absl::Status InitReaders(unsigned readers);

  // A reader: online while it may hold the conf; Current() at the start of
  // each of its rounds (it holds nothing of the round before); offline
  // around a nap, so that an update need not wait for it.
  void Online(unsigned reader) const { rte_rcu_qsbr_thread_online(qsbr_, reader); }
  void Offline(unsigned reader) const { rte_rcu_qsbr_thread_offline(qsbr_, reader); }
  const WorkerShared* Current(unsigned reader) const {
    rte_rcu_qsbr_quiescent(qsbr_, reader);
    return current_.load(std::memory_order_acquire);
  }
  // Teardown only, when no reader runs (pools, ring; the same in every copy).
  const WorkerShared& latest() const { return *current_.load(std::memory_order_acquire); }

  // From one thread at a time (the backend's housekeeping): `change` edits a
  // copy of the current conf, which is then published; returns once no
  // reader can still hold the one before.
  void Update(absl::FunctionRef<void(WorkerShared&)> change);

 private:
  WorkerShared slots_[2];
  std::atomic<const WorkerShared*> current_{&slots_[0]};
  rte_rcu_qsbr* qsbr_ = nullptr;
};

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_WORKER_SHARED_H_
