#include "control/banner.h"

#include <string>
#include <vector>

#include "common/super_peer_url.h"
#include "gtest/gtest.h"

namespace drasyl {
namespace {

SocketAddress Addr(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status();
  return a.value_or(SocketAddress());
}

// Host addresses as HostAddresses() reports them (port 0).
SocketAddress Host(const std::string& ip) {
  return Addr(ip.find(':') != std::string::npos ? "[" + ip + "]:0" : ip + ":0");
}

PublicKey TestKey() {
  PublicKey pk;
  for (size_t i = 0; i < pk.size(); ++i) pk[i] = static_cast<uint8_t>(i);
  return pk;
}

constexpr char kKeyHex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

// Default listeners with the network id of the docs/protocol.md example.
Config TestConfig() {
  Config c;
  c.network_id = 1234567890;
  c.udp4_listen = Addr("0.0.0.0:22527");
  c.udp6_listen = Addr("[::]:22527");
  c.tcp4_listen = Addr("0.0.0.0:8443");
  c.tcp6_listen = Addr("[::]:443");
  return c;
}

std::string Url(const std::string& hostport, const std::string& tail = "&tcpPort=443") {
  return "udp://" + hostport + "?publicKey=" + kKeyHex + "&networkId=1234567890" + tail;
}

TEST(SuperPeerUrlTest, Ipv4WithTcpPort) {
  EXPECT_EQ(SuperPeerUrl(Addr("192.0.2.1:22527"), TestKey(), 1234567890, 443),
            Url("192.0.2.1:22527"));
}

TEST(SuperPeerUrlTest, Ipv6InBrackets) {
  EXPECT_EQ(SuperPeerUrl(Addr("[2001:db8::1]:22527"), TestKey(), 1234567890, 443),
            Url("[2001:db8::1]:22527"));
}

TEST(SuperPeerUrlTest, WithoutTcpPort) {
  EXPECT_EQ(SuperPeerUrl(Addr("192.0.2.1:22527"), TestKey(), 1234567890, std::nullopt),
            Url("192.0.2.1:22527", ""));
}

TEST(SuperPeerUrlTest, NegativeNetworkId) {
  EXPECT_EQ(SuperPeerUrl(Addr("10.0.0.1:1"), TestKey(), -5, 8443),
            std::string("udp://10.0.0.1:1?publicKey=") + kKeyHex + "&networkId=-5&tcpPort=8443");
}

TEST(SuperPeerUrlTest, ZoneIsPercentEncoded) {
  EXPECT_EQ(SuperPeerUrl(Addr("[fe80::1%3]:1"), TestKey(), 1, std::nullopt),
            std::string("udp://[fe80::1%253]:1?publicKey=") + kKeyHex + "&networkId=1");
}

TEST(IsAnnounceableTest, Classification) {
  struct Case {
    const char* ip;
    bool announceable;
  };
  for (const Case& t : {
           Case{"10.1.2.3", true},          Case{"172.16.0.1", true},
           Case{"192.168.1.10", true},      Case{"100.64.0.1", true},
           Case{"8.8.8.8", true},           Case{"203.0.114.1", true},
           Case{"0.0.0.0", false},          Case{"127.0.0.1", false},
           Case{"127.255.255.254", false},  Case{"169.254.1.1", false},
           Case{"224.0.0.1", false},        Case{"239.255.255.250", false},
           Case{"255.255.255.255", false},  Case{"240.0.0.1", false},
           Case{"192.0.2.1", false},        Case{"198.51.100.1", false},
           Case{"203.0.113.200", false},    Case{"2a01:4f8::1", true},
           Case{"fd00::1", true},           Case{"2001:db9::1", true},
           Case{"::", false},               Case{"::1", false},
           Case{"fe80::1", false},          Case{"febf::1", false},
           Case{"ff02::1", false},          Case{"2001:db8::1", false},
           Case{"2001:db8:ffff::1", false}, Case{"::ffff:10.0.0.1", true},
           Case{"::ffff:127.0.0.1", false},
       }) {
    EXPECT_EQ(IsAnnounceable(Host(t.ip)), t.announceable) << t.ip;
  }
  EXPECT_FALSE(IsAnnounceable(SocketAddress()));
}

TEST(HostAddressesTest, OnlyAnnounceableWithoutPort) {
  for (const SocketAddress& a : HostAddresses()) {
    EXPECT_TRUE(IsAnnounceable(a)) << a.ToString();
    EXPECT_EQ(a.port(), 0) << a.ToString();
  }
}

const std::vector<SocketAddress>& Hosts() {
  static const auto* hosts = new std::vector<SocketAddress>{
      Host("10.0.0.5"), Host("2a01:4f8::5"), Host("192.168.1.5"), Host("fd00::5")};
  return *hosts;
}

TEST(BannerTest, WildcardV4Only) {
  Config c = TestConfig();
  c.udp6_listen.reset();
  EXPECT_EQ(StartupBanner(c, TestKey(), Hosts()),
            "Super peer listening on:\n"
            "  " + Url("10.0.0.5:22527") + "\n"
            "  " + Url("192.168.1.5:22527") + "\n");
}

TEST(BannerTest, WildcardV6IsDualStack) {
  Config c = TestConfig();
  c.udp4_listen.reset();
  EXPECT_EQ(StartupBanner(c, TestKey(), Hosts()),
            "Super peer listening on:\n"
            "  " + Url("[2a01:4f8::5]:22527") + "\n"
            "  " + Url("[fd00::5]:22527") + "\n"
            "  " + Url("10.0.0.5:22527") + "\n"
            "  " + Url("192.168.1.5:22527") + "\n");
}

TEST(BannerTest, BothWildcardsDeduplicated) {
  EXPECT_EQ(StartupBanner(TestConfig(), TestKey(), Hosts()),
            "Super peer listening on:\n"
            "  " + Url("10.0.0.5:22527") + "\n"
            "  " + Url("192.168.1.5:22527") + "\n"
            "  " + Url("[2a01:4f8::5]:22527") + "\n"
            "  " + Url("[fd00::5]:22527") + "\n");
}

TEST(BannerTest, DifferentPortsAreNotDuplicates) {
  Config c = TestConfig();
  c.udp6_listen = Addr("[::]:22528");
  std::vector<SocketAddress> hosts = {Host("10.0.0.5")};
  std::vector<SocketAddress> announced = AnnouncedAddresses(c, hosts);
  ASSERT_EQ(announced.size(), 2u);
  EXPECT_EQ(announced[0].ToString(), "10.0.0.5:22527");
  EXPECT_EQ(announced[1].ToString(), "10.0.0.5:22528");
}

TEST(BannerTest, SpecificAddresses) {
  Config c = TestConfig();
  c.udp4_listen = Addr("192.0.2.1:22527");
  c.udp6_listen = Addr("[2001:db8::1]:22527");
  EXPECT_EQ(StartupBanner(c, TestKey(), Hosts()),
            "Super peer listening on:\n"
            "  " + Url("192.0.2.1:22527") + "\n"
            "  " + Url("[2001:db8::1]:22527") + "\n");
}

TEST(BannerTest, SpecificV4WithWildcardV6) {
  Config c = TestConfig();
  c.udp4_listen = Addr("10.0.0.5:22527");
  std::vector<SocketAddress> announced = AnnouncedAddresses(c, Hosts());
  std::vector<std::string> text;
  for (const SocketAddress& a : announced) text.push_back(a.ToString());
  EXPECT_EQ(text, (std::vector<std::string>{"10.0.0.5:22527", "[2a01:4f8::5]:22527",
                                            "[fd00::5]:22527", "192.168.1.5:22527"}));
}

TEST(BannerTest, NoTcp) {
  Config c = TestConfig();
  c.udp6_listen.reset();
  c.tcp4_listen.reset();
  c.tcp6_listen.reset();
  EXPECT_EQ(StartupBanner(c, TestKey(), {Host("10.0.0.5")}),
            "Super peer listening on:\n"
            "  " + Url("10.0.0.5:22527", "") + "\n");
}

TEST(BannerTest, Tcp4Only) {
  Config c = TestConfig();
  c.udp6_listen.reset();
  c.tcp6_listen.reset();
  EXPECT_EQ(StartupBanner(c, TestKey(), {Host("10.0.0.5")}),
            "Super peer listening on:\n"
            "  " + Url("10.0.0.5:22527", "&tcpPort=8443") + "\n");
}

TEST(BannerTest, Tcp6PortPreferred) {
  Config c = TestConfig();
  c.udp6_listen.reset();
  EXPECT_EQ(StartupBanner(c, TestKey(), {Host("10.0.0.5")}),
            "Super peer listening on:\n"
            "  " + Url("10.0.0.5:22527", "&tcpPort=443") + "\n");
}

TEST(BannerTest, NoUdpListeners) {
  Config c = TestConfig();
  c.udp4_listen.reset();
  c.udp6_listen.reset();
  EXPECT_TRUE(AnnouncedAddresses(c, Hosts()).empty());
  EXPECT_EQ(StartupBanner(c, TestKey(), Hosts()), "Super peer listening on:\n");
}

}  // namespace
}  // namespace drasyl
