#include "dataplane/afxdp/xsk_sockets.h"

#include <dirent.h>
#include <linux/if_xdp.h>
#include <linux/sock_diag.h>
#include <linux/xdp_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/afxdp/netlink_dump.h"

namespace drasyl::afxdp {
namespace {

#ifndef AF_XDP
#define AF_XDP 44
#endif

// Socket inode -> where it is bound, for every AF_XDP socket of this
// network namespace (sock_diag lists them all, not only ours).
absl::StatusOr<absl::flat_hash_map<uint32_t, XskBinding>> BoundSockets() {
  struct {
    nlmsghdr nh;
    xdp_diag_req req;
  } msg{};
  msg.nh.nlmsg_len = sizeof(msg);
  msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.req.sdiag_family = AF_XDP;
  msg.req.xdiag_show = XDP_SHOW_INFO;
  absl::flat_hash_map<uint32_t, XskBinding> out;
  absl::Status s = NetlinkDump(NETLINK_SOCK_DIAG, &msg.nh, "sock_diag AF_XDP",
                               [&](const nlmsghdr& nh) {
                                 if (std::optional<XskBinding> b = ParseXdpDiag(nh)) {
                                   out[b->inode] = *b;
                                 }
                               });
  if (!s.ok()) return s;
  return out;
}

}  // namespace

std::optional<XskBinding> ParseXdpDiag(const nlmsghdr& nh) {
  if (nh.nlmsg_type != SOCK_DIAG_BY_FAMILY || nh.nlmsg_len < NLMSG_LENGTH(sizeof(xdp_diag_msg))) {
    return std::nullopt;
  }
  xdp_diag_msg m;
  std::memcpy(&m, NLMSG_DATA(&nh), sizeof(m));
  if (m.xdiag_family != AF_XDP) return std::nullopt;
  const char* attr = static_cast<const char*>(NLMSG_DATA(&nh)) + NLA_ALIGN(sizeof(m));
  size_t left = nh.nlmsg_len - NLMSG_LENGTH(NLA_ALIGN(sizeof(m)));
  while (left >= sizeof(nlattr)) {
    nlattr a;
    std::memcpy(&a, attr, sizeof(a));
    if (a.nla_len < sizeof(nlattr) || a.nla_len > left) return std::nullopt;
    if (a.nla_type == XDP_DIAG_INFO && a.nla_len >= NLA_HDRLEN + sizeof(xdp_diag_info)) {
      xdp_diag_info info;
      std::memcpy(&info, attr + NLA_HDRLEN, sizeof(info));
      return XskBinding{m.xdiag_ino, info.ifindex, info.queue_id};
    }
    const size_t step = std::min<size_t>(NLA_ALIGN(a.nla_len), left);
    attr += step;
    left -= step;
  }
  return std::nullopt;
}

XskSockets ProcessXskSockets() {
  XskSockets out;
  absl::StatusOr<absl::flat_hash_map<uint32_t, XskBinding>> bound = BoundSockets();
  if (!bound.ok()) out.where = bound.status();
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const int fd = std::atoi(e->d_name);
    if (fd <= 2 || fd == dirfd(d)) continue;
    int domain = 0;
    socklen_t len = sizeof(domain);
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0 || domain != AF_XDP) continue;
    XskSocket x;
    x.fd = fd;
    xdp_options opts{};
    len = sizeof(opts);
    if (getsockopt(fd, SOL_XDP, XDP_OPTIONS, &opts, &len) == 0) {
      x.zero_copy = (opts.flags & XDP_OPTIONS_ZEROCOPY) != 0;
    }
    struct stat st;
    if (bound.ok() && fstat(fd, &st) == 0) {
      if (auto it = bound->find(static_cast<uint32_t>(st.st_ino)); it != bound->end()) {
        x.ifindex = it->second.ifindex;
        x.queue = it->second.queue;
      }
    }
    out.sockets.push_back(x);
  }
  closedir(d);
  return out;
}

}  // namespace drasyl::afxdp
