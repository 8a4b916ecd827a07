// dataplane/afxdp/xsk_sockets.h: finding this process's AF_XDP sockets and
// reading where sock_diag says each is bound.
#include "dataplane/afxdp/xsk_sockets.h"

#include <linux/sock_diag.h>
#include <linux/xdp_diag.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "gtest/gtest.h"

namespace drasyl::afxdp {
namespace {

#ifndef AF_XDP
#define AF_XDP 44
#endif

// A sock_diag answer: the header, the xdp_diag_msg, then attributes.
class DiagMessage {
 public:
  explicit DiagMessage(uint32_t inode, uint8_t family = AF_XDP) {
    buf_.resize(NLMSG_LENGTH(sizeof(xdp_diag_msg)));
    xdp_diag_msg m{};
    m.xdiag_family = family;
    m.xdiag_ino = inode;
    std::memcpy(buf_.data() + NLMSG_HDRLEN, &m, sizeof(m));
  }
  DiagMessage& Attr(uint16_t type, const void* data, size_t len, int extra_len = 0) {
    const size_t at = buf_.size();
    buf_.resize(at + NLA_ALIGN(NLA_HDRLEN + len));
    nlattr a{};
    a.nla_type = type;
    a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + len + extra_len);
    std::memcpy(buf_.data() + at, &a, sizeof(a));
    std::memcpy(buf_.data() + at + NLA_HDRLEN, data, len);
    return *this;
  }
  const nlmsghdr& Header(uint16_t type = SOCK_DIAG_BY_FAMILY) {
    auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
    nh->nlmsg_len = static_cast<uint32_t>(buf_.size());
    nh->nlmsg_type = type;
    return *nh;
  }

 private:
  std::vector<char> buf_ = std::vector<char>(NLMSG_HDRLEN);  // new[]: aligned for nlmsghdr
};

TEST(ParseXdpDiag, ReadsTheInodeInterfaceAndQueue) {
  const uint32_t uid = 0;
  const xdp_diag_info info{7, 3};
  DiagMessage m(4242);
  m.Attr(XDP_DIAG_UID, &uid, sizeof(uid)).Attr(XDP_DIAG_INFO, &info, sizeof(info));
  std::optional<XskBinding> b = ParseXdpDiag(m.Header());
  ASSERT_TRUE(b.has_value());
  EXPECT_EQ(b->inode, 4242u);
  EXPECT_EQ(b->ifindex, 7u);
  EXPECT_EQ(b->queue, 3u);
}

TEST(ParseXdpDiag, IgnoresOtherMessagesAndCutAttributes) {
  const xdp_diag_info info{7, 3};
  {
    DiagMessage m(1);
    m.Attr(XDP_DIAG_INFO, &info, sizeof(info));
    EXPECT_FALSE(ParseXdpDiag(m.Header(NLMSG_NOOP)).has_value());
  }
  {
    DiagMessage m(1, AF_INET);
    m.Attr(XDP_DIAG_INFO, &info, sizeof(info));
    EXPECT_FALSE(ParseXdpDiag(m.Header()).has_value()) << "not an AF_XDP socket";
  }
  {
    DiagMessage m(1);  // no XDP_DIAG_INFO
    const uint32_t uid = 0;
    m.Attr(XDP_DIAG_UID, &uid, sizeof(uid));
    EXPECT_FALSE(ParseXdpDiag(m.Header()).has_value());
  }
  {
    DiagMessage m(1);  // an attribute that claims more than the message holds
    m.Attr(XDP_DIAG_INFO, &info, sizeof(info), /*extra_len=*/64);
    EXPECT_FALSE(ParseXdpDiag(m.Header()).has_value());
  }
  {
    DiagMessage m(1);  // XDP_DIAG_INFO too short for its struct
    const uint32_t half = 7;
    m.Attr(XDP_DIAG_INFO, &half, sizeof(half));
    EXPECT_FALSE(ParseXdpDiag(m.Header()).has_value());
  }
  std::vector<char> shorter(NLMSG_HDRLEN + 4);
  auto* nh = reinterpret_cast<nlmsghdr*>(shorter.data());
  nh->nlmsg_len = static_cast<uint32_t>(shorter.size());
  nh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
  EXPECT_FALSE(ParseXdpDiag(*nh).has_value()) << "shorter than an xdp_diag_msg";
}

TEST(ProcessXskSockets, FindsAnAfXdpSocketOfThisProcess) {
  const int fd = ::socket(AF_XDP, SOCK_RAW | SOCK_CLOEXEC, 0);
  if (fd < 0 && (errno == EPERM || errno == EACCES)) {
    GTEST_SKIP() << "creating an AF_XDP socket needs CAP_NET_RAW (run as root)";
  }
  if (fd < 0 && errno == EAFNOSUPPORT) GTEST_SKIP() << "this kernel has no AF_XDP sockets";
  ASSERT_GE(fd, 0) << strerror(errno);
  XskSockets found = ProcessXskSockets();
  int seen = 0;
  for (const XskSocket& x : found.sockets) {
    if (x.fd != fd) continue;
    ++seen;
    EXPECT_FALSE(x.zero_copy);
    EXPECT_EQ(x.ifindex, 0u) << "an unbound socket is bound nowhere";
  }
  EXPECT_EQ(seen, 1);
  ::close(fd);
  for (const XskSocket& x : ProcessXskSockets().sockets) EXPECT_NE(x.fd, fd) << "closed";
}

}  // namespace
}  // namespace drasyl::afxdp
