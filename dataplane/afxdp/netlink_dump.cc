#include "dataplane/afxdp/netlink_dump.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"

namespace drasyl::afxdp {

absl::Status NetlinkDump(int protocol, nlmsghdr* request, absl::string_view what,
                         absl::FunctionRef<void(const nlmsghdr&)> each) {
  const int fd = ::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
  if (fd < 0) return absl::InternalError(absl::StrCat("netlink socket: ", strerror(errno)));
  absl::Cleanup close_fd = [fd] { ::close(fd); };
  request->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  request->nlmsg_seq = 1;
  if (::send(fd, request, request->nlmsg_len, 0) < 0) {
    return absl::InternalError(absl::StrCat("netlink ", what, ": ", strerror(errno)));
  }
  alignas(nlmsghdr) char buf[16384];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return absl::InternalError(absl::StrCat("netlink ", what, " recv: ", strerror(errno)));
    }
    if (n == 0) return absl::InternalError(absl::StrCat("netlink ", what, ": no answer"));
    size_t left = static_cast<size_t>(n);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, left);
         nh = NLMSG_NEXT(nh, left)) {
      if (nh->nlmsg_type == NLMSG_DONE) return absl::OkStatus();
      if (nh->nlmsg_type == NLMSG_ERROR) {
        const auto* err = static_cast<const nlmsgerr*>(NLMSG_DATA(nh));
        const int e = nh->nlmsg_len >= NLMSG_LENGTH(sizeof(nlmsgerr)) ? -err->error : 0;
        return absl::InternalError(absl::StrCat("netlink ", what, " answered with an error",
                                                e > 0 ? absl::StrCat(": ", strerror(e)) : ""));
      }
      each(*nh);
    }
  }
}

}  // namespace drasyl::afxdp
