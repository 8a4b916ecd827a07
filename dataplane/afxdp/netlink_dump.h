// One netlink dump (NLM_F_DUMP): the request sent, every message of the
// answer handed to a callback until NLMSG_DONE. rtnetlink's address list
// and sock_diag's AF_XDP socket list both come this way.
#ifndef DRASYL_DATAPLANE_AFXDP_NETLINK_DUMP_H_
#define DRASYL_DATAPLANE_AFXDP_NETLINK_DUMP_H_

#include <linux/netlink.h>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace drasyl::afxdp {

// `request` is a whole message (nlmsg_len bytes from its header); its
// flags get NLM_F_REQUEST | NLM_F_DUMP. `what` names it in errors.
absl::Status NetlinkDump(int protocol, nlmsghdr* request, absl::string_view what,
                         absl::FunctionRef<void(const nlmsghdr&)> each);

}  // namespace drasyl::afxdp

#endif  // DRASYL_DATAPLANE_AFXDP_NETLINK_DUMP_H_
