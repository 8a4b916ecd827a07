#include "dataplane/dpdk/dpdk_tap.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace drasyl::dpdk {
namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

void AddAttr(nlmsghdr* n, size_t cap, uint16_t type, const void* data, size_t len) {
  const size_t rta_len = RTA_LENGTH(len);
  if (NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta_len) > cap) return;
  rtattr* rta = reinterpret_cast<rtattr*>(reinterpret_cast<char*>(n) + NLMSG_ALIGN(n->nlmsg_len));
  rta->rta_type = type;
  rta->rta_len = static_cast<uint16_t>(rta_len);
  std::memcpy(RTA_DATA(rta), data, len);
  n->nlmsg_len = NLMSG_ALIGN(n->nlmsg_len) + RTA_ALIGN(rta_len);
}

// Sends one request and waits for its ACK; the kernel's error as a status.
absl::Status Talk(int fd, nlmsghdr* req, uint32_t seq) {
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (::sendto(fd, req, req->nlmsg_len, 0, reinterpret_cast<sockaddr*>(&kernel),
               sizeof(kernel)) < 0) {
    return absl::InternalError(absl::StrCat("netlink send: ", strerror(errno)));
  }
  alignas(nlmsghdr) char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("netlink recv: ", strerror(errno)));
    }
    for (nlmsghdr* h = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(h, static_cast<size_t>(n));
         h = NLMSG_NEXT(h, n)) {
      if (h->nlmsg_seq != seq) continue;
      if (h->nlmsg_type == NLMSG_ERROR) {
        const nlmsgerr* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        if (e->error == 0) return absl::OkStatus();
        return absl::InternalError(strerror(-e->error));
      }
    }
  }
}

}  // namespace

absl::Status ConfigureInterface(const std::string& ifname,
                                const std::vector<InterfaceAddress>& addrs, int mtu) {
  const unsigned ifindex = if_nametoindex(ifname.c_str());
  if (ifindex == 0) {
    return absl::NotFoundError(absl::StrCat("interface ", ifname, ": ", strerror(errno)));
  }
  // Up (and MTU) with the classic ioctls.
  Fd ctl(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (ctl.get() < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (mtu > 0) {
    ifr.ifr_mtu = mtu;
    if (::ioctl(ctl.get(), SIOCSIFMTU, &ifr) != 0) {
      return absl::InternalError(absl::StrCat("set MTU ", mtu, " on ", ifname, ": ", strerror(errno)));
    }
  }
  if (::ioctl(ctl.get(), SIOCGIFFLAGS, &ifr) != 0) {
    return absl::InternalError(absl::StrCat("flags of ", ifname, ": ", strerror(errno)));
  }
  ifr.ifr_flags |= IFF_UP;
  if (::ioctl(ctl.get(), SIOCSIFFLAGS, &ifr) != 0) {
    return absl::InternalError(absl::StrCat("set ", ifname, " up: ", strerror(errno)));
  }

  Fd nl(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE));
  if (nl.get() < 0) return absl::InternalError(absl::StrCat("netlink socket: ", strerror(errno)));
  timeval tv{2, 0};
  setsockopt(nl.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  uint32_t seq = 1;
  for (const InterfaceAddress& a : addrs) {
    struct {
      nlmsghdr n;
      ifaddrmsg ifa;
      char attrs[256];
    } req{};
    req.n.nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg));
    req.n.nlmsg_type = RTM_NEWADDR;
    req.n.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
    req.n.nlmsg_seq = ++seq;
    req.ifa.ifa_family = static_cast<uint8_t>(a.family);
    req.ifa.ifa_prefixlen = static_cast<uint8_t>(a.prefix_len);
    req.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
    req.ifa.ifa_index = ifindex;
    const size_t alen = a.family == AF_INET ? 4 : 16;
    AddAttr(&req.n, sizeof(req), IFA_LOCAL, a.ip.data(), alen);
    AddAttr(&req.n, sizeof(req), IFA_ADDRESS, a.ip.data(), alen);
    if (a.family == AF_INET6) {
      req.ifa.ifa_flags = IFA_F_NODAD;
      uint32_t flags = IFA_F_NODAD;
      AddAttr(&req.n, sizeof(req), IFA_FLAGS, &flags, sizeof(flags));
    } else if (a.prefix_len < 31) {
      uint32_t ip;
      std::memcpy(&ip, a.ip.data(), 4);
      const uint32_t host_mask = a.prefix_len == 0 ? 0xffffffffu : ((1u << (32 - a.prefix_len)) - 1);
      const uint32_t brd = ip | htonl(host_mask);
      AddAttr(&req.n, sizeof(req), IFA_BROADCAST, &brd, 4);
    }
    absl::Status s = Talk(nl.get(), &req.n, req.n.nlmsg_seq);
    if (!s.ok()) {
      char text[INET6_ADDRSTRLEN] = "?";
      inet_ntop(a.family, a.ip.data(), text, sizeof(text));
      return absl::InternalError(
          absl::StrCat("add address ", text, "/", a.prefix_len, " to ", ifname, ": ", s.message()));
    }
  }
  return absl::OkStatus();
}

}  // namespace drasyl::dpdk
