#include "config/config.h"

#include <gflags/gflags.h>

#include <map>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "common/ip_prefix.h"
#include "config/dpdk_addr.h"
#include "config/flags.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace drasyl {
namespace {

using ::testing::HasSubstr;

DpdkAddress Dpdk(const std::string& prefix, uint16_t port = 0, uint16_t vlan = 0) {
  absl::StatusOr<IpPrefix> p = ParseIpPrefix(prefix);
  EXPECT_TRUE(p.ok()) << p.status();
  return DpdkAddress{p.ok() ? p->addr : SocketAddress(), p.ok() ? p->length : 0, port, vlan};
}

// A fake process environment, so the tests never read the real one.
class ConfigTest : public ::testing::Test {
 protected:
  static std::optional<std::string> Lookup(const char* name, void* ctx) {
    auto* env = static_cast<std::map<std::string, std::string>*>(ctx);
    auto it = env->find(name);
    if (it == env->end()) return std::nullopt;
    return it->second;
  }

  absl::StatusOr<Config> Load() { return LoadConfigFrom(&Lookup, &env_); }

  // Expects an InvalidArgumentError whose message names `what` and `value`.
  void ExpectError(const std::string& what, const std::string& value) {
    absl::StatusOr<Config> c = Load();
    ASSERT_FALSE(c.ok()) << what << "='" << value << "' was accepted";
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(c.status().message()), HasSubstr(what));
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("'" + value + "'"));
  }

  gflags::FlagSaver flag_saver_;  // undoes SetCommandLineOption after each test
  std::map<std::string, std::string> env_;
};

TEST_F(ConfigTest, Defaults) {
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->identity_file, "drasyl.identity");
  EXPECT_EQ(c->network_id, 1);
  ASSERT_TRUE(c->udp4_listen.has_value());
  EXPECT_EQ(c->udp4_listen->ToString(), "0.0.0.0:22527");
  ASSERT_TRUE(c->udp6_listen.has_value());
  EXPECT_EQ(c->udp6_listen->ToString(), "[::]:22527");
  ASSERT_TRUE(c->tcp4_listen.has_value());
  EXPECT_EQ(c->tcp4_listen->ToString(), "0.0.0.0:8443");
  ASSERT_TRUE(c->tcp6_listen.has_value());
  EXPECT_EQ(c->tcp6_listen->ToString(), "[::]:8443");
  EXPECT_TRUE(c->arm_messages);
  EXPECT_FALSE(c->verify_senders);
  EXPECT_EQ(c->send_unites_ms, 5000);
  EXPECT_EQ(c->max_peers, 8192u);
  EXPECT_EQ(c->min_pow_difficulty, 24);
  EXPECT_EQ(c->hello_timeout_ms, 30000);
  EXPECT_EQ(c->hello_max_age_ms, 300000);
  EXPECT_EQ(c->peers_print_interval_ms, 5000);
  ASSERT_TRUE(c->prometheus_listen.has_value());
  EXPECT_EQ(c->prometheus_listen->ToString(), "127.0.0.1:9898");
  EXPECT_EQ(c->prometheus_token, "");
  EXPECT_EQ(c->workers, 0);
  EXPECT_EQ(c->max_tcp_connections, 0);
  EXPECT_EQ(c->max_peers_per_source, 256);
  EXPECT_EQ(c->control_rate_per_source, 500);
  EXPECT_EQ(c->max_tcp_connections_per_source, 64);
  EXPECT_EQ(c->tcp_hello_timeout_ms, 5000);
  EXPECT_EQ(c->housekeeping_interval_ms, 5000);
  EXPECT_EQ(c->kx_threads, -1);
  EXPECT_EQ(c->log_level, 0);
  EXPECT_FALSE(c->verbose);
  EXPECT_EQ(c->dpdk_eal, "");
  EXPECT_TRUE(c->dpdk_addr.empty());
  EXPECT_EQ(c->dpdk_mtu, 0);
  EXPECT_EQ(c->dpdk_idle_sleep_us, 100);
  EXPECT_EQ(c->dpdk_tap, "drasyl");
}

