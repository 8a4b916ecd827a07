// The kernel side of the DPDK backend's exception path: the TAP interface
// (created by DPDK's net_tap PMD) gets the super peer's addresses, so the
// kernel answers ARP, ND and ping for them and terminates the TCP fallback.
// Plain rtnetlink, no DPDK: usable (and testable) on any interface.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_TAP_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_TAP_H_

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace drasyl::dpdk {

struct InterfaceAddress {
  int family = 0;  // AF_INET / AF_INET6
  std::array<uint8_t, 16> ip{};  // IPv4 in the first 4 bytes
  int prefix_len = 0;
};

// Sets `ifname` up and adds every address (RTM_NEWADDR, replacing an equal
// one; IPv6 without duplicate address detection so it is usable at once).
absl::Status ConfigureInterface(const std::string& ifname,
                                const std::vector<InterfaceAddress>& addrs, int mtu = 0);

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_TAP_H_
