// This process's AF_XDP sockets (DPDK's net_af_xdp creates and keeps them)
// with the interface and queue each is bound to: from /proc/self/fd and
// sock_diag's AF_XDP list (the kernel's xsk_diag). The DPDK workers sleep
// on them when idle, and the log says how they run.
#ifndef DRASYL_DATAPLANE_AFXDP_XSK_SOCKETS_H_
#define DRASYL_DATAPLANE_AFXDP_XSK_SOCKETS_H_

#include <linux/netlink.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "absl/status/status.h"

namespace drasyl::afxdp {

struct XskSocket {
  int fd = -1;
  uint32_t ifindex = 0;  // 0: not bound (or unknown without xsk_diag)
  uint32_t queue = 0;
  bool zero_copy = false;
};

// Every AF_XDP socket among this process's descriptors, and where each is
// bound; `where` says why that is unknown (ifindex 0) when the kernel
// cannot tell (no xsk_diag).
struct XskSockets {
  std::vector<XskSocket> sockets;
  absl::Status where;  // why ifindex/queue are unknown, if they are
};
XskSockets ProcessXskSockets();

// One sock_diag answer about an AF_XDP socket (SOCK_DIAG_BY_FAMILY with
// XDP_SHOW_INFO): its inode and where it is bound; nullopt for any other
// message or one without XDP_DIAG_INFO. Exposed for tests.
struct XskBinding {
  uint32_t inode = 0;
  uint32_t ifindex = 0;
  uint32_t queue = 0;
};
std::optional<XskBinding> ParseXdpDiag(const nlmsghdr& nh);

}  // namespace drasyl::afxdp

#endif  // DRASYL_DATAPLANE_AFXDP_XSK_SOCKETS_H_
