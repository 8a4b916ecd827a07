// The super peer's hold on an --af_xdp interface: one instance per
// interface (a second one is refused, naming the first one's pid), a
// leftover program of ours (a predecessor killed by SIGKILL) removed, a
// foreign XDP program left alone with a clear error; the program object
// for DPDK's net_af_xdp (xdp_prog=), its maps once attached, and its
// removal when the super peer stops.
//
// No DPDK here: net_af_xdp loads and attaches the program and fills
// xsks_map; this object fills drasyl_dests and reads drasyl_verdicts.
#ifndef DRASYL_DATAPLANE_AFXDP_XDP_OWNER_H_
#define DRASYL_DATAPLANE_AFXDP_XDP_OWNER_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/afxdp/kernel_addresses.h"
#include "dataplane/afxdp/relay_filter_maps.h"

namespace drasyl::afxdp {

using Verdicts = std::array<uint64_t, DRASYL_VERDICT_COUNT>;

// The label value of verdict v in /metrics.
const char* VerdictName(int v);

class XdpOwner {
 public:
  // Claims `ifname` for this process (per network namespace); see above.
  static absl::StatusOr<std::unique_ptr<XdpOwner>> Claim(const std::string& ifname);
  // Removes our program if it is still attached, then gives up the claim.
  ~XdpOwner();
  XdpOwner(const XdpOwner&) = delete;
  XdpOwner& operator=(const XdpOwner&) = delete;

  const std::string& ifname() const { return ifname_; }
  unsigned ifindex() const { return ifindex_; }
  // The program object for net_af_xdp's xdp_prog= (an in-memory file).
  const std::string& program_path() const { return program_path_; }
  // The interface's RX queues (its combined channels, as net_af_xdp counts
  // them): each needs a socket, or what the program sends there is lost.
  int queue_count() const { return queue_count_; }

  // After net_af_xdp attached the program: finds it and its maps.
  absl::Status Adopt();
  // "native" or "generic" (skb) XDP, once adopted.
  const char* attach_mode() const { return attach_mode_; }
  // Which destinations the program sends to the workers: UDP to udp4_port
  // on the IPv4 addresses, to udp6_port on the IPv6 ones (0: none).
  absl::Status SetDestinations(const std::vector<KernelAddress>& addrs, uint16_t udp4_port,
                               uint16_t udp6_port);
  // The verdict counters summed over the CPUs; false when unreadable.
  bool ReadVerdicts(Verdicts* out) const;

 private:
  XdpOwner() = default;

  std::string ifname_;
  unsigned ifindex_ = 0;
  int claim_fd_ = -1;     // the listening abstract socket that marks our claim
  int object_fd_ = -1;    // memfd with the program object
  std::string program_path_;
  int queue_count_ = 1;
  uint32_t prog_id_ = 0;  // once adopted
  uint32_t attach_flags_ = 0;
  const char* attach_mode_ = "none";
  int dests_fd_ = -1;
  int verdicts_fd_ = -1;
  std::vector<KernelAddress> dests_;
};

// Prometheus text of the verdict counters of every owner.
std::string RenderVerdictMetrics(const std::vector<const XdpOwner*>& owners);

}  // namespace drasyl::afxdp

#endif  // DRASYL_DATAPLANE_AFXDP_XDP_OWNER_H_
