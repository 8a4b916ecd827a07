#include "dataplane/afxdp/kernel_addresses.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace drasyl::afxdp {

absl::StatusOr<std::vector<KernelAddress>> InterfaceAddresses(unsigned ifindex) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (fd < 0) return absl::InternalError(absl::StrCat("netlink socket: ", strerror(errno)));
  struct {
    nlmsghdr nh;
    ifaddrmsg ifa;
  } req{};
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
  req.nh.nlmsg_type = RTM_GETADDR;
  req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.nh.nlmsg_seq = 1;
  req.ifa.ifa_family = AF_UNSPEC;
  if (::send(fd, &req, req.nh.nlmsg_len, 0) < 0) {
    const int e = errno;
    ::close(fd);
    return absl::InternalError(absl::StrCat("netlink RTM_GETADDR: ", strerror(e)));
  }
  std::vector<KernelAddress> out;
  alignas(nlmsghdr) char buf[16384];
  for (bool done = false; !done;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      ::close(fd);
      return absl::InternalError(absl::StrCat("netlink recv: ", strerror(e)));
    }
    size_t left = static_cast<size_t>(n);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, left); nh = NLMSG_NEXT(nh, left)) {
      if (nh->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      if (nh->nlmsg_type == NLMSG_ERROR) {
        ::close(fd);
        return absl::InternalError("netlink RTM_GETADDR answered with an error");
      }
      if (nh->nlmsg_type != RTM_NEWADDR) continue;
      const auto* ifa = static_cast<const ifaddrmsg*>(NLMSG_DATA(nh));
      if (ifa->ifa_index != ifindex) continue;
      if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) continue;
      if (ifa->ifa_scope != RT_SCOPE_UNIVERSE) continue;  // link-local, host
      uint32_t flags = ifa->ifa_flags;
      const uint8_t* ip = nullptr;
      int attr_len = static_cast<int>(IFA_PAYLOAD(nh));
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
      if (ip == nullptr || (flags & skip) != 0) continue;
      KernelAddress a;
      if (ifa->ifa_family == AF_INET) {
        a.addr = SocketAddress::V4(
            (uint32_t{ip[0]} << 24) | (uint32_t{ip[1]} << 16) | (uint32_t{ip[2]} << 8) | ip[3], 0);
      } else {
        a.addr = SocketAddress::V6(ip, 0);
      }
      a.prefix_len = ifa->ifa_prefixlen;
      out.push_back(a);
    }
  }
  ::close(fd);
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