class ConfigPrefixTest : public ConfigTest,
                         public ::testing::WithParamInterface<const char*> {};

TEST_P(ConfigPrefixTest, ReadsEveryVariable) {
  const std::string p = GetParam();
  env_ = {
      {p + "IDENTITY_FILE", "/var/lib/sp/id"},
      {p + "NETWORK_ID", "-1234567890"},
      {p + "UDP4_LISTEN", "192.0.2.1:1000"},
      {p + "UDP6_LISTEN", "[2001:db8::1]:1001"},
      {p + "TCP4_LISTEN", "192.0.2.2:1002"},
      {p + "TCP6_LISTEN", "[2001:db8::2]:1003"},
      {p + "ARM_MESSAGES", "false"},
      {p + "VERIFY_SENDERS", "true"},
      {p + "SEND_UNITES", "-1"},
      {p + "MAX_PEERS", "4294967295"},
      {p + "MIN_POW_DIFFICULTY", "0"},
      {p + "HELLO_TIMEOUT", "1"},
      {p + "HELLO_MAX_AGE", "60000"},
      {p + "PEERS_PRINT_INTERVAL", "0"},
      {p + "PROMETHEUS_LISTEN", "[::1]:9999"},
      {p + "PROMETHEUS_TOKEN", "s3cret"},
      {p + "WORKERS", "1024"},
      {p + "MAX_TCP_CONNECTIONS", "100"},
      {p + "MAX_PEERS_PER_SOURCE", "0"},
      {p + "CONTROL_RATE_PER_SOURCE", "1000000000"},
      {p + "MAX_TCP_CONNECTIONS_PER_SOURCE", "7"},
      {p + "TCP_HELLO_TIMEOUT", "250"},
      {p + "DPDK_EAL", "-l 0-3 -a 0000:01:00.0"},
      {p + "DPDK_ADDR", "192.0.2.1/24, 2001:db8::1/64"},
      {p + "DPDK_MTU", "9000"},
      {p + "DPDK_IDLE_SLEEP_US", "0"},
      {p + "DPDK_TAP", "dsp"},
      {p + "HOUSEKEEPING_INTERVAL_MS", "100"},
      {p + "KX_THREADS", "3"},
  };
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->identity_file, "/var/lib/sp/id");
  EXPECT_EQ(c->network_id, -1234567890);
  EXPECT_EQ(c->udp4_listen->ToString(), "192.0.2.1:1000");
  EXPECT_EQ(c->udp6_listen->ToString(), "[2001:db8::1]:1001");
  EXPECT_EQ(c->tcp4_listen->ToString(), "192.0.2.2:1002");
  EXPECT_EQ(c->tcp6_listen->ToString(), "[2001:db8::2]:1003");
  EXPECT_FALSE(c->arm_messages);
  EXPECT_TRUE(c->verify_senders);
  EXPECT_EQ(c->send_unites_ms, -1);
  EXPECT_EQ(c->max_peers, 4294967295u);
  EXPECT_EQ(c->min_pow_difficulty, 0);
  EXPECT_EQ(c->hello_timeout_ms, 1);
  EXPECT_EQ(c->hello_max_age_ms, 60000);
  EXPECT_EQ(c->peers_print_interval_ms, 0);
  EXPECT_EQ(c->prometheus_listen->ToString(), "[::1]:9999");
  EXPECT_EQ(c->prometheus_token, "s3cret");
  EXPECT_EQ(c->workers, 1024);
  EXPECT_EQ(c->max_tcp_connections, 100);
  EXPECT_EQ(c->max_peers_per_source, 0);
  EXPECT_EQ(c->control_rate_per_source, 1000000000);
  EXPECT_EQ(c->max_tcp_connections_per_source, 7);
  EXPECT_EQ(c->tcp_hello_timeout_ms, 250);
  EXPECT_EQ(c->dpdk_eal, "-l 0-3 -a 0000:01:00.0");
  EXPECT_EQ(c->dpdk_addr, (std::vector<DpdkAddress>{Dpdk("192.0.2.1/24"), Dpdk("2001:db8::1/64")}));
  EXPECT_EQ(c->dpdk_mtu, 9000);
  EXPECT_EQ(c->dpdk_idle_sleep_us, 0);
  EXPECT_EQ(c->dpdk_tap, "dsp");
  EXPECT_EQ(c->housekeeping_interval_ms, 100);
  EXPECT_EQ(c->kx_threads, 3);
}

