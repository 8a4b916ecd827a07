// The operator interface of the real binary: configuration through the
// environment (DRASYL_* and NETSODY_*), the identity file, the startup
// banner, the /metrics endpoint and signals (docs/protocol.md §1, §7).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/identity.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/integration_helpers.h"
#include "tests/support/node_emulator.h"
#include "tests/support/super_peer_process.h"
#include "tests/support/test_vectors.h"

namespace drasyl::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr auto kExit = 10000ms;  // for processes that must exit by themselves

SuperPeerProcess::Options WithEnv(std::map<std::string, std::string> env) {
  SuperPeerProcess::Options o;
  o.env = std::move(env);
  return o;
}

// Starts a process that must fail at startup; returns its exit code.
int RunFailing(SuperPeerProcess& sp) {
  sp.options().wait_for_banner = false;
  absl::Status s = sp.Start();
  EXPECT_TRUE(s.ok()) << s;
  std::optional<int> code = sp.WaitExit(kExit);
  EXPECT_TRUE(code.has_value()) << "still running; it should have failed\n" << sp.OutputTail();
  if (!code) return -1;
  EXPECT_THAT(sp.stdout_text(), Not(HasSubstr("Super peer listening on")));
  return *code;
}

std::string ReadAll(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void WriteAll(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

// ---------------------------------------------------------------------------
// Banner.

TEST(OperatorBanner, ExactFormatOnStdoutLogsOnStderr) {
  SuperPeerProcess sp;
  ASSERT_TRUE(sp.Start().ok());
  std::vector<BannerUrl> urls = sp.banner();
  ASSERT_EQ(urls.size(), 1u);
  const uint16_t port = urls[0].address.port();
  ASSERT_NE(port, 0);
  // Give it a moment to print anything else it would print on stdout.
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(sp.stdout_text(), absl::StrCat("Super peer listening on:\n  udp://127.0.0.1:", port,
                                           "?publicKey=", KeyHex(IdentityA().public_key),
                                           "&networkId=1\n"));
  EXPECT_FALSE(sp.stderr_text().empty()) << "the log goes to stderr";
  // The URL works: a node configured with it registers.
  std::unique_ptr<Node> b = MakeUdpNode(sp, IdentityB());
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->Register(kWait));
  EXPECT_EQ(sp.Stop(), 0);
}

TEST(OperatorBanner, BothFamiliesNetworkIdAndTcpPort) {
  SuperPeerProcess sp(WithEnv({{"DRASYL_UDP6_LISTEN", "[::1]:0"},
                               {"DRASYL_TCP4_LISTEN", "127.0.0.1:0"},
                               {"DRASYL_TCP6_LISTEN", "[::1]:0"},
                               {"DRASYL_NETWORK_ID", "-123456"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::vector<BannerUrl> urls = sp.banner();
  ASSERT_EQ(urls.size(), 2u) << sp.stdout_text();
  ASSERT_TRUE(urls[0].address.is_v4()) << "IPv4 listener first";
  ASSERT_TRUE(urls[1].address.is_v6());
  ASSERT_TRUE(urls[0].tcp_port.has_value());
  const std::string pk = KeyHex(IdentityA().public_key);
  EXPECT_EQ(urls[0].url, absl::StrCat("udp://127.0.0.1:", urls[0].address.port(), "?publicKey=",
                                      pk, "&networkId=-123456&tcpPort=", *urls[0].tcp_port));
  EXPECT_EQ(urls[1].url, absl::StrCat("udp://[::1]:", urls[1].address.port(), "?publicKey=", pk,
                                      "&networkId=-123456&tcpPort=", *urls[0].tcp_port));
  // With both TCP listeners, tcpPort is the TCP6 listener's port; it serves
  // the configured network.
  ASSERT_TRUE(sp.tcp_address()->is_v6());
  absl::StatusOr<std::unique_ptr<Node>> c = Node::Create(
      TcpNodeOptions(IdentityC(), sp.public_key(), *sp.tcp_address(), true, -123456));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE((*c)->Register(kWait));
  EXPECT_EQ(sp.Stop(), 0);
}

// ---------------------------------------------------------------------------
// Identity file.

TEST(OperatorIdentity, GeneratedOnFirstStartAndReusedAfterRestart) {
  SuperPeerProcess::Options o = WithEnv({{"DRASYL_MIN_POW_DIFFICULTY", "8"}});
  o.write_identity = false;
  SuperPeerProcess first(o);
  const std::string path = first.identity_path();
  ASSERT_FALSE(std::filesystem::exists(path));
  ASSERT_TRUE(first.Start().ok());
  EXPECT_THAT(first.stderr_text(),
              HasSubstr("Identity file '" + path + "' not found. Generate new one..."));
  const PublicKey pk = first.public_key();
  EXPECT_NE(pk, PublicKey{});
  ASSERT_TRUE(std::filesystem::exists(path));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600) << "identity file mode";
  absl::StatusOr<Identity> saved = LoadIdentityFile(path);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->public_key, pk);
  EXPECT_GE(PowDifficulty(saved->public_key, saved->pow), 8);
  const std::string text = ReadAll(path);
  EXPECT_THAT(text, ::testing::StartsWith("[Identity]\n"));
  // Nodes can register with the new identity.
  std::unique_ptr<Node> b = MakeUdpNode(first, IdentityB());
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(b->Register(kWait));
  EXPECT_EQ(first.Stop(), 0);

  // Restart on the same file: same key, nothing generated, file unchanged.
  SuperPeerProcess::Options o2 = o;
  o2.env["DRASYL_IDENTITY_FILE"] = path;
  SuperPeerProcess second(o2);
  ASSERT_TRUE(second.Start().ok());
  EXPECT_EQ(second.public_key(), pk);
  EXPECT_THAT(second.stderr_text(), Not(HasSubstr("not found")));
  EXPECT_EQ(ReadAll(path), text);
  EXPECT_EQ(second.Stop(), 0);
}

TEST(OperatorIdentity, DefaultFileNameInWorkingDirectory) {
  SuperPeerProcess::Options o = WithEnv({{"DRASYL_MIN_POW_DIFFICULTY", "8"}});
  o.write_identity = false;
  o.unset = {"DRASYL_IDENTITY_FILE"};
  SuperPeerProcess sp(o);
  ASSERT_TRUE(sp.Start().ok());
  const std::string path = sp.temp_dir() + "/drasyl.identity";  // the process's cwd
  EXPECT_TRUE(std::filesystem::exists(path));
  absl::StatusOr<Identity> saved = LoadIdentityFile(path);
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_EQ(saved->public_key, sp.public_key());
  EXPECT_EQ(sp.Stop(), 0);
}

TEST(OperatorIdentity, ExistingFileIsUsedAsIs) {
  // Identity B as the super peer's identity: its key appears in the banner.
  SuperPeerProcess::Options o;
  o.identity = IdentityB();
  SuperPeerProcess sp(o);
  ASSERT_TRUE(sp.Start().ok());
  EXPECT_EQ(sp.public_key(), IdentityB().public_key);
  std::unique_ptr<Node> c = MakeUdpNode(sp, IdentityC());
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->Register(kWait));
  EXPECT_EQ(sp.Stop(), 0);
}

TEST(OperatorIdentity, MalformedFileIsFatalAndNeverOverwritten) {
  const std::string sk_a = "23ed710af14dce67a77f0d43e5bd470635813261a375ce01cb9c2bbcd7e632867f588b40"
                           "e13c8758838062865bb9d833d869d3d3d8516b9199c58b4405a36e65";
  std::string mismatched = sk_a;
  mismatched[127] = mismatched[127] == '5' ? '6' : '5';  // public half no longer matches the seed
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"garbage", "this is not an identity file\n"},
      {"empty", ""},
      {"bad hex", "[Identity]\nSecretKey = zz\nProofOfWork = 1\n"},
      {"short key", "[Identity]\nSecretKey = 23ed71\nProofOfWork = -2144630954\n"},
      {"missing pow", "[Identity]\nSecretKey = " + sk_a + "\n"},
      {"bad pow", "[Identity]\nSecretKey = " + sk_a + "\nProofOfWork = 12abc\n"},
      {"pk mismatch", "[Identity]\nSecretKey = " + mismatched + "\nProofOfWork = -2144630954\n"},
  };
  for (const auto& [name, content] : cases) {
    SCOPED_TRACE(name);
    SuperPeerProcess::Options o = WithEnv({{"DRASYL_MIN_POW_DIFFICULTY", "8"}});
    o.write_identity = false;
    SuperPeerProcess sp(o);
    const std::string path = sp.identity_path();
    WriteAll(path, content);
    const int code = RunFailing(sp);
    EXPECT_NE(code, 0);
    EXPECT_THAT(sp.stderr_text(), HasSubstr(path)) << "the error must name the file";
    EXPECT_THAT(sp.stderr_text(), Not(HasSubstr("Generate new one")));
    EXPECT_EQ(ReadAll(path), content) << "the file must be left unchanged";
  }
}

