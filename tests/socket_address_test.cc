#include "common/socket_address.h"

#include <arpa/inet.h>

#include <cstring>

#include "common/ip_prefix.h"
#include "gtest/gtest.h"

namespace drasyl {
namespace {

TEST(SocketAddressTest, ParsesIpv4) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("192.0.2.1:22527");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_v4());
  EXPECT_EQ(a->family(), AF_INET);
  EXPECT_EQ(a->port(), 22527);
  EXPECT_EQ(a->bytes()[0], 192);
  EXPECT_EQ(a->bytes()[3], 1);
  EXPECT_EQ(*a, SocketAddress::V4(0xc0000201, 22527));
  EXPECT_EQ(a->ToString(), "192.0.2.1:22527");
  EXPECT_EQ(a->HostString(), "192.0.2.1");
  EXPECT_FALSE(a->IsWildcard());
}

TEST(SocketAddressTest, ParsesIpv6) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("[2001:db8::1]:443");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(a->port(), 443);
  EXPECT_EQ(a->bytes()[0], 0x20);
  EXPECT_EQ(a->bytes()[15], 1);
  EXPECT_EQ(a->ToString(), "[2001:db8::1]:443");
  EXPECT_EQ(a->HostString(), "2001:db8::1");
}

TEST(SocketAddressTest, ParsesWildcards) {
  absl::StatusOr<SocketAddress> v4 = SocketAddress::Parse("0.0.0.0:22527");
  absl::StatusOr<SocketAddress> v6 = SocketAddress::Parse("[::]:8443");
  ASSERT_TRUE(v4.ok());
  ASSERT_TRUE(v6.ok());
  EXPECT_TRUE(v4->IsWildcard());
  EXPECT_TRUE(v6->IsWildcard());
  EXPECT_EQ(v6->ToString(), "[::]:8443");
  EXPECT_FALSE(SocketAddress().IsWildcard());
}

TEST(SocketAddressTest, ParsesPortBounds) {
  EXPECT_EQ(SocketAddress::Parse("1.2.3.4:0")->port(), 0);
  EXPECT_EQ(SocketAddress::Parse("1.2.3.4:65535")->port(), 65535);
  EXPECT_EQ(SocketAddress::Parse("[::1]:65535")->port(), 65535);
}

TEST(SocketAddressTest, ParsesNumericScope) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse("[fe80::1%7]:1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->ToString(), "[fe80::1%7]:1");
  EXPECT_NE(*a, *SocketAddress::Parse("[fe80::1]:1"));
}

TEST(SocketAddressTest, RejectsGarbage) {
  for (const char* text : {
           "", "garbage", "1.2.3.4", "1.2.3.4:", ":22527", "1.2.3.4:65536", "1.2.3.4:99999999",
           "1.2.3.4:-1", "1.2.3.4:+1", "1.2.3.4: 1", "1.2.3.4:1 ", " 1.2.3.4:1", "1.2.3:1",
           "1.2.3.4.5:1", "256.1.1.1:1", "01.2.3.4:1", "1.2.3.4:0x10", "2001:db8::1:443",
           "[2001:db8::1]", "[2001:db8::1]:", "[2001:db8::1]443", "[2001:db8::1:443",
           "[]:443", "[1.2.3.4]:443", "[::1]:70000", "[::1%]:1", "[::1%nosuchif0]:1",
           "host.example:80", "[::g]:1",
       }) {
    EXPECT_FALSE(SocketAddress::Parse(text).ok()) << "'" << text << "'";
  }
}

TEST(SocketAddressTest, MappedV6) {
  SocketAddress v4 = SocketAddress::V4(0x01020304, 5);
  std::array<uint8_t, 16> expected = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 1, 2, 3, 4};
  EXPECT_EQ(v4.MappedV6(), expected);
  SocketAddress v6 = *SocketAddress::Parse("[2001:db8::1]:1");
  EXPECT_EQ(v6.MappedV6(), v6.bytes());
}

TEST(SocketAddressTest, ToSockaddrV4) {
  SocketAddress a = *SocketAddress::Parse("192.0.2.1:22527");
  sockaddr_storage ss;
  socklen_t len = a.ToSockaddr(&ss);
  ASSERT_EQ(len, sizeof(sockaddr_in));
  auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
  EXPECT_EQ(sin->sin_family, AF_INET);
  EXPECT_EQ(ntohs(sin->sin_port), 22527);
  EXPECT_EQ(ntohl(sin->sin_addr.s_addr), 0xc0000201u);
}

TEST(SocketAddressTest, ToSockaddrV4AsMappedV6) {
  SocketAddress a = *SocketAddress::Parse("192.0.2.1:22527");
  sockaddr_storage ss;
  socklen_t len = a.ToSockaddr(&ss, /*as_v6=*/true);
  ASSERT_EQ(len, sizeof(sockaddr_in6));
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
  EXPECT_EQ(sin6->sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sin6->sin6_port), 22527);
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof(buf));
  EXPECT_STREQ(buf, "::ffff:192.0.2.1");
}

TEST(SocketAddressTest, ToSockaddrV6RoundTrip) {
  SocketAddress a = *SocketAddress::Parse("[fe80::2%3]:9");
  sockaddr_storage ss;
  socklen_t len = a.ToSockaddr(&ss, /*as_v6=*/false);
  ASSERT_EQ(len, sizeof(sockaddr_in6));
  EXPECT_EQ(reinterpret_cast<sockaddr_in6*>(&ss)->sin6_scope_id, 3u);
  absl::StatusOr<SocketAddress> back =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, a);
}