TEST_P(ConfigPrefixTest, EmptyListenDisables) {
  const std::string p = GetParam();
  for (const char* name : {"UDP4_LISTEN", "UDP6_LISTEN", "TCP4_LISTEN", "TCP6_LISTEN",
                           "PROMETHEUS_LISTEN"}) {
    env_[p + name] = "";
  }
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->udp4_listen.has_value());
  EXPECT_FALSE(c->udp6_listen.has_value());
  EXPECT_FALSE(c->tcp4_listen.has_value());
  EXPECT_FALSE(c->tcp6_listen.has_value());
  EXPECT_FALSE(c->prometheus_listen.has_value());
}

TEST_P(ConfigPrefixTest, MaxPeersZeroMeansNoLimit) {
  env_[std::string(GetParam()) + "MAX_PEERS"] = "0";
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->max_peers, 0u);
}

TEST_P(ConfigPrefixTest, BooleanSpellings) {
  const std::string name = std::string(GetParam()) + "ARM_MESSAGES";
  for (const auto& [text, value] : std::vector<std::pair<std::string, bool>>{
           {"true", true}, {"TRUE", true}, {"True", true}, {"1", true}, {"yes", true},
           {"YES", true}, {"false", false}, {"False", false}, {"0", false}, {"no", false},
           {"No", false}}) {
    env_[name] = text;
    absl::StatusOr<Config> c = Load();
    ASSERT_TRUE(c.ok()) << text << ": " << c.status();
    EXPECT_EQ(c->arm_messages, value) << text;
  }
}