TEST(OperatorIdentity, PathThatIsADirectoryIsFatal) {
  SuperPeerProcess::Options o = WithEnv({{"DRASYL_MIN_POW_DIFFICULTY", "8"}});
  o.write_identity = false;
  SuperPeerProcess sp(o);
  const std::string path = sp.temp_dir() + "/id-dir";
  std::filesystem::create_directory(path);
  sp.options().env["DRASYL_IDENTITY_FILE"] = path;
  EXPECT_NE(RunFailing(sp), 0);
  EXPECT_THAT(sp.stderr_text(), HasSubstr(path));
  EXPECT_TRUE(std::filesystem::is_directory(path));
}

TEST(OperatorIdentity, UnwritableLocationIsFatal) {
  SuperPeerProcess::Options o = WithEnv({{"DRASYL_MIN_POW_DIFFICULTY", "8"}});
  o.write_identity = false;
  SuperPeerProcess sp(o);
  const std::string path = sp.temp_dir() + "/no/such/dir/sp.identity";
  sp.options().env["DRASYL_IDENTITY_FILE"] = path;
  EXPECT_NE(RunFailing(sp), 0);
  EXPECT_THAT(sp.stderr_text(), HasSubstr(path));
}

// ---------------------------------------------------------------------------
// Environment.

