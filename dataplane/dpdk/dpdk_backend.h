// The kernel-bypass backend: DPDK poll-mode ports. Each worker lcore polls
// its RX queues (RSS spreads flows when the port can), parses, runs the
// shared relay decision over the burst, rewrites relayed frames in place and
// transmits them in the same burst on its own TX queue (dpdk_worker.h).
// Everything that is not UDP to our listener goes to a TAP interface (DPDK's
// net_tap) carrying our addresses, and what the kernel sends through the TAP
// goes out on the port; so ARP, ND, ping and the TCP fallback work through
// the kernel. Each ethernet port has its TAP, and each VLAN with addresses on
// a port one more, where the kernel sees that VLAN's traffic untagged. The
// ports are set up from a pure plan (dpdk_port_plan.h).
//
// This header has no DPDK includes: the factory can include it anywhere.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_BACKEND_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_BACKEND_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/backend.h"
#include "dataplane/dpdk/dpdk_address.h"
#include "dataplane/relay.h"

struct rte_eth_dev_info;

namespace drasyl {

namespace dpdk {
struct QueuePlan;
struct TapPlan;
struct WorkerShared;
}  // namespace dpdk

struct DpdkBackendOptions {
  // EAL arguments as the operator wrote them (--dpdk_eal); the backend adds
  // --no-huge when there are no hugepages, and the TAP ports itself.
  std::string eal_args;
  std::vector<DpdkAddress> addresses;
  // UDP listener ports of the two families (0: that family is not served).
  uint16_t udp4_port = 22527;
  uint16_t udp6_port = 22527;
  // What udp_listeners() reports (the configured listeners, for the banner).
  std::vector<SocketAddress> listeners;
  RelayConfig relay;
  int64_t send_unites_ms = 5000;
  int control_wakeup = -1;  // eventfd of the control thread
  // Kernel name of the TAP of ethernet port i: <tap_name><k + i>, with the
  // first k for which the names are free (0 unless another super peer in
  // the same network namespace has them); a VLAN with addresses on that port
  // gets a TAP of its own, <tap_name><k + i>.<vid>, where the kernel sees
  // its traffic untagged.
  std::string tap_name = "drasyl";
  // A worker that found nothing to do for a while naps between polls, the
  // naps growing from 8 µs up to this (0: pure busy polling, the classic
  // DPDK way). Bounds the extra latency of the first packet after a pause.
  int idle_sleep_us = 100;
  // MTU of every ethernet port, set on the port (--dpdk_mtu; 0: each
  // port's own, for net_af_packet its interface's). Larger datagrams leave
  // in fragments.
  int mtu = 0;
  // --af_xdp: the ports are net_af_xdp on these interfaces, which the
  // kernel keeps (dpdk_af_xdp.h); `addresses` are then theirs, no TAP.
  std::vector<std::string> af_xdp;
};

class DpdkBackend : public Backend {
 public:
  // Initializes the EAL (once per process), configures the ports and TAPs.
  static absl::StatusOr<std::unique_ptr<DpdkBackend>> Create(const DpdkBackendOptions& opts);
  // Stops, closes the ports and cleans up the EAL.
  ~DpdkBackend() override;

  // "af_xdp" under --af_xdp, else "dpdk".
  const char* name() const override;
  absl::Status Start() override;
  void Stop() override;
  size_t num_workers() const override;
  bool SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) override;
  std::vector<SocketAddress> udp_listeners() const override { return opts_.listeners; }
  bool PinnedCpus(cpu_set_t* workers, cpu_set_t* main) const override;
  // Logs the first few frames per port whose checksums were wrong (with
  // the likely cause and the fix), and fails when a TAP interface is gone
  // or renamed: without it ARP, ND, ping and the TCP fallback are dead.
  absl::Status Housekeeping() override;
  std::string ExtraMetrics() const override;

  struct Impl;

 private:
  DpdkBackend();
  WorkerCore& worker(size_t i) override;
  // Probes the ports, plans (dpdk_port_plan.h), applies the plan.
  absl::Status Init();
  absl::Status CreatePools(const dpdk::QueuePlan& plan);
  absl::Status StartPorts(const dpdk::QueuePlan& plan, const std::vector<rte_eth_dev_info>& infos,
                          const std::vector<dpdk::TapPlan>& taps);
  // Housekeeping under --af_xdp when the kernel's addresses changed.
  absl::Status FollowAddresses();
  // SendFromControl with the conf of the moment.
  bool SendWithConf(const dpdk::WorkerShared& sh, const PeerPath& path, const uint8_t* data,
                    size_t len);
  // SendWithConf for a datagram beyond the port's MTU.
  bool SendFragments(const dpdk::WorkerShared& sh, const PeerPath& path, const uint8_t* data,
                     size_t len);

  DpdkBackendOptions opts_;
  std::unique_ptr<Impl> impl_;
  std::atomic<bool> stop_{false};
  bool started_ = false;
  bool stopped_ = false;
};

absl::StatusOr<std::unique_ptr<Backend>> CreateDpdkBackend(const DpdkBackendOptions& opts);

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_BACKEND_H_