TEST_P(ConfigPrefixTest, InvalidValuesNameTheVariable) {
  const std::string p = GetParam();
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"IDENTITY_FILE", ""},
      {"NETWORK_ID", "abc"},
      {"NETWORK_ID", "2147483648"},
      {"NETWORK_ID", "-2147483649"},
      {"NETWORK_ID", " 1"},
      {"NETWORK_ID", "1 "},
      {"NETWORK_ID", "+1"},
      {"NETWORK_ID", "0x10"},
      {"NETWORK_ID", "1.5"},
      {"NETWORK_ID", ""},
      {"UDP4_LISTEN", "garbage"},
      {"UDP4_LISTEN", "0.0.0.0"},
      {"UDP4_LISTEN", "0.0.0.0:65536"},
      {"UDP4_LISTEN", "[::]:22527"},
      {"UDP6_LISTEN", "0.0.0.0:22527"},
      {"UDP6_LISTEN", "[::]"},
      {"TCP4_LISTEN", "1.2.3.4:-1"},
      {"TCP6_LISTEN", "::1:8443"},
      {"PROMETHEUS_LISTEN", "localhost:9898"},
      {"ARM_MESSAGES", "maybe"},
      {"ARM_MESSAGES", ""},
      {"VERIFY_SENDERS", "sometimes"},
      {"SEND_UNITES", "-2"},
      {"SEND_UNITES", "soon"},
      {"MAX_PEERS", "-1"},
      {"MAX_PEERS", "4294967296"},
      {"MIN_POW_DIFFICULTY", "-1"},
      {"MIN_POW_DIFFICULTY", "257"},
      {"HELLO_TIMEOUT", "0"},
      {"HELLO_TIMEOUT", "-5"},
      {"HELLO_TIMEOUT", "99999999999999999999"},
      {"HELLO_MAX_AGE", "0"},
      {"PEERS_PRINT_INTERVAL", "-1"},
      {"WORKERS", "-1"},
      {"WORKERS", "1025"},
      {"MAX_TCP_CONNECTIONS", "-1"},
      {"MAX_TCP_CONNECTIONS", "lots"},
      {"MAX_PEERS_PER_SOURCE", "-1"},
      {"CONTROL_RATE_PER_SOURCE", "1000000001"},
      {"CONTROL_RATE_PER_SOURCE", "fast"},
      {"MAX_TCP_CONNECTIONS_PER_SOURCE", "-2"},
      {"TCP_HELLO_TIMEOUT", "0"},
      {"DPDK_ADDR", "192.0.2.1"},
      {"DPDK_ADDR", "192.0.2.1/33"},
      {"DPDK_ADDR", "2001:db8::1/129"},
      {"DPDK_ADDR", "192.0.2.1/24,,10.0.0.1/8"},
      {"DPDK_ADDR", "192.0.2.1/"},
      {"DPDK_ADDR", "192.0.2.1/-1"},
      {"DPDK_ADDR", "999.0.2.1/24"},
      {"DPDK_ADDR", "/24"},
      {"DPDK_ADDR", "192.0.2.1/24@"},
      {"DPDK_ADDR", "192.0.2.1/24@100"},
      {"DPDK_ADDR", "192.0.2.1/24@vlan0"},
      {"DPDK_ADDR", "192.0.2.1/24@vlan4095"},
      {"DPDK_ADDR", "192.0.2.1/24@vlan-1"},
      {"DPDK_ADDR", "192.0.2.1/24@vlan100@vlan200"},
      {"DPDK_ADDR", "192.0.2.1/24@port"},
      {"DPDK_ADDR", "192.0.2.1/24@port256"},
      {"DPDK_ADDR", "192.0.2.1@vlan100/24"},
      {"DPDK_ADDR", "192.0.2.1%eth0/24"},
      {"DPDK_ADDR", "[2001:db8::1]/64"},
      {"DPDK_ADDR", "192.0.2.1/ 24"},
      {"DPDK_IDLE_SLEEP_US", "-1"},
      {"DPDK_IDLE_SLEEP_US", "1000001"},
      {"DPDK_IDLE_SLEEP_US", "soon"},
      {"DPDK_TAP", ""},
      {"DPDK_TAP", "a/b"},
      {"DPDK_TAP", "tap.1"},
      {"DPDK_TAP", "with space"},
      {"DPDK_TAP", "tap%d"},
      {"DPDK_TAP", "fifteen-chars-x"},
      {"HOUSEKEEPING_INTERVAL_MS", "0"},
      {"HOUSEKEEPING_INTERVAL_MS", "-1"},
      {"HOUSEKEEPING_INTERVAL_MS", "99999999999999999999"},
      {"KX_THREADS", "-2"},
      {"KX_THREADS", "65"},
      {"KX_THREADS", "many"},
  };
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(p + name + "='" + value + "'");
    env_ = {{p + name, value}};
    ExpectError(p + name, value);
  }
}

INSTANTIATE_TEST_SUITE_P(Prefixes, ConfigPrefixTest, ::testing::Values("DRASYL_", "NETSODY_"),
                         [](const auto& info) {
                           return std::string(info.param).substr(0, 6) == "DRASYL" ? "Drasyl"
                                                                                   : "Netsody";
                         });

TEST_F(ConfigTest, ConflictingPrefixesAreAnError) {
  env_ = {{"DRASYL_NETWORK_ID", "1"}, {"NETSODY_NETWORK_ID", "2"}};
  absl::StatusOr<Config> c = Load();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("DRASYL_NETWORK_ID"));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("NETSODY_NETWORK_ID"));
}

TEST_F(ConfigTest, EmptyAndSetIsAConflict) {
  env_ = {{"DRASYL_UDP6_LISTEN", ""}, {"NETSODY_UDP6_LISTEN", "[::]:22527"}};
  absl::StatusOr<Config> c = Load();
  ASSERT_FALSE(c.ok());
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("DRASYL_UDP6_LISTEN"));
  EXPECT_THAT(std::string(c.status().message()), HasSubstr("NETSODY_UDP6_LISTEN"));
}