TEST(OperatorEnv, InvalidValuesExitNonZeroNamingTheVariable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"DRASYL_NETWORK_ID", "abc"},
      {"DRASYL_NETWORK_ID", "99999999999"},
      {"DRASYL_MAX_PEERS", "-1"},
      {"DRASYL_ARM_MESSAGES", "maybe"},
      {"DRASYL_UDP4_LISTEN", "not-an-address"},
      {"DRASYL_HELLO_TIMEOUT", "1.5"},
      {"DRASYL_SEND_UNITES", "often"},
      {"DRASYL_MIN_POW_DIFFICULTY", "x"},
      {"NETSODY_HELLO_MAX_AGE", "soon"},
  };
  for (const auto& [name, value] : cases) {
    SCOPED_TRACE(name + "=" + value);
    SuperPeerProcess sp(WithEnv({{name, value}}));
    EXPECT_NE(RunFailing(sp), 0);
    EXPECT_THAT(sp.stderr_text(), HasSubstr(name));
    EXPECT_THAT(sp.stderr_text(), HasSubstr(value));
  }
}

TEST(OperatorEnv, NetsodyPrefixConfiguresEverything) {
  SuperPeerProcess::Options o;
  o.prefix = "NETSODY_";  // the defaults (identity file, listeners, ...) as NETSODY_*
  o.env = {{"NETSODY_NETWORK_ID", "77"}, {"NETSODY_ARM_MESSAGES", "false"}};
  SuperPeerProcess sp(o);
  ASSERT_TRUE(sp.Start().ok());
  for (const auto& [k, v] : sp.env()) EXPECT_FALSE(absl::StartsWith(k, "DRASYL_")) << k;
  std::vector<BannerUrl> urls = sp.banner();
  ASSERT_EQ(urls.size(), 1u);
  EXPECT_EQ(urls[0].network_id, "77");
  EXPECT_EQ(urls[0].address.HostString(), "127.0.0.1");
  EXPECT_EQ(sp.public_key(), IdentityA().public_key) << "NETSODY_IDENTITY_FILE was not used";
  // Unarmed HELLOs in network 77 are answered; network 1 is not.
  std::unique_ptr<Node> b =
      MakeUdpNode(sp, IdentityB(), /*v6=*/false, /*armed=*/false, /*network_id=*/77);
  ASSERT_NE(b, nullptr);
  ASSERT_NO_FATAL_FAILURE(ExpectHelloOfOtherNetworkDropped(*b, 1));
  EXPECT_EQ(sp.Stop(), 0);
}

TEST(OperatorEnv, HelpExitsZeroAndMentionsTheVariables) {
  SuperPeerProcess::Options o;
  o.args = {"--help"};
  o.write_identity = false;
  SuperPeerProcess sp(o);
  const int code = RunFailing(sp);
  EXPECT_EQ(code, 0) << "--help must exit 0";
  const std::string text = sp.stdout_text() + sp.stderr_text();
  for (const char* name :
       {"DRASYL_IDENTITY_FILE", "NETSODY_IDENTITY_FILE", "DRASYL_NETWORK_ID", "DRASYL_UDP4_LISTEN",
        "DRASYL_UDP6_LISTEN", "DRASYL_TCP4_LISTEN", "DRASYL_TCP6_LISTEN", "DRASYL_ARM_MESSAGES",
        "DRASYL_SEND_UNITES", "DRASYL_MAX_PEERS", "DRASYL_MIN_POW_DIFFICULTY",
        "DRASYL_HELLO_TIMEOUT", "DRASYL_HELLO_MAX_AGE", "DRASYL_PEERS_PRINT_INTERVAL",
        "RUST_LOG"}) {
    EXPECT_THAT(text, HasSubstr(name));
  }
  EXPECT_FALSE(std::filesystem::exists(sp.identity_path())) << "--help must not create files";
}

