#include "dataplane/afxdp/kernel_addresses.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "dataplane/afxdp/netlink_dump.h"

namespace drasyl::afxdp {

absl::StatusOr<std::vector<KernelAddress>> InterfaceAddresses(unsigned ifindex) {
  struct {
    nlmsghdr nh;
    ifaddrmsg ifa;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.nh.nlmsg_type = RTM_GETADDR;
  req.ifa.ifa_family = AF_UNSPEC;
  std::vector<KernelAddress> out;
  absl::Status s = NetlinkDump(NETLINK_ROUTE, &req.nh, "RTM_GETADDR", [&](const nlmsghdr& nh) {
    if (nh.nlmsg_type != RTM_NEWADDR) return;
    const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(&nh));
    if (ifa->ifa_index != ifindex) return;
    if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) return;
    if (ifa->ifa_scope != RT_SCOPE_UNIVERSE) return;  // link-local, host
    uint32_t flags = ifa->ifa_flags;
    const uint8_t* ip = nullptr;
    int attr_len = static_cast<int>(IFA_PAYLOAD(&nh));
    for (auto* rta = IFA_RTA(ifa); RTA_OK(rta, attr_len); rta = RTA_NEXT(rta, attr_len)) {
      if (rta->rta_type == IFA_FLAGS && RTA_PAYLOAD(rta) >= 4) {
        std::memcpy(&flags, RTA_DATA(rta), 4);
      }
      // IFA_LOCAL is the address of a point-to-point link's own end;
      // elsewhere IFA_ADDRESS (and IFA_LOCAL equals it for IPv4).
      if (rta->rta_type == IFA_LOCAL || (rta->rta_type == IFA_ADDRESS && ip == nullptr)) {
        ip = static_cast<const uint8_t*>(RTA_DATA(rta));
      }
    }
    // (IFA_F_TEMPORARY is IPv4's IFA_F_SECONDARY: a secondary address is ours.)
    const uint32_t skip = ifa->ifa_family == AF_INET6
                              ? (IFA_F_TEMPORARY | IFA_F_TENTATIVE | IFA_F_DADFAILED)
                              : 0;
    if (ip == nullptr || (flags & skip) != 0) return;
    KernelAddress a;
    if (ifa->ifa_family == AF_INET) {
      a.addr = SocketAddress::V4(
          (uint32_t{ip[0]} << 24) | (uint32_t{ip[1]} << 16) | (uint32_t{ip[2]} << 8) | ip[3], 0);
    } else {
      a.addr = SocketAddress::V6(ip, 0);
    }
    a.prefix_len = ifa->ifa_prefixlen;
    out.push_back(a);
  });
  if (!s.ok()) return s;
  return out;
}

std::string AddressList(const std::vector<KernelAddress>& addrs) {
  std::string out;
  for (const KernelAddress& a : addrs) {
    absl::StrAppend(&out, out.empty() ? "" : " ", a.addr.HostString(), "/", a.prefix_len);
  }
  return out.empty() ? "(none)" : out;
}

}  // namespace drasyl::afxdp