TEST_F(ConfigTest, SameValueUnderBothPrefixesIsFine) {
  env_ = {{"DRASYL_NETWORK_ID", "42"}, {"NETSODY_NETWORK_ID", "42"}};
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->network_id, 42);
}

TEST_F(ConfigTest, FlagOverridesEnvironment) {
  env_ = {{"DRASYL_NETWORK_ID", "5"},
          {"NETSODY_MAX_PEERS", "10"},
          {"DRASYL_UDP4_LISTEN", "192.0.2.1:1"},
          {"DRASYL_ARM_MESSAGES", "false"}};
  gflags::SetCommandLineOption("network_id", "7");
  gflags::SetCommandLineOption("max_peers", "20");
  gflags::SetCommandLineOption("udp4_listen", "198.51.100.1:2");
  gflags::SetCommandLineOption("arm_messages", "true");  // equal to the default, still explicit
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->network_id, 7);
  EXPECT_EQ(c->max_peers, 20u);
  EXPECT_EQ(c->udp4_listen->ToString(), "198.51.100.1:2");
  EXPECT_TRUE(c->arm_messages);
}

TEST_F(ConfigTest, FlagSetsValueWithoutEnvironment) {
  gflags::SetCommandLineOption("hello_timeout", "1234");
  gflags::SetCommandLineOption("identity_file", "/tmp/x.identity");
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->hello_timeout_ms, 1234);
  EXPECT_EQ(c->identity_file, "/tmp/x.identity");
}

TEST_F(ConfigTest, FlagSaverRestoresDefaults) {
  // Runs after the tests above in the same binary; their flags must be gone.
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->network_id, 1);
  EXPECT_EQ(c->max_peers, 8192u);
}

TEST_F(ConfigTest, EmptyListenFlagDisables) {
  env_ = {{"DRASYL_TCP6_LISTEN", "[::]:443"}};
  gflags::SetCommandLineOption("tcp6_listen", "");
  gflags::SetCommandLineOption("udp4_listen", "");
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_FALSE(c->tcp6_listen.has_value());
  EXPECT_FALSE(c->udp4_listen.has_value());
  EXPECT_TRUE(c->udp6_listen.has_value());
}

TEST_F(ConfigTest, InvalidFlagValuesNameTheFlag) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"max_peers", "-1"},       {"udp4_listen", "garbage"}, {"udp6_listen", "1.2.3.4:1"},
      {"hello_timeout", "0"},    {"workers", "2000"},        {"min_pow_difficulty", "300"},
      {"send_unites", "-3"},     {"dpdk_addr", "10.0.0.1"},  {"identity_file", ""},
      {"dpdk_mtu", "1279"},      {"dpdk_mtu", "65536"},      {"dpdk_mtu", "-1"},
      {"kx_threads", "65"},      {"dpdk_tap", ""},           {"dpdk_idle_sleep_us", "-5"},
      {"housekeeping_interval_ms", "0"},
  };
  for (const auto& [flag, value] : cases) {
    SCOPED_TRACE("--" + flag + "=" + value);
    gflags::FlagSaver saver;
    ASSERT_FALSE(gflags::SetCommandLineOption(flag.c_str(), value.c_str()).empty());
    ExpectError("--" + flag, value);
  }
}

TEST_F(ConfigTest, FlagWinsOverConflictingEnvironment) {
  env_ = {{"DRASYL_NETWORK_ID", "1"}, {"NETSODY_NETWORK_ID", "2"}};
  gflags::SetCommandLineOption("network_id", "3");
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->network_id, 3);
}

TEST_F(ConfigTest, AfXdpInterfacesFromEitherPrefixOrTheFlag) {
  EXPECT_TRUE(Load()->af_xdp.empty());
  for (const char* var : {"DRASYL_AF_XDP", "NETSODY_AF_XDP"}) {
    env_ = {{var, " eth0, ens5.100 ,"}};
    absl::StatusOr<Config> c = Load();
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->af_xdp, (std::vector<std::string>{"eth0", "ens5.100"})) << var;
  }
  env_ = {{"DRASYL_AF_XDP", "eth0"}};
  gflags::SetCommandLineOption("af_xdp", "veth1");
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->af_xdp, std::vector<std::string>{"veth1"});
}