TEST(OperatorEnv, UnknownArgumentFails) {
  SuperPeerProcess::Options o;
  o.args = {"--no_such_flag=1"};
  SuperPeerProcess sp(o);
  EXPECT_NE(RunFailing(sp), 0);
}

TEST(OperatorEnv, RustLogWarnSilencesInfo) {
  auto info_lines = [](const std::string& err) {
    int n = 0;
    std::istringstream in(err);
    for (std::string line; std::getline(in, line);) n += !line.empty() && line[0] == 'I';
    return n;
  };
  SuperPeerProcess normal;
  ASSERT_TRUE(normal.Start().ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_GT(info_lines(normal.stderr_text()), 0) << "expected INFO lines by default";
  EXPECT_EQ(normal.Stop(), 0);

  SuperPeerProcess quiet(WithEnv({{"RUST_LOG", "warn"}}));
  ASSERT_TRUE(quiet.Start().ok());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(quiet.Stop(), 0);
  EXPECT_EQ(info_lines(quiet.stderr_text()), 0) << quiet.stderr_text();
}

TEST(OperatorEnv, UdpPortInUseFailsClearly) {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
  socklen_t sl = sizeof(sa);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &sl);
  const std::string addr = absl::StrCat("127.0.0.1:", ntohs(sa.sin_port));
  SuperPeerProcess sp(WithEnv({{"DRASYL_UDP4_LISTEN", addr}}));
  EXPECT_NE(RunFailing(sp), 0);
  EXPECT_THAT(sp.stderr_text(), HasSubstr(addr));
  ::close(fd);
}

