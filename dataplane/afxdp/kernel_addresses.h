// The addresses the kernel has on an interface (rtnetlink RTM_GETADDR):
// under --af_xdp they are the super peer's own, read at start and compared
// again by the backend's housekeeping.
#ifndef DRASYL_DATAPLANE_AFXDP_KERNEL_ADDRESSES_H_
#define DRASYL_DATAPLANE_AFXDP_KERNEL_ADDRESSES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/socket_address.h"

namespace drasyl::afxdp {

struct KernelAddress {
  SocketAddress addr;  // port 0
  int prefix_len = 0;
  friend bool operator==(const KernelAddress& a, const KernelAddress& b) {
    return a.addr == b.addr && a.prefix_len == b.prefix_len;
  }
};

// The interface's global IPv4 and IPv6 addresses in the kernel's order.
// Left out: IPv6 link-local ones (a peer reaches a super peer by a routable
// address), temporary (privacy) ones, which come and go by the day, and
// tentative ones (duplicate address detection not done).
absl::StatusOr<std::vector<KernelAddress>> InterfaceAddresses(unsigned ifindex);

std::string AddressList(const std::vector<KernelAddress>& addrs);  // for the log

}  // namespace drasyl::afxdp

#endif  // DRASYL_DATAPLANE_AFXDP_KERNEL_ADDRESSES_H_