TEST_F(ConfigTest, AfXdpRejectsWhatIsNoInterfaceName) {
  for (const char* bad : {"eth0,eth0", "a/b", "0123456789abcdef", "eth 0", ".."}) {
    SCOPED_TRACE(bad);
    env_ = {{"DRASYL_AF_XDP", bad}};
    ExpectError("DRASYL_AF_XDP", bad);
  }
}

TEST_F(ConfigTest, DpdkAddressPlacement) {
  env_ = {{"DRASYL_DPDK_ADDR", "10.0.0.1/24, 10.1.0.1/24@vlan100,fd01::1/64@port1@vlan4094,"
                               "10.2.0.1/24@vlan7@port2,10.3.0.1/24@port0,10.4.0.1/32@port255"}};
  absl::StatusOr<Config> c = Load();
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->dpdk_addr, (std::vector<DpdkAddress>{
                              Dpdk("10.0.0.1/24"), Dpdk("10.1.0.1/24", 0, 100),
                              Dpdk("fd01::1/64", 1, 4094), Dpdk("10.2.0.1/24", 2, 7),
                              Dpdk("10.3.0.1/24"), Dpdk("10.4.0.1/32", 255)}));
  ASSERT_EQ(c->dpdk_addr.size(), 6u);
  EXPECT_TRUE(c->dpdk_addr[2].addr.is_v6());
  EXPECT_EQ(c->dpdk_addr[2].addr.HostString(), "fd01::1");
  EXPECT_EQ(c->dpdk_addr[2].prefix_len, 64);
  EXPECT_EQ(c->dpdk_addr[2].addr.port(), 0);
}

TEST(DpdkAddrTest, ParsesAddressPrefixPortAndVlan) {
  absl::StatusOr<DpdkAddress> a = ParseDpdkAddress("192.0.2.10/24@vlan100@port3");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->addr.is_v4());
  EXPECT_EQ(a->addr.HostString(), "192.0.2.10");
  EXPECT_EQ(a->prefix_len, 24);
  EXPECT_EQ(a->port, 3);
  EXPECT_EQ(a->vlan, 100);
  a = ParseDpdkAddress("::/0");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_TRUE(a->addr.is_v6());
  EXPECT_EQ(a->prefix_len, 0);
  EXPECT_EQ(a->port, 0);
  EXPECT_EQ(a->vlan, 0);
}

TEST(DpdkAddrTest, ListIsInOrderAndStripped) {
  absl::StatusOr<std::vector<DpdkAddress>> list =
      ParseDpdkAddressList(" 2001:db8::1/64@port1 ,\t192.0.2.1/32");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(*list, (std::vector<DpdkAddress>{Dpdk("2001:db8::1/64", 1), Dpdk("192.0.2.1/32")}));
  list = ParseDpdkAddressList("");
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_TRUE(list->empty());
}

TEST(DpdkAddrTest, ErrorsQuoteTheEntry) {
  for (const char* entry : {"10.0.0.1", "10.0.0.1/33", "10.0.0.1/24@vlan4095", "10.0.0.1/24@port256",
                            "10.0.0.1/24@port1@port2", "10.0.0.1/24@mtu9000", "fe80::1%eth0/64",
                            "10.0.0.1/24@vlan+1", ""}) {
    SCOPED_TRACE(entry);
    absl::StatusOr<DpdkAddress> a = ParseDpdkAddress(entry);
    ASSERT_FALSE(a.ok());
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(a.status().message()), HasSubstr("'"));
  }
  absl::StatusOr<std::vector<DpdkAddress>> list = ParseDpdkAddressList("10.0.0.1/24,10.0.0.2/40");
  ASSERT_FALSE(list.ok());
  EXPECT_THAT(std::string(list.status().message()), HasSubstr("'10.0.0.2/40'"));
}