TEST(OperatorEnv, PeerListingIsPrintedPeriodically) {
  SuperPeerProcess sp(WithEnv({{"DRASYL_PEERS_PRINT_INTERVAL", "200"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::unique_ptr<Node> b = MakeUdpNode(sp, IdentityB());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Register(kWait));
  EXPECT_TRUE(sp.WaitForStderr(KeyHex(IdentityB().public_key), kWait))
      << "the periodic peer listing should show the registered peer";
  EXPECT_EQ(sp.Stop(), 0);
}

// ---------------------------------------------------------------------------
// Metrics.

TEST(OperatorMetrics, ServedOnPrometheusListen) {
  SuperPeerProcess sp(WithEnv({{"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:0"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::optional<uint16_t> port = sp.metrics_port();
  ASSERT_TRUE(port.has_value()) << "no 'metrics on http://...' line:\n" << sp.stderr_text();
  const SocketAddress addr = SocketAddress::V4(INADDR_LOOPBACK, *port);

  std::unique_ptr<Node> b = MakeUdpNode(sp, IdentityB());
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->Register(kWait));

  HttpResult r = HttpGet(addr, "/metrics");
  ASSERT_EQ(r.status, 200) << r.response;
  EXPECT_THAT(r.response, HasSubstr("text/plain"));
  const std::string body = r.body();
  EXPECT_THAT(body, HasSubstr("drasyl_messages_received_total"));
  EXPECT_THAT(body, HasSubstr("# TYPE drasyl_messages_received_total counter"));
  // The HELLO we sent is counted (the gauges may lag by up to 0.5 s).
  std::smatch m;
  const std::regex hello_re(R"re(drasyl_messages_received_total\{[^}]*HELLO[^}]*\} (\d+))re");
  ASSERT_TRUE(std::regex_search(body, m, hello_re)) << body;
  EXPECT_GE(std::stoull(m[1]), 1u);

  EXPECT_EQ(HttpGet(addr, "/other").status, 404);
  EXPECT_EQ(sp.Stop(), 0);
}

// New peers' key exchanges run on helper threads (--kx_threads) or on the
// control thread (0); registration answers the same either way.
TEST(OperatorMetrics, KeyExchangeThreadsAreUsedWhenConfigured) {
  for (int threads : {0, 2}) {
    SCOPED_TRACE(threads);
    SuperPeerProcess::Options o = WithEnv({{"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:0"}});
    o.args = {"--kx_threads=" + std::to_string(threads)};
    SuperPeerProcess sp(o);
    ASSERT_TRUE(sp.Start().ok());
    EXPECT_TRUE(sp.WaitForStderr(std::to_string(threads) + " key-exchange thread(s)", kWait));
    std::optional<uint16_t> port = sp.metrics_port();
    ASSERT_TRUE(port.has_value());
    std::vector<std::unique_ptr<Node>> nodes;
    for (const Identity& id : {IdentityB(), IdentityC()}) {
      nodes.push_back(MakeUdpNode(sp, id));
      ASSERT_NE(nodes.back(), nullptr);
      ASSERT_TRUE(nodes.back()->Register(kWait));
    }
    const std::string body = HttpGet(SocketAddress::V4(INADDR_LOOPBACK, *port), "/metrics").body();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(body, m, std::regex(R"(drasyl_hellos_awaiting_keys_total (\d+))")))
        << body;
    if (threads == 0) {
      EXPECT_EQ(std::stoull(m[1]), 0u);
    } else {
      EXPECT_EQ(std::stoull(m[1]), 2u) << "one parked HELLO per new peer";
    }
    EXPECT_EQ(sp.Stop(), 0);
  }
}

TEST(OperatorMetrics, BearerTokenRequiredWhenConfigured) {
  SuperPeerProcess sp(WithEnv({{"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:0"},
                               {"DRASYL_PROMETHEUS_TOKEN", "s3cret"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::optional<uint16_t> port = sp.metrics_port();
  ASSERT_TRUE(port.has_value()) << sp.stderr_text();
  const SocketAddress addr = SocketAddress::V4(INADDR_LOOPBACK, *port);
  EXPECT_EQ(HttpGet(addr, "/metrics").status, 401);
  EXPECT_EQ(HttpGet(addr, "/metrics", {"Authorization: Bearer wrong"}).status, 401);
  EXPECT_EQ(HttpGet(addr, "/metrics", {"Authorization: Basic czNjcmV0"}).status, 401);
  HttpResult ok = HttpGet(addr, "/metrics", {"Authorization: Bearer s3cret"});
  EXPECT_EQ(ok.status, 200) << ok.response;
  EXPECT_THAT(ok.body(), HasSubstr("drasyl_messages_received_total"));
  EXPECT_EQ(sp.Stop(), 0);
}

// ---------------------------------------------------------------------------
// Signals.

TEST(OperatorSignals, SigtermAndSigintExitCleanly) {
  for (int sig : {SIGTERM, SIGINT}) {
    SCOPED_TRACE(strsignal(sig));
    SuperPeerProcess sp(WithEnv({{"DRASYL_TCP4_LISTEN", "127.0.0.1:0"},
                                 {"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:0"}}));
    ASSERT_TRUE(sp.Start().ok());
    // Some traffic and an open TCP connection first.
    std::unique_ptr<Node> b = MakeUdpNode(sp, IdentityB());
    ASSERT_NE(b, nullptr);
    ASSERT_TRUE(b->Register(kWait));
    absl::StatusOr<std::unique_ptr<Node>> c =
        Node::Create(TcpNodeOptions(IdentityC(), sp.public_key(), *sp.tcp_address()));
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE((*c)->Register(kWait));
    const auto start = std::chrono::steady_clock::now();
    sp.Signal(sig);
    std::optional<int> code = sp.WaitExit(5000ms);
    ASSERT_TRUE(code.has_value()) << "did not exit on the signal";
    EXPECT_EQ(*code, 0);
    EXPECT_LT(std::chrono::steady_clock::now() - start, 2000ms) << "slow shutdown";
  }
}

// An operator who stops the service while it is still generating its first
// identity (minutes at high difficulties) expects it to stop, not to finish
// the search first.
TEST(OperatorSignals, SigtermDuringIdentityGenerationStops) {
  SuperPeerProcess::Options o = WithEnv({{"DRASYL_MIN_POW_DIFFICULTY", "30"}});
  o.write_identity = false;
  o.wait_for_banner = false;
  SuperPeerProcess sp(o);
  ASSERT_TRUE(sp.Start().ok());
  ASSERT_TRUE(sp.WaitForStderr("Generate new one", kWait)) << sp.OutputTail();
  std::this_thread::sleep_for(100ms);
  sp.Signal(SIGTERM);
  std::optional<int> code = sp.WaitExit(3000ms);
  EXPECT_TRUE(code.has_value()) << "SIGTERM ignored while generating the identity";
  if (!code) sp.Stop(100ms);  // SIGKILL
  // Nothing half-written is left behind.
  const std::string path = sp.identity_path();
  if (std::filesystem::exists(path)) {
    EXPECT_TRUE(LoadIdentityFile(path).ok());
  }
}

}  // namespace
}  // namespace drasyl::testing