TEST(SocketAddressTest, FromSockaddrUnmapsV4) {
  SocketAddress v4 = *SocketAddress::Parse("198.51.100.7:1234");
  sockaddr_storage ss;
  socklen_t len = v4.ToSockaddr(&ss, /*as_v6=*/true);
  const sockaddr* sa = reinterpret_cast<const sockaddr*>(&ss);

  absl::StatusOr<SocketAddress> unmapped = SocketAddress::FromSockaddr(sa, len);
  ASSERT_TRUE(unmapped.ok());
  EXPECT_TRUE(unmapped->is_v4());
  EXPECT_EQ(*unmapped, v4);

  absl::StatusOr<SocketAddress> kept = SocketAddress::FromSockaddr(sa, len, /*unmap_v4=*/false);
  ASSERT_TRUE(kept.ok());
  EXPECT_TRUE(kept->is_v6());
  EXPECT_EQ(kept->ToString(), "[::ffff:198.51.100.7]:1234");
  EXPECT_EQ(kept->MappedV6(), v4.MappedV6());
}

TEST(SocketAddressTest, FromSockaddrRejectsBadInput) {
  sockaddr_storage ss{};
  ss.ss_family = AF_UNIX;
  EXPECT_FALSE(
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), sizeof(ss)).ok());
  ss.ss_family = AF_INET6;
  EXPECT_FALSE(SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss),
                                           sizeof(sockaddr_in))
                   .ok());
  EXPECT_FALSE(SocketAddress::FromSockaddr(nullptr, 0).ok());
}

SocketAddress Addr(const char* text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status();
  return a.ok() ? *a : SocketAddress();
}

// The one rule for every listener set (UDP sockets, TCP fallback, DPDK).
TEST(ListensDualStackTest, WildcardIpv6UnlessAnIpv4ListenerSharesThePort) {
  const SocketAddress any6 = Addr("[::]:22527");
  EXPECT_TRUE(ListensDualStack(any6, {any6}));
  EXPECT_FALSE(ListensDualStack(any6, {Addr("0.0.0.0:22527"), any6}));
  EXPECT_FALSE(ListensDualStack(any6, {Addr("192.0.2.1:22527"), any6}));
  EXPECT_TRUE(ListensDualStack(any6, {Addr("0.0.0.0:22528"), any6}));
  EXPECT_TRUE(ListensDualStack(any6, {Addr("[::1]:22527"), any6}));
  // Ephemeral ports are never shared.
  const SocketAddress any6_ephemeral = Addr("[::]:0");
  EXPECT_TRUE(ListensDualStack(any6_ephemeral, {Addr("0.0.0.0:0"), any6_ephemeral}));
  // Only a wildcard IPv6 listener takes IPv4.
  EXPECT_FALSE(ListensDualStack(Addr("[::1]:22527"), {Addr("[::1]:22527")}));
  EXPECT_FALSE(ListensDualStack(Addr("0.0.0.0:22527"), {Addr("0.0.0.0:22527")}));
  EXPECT_FALSE(ListensDualStack(SocketAddress(), {}));
}

TEST(IpPrefixTest, ParsesBothFamilies) {
  absl::StatusOr<IpPrefix> p = ParseIpPrefix("192.0.2.7/24");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->addr.is_v4());
  EXPECT_EQ(p->addr, SocketAddress::V4(0xc0000207, 0));
  EXPECT_EQ(p->length, 24);
  EXPECT_EQ(p->ToString(), "192.0.2.7/24");
  p = ParseIpPrefix("2001:db8::1/128");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->addr.is_v6());
  EXPECT_EQ(p->length, 128);
  EXPECT_EQ(p->ToString(), "2001:db8::1/128");
  p = ParseIpPrefix("0.0.0.0/0");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->length, 0);
}

TEST(IpPrefixTest, RejectsWhatIsNotAnAddressAndLength) {
  for (const char* text : {"", "/", "192.0.2.1", "192.0.2.1/", "192.0.2.1/33", "::1/129",
                           "192.0.2.1/-1", "192.0.2.1/+8", "192.0.2.1/ 8", "192.0.2.1/8 ",
                           "192.0.2.1/0x8", "192.0.2.1/1000", "/24", "999.0.0.1/8",
                           "[::1]/64", "fe80::1%eth0/64", "192.0.2.1:80/24", "host/24",
                           "192.0.2.1/24/8"}) {
    SCOPED_TRACE(text);
    absl::StatusOr<IpPrefix> p = ParseIpPrefix(text);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(std::string(p.status().message()).find(std::string("'") + text + "'"),
              std::string::npos)
        << p.status();
  }
}

TEST(IpPrefixTest, BareAddresses) {
  absl::StatusOr<SocketAddress> a = ParseIpAddress("2001:db8::2");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->is_v6());
  EXPECT_EQ(a->port(), 0);
  EXPECT_EQ(a->HostString(), "2001:db8::2");
  a = ParseIpAddress("198.51.100.1");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(*a, SocketAddress::V4(0xc6336401, 0));
  for (const char* text : {"", "198.51.100.1:0", "[::1]", "fe80::1%1", "example.org", " ::1"}) {
    SCOPED_TRACE(text);
    EXPECT_FALSE(ParseIpAddress(text).ok());
  }
}

}  // namespace
}  // namespace drasyl