TEST(DpdkAddrTest, FormatParsesBack) {
  for (const DpdkAddress& a : {Dpdk("10.0.0.1/24"), Dpdk("10.1.0.1/24", 0, 100),
                               Dpdk("fd01::1/64", 1, 4094), Dpdk("0.0.0.0/0", 255)}) {
    const std::string text = FormatDpdkAddress(a);
    SCOPED_TRACE(text);
    absl::StatusOr<DpdkAddress> back = ParseDpdkAddress(text);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, a);
  }
  EXPECT_EQ(FormatDpdkAddress(Dpdk("fd01::1/64", 1, 4094)), "fd01::1/64@port1@vlan4094");
  EXPECT_EQ(FormatDpdkAddress(Dpdk("10.0.0.1/24")), "10.0.0.1/24");
}

// Every setting (config/flags.cc) says which two variables it is read
// from, and is read from them.
TEST_F(ConfigTest, EverySettingNamesAndReadsItsVariables) {
  const std::vector<std::string>& names = SettingNames();
  ASSERT_GE(names.size(), 29u);
  for (const std::string& name : names) {
    SCOPED_TRACE(name);
    const std::string upper = absl::AsciiStrToUpper(name);
    gflags::CommandLineFlagInfo info;
    ASSERT_TRUE(gflags::GetCommandLineFlagInfo(name.c_str(), &info));
    EXPECT_THAT(info.description,
                HasSubstr("Env: DRASYL_" + upper + " / NETSODY_" + upper + "."));
    for (const char* prefix : {"DRASYL_", "NETSODY_"}) {
      env_ = {{prefix + upper, "\x01not a value"}};
      absl::StatusOr<RawSetting> raw = ReadSetting(name, &Lookup, &env_);
      ASSERT_TRUE(raw.ok()) << raw.status();
      EXPECT_EQ(raw->text, "\x01not a value");
      EXPECT_EQ(raw->source, prefix + upper);
    }
  }
  EXPECT_FALSE(ReadSetting("logtostderr", &Lookup, &env_).ok());  // glog's, not a setting
}

// LoadConfigFrom reads every setting: the two variables of any one of them
// in conflict fail the whole configuration.
TEST_F(ConfigTest, LoadReadsEverySetting) {
  for (const std::string& name : SettingNames()) {
    SCOPED_TRACE(name);
    const std::string upper = absl::AsciiStrToUpper(name);
    env_ = {{"DRASYL_" + upper, "1"}, {"NETSODY_" + upper, "2"}};
    absl::StatusOr<Config> c = Load();
    ASSERT_FALSE(c.ok());
    EXPECT_THAT(std::string(c.status().message()), HasSubstr("DRASYL_" + upper + "='1'"));
  }
}

TEST_F(ConfigTest, RustLogLevels) {
  struct Case {
    const char* value;
    int log_level;
    bool verbose;
  };
  for (const Case& t : {
           Case{"error", 2, false},
           Case{"warn", 1, false},
           Case{"info", 0, false},
           Case{"debug", 0, true},
           Case{"trace", 0, true},
           Case{"INFO", 0, false},
           Case{"info,netsody=debug", 0, false},
           Case{"netsody=debug,warn", 1, false},
           Case{"netsody=debug", 0, true},
           Case{"drasyl=warn,netsody=error", 1, false},
           Case{"", 0, false},
       }) {
    SCOPED_TRACE(t.value);
    env_ = {{"RUST_LOG", t.value}};
    absl::StatusOr<Config> c = Load();
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->log_level, t.log_level);
    EXPECT_EQ(c->verbose, t.verbose);
  }
}

TEST_F(ConfigTest, RustLogUnknownLevelIsAnError) {
  for (const char* value : {"loud", "info,netsody=loud", "verbose"}) {
    SCOPED_TRACE(value);
    env_ = {{"RUST_LOG", value}};
    ExpectError("RUST_LOG", value);
  }
}

}  // namespace
}  // namespace drasyl
