// Integration tests of the DPDK backend in the network-namespace testbed
// (scripts/testbed.sh): the real drasyl-sp runs inside dsp-sp on DPDK's
// net_af_packet (veth0) with its TAP exception interface; nodes are node
// emulators whose sockets live in dsp-n1 / dsp-n2 (created from a thread
// that joined the namespace), talking to it across a bridge.
//
// Needs root and network namespaces; skips with the reason otherwise. Each
// test case takes a file lock, so that ctest running them as separate
// processes in parallel never shares the testbed.
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <sched.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/wire.h"
#include "gtest/gtest.h"
#include "tests/support/node_emulator.h"
#include "tests/support/super_peer_process.h"
#include "tests/support/udp_flood.h"
#include "tests/support/vlan_access_port.h"

namespace drasyl::testing {
namespace {

using namespace std::chrono_literals;
using wire::MessageType;

constexpr char kSpNs[] = "dsp-sp";
constexpr char kN1[] = "dsp-n1";
constexpr char kN2[] = "dsp-n2";
constexpr char kTap[] = "drasyl0";
constexpr char kLockFile[] = "/tmp/drasyl-dpdk-testbed.lock";
constexpr auto kWait = 3000ms;

SocketAddress Addr(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return a.ok() ? *a : SocketAddress();
}

// Runs fn on a thread that joined network namespace `ns`; sockets it opens
// stay in that namespace whichever thread uses them later.
template <typename F>
auto InNetns(const std::string& ns, F&& fn) -> decltype(fn()) {
  using R = decltype(fn());
  std::optional<R> result;
  std::string error;
  std::thread t([&] {
    const std::string path = "/var/run/netns/" + ns;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
      error = absl::StrCat("cannot enter ", ns, ": ", strerror(errno));
      if (fd >= 0) ::close(fd);
      return;
    }
    ::close(fd);
    result.emplace(fn());
  });
  t.join();
  if (!result) {
    ADD_FAILURE() << error;
    return R();
  }
  return std::move(*result);
}

// Runs a shell command; its exit status and combined output.
int Shell(const std::string& cmd, std::string* output = nullptr) {
  std::string full = cmd + " 2>&1";
  FILE* p = ::popen(full.c_str(), "r");
  if (p == nullptr) return -1;
  char buf[4096];
  std::string out;
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  int status = ::pclose(p);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string TestbedScript() { return std::string(DRASYL_SOURCE_DIR) + "/scripts/testbed.sh"; }

// The first two CPUs this process may run on, as an EAL core list: one
// main lcore (the control plane) and one worker.
std::string CoreList() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int c = 0; c < CPU_SETSIZE && cpus.size() < 2; ++c) {
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
    }
  }
  if (cpus.empty()) return "0";
  if (cpus.size() == 1) return absl::StrCat(cpus[0]);
  return absl::StrCat(cpus[0], ",", cpus[1]);
}

bool InterfaceExists(const std::string& ns, const std::string& name) {
  return InNetns(ns, [&] { return if_nametoindex(name.c_str()) != 0; });
}

// ICMP echo (IPv4 or IPv6) from namespace `ns` to `dst`; true when a reply
// came within `timeout`. Raw sockets: no ping binary needed.
bool Ping(const std::string& ns, const std::string& dst, std::chrono::milliseconds timeout) {
  return InNetns(ns, [&] {
    const bool v6 = dst.find(':') != std::string::npos;
    int fd = ::socket(v6 ? AF_INET6 : AF_INET, SOCK_RAW | SOCK_CLOEXEC,
                      v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
    if (fd < 0) return false;
    sockaddr_storage ss{};
    socklen_t sl;
    if (v6) {
      auto* s6 = reinterpret_cast<sockaddr_in6*>(&ss);
      s6->sin6_family = AF_INET6;
      inet_pton(AF_INET6, dst.c_str(), &s6->sin6_addr);
      sl = sizeof(*s6);
    } else {
      auto* s4 = reinterpret_cast<sockaddr_in*>(&ss);
      s4->sin_family = AF_INET;
      inet_pton(AF_INET, dst.c_str(), &s4->sin_addr);
      sl = sizeof(*s4);
    }
    const uint16_t id = static_cast<uint16_t>(getpid());
    uint8_t pkt[16] = {static_cast<uint8_t>(v6 ? ICMP6_ECHO_REQUEST : ICMP_ECHO), 0, 0, 0,
                       static_cast<uint8_t>(id >> 8), static_cast<uint8_t>(id), 0, 1,
                       'd', 'r', 'a', 's', 'y', 'l', '!', '!'};
    if (!v6) {  // the kernel fills in the ICMPv6 checksum, not the ICMP one
      uint32_t sum = 0;
      for (size_t i = 0; i < sizeof(pkt); i += 2) sum += (pkt[i] << 8) | pkt[i + 1];
      while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
      const uint16_t c = static_cast<uint16_t>(~sum);
      pkt[2] = static_cast<uint8_t>(c >> 8);
      pkt[3] = static_cast<uint8_t>(c);
    }
    bool ok = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    // The first request may go while ARP / ND resolve: resend every 300 ms.
    auto next_send = std::chrono::steady_clock::now();
    while (!ok && std::chrono::steady_clock::now() < deadline) {
      if (std::chrono::steady_clock::now() >= next_send) {
        ::sendto(fd, pkt, sizeof(pkt), 0, reinterpret_cast<sockaddr*>(&ss), sl);
        next_send += 300ms;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      uint8_t buf[1500];
      ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) continue;
      const uint8_t* icmp = buf;
      if (!v6) {  // IPv4 raw sockets deliver the IP header
        const size_t ihl = (buf[0] & 0x0f) * 4u;
        if (static_cast<size_t>(n) < ihl + 8) continue;
        icmp = buf + ihl;
      }
      const uint8_t reply = v6 ? ICMP6_ECHO_REPLY : ICMP_ECHOREPLY;
      ok = icmp[0] == reply && icmp[4] == pkt[4] && icmp[5] == pkt[5];
    }
    ::close(fd);
    return ok;
  });
}

// Sum of a Prometheus counter over all its label sets.
double MetricSum(const std::string& text, const std::string& name) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name)) continue;
    const char next = line.size() > name.size() ? line[name.size()] : '\0';
    if (next != '{' && next != ' ') continue;
    const size_t sp = line.rfind(' ');
    double v = 0;
    if (sp != absl::string_view::npos && absl::SimpleAtod(line.substr(sp + 1), &v)) sum += v;
  }
  return sum;
}
// One labelled value, e.g. Metric(text, "drasyl_drops_total{reason=\"bad_magic\"}").
double Metric(const std::string& text, const std::string& series) {
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(line, series + " ")) {
      double v = 0;
      if (absl::SimpleAtod(line.substr(series.size() + 1), &v)) return v;
    }
  }
  return -1;
}

class DpdkTestbedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { SetUpTestbed(); }

  // Brings the testbed up in layout_ (scripts/testbed.sh up <layout_>).
  static void SetUpTestbed() {
    skip_.clear();
    if (::geteuid() != 0) {
      skip_ = "needs root (network namespaces, veth pairs, TAP)";
      return;
    }
    struct stat st;
    if (::stat(DRASYL_SP_BINARY, &st) != 0) {
      skip_ = absl::StrCat("no super peer binary at ", DRASYL_SP_BINARY);
      return;
    }
    // One testbed at a time, across processes.
    lock_fd_ = ::open(kLockFile, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    const auto deadline = std::chrono::steady_clock::now() + 240s;
    while (lock_fd_ >= 0 && ::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        failure_ = "timed out waiting for the testbed lock " + std::string(kLockFile);
        return;
      }
      std::this_thread::sleep_for(100ms);
    }
    std::string out;
    if (Shell("ip netns add dsp-probe && ip netns del dsp-probe", &out) != 0) {
      skip_ = "network namespaces unavailable (ip netns add failed): " + out;
      return;
    }
    if (Shell(TestbedScript() + " up " + layout_, &out) != 0) {
      failure_ = "scripts/testbed.sh up " + layout_ + " failed:\n" + out;
      return;
    }
    testbed_up_ = true;
  }

  static void TearDownTestSuite() {
    StopSuperPeer();
    if (testbed_up_) {
      std::string out;
      EXPECT_EQ(Shell(TestbedScript() + " down", &out), 0) << out;
      testbed_up_ = false;
    }
    if (lock_fd_ >= 0) {
      ::flock(lock_fd_, LOCK_UN);
      ::close(lock_fd_);
      lock_fd_ = -1;
    }
  }

  void SetUp() override {
    if (!skip_.empty()) {
      std::printf("SKIPPED: %s\n", skip_.c_str());
      GTEST_SKIP() << skip_;
    }
    ASSERT_TRUE(failure_.empty()) << failure_;
    if (!testbed_up_) {  // an earlier test took it down
      std::string out;
      ASSERT_EQ(Shell(TestbedScript() + " up " + layout_, &out), 0) << out;
      testbed_up_ = true;
    }
    EnsureSuperPeer();
  }

  void TearDown() override {
    if (HasFailure() && sp_) std::cerr << "super peer log:\n" << sp_->OutputTail(6000);
  }

  static void EnsureSuperPeer() {
    if (sp_ && sp_->running()) return;
    StartSuperPeer("-l " + CoreList());
  }

  // The suite's super peer, its EAL on `cores` (-l ..., --lcores=...), with
  // `extra_env` besides the suite's settings.
  static void StartSuperPeer(const std::string& cores,
                             const std::map<std::string, std::string>& extra_env = {}) {
    sp_.reset();
    SuperPeerProcess::Options o;
    o.binary = "/bin/ip";
    if (::access(o.binary.c_str(), X_OK) != 0) o.binary = "/usr/sbin/ip";
    o.args = {"netns", "exec", kSpNs, DRASYL_SP_BINARY,
              "--dpdk_eal=" + cores + " --no-pci " + vdevs_, "--dpdk_addr=" + dpdk_addr_};
    if (!af_xdp_.empty()) {  // the interface's addresses are the kernel's
      o.args = {"netns", "exec", kSpNs, DRASYL_SP_BINARY, "--af_xdp=" + af_xdp_,
                "--dpdk_eal=" + cores};
    }
    o.env = {
        {"DRASYL_UDP4_LISTEN", "0.0.0.0:22527"},
        {"DRASYL_UDP6_LISTEN", "[::]:22527"},
        {"DRASYL_TCP4_LISTEN", "0.0.0.0:8443"},
        {"DRASYL_TCP6_LISTEN", "[::]:8443"},
        {"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:9898"},
        {"DRASYL_MIN_POW_DIFFICULTY", "8"},
        {"DRASYL_SEND_UNITES", "0"},  // a UNITE for every relayed message
    };
    for (const auto& [name, value] : extra_env) o.env[name] = value;
    o.expected_urls = expected_urls_;
    o.banner_timeout = 30000ms;
    auto sp = std::make_unique<SuperPeerProcess>(o);
    absl::Status s = sp->Start();
    ASSERT_TRUE(s.ok()) << s << "\n" << sp->OutputTail();
    sp_ = std::move(sp);
  }

  static int StopSuperPeer() {
    if (!sp_) return -1;
    const int code = sp_->Stop(10000ms);
    return code;
  }

  static PublicKey SpKey() { return IdentityA().public_key; }

  // A registered node in `ns` bound to `bind`, talking to `server`.
  std::unique_ptr<Node> MakeNode(const std::string& ns, const std::string& bind,
                                 const std::string& server, bool tcp = false,
                                 std::optional<Identity> id = std::nullopt,
                                 bool register_it = true) {
    NodeOptions opts = tcp ? TcpNodeOptions(id ? *id : GenerateTestIdentity(8), SpKey(), Addr(server))
                           : UdpNodeOptions(id ? *id : GenerateTestIdentity(8), SpKey(), Addr(server));
    opts.bind = Addr(bind);
    opts.socket_buffer_bytes = 8 << 20;  // bursts (and SEND_UNITES=0's UNITEs) must fit
    absl::StatusOr<std::unique_ptr<Node>> n =
        InNetns(ns, [&] { return Node::Create(opts); });
    if (!n.ok()) {
      ADD_FAILURE() << "node in " << ns << ": " << n.status();
      return nullptr;
    }
    if (register_it) {
      HelloOptions h;
      h.endpoints = {(*n)->local_endpoint()};
      // The first HELLO may wait for ARP / ND: retry a few times.
      bool ok = false;
      for (int i = 0; i < 3 && !ok; ++i) ok = (*n)->Register(2000ms, h);
      if (!ok) {
        ADD_FAILURE() << "no ACK for " << KeyHex((*n)->public_key()) << " in " << ns << " via "
                      << server;
        return nullptr;
      }
    }
    return std::move(*n);
  }

  // `from` sends APPs to `to` until one arrives (at most 3 tries); checks it.
  void ExpectRelay(Node& from, Node& to, const std::string& text) {
    SCOPED_TRACE(text);
    std::vector<uint8_t> payload(text.begin(), text.end());
    std::optional<ReceivedMessage> m;
    for (int i = 0; i < 3 && !m; ++i) {
      ASSERT_TRUE(from.SendApp(to.public_key(), payload));
      m = to.ReceiveType(MessageType::kApp, 1500ms);
    }
    ASSERT_TRUE(m.has_value()) << "APP not relayed";
    EXPECT_EQ(m->sender, from.public_key());
    EXPECT_EQ(m->recipient, to.public_key());
    EXPECT_EQ(m->hop_count, 1);
    EXPECT_EQ(m->payload(), payload);
  }

  static std::string Metrics() {
    HttpResult r = InNetns(kSpNs, [] { return HttpGet(Addr("127.0.0.1:9898"), "/metrics"); });
    EXPECT_EQ(r.status, 200) << r.response;
    return r.body();
  }
  // /metrics as soon as done(text) holds, or after about 2 s (counters reach
  // /metrics within 0.5 s of what they count): the last text read.
  template <typename Done>
  static std::string MetricsOnce(Done&& done) {
    std::string text = Metrics();
    for (int i = 0; !done(text) && i < 20; ++i) {  // done() sees the last text too
      std::this_thread::sleep_for(100ms);
      text = Metrics();
    }
    return text;
  }

  // Scenario shared by the DPDK and the --af_xdp suites.
  void ScenarioRegistersArmedNodes() {
    auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    ASSERT_NE(b, nullptr);
    auto c = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
    ASSERT_NE(c, nullptr);
    // A HELLO with an invalid tag (armed with the wrong key) gets no ACK.
    auto d = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527", false, std::nullopt, false);
    ASSERT_NE(d, nullptr);
    HelloOptions bad;
    bad.tx_key = SessionKey{};
    EXPECT_FALSE(d->Register(800ms, bad));
    EXPECT_TRUE(d->Register(2000ms));
  }

  // Scenario shared by the DPDK and the --af_xdp suites.
  void ScenarioRelaysBetweenNamespacesBothWays() {
    auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
    ASSERT_TRUE(b && c);
    ExpectRelay(*b, *c, "from n1 to n2");
    ExpectRelay(*c, *b, "from n2 to n1");

    // A burst: the fast path keeps up (a loss or two is tolerated: it is UDP).
    const std::string before = Metrics();
    constexpr int kCount = 300;
    for (int i = 0; i < kCount; ++i) {
      std::string text = absl::StrCat("burst ", i);
      ASSERT_TRUE(b->SendApp(c->public_key(), std::vector<uint8_t>(text.begin(), text.end())));
    }
    int got = 0;
    while (c->ReceiveType(MessageType::kApp, 500ms)) ++got;
    const std::string after = Metrics();
    EXPECT_GE(got, kCount * 95 / 100) << after;
    EXPECT_GE(MetricSum(after, "drasyl_relayed_packets_total") -
                  MetricSum(before, "drasyl_relayed_packets_total"),
              got);
  }

  // Scenario shared by the DPDK and the --af_xdp suites.
  void ScenarioSendsUnitesToBothPeers() {
    auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
    ASSERT_TRUE(b && c);
    ExpectRelay(*b, *c, "unite us");
    for (auto [self, other] : {std::pair{b.get(), c.get()}, std::pair{c.get(), b.get()}}) {
      std::optional<ReceivedMessage> u = self->ReceiveType(MessageType::kUnite, kWait);
      ASSERT_TRUE(u.has_value()) << "no UNITE";
      ASSERT_TRUE(u->unite.has_value()) << DescribeMessage(*u);
      EXPECT_EQ(u->unite->address, other->public_key());
      EXPECT_EQ(u->sender, SpKey());
      bool has_observed = false;
      for (const SocketAddress& e : u->unite_endpoints()) {
        has_observed = has_observed || e == other->local_address();
      }
      EXPECT_TRUE(has_observed) << "the UNITE lacks " << other->local_address().ToString();
    }
  }

  // Scenario shared by the DPDK and the --af_xdp suites.
  void ScenarioRelaysBetweenTcpAndUdpNodes() {
    // The TCP fallback is the kernel's TCP on the TAP.
    auto t = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:8443", /*tcp=*/true);
    auto u = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    ASSERT_TRUE(t && u);
    ExpectRelay(*u, *t, "udp to tcp");   // worker -> control -> TCP
    ExpectRelay(*t, *u, "tcp to udp");   // control -> DPDK egress
    // Over IPv6 too.
    auto t6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:8443", /*tcp=*/true);
    ASSERT_NE(t6, nullptr);
    ExpectRelay(*t6, *u, "tcp6 to udp4");
    ExpectRelay(*u, *t6, "udp4 to tcp6");
  }

  // Scenario shared by the DPDK and the --af_xdp suites.
  void ScenarioIpv6AndAcrossFamilies() {
    auto b6 = MakeNode(kN1, "[fd99::2]:0", "[fd99::1]:22527");
    auto c6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
    ASSERT_TRUE(b6 && c6);
    ExpectRelay(*b6, *c6, "v6 to v6");
    ExpectRelay(*c6, *b6, "v6 back");
    auto b4 = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    ASSERT_NE(b4, nullptr);
    ExpectRelay(*b4, *c6, "v4 to v6");
    ExpectRelay(*c6, *b4, "v6 to v4");
  }

  // The testbed layout and the super peer's ports and addresses.
  static inline std::string layout_;
  static inline std::string vdevs_ = "--vdev=net_af_packet0,iface=veth0";
  static inline std::string dpdk_addr_ = "10.99.0.1/24,fd99::1/64";
  static inline std::string af_xdp_;  // --af_xdp=<this> instead of vdevs_ and dpdk_addr_
  static inline int expected_urls_ = 2;
  static inline std::string skip_;
  static inline std::string failure_;
  static inline bool testbed_up_ = false;
  static inline int lock_fd_ = -1;
  static inline std::unique_ptr<SuperPeerProcess> sp_;
};

TEST_F(DpdkTestbedTest, BannerListsTheDpdkAddresses) {
  std::vector<BannerUrl> urls = sp_->banner();
  ASSERT_EQ(urls.size(), 2u) << sp_->stdout_text();
  EXPECT_EQ(urls[0].address.ToString(), "10.99.0.1:22527");
  EXPECT_EQ(urls[1].address.ToString(), "[fd99::1]:22527");
  EXPECT_EQ(urls[0].tcp_port, 8443);
  EXPECT_TRUE(InterfaceExists(kSpNs, kTap)) << "no TAP " << kTap << " in " << kSpNs;
  EXPECT_TRUE(sp_->WaitForStderr("backend dpdk", 2000ms)) << sp_->stderr_text();
}

TEST_F(DpdkTestbedTest, AnswersPingThroughTheTap) {
  EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms)) << "no ICMP echo reply from 10.99.0.1";
  EXPECT_TRUE(Ping(kN2, "fd99::1", 3000ms)) << "no ICMPv6 echo reply from fd99::1";
  const std::string m = Metrics();
  EXPECT_GT(MetricSum(m, "drasyl_to_kernel_total"), 0) << m;
  // (from_kernel is counted per worker but not rendered by /metrics yet.)
}

TEST_F(DpdkTestbedTest, RegistersArmedNodes) {
  ScenarioRegistersArmedNodes();
}

TEST_F(DpdkTestbedTest, RelaysBetweenNamespacesBothWays) {
  ScenarioRelaysBetweenNamespacesBothWays();
}

TEST_F(DpdkTestbedTest, SendsUnitesToBothPeers) {
  ScenarioSendsUnitesToBothPeers();
}

TEST_F(DpdkTestbedTest, RelaysBetweenTcpAndUdpNodes) {
  ScenarioRelaysBetweenTcpAndUdpNodes();
}

TEST_F(DpdkTestbedTest, Ipv6AndAcrossFamilies) {
  ScenarioIpv6AndAcrossFamilies();
}

TEST_F(DpdkTestbedTest, SurvivesGarbageFlood) {
  const std::string before = Metrics();
  // Garbage from n1 for a bounded time: random datagrams to the listener
  // (both families), short ones, APPs for unknown recipients, and UDP to
  // a closed port (the kernel's business: it answers with ICMP).
  const size_t sent = InNetns(kN1, [] {
    int fd4 = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int fd6 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_storage to4, to6, closed;
    socklen_t l4 = Addr("10.99.0.1:22527").ToSockaddr(&to4);
    socklen_t l6 = Addr("[fd99::1]:22527").ToSockaddr(&to6);
    socklen_t lc = Addr("10.99.0.1:9").ToSockaddr(&closed);
    std::mt19937 rng(1);
    uint8_t buf[1400];
    size_t n = 0;
    const auto end = std::chrono::steady_clock::now() + 1500ms;
    while (std::chrono::steady_clock::now() < end && n < 300000) {
      for (int k = 0; k < 64; ++k, ++n) {
        const size_t len = rng() % sizeof(buf);
        for (size_t i = 0; i < len; ++i) buf[i] = static_cast<uint8_t>(rng());
        if (k % 4 == 1 && len >= wire::kHeaderBytes) {  // valid header, unknown recipient
          wire::HeaderFields h;
          h.type = MessageType::kApp;
          h.recipient[0] = static_cast<uint8_t>(rng());
          h.sender[0] = 1;
          wire::WriteHeader(h, false, buf);
        }
        if (k % 16 == 3) {
          ::sendto(fd4, buf, len, 0, reinterpret_cast<sockaddr*>(&closed), lc);
        } else if (k % 2) {
          ::sendto(fd4, buf, len, 0, reinterpret_cast<sockaddr*>(&to4), l4);
        } else {
          ::sendto(fd6, buf, len, 0, reinterpret_cast<sockaddr*>(&to6), l6);
        }
      }
    }
    ::close(fd4);
    ::close(fd6);
    return n;
  });
  EXPECT_GT(sent, 1000u);
  ASSERT_TRUE(sp_->running()) << "the super peer died under garbage";
  // Still fully working.
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
  ASSERT_TRUE(b && c);
  ExpectRelay(*b, *c, "after the flood");
  EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms));
  const std::string after = Metrics();
  auto delta = [&](const std::string& series) { return Metric(after, series) - Metric(before, series); };
  EXPECT_GT(delta("drasyl_drops_total{reason=\"bad_magic\"}"), 0) << after;
  EXPECT_GT(delta("drasyl_drops_total{reason=\"unknown_recipient\"}"), 0) << after;
  EXPECT_GT(MetricSum(after, "drasyl_rx_packets_total") - MetricSum(before, "drasyl_rx_packets_total"),
            1000);
}

// --verify_senders on the DPDK fast path: a sender key is relayed only from
// the source address and port of its HELLOs; forgeries are counted drops.
TEST_F(DpdkTestbedTest, VerifiedSendersAreRelayedOnlyFromTheirPath) {
  ASSERT_EQ(StopSuperPeer(), 0);
  StartSuperPeer("-l " + CoreList(), {{"DRASYL_VERIFY_SENDERS", "true"}});
  ASSERT_NE(sp_, nullptr);
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  auto x = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527", false, std::nullopt,
                    /*register_it=*/false);
  ASSERT_TRUE(b && c && x);
  ExpectRelay(*b, *c, "from its own socket");
  const std::string before = Metrics();
  AppOptions forged;  // B's key from another socket
  forged.sender = b->public_key();
  ASSERT_TRUE(x->SendApp(c->public_key(), RandomBytes(30), forged));
  ASSERT_TRUE(x->SendApp(c->public_key(), RandomBytes(30)));  // unregistered
  std::vector<uint8_t> control = RandomBytes(30);
  ASSERT_TRUE(b->SendApp(c->public_key(), control));
  EXPECT_TRUE(OnlyAppArrives(*c, control, 1500ms, 300ms));
  const std::string series = "drasyl_drops_total{reason=\"unverified_sender\"}";
  auto dropped = [&](const std::string& m) { return Metric(m, series) - Metric(before, series); };
  EXPECT_EQ(dropped(MetricsOnce([&](const std::string& m) { return dropped(m) >= 2; })), 2);
  // The next test gets the suite's usual super peer.
  EXPECT_EQ(StopSuperPeer(), 0);
  sp_.reset();
}

// ---------------------------------------------------------------------------
// Faults: checksum offload at a local sender, the TAP deleted or renamed, the
// port's link down and up, SIGKILL and SIGTERM under load.

// A socket in namespace `ns` for a UdpFlood.
int FloodSocket(const std::string& ns) {
  return InNetns(ns, [] { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); });
}

// TX checksum offload of one interface, turned off again (the testbed's
// setting) when the test ends.
class TxChecksumOffload {
 public:
  TxChecksumOffload(std::string ns, std::string dev) : ns_(std::move(ns)), dev_(std::move(dev)) {}
  ~TxChecksumOffload() { Set(false); }
  bool Set(bool on) {
    std::string out;
    const int rc = Shell(
        absl::StrCat("ip netns exec ", ns_, " ethtool -K ", dev_, " tx ", on ? "on" : "off"), &out);
    if (rc != 0) std::fprintf(stderr, "ethtool -K %s tx: %s\n", dev_.c_str(), out.c_str());
    return rc == 0;
  }

 private:
  std::string ns_, dev_;
};

// A local sender that leaves UDP checksums to offloading (a veth's default;
// the testbed turns it off): af_packet hands the partial checksums to the
// super peer as they are. Its HELLOs are dropped as bad_checksum, the log
// says why and how to fix it (at most 5 times per port), and with the
// offload off it registers.
TEST_F(DpdkTestbedTest, BadChecksumsFromAnOffloadingSenderAreCountedAndExplained) {
  if (Shell("command -v ethtool") != 0) {
    std::printf("SKIPPED: no ethtool (scripts/setup.sh installs it)\n");
    GTEST_SKIP() << "no ethtool";
  }
  // n1's eth0 leaves the checksum partial, and so does the switch port that
  // hands it to veth0 (else the kernel completes it there).
  TxChecksumOffload n1(kN1, "eth0"), sw("dsp-sw", "sp");
  ASSERT_TRUE(n1.Set(true) && sw.Set(true));
  const std::string before = Metrics();
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527", false, std::nullopt,
                    /*register_it=*/false);
  ASSERT_NE(b, nullptr);
  HelloOptions h;
  h.endpoints = {b->local_endpoint()};
  EXPECT_FALSE(b->Register(1500ms, h)) << "a HELLO with a partial checksum was answered";
  const std::string series = "drasyl_drops_total{reason=\"bad_checksum\"}";
  const std::string after =
      MetricsOnce([&](const std::string& m) { return Metric(m, series) > Metric(before, series); });
  EXPECT_GE(Metric(after, series) - Metric(before, series), 1) << after;
  EXPECT_EQ(Metric(after, "drasyl_drops_total{reason=\"bad_hello\"}"),
            Metric(before, "drasyl_drops_total{reason=\"bad_hello\"}"))
      << after;
  EXPECT_TRUE(sp_->WaitForStderr("`ethtool -K <dev> tx off`", 3000ms)) << sp_->OutputTail();
  EXPECT_TRUE(sp_->WaitForStderr("from 10.99.0.2:", 100ms)) << sp_->OutputTail();
  EXPECT_TRUE(sp_->WaitForStderr("UDP checksum is wrong", 100ms)) << sp_->OutputTail();
  // The fix, at the sender: its HELLO registers.
  ASSERT_TRUE(n1.Set(false));
  bool ok = false;
  for (int i = 0; i < 3 && !ok; ++i) ok = b->Register(2000ms, h);
  EXPECT_TRUE(ok) << "no ACK after ethtool -K eth0 tx off";
  // At most 5 log lines per port, however many such frames.
  ASSERT_TRUE(n1.Set(true));
  for (int i = 0; i < 20; ++i) b->SendHello(h);
  std::this_thread::sleep_for(1500ms);
  const std::string log = sp_->stderr_text();
  size_t lines = 0;
  for (size_t at = log.find("tx off`"); at != std::string::npos; at = log.find("tx off`", at + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 5u) << sp_->OutputTail();
  EXPECT_NE(log.find("further ones on this port are only counted"), std::string::npos);
}

// The TAP deleted or renamed under a running super peer: it says so and
// exits with 1 within its housekeeping second, so that its service manager
// restarts it; the restart brings the TAP back with its addresses.
class DpdkTapFaultTest : public DpdkTestbedTest {
 protected:
  void ExpectExitOnTapChange(const std::string& change, const std::string& what,
                             const std::string& leftover) {
    ASSERT_TRUE(InterfaceExists(kSpNs, kTap));
    std::string out;
    ASSERT_EQ(Shell(absl::StrCat("ip netns exec ", kSpNs, " ip link ", change), &out), 0) << out;
    const std::optional<int> code = sp_->WaitExit(5000ms);
    ASSERT_TRUE(code.has_value()) << "still running after: ip link " << change << "\n"
                                  << sp_->OutputTail();
    EXPECT_EQ(*code, 1) << sp_->OutputTail();
    const std::string log = sp_->stderr_text();
    for (const std::string& needle :
         {absl::StrCat("TAP interface ", kTap, " (the kernel side of port 0"), what,
          std::string("service manager restarts")}) {
      EXPECT_NE(log.find(needle), std::string::npos) << needle << "\n" << sp_->OutputTail();
    }
    if (!leftover.empty()) {
      EXPECT_FALSE(InterfaceExists(kSpNs, leftover)) << leftover << " outlived the process";
    }
    // Restarted, it has its TAP and addresses again: ping and TCP work.
    sp_.reset();
    EnsureSuperPeer();
    ASSERT_NE(sp_, nullptr);
    EXPECT_TRUE(InterfaceExists(kSpNs, kTap));
    EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms));
    auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:8443", /*tcp=*/true);
    EXPECT_NE(b, nullptr) << "no TCP registration after the restart";
  }
};

TEST_F(DpdkTapFaultTest, TapDeletedEndsTheProcessForARestart) {
  ExpectExitOnTapChange(absl::StrCat("del ", kTap), "was deleted", "");
}

TEST_F(DpdkTapFaultTest, TapRenamedEndsTheProcessForARestart) {
  ExpectExitOnTapChange(absl::StrCat("set ", kTap, " name dsp-renamed"),
                        "was renamed to dsp-renamed", "dsp-renamed");
}

// veth0 down and up again: the super peer keeps running and relays again.
TEST_F(DpdkTestbedTest, RelaysAgainAfterTheLinkWentDownAndUp) {
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_TRUE(b && c);
  ExpectRelay(*b, *c, "before the flap");
  const std::string ip = absl::StrCat("ip netns exec ", kSpNs, " ip link set veth0 ");
  std::string out;
  ASSERT_EQ(Shell(ip + "down", &out), 0) << out;
  for (int i = 0; i < 50; ++i) b->SendApp(c->public_key(), RandomBytes(40));  // into the void
  std::this_thread::sleep_for(1000ms);
  ASSERT_EQ(Shell(ip + "up", &out), 0) << out;
  ASSERT_TRUE(sp_->running()) << sp_->OutputTail();
  // Relayed again once the link is back.
  const std::vector<uint8_t> payload = RandomBytes(40);
  bool relayed = false;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 20 && !relayed; ++i) {
    b->SendApp(c->public_key(), payload);
    for (auto m = c->ReceiveType(MessageType::kApp, 500ms); m && !relayed;
         m = c->ReceiveType(MessageType::kApp, 100ms)) {
      relayed = m->payload() == payload;
    }
  }
  ASSERT_TRUE(relayed) << "not relayed after the link came back\n" << sp_->OutputTail();
  std::printf("relayed again %.0f ms after ip link set veth0 up\n",
              std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0)
                  .count());
  ExpectRelay(*c, *b, "after the flap, the other way");
  EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms));
  HelloOptions h;
  h.endpoints = {b->local_endpoint()};
  EXPECT_TRUE(b->Register(2000ms, h));
}

// SIGTERM while relaying a flood: the process is gone within 2 s.
TEST_F(DpdkTestbedTest, SigtermUnderLoadExitsWithinTwoSeconds) {
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_TRUE(b && c);
  UdpFlood flood(FloodSocket(kN1), Addr("10.99.0.1:22527"),
                 b->BuildApp(c->public_key(), RandomBytes(200)));
  std::this_thread::sleep_for(1000ms);
  ASSERT_GT(flood.sent(), 1000u);
  ASSERT_GT(MetricSum(Metrics(), "drasyl_relayed_packets_total"), 500) << "no load";
  const auto t0 = std::chrono::steady_clock::now();
  sp_->Signal(SIGTERM);
  const std::optional<int> code = sp_->WaitExit(10000ms);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  flood.Stop();
  std::printf("DPDK: SIGTERM to exit under load (%llu datagrams sent): %.0f ms\n",
              static_cast<unsigned long long>(flood.sent()), ms);
  ASSERT_TRUE(code.has_value()) << sp_->OutputTail();
  EXPECT_EQ(*code, 0) << sp_->OutputTail();
  EXPECT_LT(ms, 2000) << sp_->OutputTail();
  sp_.reset();
}

// SIGKILL under load, then a restart: the same identity, and nodes
// registered again with their next HELLO, relaying as before.
TEST_F(DpdkTestbedTest, RestartAfterSigkillUnderLoad) {
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_TRUE(b && c);
  const PublicKey key = sp_->public_key();
  {
    UdpFlood flood(FloodSocket(kN1), Addr("10.99.0.1:22527"),
                   b->BuildApp(c->public_key(), RandomBytes(200)));
    std::this_thread::sleep_for(1000ms);
    sp_->Signal(SIGKILL);
    ASSERT_TRUE(sp_->WaitExit(5000ms).has_value());
    // The kernel closed the TAP with the process; the flood goes on.
    std::this_thread::sleep_for(300ms);
    EXPECT_FALSE(InterfaceExists(kSpNs, kTap));
    sp_.reset();
    EnsureSuperPeer();
    ASSERT_NE(sp_, nullptr);
    EXPECT_EQ(sp_->public_key(), key);
  }
  while (c->Receive(100ms)) {
  }
  HelloOptions hb, hc;
  hb.endpoints = {b->local_endpoint()};
  hc.endpoints = {c->local_endpoint()};
  EXPECT_TRUE(b->Register(2000ms, hb));
  EXPECT_TRUE(c->Register(2000ms, hc));
  ExpectRelay(*b, *c, "after the restart");
}

// Keep last: it stops the suite's super peer.
// Key-exchange helpers go to cores no lcore uses and never to a worker's:
// with the main lcore and the worker sharing one CPU, the other one is
// spare and gets a helper, through which new nodes register.
TEST_F(DpdkTestbedTest, KeyExchangeHelpersRunOnCoresNoLcoreUses) {
  const std::string cores = CoreList();
  const size_t comma = cores.find(',');
  if (comma == std::string::npos) GTEST_SKIP() << "needs 2 CPUs, this process may use " << cores;
  const std::string spare = cores.substr(0, comma), shared = cores.substr(comma + 1);
  ASSERT_EQ(StopSuperPeer(), 0);
  StartSuperPeer("--lcores=0@" + shared + ",1@" + shared);
  ASSERT_NE(sp_, nullptr);
  EXPECT_TRUE(sp_->WaitForStderr("1 key-exchange thread(s) on CPU " + spare, 5000ms))
      << sp_->OutputTail();
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  ASSERT_NE(b, nullptr);
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_NE(c, nullptr);
  EXPECT_GE(MetricSum(Metrics(), "drasyl_hellos_awaiting_keys_total"), 2)
      << "new peers' HELLOs waited for the helper";
  ExpectRelay(*b, *c, "registered through the helper");
  // The next test gets the suite's usual super peer.
  EXPECT_EQ(StopSuperPeer(), 0);
  sp_.reset();
}

TEST_F(DpdkTestbedTest, ShutsDownCleanlyWithoutLeaks) {
  ASSERT_TRUE(InterfaceExists(kSpNs, kTap));
  const int code = StopSuperPeer();
  EXPECT_EQ(code, 0) << "exit code after SIGTERM\n" << sp_->OutputTail();
  EXPECT_NE(sp_->stderr_text().find("stopped"), std::string::npos) << sp_->OutputTail();
  sp_.reset();
  EXPECT_FALSE(InterfaceExists(kSpNs, kTap)) << "the TAP outlived the process";
  // Only veth0 and lo remain in the super peer's namespace.
  std::string links;
  Shell(std::string("ip netns exec ") + kSpNs + " ip -o link show", &links);
  EXPECT_EQ(std::count(links.begin(), links.end(), '\n'), 2) << links;
  // And the testbed goes away completely.
  std::string out;
  ASSERT_EQ(Shell(TestbedScript() + " down", &out), 0) << out;
  testbed_up_ = false;
  for (const char* ns : {"dsp-sp", "dsp-sw", "dsp-n1", "dsp-n2"}) {
    EXPECT_NE(::access((std::string("/var/run/netns/") + ns).c_str(), F_OK), 0) << ns;
  }
  std::string root_links;
  Shell("ip -o link show", &root_links);
  for (const char* dev : {"veth0", "dsp-", "drasyl0"}) {
    EXPECT_EQ(root_links.find(std::string(": ") + dev), std::string::npos) << root_links;
  }
}


// ---------------------------------------------------------------------------
// Two DPDK ports and a VLAN (scripts/testbed.sh up full): port 0 (veth0) on
// br0 with n1, n2 untagged and n4 in VLAN 100 (behind a userspace access
// port, so that what reaches the super peer from n4 is tagged); port 1
// (veth1) on br1 with n3, a subnet of its own.

constexpr char kN3[] = "dsp-n3";
constexpr char kN4[] = "dsp-n4";
constexpr uint16_t kVlan = 100;

// A frame (hex bytes, spaces ignored) with the MACs in front.
std::vector<uint8_t> FrameBytes(const std::vector<uint8_t>& dst_mac, const std::string& hex) {
  std::vector<uint8_t> f(dst_mac);
  for (uint8_t b : {0x02, 0x00, 0x00, 0x00, 0x0e, 0x01}) f.push_back(b);  // injector's MAC
  std::string digits;
  for (char c : hex) {
    if (c != ' ') digits.push_back(c);
  }
  for (size_t i = 0; i + 1 < digits.size(); i += 2) {
    f.push_back(static_cast<uint8_t>(std::stoi(digits.substr(i, 2), nullptr, 16)));
  }
  while (f.size() < 64) f.push_back(0);
  return f;
}

class DpdkTestbedFullTest : public DpdkTestbedTest {
 protected:
  static void SetUpTestSuite() {
    layout_ = "full";
    vdevs_ = "--vdev=net_af_packet0,iface=veth0 --vdev=net_af_packet1,iface=veth1";
    dpdk_addr_ =
        "10.99.0.1/24,fd99::1/64,10.98.0.1/24@vlan100,fd98::1/64@vlan100,10.97.0.1/24@port1,"
        "fd97::1/64@port1";
    expected_urls_ = 6;
    SetUpTestbed();
  }

  static void TearDownTestSuite() {
    tagger_.reset();
    DpdkTestbedTest::TearDownTestSuite();
  }

  void SetUp() override {
    DpdkTestbedTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    if (!tagger_) {
      absl::StatusOr<std::unique_ptr<VlanAccessPort>> t =
          VlanAccessPort::Start("dsp-sw", "n4", "v100t", kVlan);
      ASSERT_TRUE(t.ok()) << t.status();
      tagger_ = std::move(*t);
    }
  }

  // The MAC of the super peer's port 0 (veth0's: net_af_packet uses it).
  static std::vector<uint8_t> Port0Mac() {
    std::string out;
    EXPECT_EQ(Shell(std::string("ip netns exec ") + kSpNs + " cat /sys/class/net/veth0/address",
                    &out),
              0)
        << out;
    std::vector<uint8_t> mac;
    for (absl::string_view part : absl::StrSplit(absl::StripAsciiWhitespace(out), ':')) {
      mac.push_back(static_cast<uint8_t>(std::stoi(std::string(part), nullptr, 16)));
    }
    EXPECT_EQ(mac.size(), 6u) << out;
    return mac;
  }

  static std::string TapAddresses(const std::string& tap) {
    std::string out;
    Shell(std::string("ip netns exec ") + kSpNs + " ip -o addr show dev " + tap, &out);
    return out;
  }

  static inline std::unique_ptr<VlanAccessPort> tagger_;
};

TEST_F(DpdkTestbedFullTest, EachAddressLivesOnTheTapOfItsPortAndVlan) {
  std::vector<BannerUrl> urls = sp_->banner();
  ASSERT_EQ(urls.size(), 6u) << sp_->stdout_text();
  std::vector<std::string> announced;
  for (const BannerUrl& u : urls) announced.push_back(u.address.ToString());
  for (const char* a : {"10.99.0.1:22527", "10.98.0.1:22527", "10.97.0.1:22527",
                        "[fd97::1]:22527"}) {
    EXPECT_NE(std::find(announced.begin(), announced.end(), a), announced.end()) << a;
  }
  const std::string tap0 = TapAddresses("drasyl0"), tap1 = TapAddresses("drasyl1"),
                    vlan = TapAddresses("drasyl0.100");
  EXPECT_TRUE(absl::StrContains(tap0, "10.99.0.1/24")) << tap0;
  EXPECT_TRUE(absl::StrContains(tap0, "fd99::1/64")) << tap0;
  EXPECT_FALSE(absl::StrContains(tap0, "10.98.0.1")) << tap0;
  EXPECT_FALSE(absl::StrContains(tap0, "10.97.0.1")) << tap0;
  EXPECT_TRUE(absl::StrContains(tap1, "10.97.0.1/24")) << tap1;
  EXPECT_TRUE(absl::StrContains(tap1, "fd97::1/64")) << tap1;
  EXPECT_FALSE(absl::StrContains(tap1, "10.99.0.1")) << tap1;
  EXPECT_TRUE(absl::StrContains(vlan, "10.98.0.1/24")) << vlan;
  EXPECT_TRUE(absl::StrContains(vlan, "fd98::1/64")) << vlan;
  EXPECT_FALSE(absl::StrContains(vlan, "10.99.0.1")) << vlan;
}

TEST_F(DpdkTestbedFullTest, VlanNodeRegistersAndTheAckComesBackTagged) {
  const VlanAccessPort::Stats before = tagger_->stats();
  auto b = MakeNode(kN4, "10.98.0.2:0", "10.98.0.1:22527");
  ASSERT_NE(b, nullptr);
  auto b6 = MakeNode(kN4, "[fd98::2]:0", "[fd98::1]:22527");
  ASSERT_NE(b6, nullptr);
  // n4 hears only what the super peer sent in VLAN 100 (the access port
  // passes nothing else): its HELLOs went tagged and the ACKs came tagged.
  // The port counts a frame after passing it on, and the super peer's
  // counters reach /metrics within 0.5 s: both are waited for.
  VlanAccessPort::Stats after;
  const std::string m = MetricsOnce([&](const std::string& text) {
    after = tagger_->stats();
    return after.to_trunk - before.to_trunk >= 2 &&
           after.udp_to_access - before.udp_to_access >= 2 &&
           Metric(text, "drasyl_messages_sent_total{type=\"ACK\"}") >= 2;
  });
  EXPECT_GE(after.to_trunk - before.to_trunk, 2u);
  EXPECT_GE(after.udp_to_access - before.udp_to_access, 2u);
  EXPECT_GE(Metric(m, "drasyl_messages_sent_total{type=\"ACK\"}"), 2) << m;
}

TEST_F(DpdkTestbedFullTest, VlanExceptionPathArpNdPingAndTcp) {
  // ARP / ND and ICMP for the super peer's VLAN 100 addresses: answered by
  // the kernel on drasyl0.100, tagged on the way out.
  const VlanAccessPort::Stats before = tagger_->stats();
  EXPECT_TRUE(Ping(kN4, "10.98.0.1", 3000ms)) << "no ICMP echo reply from 10.98.0.1";
  EXPECT_TRUE(Ping(kN4, "fd98::1", 3000ms)) << "no ICMPv6 echo reply from fd98::1";
  EXPECT_GT(tagger_->stats().to_access, before.to_access);
  std::string neigh;
  Shell(std::string("ip netns exec ") + kN4 + " ip neigh show dev eth0", &neigh);
  const std::vector<uint8_t> mac = Port0Mac();
  const std::string mac_text = absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1],
                                               mac[2], mac[3], mac[4], mac[5]);
  EXPECT_TRUE(absl::StrContains(neigh, "10.98.0.1 lladdr " + mac_text)) << neigh;
  EXPECT_TRUE(absl::StrContains(neigh, "fd98::1 lladdr " + mac_text)) << neigh;
  // The TCP fallback (kernel TCP) in the VLAN, relaying to an untagged node.
  auto t = MakeNode(kN4, "10.98.0.2:0", "10.98.0.1:8443", /*tcp=*/true);
  auto u = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  ASSERT_TRUE(t && u);
  ExpectRelay(*t, *u, "tcp in vlan 100 to untagged udp");
  ExpectRelay(*u, *t, "untagged udp to tcp in vlan 100");
}

TEST_F(DpdkTestbedFullTest, RelaysBetweenTaggedAndUntaggedNodesBothWays) {
  auto tagged = MakeNode(kN4, "10.98.0.2:0", "10.98.0.1:22527");
  auto untagged = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  ASSERT_TRUE(tagged && untagged);
  const VlanAccessPort::Stats before = tagger_->stats();
  // Toward n4 the frame must be tagged (the access port drops anything
  // else); toward n1 untagged (n1's kernel, without a VLAN interface,
  // discards frames tagged with a VLAN id as not its own).
  ExpectRelay(*untagged, *tagged, "untagged to vlan 100");
  ExpectRelay(*tagged, *untagged, "vlan 100 to untagged");
  EXPECT_GE(tagger_->stats().udp_to_access - before.udp_to_access, 1u);
  // IPv6 on both sides, and across families.
  auto tagged6 = MakeNode(kN4, "[fd98::2]:0", "[fd98::1]:22527");
  auto untagged6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
  ASSERT_TRUE(tagged6 && untagged6);
  ExpectRelay(*tagged6, *untagged6, "v6 vlan 100 to v6 untagged");
  ExpectRelay(*untagged6, *tagged6, "v6 untagged to v6 vlan 100");
  ExpectRelay(*tagged6, *untagged, "v6 vlan 100 to v4 untagged");
  ExpectRelay(*untagged, *tagged6, "v4 untagged to v6 vlan 100");
  // A burst through the tagged path (rewrite with the tag in place).
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    std::string text = absl::StrCat("burst ", i);
    ASSERT_TRUE(untagged->SendApp(tagged->public_key(),
                                  std::vector<uint8_t>(text.begin(), text.end())));
  }
  int got = 0;
  while (tagged->ReceiveType(MessageType::kApp, 500ms)) ++got;
  EXPECT_GE(got, kCount * 95 / 100);
}

TEST_F(DpdkTestbedFullTest, SecondPortRegistersAnswersPingAndRelaysBothWays) {
  EXPECT_TRUE(Ping(kN3, "10.97.0.1", 3000ms)) << "no ICMP echo reply from 10.97.0.1 (port 1)";
  EXPECT_TRUE(Ping(kN3, "fd97::1", 3000ms)) << "no ICMPv6 echo reply from fd97::1 (port 1)";
  // n3 is reachable only through port 1, n1 and n4 only through port 0:
  // each relayed frame left on the port its recipient's HELLO came in on,
  // to the MAC that HELLO came from.
  auto p1 = MakeNode(kN3, "10.97.0.2:0", "10.97.0.1:22527");
  auto p0 = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  ASSERT_TRUE(p1 && p0);
  ExpectRelay(*p0, *p1, "port 0 to port 1");
  ExpectRelay(*p1, *p0, "port 1 to port 0");
  auto p1v6 = MakeNode(kN3, "[fd97::2]:0", "[fd97::1]:22527");
  auto vlan = MakeNode(kN4, "[fd98::2]:0", "[fd98::1]:22527");
  ASSERT_TRUE(p1v6 && vlan);
  ExpectRelay(*p1v6, *vlan, "port 1 v6 to port 0 vlan 100 v6");
  ExpectRelay(*vlan, *p1v6, "port 0 vlan 100 v6 to port 1 v6");
  ExpectRelay(*p1v6, *p0, "port 1 v6 to port 0 v4");
  // The TCP fallback on port 1's TAP.
  auto t = MakeNode(kN3, "10.97.0.2:0", "10.97.0.1:8443", /*tcp=*/true);
  ASSERT_NE(t, nullptr);
  ExpectRelay(*t, *p0, "tcp on port 1 to udp on port 0");
  ExpectRelay(*p0, *t, "udp on port 0 to tcp on port 1");
}

TEST_F(DpdkTestbedFullTest, UnsupportedVlanTrafficIsDroppedAndCounted) {
  const std::string before = Metrics();
  const std::vector<uint8_t> sp_mac = Port0Mac();
  const std::vector<uint8_t> bcast(6, 0xff);
  // IPv4 + UDP to 10.98.0.1:22527 (checksums irrelevant: dropped before).
  const std::string udp =
      "0800 4500 0024 0000 4000 4011 0000 0a62 0002 0a62 0001 9c40 57ff 0010 0000 "
      "0102 0304 0506 0708";
  const std::vector<std::vector<uint8_t>> frames = {
      // ARP request for 10.98.0.1 in VLAN 200 (no address there): broadcast.
      FrameBytes(bcast, "8100 00c8 0806 0001 0800 0604 0001 0200 0000 0e01 0a62 0002 "
                        "0000 0000 0000 0a62 0001"),
      // UDP to us in VLAN 200: unicast.
      FrameBytes(sp_mac, "8100 00c8 " + udp),
      // QinQ: VLAN 100 with another 802.1Q tag inside.
      FrameBytes(sp_mac, "8100 0064 8100 0005 " + udp),
      // An 802.1ad S-tag with a C-tag inside.
      FrameBytes(sp_mac, "88a8 0064 8100 0005 " + udp),
  };
  for (int round = 0; round < 5; ++round) {
    for (const std::vector<uint8_t>& f : frames) ASSERT_TRUE(tagger_->InjectIntoTrunk(f));
  }
  // Counted (drops are summed as the metrics are read: give the worker a moment).
  auto delta_in = [&](const std::string& text, const std::string& series) {
    return Metric(text, series) - Metric(before, series);
  };
  const std::string after = MetricsOnce([&](const std::string& text) {
    return delta_in(text, "drasyl_drops_total{reason=\"unknown_vlan\"}") >= 10 &&
           delta_in(text, "drasyl_drops_total{reason=\"stacked_vlan\"}") >= 10;
  });
  auto delta = [&](const std::string& series) { return delta_in(after, series); };
  EXPECT_GE(delta("drasyl_drops_total{reason=\"unknown_vlan\"}"), 10) << after;
  EXPECT_GE(delta("drasyl_drops_total{reason=\"stacked_vlan\"}"), 10) << after;
  ASSERT_TRUE(sp_->running()) << "the super peer died on unsupported VLAN traffic";
  // Everything else still works.
  EXPECT_TRUE(Ping(kN4, "10.98.0.1", 3000ms));
  auto a = MakeNode(kN4, "10.98.0.2:0", "10.98.0.1:22527");
  auto b = MakeNode(kN3, "10.97.0.2:0", "10.97.0.1:22527");
  ASSERT_TRUE(a && b);
  ExpectRelay(*a, *b, "after the unsupported frames");
}

TEST_F(DpdkTestbedFullTest, AddressOnAMissingPortIsAClearError) {
  SuperPeerProcess::Options o;
  o.binary = "/bin/ip";
  if (::access(o.binary.c_str(), X_OK) != 0) o.binary = "/usr/sbin/ip";
  o.args = {"netns", "exec", kSpNs, DRASYL_SP_BINARY,
            "--dpdk_eal=-l " + CoreList() + " --no-pci --vdev=net_null0",
            "--dpdk_addr=10.96.0.1/24@port3"};
  o.env = {{"DRASYL_UDP4_LISTEN", "0.0.0.0:22599"}, {"DRASYL_PROMETHEUS_LISTEN", ""}};
  o.wait_for_banner = false;
  SuperPeerProcess p(o);
  ASSERT_TRUE(p.Start().ok());
  const std::optional<int> code = p.WaitExit(30000ms);
  ASSERT_TRUE(code.has_value()) << "still running\n" << p.OutputTail();
  EXPECT_NE(*code, 0) << p.OutputTail();
  EXPECT_TRUE(absl::StrContains(p.stderr_text(), "no DPDK ethernet port 3")) << p.OutputTail();
}

// Keep last: it stops the suite's super peer.
TEST_F(DpdkTestbedFullTest, ShutsDownAndRemovesEveryTap) {
  for (const char* tap : {"drasyl0", "drasyl1", "drasyl0.100"}) {
    ASSERT_TRUE(InterfaceExists(kSpNs, tap)) << tap;
  }
  const int code = StopSuperPeer();
  EXPECT_EQ(code, 0) << "exit code after SIGTERM\n" << sp_->OutputTail();
  sp_.reset();
  for (const char* tap : {"drasyl0", "drasyl1", "drasyl0.100"}) {
    EXPECT_FALSE(InterfaceExists(kSpNs, tap)) << tap << " outlived the process";
  }
  // lo, veth0 and veth1 remain.
  std::string links;
  Shell(std::string("ip netns exec ") + kSpNs + " ip -o link show", &links);
  EXPECT_EQ(std::count(links.begin(), links.end(), '\n'), 3) << links;
  tagger_.reset();
  std::string out;
  ASSERT_EQ(Shell(TestbedScript() + " down", &out), 0) << out;
  testbed_up_ = false;
  for (const char* ns : {"dsp-sp", "dsp-sw", "dsp-n1", "dsp-n2", "dsp-n3", "dsp-n4"}) {
    EXPECT_NE(::access((std::string("/var/run/netns/") + ns).c_str(), F_OK), 0) << ns;
  }
}

// IP fragments and the port MTU (issue 17): what the kernel does for the
// socket backend, the DPDK backend does too. The nodes' kernels fragment
// what exceeds their links' MTU; the super peer reassembles, relays and
// fragments what exceeds its port's. On net_af_packet the kernel
// reassembles IPv4 fragments before DPDK sees them (the PMD's fanout group
// asks it to) and hands them over cut to the ring frame: 8 KiB frames take
// the issue's 4 000-byte messages. IPv6 fragments are the backend's to
// reassemble on any port (and IPv4 ones on NICs, memif, TAP).
class DpdkTestbedFragmentsTest : public DpdkTestbedTest {
 protected:
  static void SetUpTestSuite() {
    layout_ = "";
    vdevs_ = "--vdev=net_af_packet0,iface=veth0,framesz=8192,blocksz=8192";
    dpdk_addr_ = "10.99.0.1/24,fd99::1/64";
    expected_urls_ = 2;
    SetUpTestbed();
  }

  // `from` sends an APP of `size` bytes to `to` until it arrives (3 tries).
  void ExpectRelaySize(Node& from, Node& to, size_t size) {
    SCOPED_TRACE(absl::StrCat(size, " bytes from ", from.local_address().ToString(), " to ",
                              to.local_address().ToString()));
    std::vector<uint8_t> payload(size);
    for (size_t i = 0; i < size; ++i) payload[i] = static_cast<uint8_t>(i * 13 + size);
    std::optional<ReceivedMessage> m;
    for (int i = 0; i < 3 && !m; ++i) {
      ASSERT_TRUE(from.SendApp(to.public_key(), payload));
      m = to.ReceiveType(MessageType::kApp, 1500ms);
    }
    ASSERT_TRUE(m.has_value()) << "APP of " << size << " bytes not relayed\n" << Metrics();
    EXPECT_EQ(m->sender, from.public_key());
    EXPECT_EQ(m->payload(), payload);
  }

  // Sets the MTU of every testbed link (both ends of each veth) but the
  // super peer's veth0 when `with_port` is false.
  static void SetLinkMtu(int mtu, bool with_port) {
    std::string cmd = absl::StrFormat(
        "ip -n dsp-sw link set sp mtu %d && ip -n dsp-sw link set n1 mtu %d && "
        "ip -n dsp-sw link set n2 mtu %d && ip -n dsp-n1 link set eth0 mtu %d && "
        "ip -n dsp-n2 link set eth0 mtu %d",
        mtu, mtu, mtu, mtu, mtu);
    if (with_port) absl::StrAppend(&cmd, absl::StrFormat(" && ip -n dsp-sp link set veth0 mtu %d", mtu));
    std::string out;
    ASSERT_EQ(Shell(cmd, &out), 0) << out;
  }

  static int PortMtu() {
    std::string out;
    Shell("ip netns exec dsp-sp cat /sys/class/net/veth0/mtu", &out);
    int mtu = 0;
    return absl::SimpleAtoi(absl::StripAsciiWhitespace(out), &mtu) ? mtu : -1;
  }

  static std::vector<uint8_t> SuperPeerMac() {
    std::string out;
    Shell("ip netns exec dsp-sp cat /sys/class/net/veth0/address", &out);
    std::vector<uint8_t> mac;
    for (absl::string_view part : absl::StrSplit(absl::StripAsciiWhitespace(out), ':')) {
      mac.push_back(static_cast<uint8_t>(std::stoi(std::string(part), nullptr, 16)));
    }
    return mac;
  }
};

// Every row of the issue's table: the kernel-socket backend relays them all.
TEST_F(DpdkTestbedFragmentsTest, RelaysWhatTheNodesKernelsFragmentAndWhatExceedsThePortMtu) {
  auto b4 = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c4 = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  auto c6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
  ASSERT_TRUE(b4 && c4 && c6);
  const std::string before = Metrics();
  ExpectRelaySize(*b4, *c4, 1393);  // a 1 472-byte datagram: no fragments
  ExpectRelaySize(*b4, *c4, 2000);  // the sender's kernel fragments
  ExpectRelaySize(*c4, *b4, 4000);
  ExpectRelaySize(*b4, *c6, 1393);  // a 1 520-byte IPv6 packet out: the super peer fragments
  ExpectRelaySize(*c6, *b4, 1393);  // the IPv6 sender fragments its 1 520-byte packet
  ExpectRelaySize(*c6, *b4, 4000);  // both
  // A TCP peer's messages to UDP peers leave through the control thread's
  // egress, fragmented there; and back (reassembled, to the TCP peer).
  auto t = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:8443", /*tcp=*/true);
  ASSERT_NE(t, nullptr);
  ExpectRelaySize(*t, *b4, 3000);
  ExpectRelaySize(*t, *c6, 1393);
  ExpectRelaySize(*c6, *t, 3000);
  // Relayed beyond what the control thread takes (4 079 bytes > 4 032,
  // above); to the super peer itself such a message is oversized.
  const std::string before_self = Metrics();
  ASSERT_TRUE(c6->SendApp(SpKey(), std::vector<uint8_t>(5000, 0x5a)));
  const std::string after_self = MetricsOnce([&](const std::string& t) {
    return Metric(t, "drasyl_drops_total{reason=\"oversized\"}") >
           Metric(before_self, "drasyl_drops_total{reason=\"oversized\"}");
  });
  EXPECT_EQ(Metric(after_self, "drasyl_drops_total{reason=\"oversized\"}") -
                Metric(before_self, "drasyl_drops_total{reason=\"oversized\"}"),
            1)
      << after_self;
  const std::string after = Metrics();
  for (const char* reason : {"fragment_table_full", "fragment_timeout", "bad_fragment",
                             "bad_fragment_set", "fragment_alloc_failed", "too_big_to_fragment",
                             "truncated_frame"}) {
    const std::string series = absl::StrCat("drasyl_drops_total{reason=\"", reason, "\"}");
    EXPECT_EQ(Metric(after, series), Metric(before, series)) << series;
  }
}

// A path whose links all have an MTU of 1 400: the super peer reads it from
// its port's interface and fragments what exceeds it; and --dpdk_mtu sets
// it on the port (net_af_packet: on the interface).
TEST_F(DpdkTestbedFragmentsTest, SmallerMtuFromTheInterfaceAndFromTheFlag) {
  ASSERT_EQ(StopSuperPeer(), 0);
  SetLinkMtu(1400, /*with_port=*/true);
  StartSuperPeer("-l " + CoreList());
  EXPECT_TRUE(sp_->WaitForStderr("MTU 1400", 2000ms)) << sp_->OutputTail();
  {
    auto b4 = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    auto c4 = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
    auto c6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
    ASSERT_TRUE(b4 && c4 && c6);
    ExpectRelaySize(*b4, *c4, 1393);
    ExpectRelaySize(*b4, *c6, 1393);
    ExpectRelaySize(*c6, *b4, 1393);
    ExpectRelaySize(*c6, *c4, 3000);
  }
  ASSERT_EQ(StopSuperPeer(), 0);
  // The port's interface at 1 500, the rest at 1 400: --dpdk_mtu (by its
  // environment variable) brings the port down to the path's.
  SetLinkMtu(1500, /*with_port=*/true);
  SetLinkMtu(1400, /*with_port=*/false);
  StartSuperPeer("-l " + CoreList(), {{"DRASYL_DPDK_MTU", "1400"}});
  EXPECT_EQ(PortMtu(), 1400);
  {
    auto b4 = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
    auto c6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
    ASSERT_TRUE(b4 && c6);
    ExpectRelaySize(*b4, *c6, 1393);
    ExpectRelaySize(*c6, *b4, 2000);
  }
  ASSERT_EQ(StopSuperPeer(), 0);
  SetLinkMtu(1500, /*with_port=*/true);
  StartSuperPeer("-l " + CoreList());
}

// Fragments that never make a datagram (incomplete, overlapping, malformed,
// too small for the UDP header) flood the super peer from n1 while nodes
// relay: their messages all arrive, the drop counters say what happened,
// and once the incomplete ones have timed out, fragmented messages are
// relayed again.
TEST_F(DpdkTestbedFragmentsTest, FragmentFloodCostsBoundedAndIsCounted) {
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
  ASSERT_TRUE(b && c);
  ExpectRelaySize(*b, *c, 2000);
  const std::vector<uint8_t> sp_mac = SuperPeerMac();
  ASSERT_EQ(sp_mac.size(), 6u);
  const std::string before = Metrics();

  std::atomic<bool> flooding{true};
  std::atomic<size_t> flood_sent{0};
  std::thread flood([&] {
    flood_sent = InNetns(kN1, [&] {
      int fd = ::socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, htons(ETH_P_IPV6));
      if (fd < 0) return size_t{0};
      sockaddr_ll to{};
      to.sll_family = AF_PACKET;
      to.sll_protocol = htons(ETH_P_IPV6);
      to.sll_ifindex = static_cast<int>(if_nametoindex("eth0"));
      to.sll_halen = 6;
      std::memcpy(to.sll_addr, sp_mac.data(), 6);
      // An IPv6 fragment from fd99::2 to fd99::1 (IPv6: net_af_packet's
      // kernel side leaves those to DPDK): UDP, `id`, offset in bytes, more
      // fragments or not, `len` bytes of data (a UDP header to the
      // listener first, at offset 0).
      auto send_fragment = [&](uint32_t id, uint16_t offset, bool more, size_t len) {
        uint8_t pkt[48 + 128] = {0x60, 0, 0, 0, 0, 0, 44, 64};
        const uint8_t src[16] = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
        const uint8_t dst[16] = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        std::memcpy(pkt + 8, src, 16);
        std::memcpy(pkt + 24, dst, 16);
        len = std::min<size_t>(len, 128);
        const uint16_t plen = static_cast<uint16_t>(8 + len);
        pkt[4] = plen >> 8, pkt[5] = plen & 0xff;
        uint8_t* fh = pkt + 40;
        fh[0] = 17;
        const uint16_t fo = static_cast<uint16_t>(offset | (more ? 1 : 0));
        fh[2] = fo >> 8, fh[3] = fo & 0xff;
        fh[4] = id >> 24, fh[5] = (id >> 16) & 0xff, fh[6] = (id >> 8) & 0xff, fh[7] = id & 0xff;
        for (size_t i = 0; i < len; ++i) pkt[48 + i] = static_cast<uint8_t>(id + i);
        if (offset == 0 && len >= 8) {
          const uint8_t udp[8] = {0x0f, 0xa0, 0x57, 0xff, 0x07, 0xd0, 0, 1};  // 4000 -> 22527
          std::memcpy(pkt + 48, udp, 8);
        }
        ::sendto(fd, pkt, 48 + len, 0, reinterpret_cast<sockaddr*>(&to), sizeof(to));
      };
      size_t n = 0;
      uint32_t id = 1;
      const auto end = std::chrono::steady_clock::now() + 1500ms;
      while (flooding && std::chrono::steady_clock::now() < end && n < 200000) {
        // ~15 000 fragments a second: a flood the super peer's worker takes
        // in even on a loaded 2-CPU machine (faster, net_af_packet's kernel
        // ring drops frames before DPDK sees them, the nodes' too).
        for (int k = 0; k < 32; ++k, ++id) {
          switch (k % 4) {
            case 0:  // incomplete: a first fragment only (fills the table)
              send_fragment(id, 0, true, 64);
              n += 1;
              break;
            case 1:  // overlapping: 0-15 and 8-23
              send_fragment(id, 0, true, 16);
              send_fragment(id, 8, false, 16);
              n += 2;
              break;
            case 2:  // not a multiple of 8 bytes, yet more follow
              send_fragment(id, 64, true, 13);
              n += 1;
              break;
            case 3:  // a first fragment without data, then a last one
              send_fragment(id, 0, true, 0);
              send_fragment(id, 8, false, 4);
              n += 2;
              break;
          }
        }
        std::this_thread::sleep_for(2ms);
      }
      ::close(fd);
      return n;
    });
  });
  // Meanwhile the nodes relay (unfragmented messages): all of them arrive.
  int sent = 0, got = 0;
  const auto relay_end = std::chrono::steady_clock::now() + 1200ms;
  while (std::chrono::steady_clock::now() < relay_end && sent < 400) {
    for (int i = 0; i < 10; ++i, ++sent) {
      const std::string text = absl::StrCat("during the flood ", sent);
      ASSERT_TRUE(b->SendApp(c->public_key(), std::vector<uint8_t>(text.begin(), text.end())));
    }
    while (c->ReceiveType(MessageType::kApp, 5ms)) ++got;
  }
  while (c->ReceiveType(MessageType::kApp, 300ms)) ++got;
  flooding = false;
  flood.join();
  EXPECT_GT(flood_sent.load(), 1000u);
  EXPECT_GE(got, sent * 95 / 100) << "sent " << sent;
  ASSERT_TRUE(sp_->running()) << "the super peer died under the fragment flood";

  // The incomplete datagrams time out (2 s); then fragments reassemble again.
  std::this_thread::sleep_for(2500ms);
  ExpectRelaySize(*b, *c, 2000);
  ExpectRelaySize(*c, *b, 2000);
  const std::string after = MetricsOnce([&](const std::string& t) {
    return Metric(t, "drasyl_drops_total{reason=\"fragment_timeout\"}") >
           Metric(before, "drasyl_drops_total{reason=\"fragment_timeout\"}");
  });
  auto delta = [&](const char* reason) {
    const std::string series = absl::StrCat("drasyl_drops_total{reason=\"", reason, "\"}");
    return Metric(after, series) - Metric(before, series);
  };
  EXPECT_GT(delta("fragment_table_full"), 0) << after;
  EXPECT_GT(delta("fragment_timeout"), 0) << after;
  EXPECT_GT(delta("bad_fragment"), 0) << after;
  EXPECT_GT(delta("bad_fragment_set"), 0) << after;
  // Every fragment is accounted for at most once, and a bounded number is
  // held at the end (the table: 256 datagrams of at most 8).
  const double counted = delta("fragment_table_full") + delta("fragment_timeout") +
                         delta("bad_fragment") + delta("bad_fragment_set");
  std::printf("fragment flood: %zu fragments sent; dropped: %.0f fragment_table_full, %.0f "
              "fragment_timeout, %.0f bad_fragment, %.0f bad_fragment_set; relayed %d of %d "
              "messages meanwhile\n",
              flood_sent.load(), delta("fragment_table_full"), delta("fragment_timeout"),
              delta("bad_fragment"), delta("bad_fragment_set"), got, sent);
  EXPECT_LE(counted, static_cast<double>(flood_sent.load()));
  // What the port took in is all accounted for: the flood's fragments
  // dropped by reason, the nodes' messages relayed (the two 2 000-byte
  // ones after the flood: three frames, two messages).
  const double received = MetricSum(after, "drasyl_rx_packets_total") -
                          MetricSum(before, "drasyl_rx_packets_total");
  const double relayed = MetricSum(after, "drasyl_relayed_packets_total") -
                         MetricSum(before, "drasyl_relayed_packets_total");
  EXPECT_NEAR(counted, received - relayed, 20) << after;
  EXPECT_GT(counted, static_cast<double>(flood_sent.load()) / 2) << after;
}


// --af_xdp on a NIC the kernel keeps (testbed layout "afxdp": veth0 in
// dsp-sp has 10.99.0.1/24 and fd99::1/64 in the kernel):
// the scenarios of the DPDK suite, and what the kernel must keep.
class AfXdpTestbedTest : public DpdkTestbedTest {
 protected:
  static void SetUpTestSuite() {
    layout_ = "afxdp";
    af_xdp_ = "veth0";
    expected_urls_ = 2;
    SetUpTestbed();
    // A kernel built without AF_XDP sockets cannot run this suite at all.
    const int xsk = ::socket(44 /* AF_XDP */, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (xsk >= 0) {
      ::close(xsk);
    } else if (skip_.empty() && (errno == EAFNOSUPPORT || errno == EINVAL)) {
      skip_ = "the kernel has no AF_XDP sockets (CONFIG_XDP_SOCKETS)";
    }
  }
  static void TearDownTestSuite() {
    DpdkTestbedTest::TearDownTestSuite();
    af_xdp_.clear();
    layout_.clear();
  }

  // The XDP program on veth0 as `ip link` shows it ("" if none).
  static std::string XdpOnVeth0() {
    std::string out;
    Shell(std::string("ip -n ") + kSpNs + " -d link show dev veth0", &out);
    const size_t at = out.find("prog/xdp");
    return at == std::string::npos ? "" : out.substr(at, out.find('\n', at) - at);
  }

  // The kernel's UDP receive counters in dsp-sp (IPv4 and IPv6): every
  // datagram its UDP stack saw, delivered or not.
  static double KernelUdpIn() {
    std::string out;
    Shell(std::string("ip netns exec ") + kSpNs + " cat /proc/net/snmp /proc/net/snmp6", &out);
    double sum = 0;
    std::vector<std::string> lines = absl::StrSplit(out, '\n');
    for (size_t i = 0; i + 1 < lines.size(); ++i) {  // "Udp: names" then "Udp: values"
      if (!absl::StartsWith(lines[i], "Udp: ") || !absl::StartsWith(lines[i + 1], "Udp: ")) continue;
      std::vector<std::string> names = absl::StrSplit(lines[i], ' ', absl::SkipEmpty());
      std::vector<std::string> values = absl::StrSplit(lines[i + 1], ' ', absl::SkipEmpty());
      for (size_t k = 1; k < names.size() && k < values.size(); ++k) {
        double v = 0;
        if ((names[k] == "InDatagrams" || names[k] == "NoPorts" || names[k] == "InErrors") &&
            absl::SimpleAtod(values[k], &v)) {
          sum += v;
        }
      }
      break;
    }
    for (absl::string_view line : lines) {
      for (const char* name : {"Udp6InDatagrams", "Udp6NoPorts", "Udp6InErrors"}) {
        if (!absl::StartsWith(line, name)) continue;
        std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
        double v = 0;
        if (f.size() == 2 && f[0] == name && absl::SimpleAtod(f[1], &v)) sum += v;
      }
    }
    return sum;
  }

  static double Verdict(const std::string& m, const std::string& verdict) {
    return Metric(m, "drasyl_xdp_verdicts_total{interface=\"veth0\",verdict=\"" + verdict + "\"}");
  }

  // A socket of `type` bound to `addr` in namespace `ns` (listening if TCP).
  static int BoundSocket(const std::string& ns, const std::string& addr, int type) {
    return InNetns(ns, [&] {
      sockaddr_storage ss;
      const SocketAddress a = Addr(addr);
      const socklen_t len = a.ToSockaddr(&ss);
      int fd = ::socket(a.is_v4() ? AF_INET : AF_INET6, type | SOCK_CLOEXEC, 0);
      int one = 1;
      ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 ||
          (type == SOCK_STREAM && ::listen(fd, 4) != 0)) {
        ADD_FAILURE() << "cannot bind " << addr << " in " << ns << ": " << strerror(errno);
        if (fd >= 0) ::close(fd);
        return -1;
      }
      return fd;
    });
  }

  // A datagram of `size` bytes from n1 to `to`: true if the socket `fd`
  // (in dsp-sp) received it whole.
  static bool UdpReachesKernel(int fd, const std::string& to, size_t size) {
    int out = BoundSocket(kN1, to.find('[') == 0 ? "[::]:0" : "0.0.0.0:0", SOCK_DGRAM);
    if (out < 0) return false;
    sockaddr_storage ss;
    const socklen_t len = Addr(to).ToSockaddr(&ss);
    std::vector<uint8_t> data(size, 0x5a);
    bool ok = false;
    for (int i = 0; i < 3 && !ok; ++i) {
      ::sendto(out, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&ss), len);
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 1000) != 1) continue;
      std::vector<uint8_t> buf(size + 100);
      ok = ::recv(fd, buf.data(), buf.size(), 0) == static_cast<ssize_t>(size);
    }
    ::close(out);
    return ok;
  }

  // n1 connects to `to` (a kernel TCP service in dsp-sp listening on fd).
  static bool TcpReachesKernel(int fd, const std::string& to) {
    int c = InNetns(kN1, [&] {
      const SocketAddress a = Addr(to);
      return ::socket(a.is_v4() ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
    });
    sockaddr_storage ss;
    const socklen_t len = Addr(to).ToSockaddr(&ss);
    bool ok = ::connect(c, reinterpret_cast<sockaddr*>(&ss), len) == 0 &&
              ::send(c, "ssh?", 4, 0) == 4;
    if (ok) {
      pollfd p{fd, POLLIN, 0};
      ok = ::poll(&p, 1, 2000) == 1;
      const int a = ok ? ::accept(fd, nullptr, nullptr) : -1;
      char buf[8] = {};
      ok = a >= 0 && ::recv(a, buf, sizeof(buf), 0) == 4 && std::memcmp(buf, "ssh?", 4) == 0;
      if (a >= 0) ::close(a);
    }
    ::close(c);
    return ok;
  }
};

TEST_F(AfXdpTestbedTest, ServesTheKernelsAddressesBehindOurXdpProgramWithoutATap) {
  std::vector<BannerUrl> urls = sp_->banner();
  ASSERT_EQ(urls.size(), 2u) << sp_->stdout_text();
  EXPECT_EQ(urls[0].address.ToString(), "10.99.0.1:22527");
  EXPECT_EQ(urls[1].address.ToString(), "[fd99::1]:22527");
  EXPECT_TRUE(sp_->WaitForStderr("backend af_xdp", 2000ms)) << sp_->stderr_text();
  EXPECT_TRUE(absl::StrContains(XdpOnVeth0(), "name drasyl_relay")) << XdpOnVeth0();
  EXPECT_FALSE(InterfaceExists(kSpNs, kTap));
  // veth0's RX queue has a socket, and the log says how it runs.
  EXPECT_TRUE(sp_->WaitForStderr("to 1 AF_XDP socket(s)", 2000ms)) << sp_->stderr_text();
  EXPECT_TRUE(sp_->WaitForStderr("in copy mode", 2000ms)) << sp_->stderr_text();
}

TEST_F(AfXdpTestbedTest, RegistersArmedNodes) { ScenarioRegistersArmedNodes(); }
TEST_F(AfXdpTestbedTest, RelaysBetweenNamespacesBothWays) {
  ScenarioRelaysBetweenNamespacesBothWays();
}
TEST_F(AfXdpTestbedTest, SendsUnitesToBothPeers) { ScenarioSendsUnitesToBothPeers(); }
TEST_F(AfXdpTestbedTest, RelaysBetweenTcpAndUdpNodes) { ScenarioRelaysBetweenTcpAndUdpNodes(); }
TEST_F(AfXdpTestbedTest, Ipv6AndAcrossFamilies) { ScenarioIpv6AndAcrossFamilies(); }

// An idle worker sleeps on its AF_XDP socket instead of polling (no core
// burnt while nothing comes); a frame for it wakes it, and so does a frame
// the control thread queues for the wire (a TCP node's message to a UDP
// node): without that wake-up it would leave at the sleep's timeout, not
// counted as a wake-up.
TEST_F(AfXdpTestbedTest, IdleWorkersSleepUntilAFrameComes) {
  auto sum = [](const std::string& m, const char* name) { return MetricSum(m, name); };
  const double slept0 = sum(Metrics(), "drasyl_worker_sleeps_total");
  std::string m = MetricsOnce(
      [&](const std::string& t) { return sum(t, "drasyl_worker_sleeps_total") > slept0; });
  ASSERT_GT(sum(m, "drasyl_worker_sleeps_total"), slept0) << "the worker never slept\n" << m;
  const double woken0 = sum(m, "drasyl_worker_wakeups_total");

  auto u = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");  // its HELLO wakes the worker
  ASSERT_NE(u, nullptr);
  m = MetricsOnce(
      [&](const std::string& t) { return sum(t, "drasyl_worker_wakeups_total") > woken0; });
  EXPECT_GT(sum(m, "drasyl_worker_wakeups_total"), woken0) << "a HELLO did not wake it\n" << m;

  auto t = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:8443", /*tcp=*/true);
  ASSERT_NE(t, nullptr);
  std::this_thread::sleep_for(300ms);  // the worker asleep again (after 1 ms of silence)
  const double woken1 = sum(Metrics(), "drasyl_worker_wakeups_total");
  ExpectRelay(*t, *u, "tcp to udp, to a sleeping worker");
  m = MetricsOnce(
      [&](const std::string& x) { return sum(x, "drasyl_worker_wakeups_total") > woken1; });
  EXPECT_GT(sum(m, "drasyl_worker_wakeups_total"), woken1)
      << "the control thread's frame did not wake the worker\n" << m;
}

TEST_F(AfXdpTestbedTest, TheKernelKeepsPingTcpServicesAndOtherUdpPorts) {
  EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms)) << "no ICMP echo reply from the kernel";
  EXPECT_TRUE(Ping(kN2, "fd99::1", 3000ms)) << "no ICMPv6 echo reply from the kernel";
  // A kernel TCP service beside the super peer (think SSH).
  for (const char* addr : {"10.99.0.1:2222", "[fd99::1]:2222"}) {
    const int l = BoundSocket(kSpNs, addr, SOCK_STREAM);
    ASSERT_GE(l, 0);
    EXPECT_TRUE(TcpReachesKernel(l, addr)) << "TCP to " << addr;
    ::close(l);
  }
  // UDP to another port of the super peer's addresses: the kernel's.
  for (const char* addr : {"10.99.0.1:5353", "[fd99::1]:5353"}) {
    const int u = BoundSocket(kSpNs, addr, SOCK_DGRAM);
    ASSERT_GE(u, 0);
    EXPECT_TRUE(UdpReachesKernel(u, addr, 100)) << "UDP to " << addr;
    // Fragmented: its first fragment shows the port, the rest follow it.
    EXPECT_TRUE(UdpReachesKernel(u, addr, 4000)) << "fragmented UDP to " << addr;
    ::close(u);
  }
  const std::string m = Metrics();
  EXPECT_GT(Verdict(m, "pass_other_protocol"), 0) << m;
  EXPECT_GT(Verdict(m, "pass_other_port"), 0) << m;
  EXPECT_GT(Verdict(m, "pass_not_ip"), 0) << m;  // ARP
  EXPECT_EQ(Verdict(m, "to_workers_fragment"), 0) << m;
}

TEST_F(AfXdpTestbedTest, RelayedUdpNeverReachesTheKernelsUdpStack) {
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::1]:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_TRUE(b && c && c6);
  const double udp_before = KernelUdpIn();
  const std::string before = Metrics();
  constexpr int kCount = 200;
  for (int i = 0; i < kCount; ++i) {
    ASSERT_TRUE(b->SendApp(c->public_key(), RandomBytes(100)));
    ASSERT_TRUE(c6->SendApp(b->public_key(), RandomBytes(100)));
  }
  int got = 0;
  while (c->ReceiveType(MessageType::kApp, 500ms)) ++got;
  EXPECT_GE(got, kCount * 95 / 100);
  // Fragmented messages are the workers' too (reassembled there).
  std::vector<uint8_t> big(3000, 0x42);
  std::optional<ReceivedMessage> m;
  for (int i = 0; i < 3 && !m; ++i) {
    ASSERT_TRUE(b->SendApp(c->public_key(), big));
    m = c->ReceiveType(MessageType::kApp, 1500ms);
  }
  ASSERT_TRUE(m.has_value()) << "a fragmented APP was not relayed\n" << Metrics();
  EXPECT_EQ(m->payload(), big);
  while (b->ReceiveType(MessageType::kApp, 300ms)) {
  }
  m.reset();
  for (int i = 0; i < 3 && !m; ++i) {  // over IPv6 (a fragment header), to IPv4
    ASSERT_TRUE(c6->SendApp(b->public_key(), big));
    m = b->ReceiveType(MessageType::kApp, 1500ms);
  }
  ASSERT_TRUE(m.has_value()) << "a fragmented IPv6 APP was not relayed\n" << Metrics();
  EXPECT_EQ(m->payload(), big);
  const std::string after = Metrics();
  EXPECT_EQ(KernelUdpIn(), udp_before) << "the kernel's UDP stack saw relay traffic";
  EXPECT_GE(Verdict(after, "to_workers_udp") - Verdict(before, "to_workers_udp"), 2 * kCount);
  EXPECT_GT(Verdict(after, "to_workers_fragment"), 0) << after;
  EXPECT_EQ(Verdict(after, "pass_no_socket"), 0) << after;
}

TEST_F(AfXdpTestbedTest, ASecondInstanceOnTheInterfaceIsRefused) {
  std::string out;
  const int code = Shell(absl::StrFormat(
      "ip netns exec %s env DRASYL_UDP4_LISTEN=0.0.0.0:22528 DRASYL_IDENTITY_FILE=%s/second.id "
      "DRASYL_MIN_POW_DIFFICULTY=8 timeout 20 %s --af_xdp=veth0 '--dpdk_eal=-l %s "
      "--file-prefix=second'",
      kSpNs, sp_->temp_dir(), DRASYL_SP_BINARY, CoreList()), &out);
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, absl::StrCat("another drasyl-sp (pid ", sp_->pid(),
                                                 ") already runs the relay on veth0")))
      << out;
  // The first one goes on, its program in place.
  EXPECT_TRUE(absl::StrContains(XdpOnVeth0(), "name drasyl_relay")) << XdpOnVeth0();
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_TRUE(b && c);
  ExpectRelay(*b, *c, "the first one still relays");
}

TEST_F(AfXdpTestbedTest, AForeignXdpProgramIsLeftAloneWithAClearError) {
#ifndef DRASYL_FOREIGN_XDP
  GTEST_SKIP() << "built without clang for BPF: no foreign XDP program to attach";
#else
  ASSERT_EQ(StopSuperPeer(), 0);
  sp_.reset();
  std::string out;
  ASSERT_EQ(Shell(absl::StrFormat("ip -n %s link set dev veth0 xdp obj %s sec xdp", kSpNs,
                                  DRASYL_FOREIGN_XDP), &out), 0) << out;
  const int code = Shell(absl::StrFormat(
      "ip netns exec %s env DRASYL_UDP4_LISTEN=0.0.0.0:22527 DRASYL_IDENTITY_FILE=%s/f.id "
      "DRASYL_MIN_POW_DIFFICULTY=8 timeout 20 %s --af_xdp=veth0 '--dpdk_eal=-l %s'",
      kSpNs, ::testing::TempDir(), DRASYL_SP_BINARY, CoreList()), &out);
  EXPECT_EQ(code, 1) << out;
  EXPECT_TRUE(absl::StrContains(out, "has an XDP program that is not ours")) << out;
  EXPECT_TRUE(absl::StrContains(out, "name 'foreign_pass'")) << out;
  EXPECT_TRUE(absl::StrContains(XdpOnVeth0(), "name foreign_pass")) << XdpOnVeth0();
  Shell(absl::StrFormat("ip -n %s link set dev veth0 xdp off", kSpNs));
#endif
}

TEST_F(AfXdpTestbedTest, StopRemovesTheProgramAndALeftoverIsRemovedOnTheNextStart) {
  // SIGKILL: the program stays; with no socket behind it, everything goes
  // to the kernel (ping still answered).
  sp_->Signal(SIGKILL);
  ASSERT_TRUE(sp_->WaitExit(5000ms).has_value());
  sp_.reset();
  EXPECT_TRUE(absl::StrContains(XdpOnVeth0(), "name drasyl_relay")) << XdpOnVeth0();
  EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms));
  EnsureSuperPeer();
  ASSERT_NE(sp_, nullptr);
  EXPECT_TRUE(sp_->WaitForStderr("an earlier super peer left behind", 2000ms))
      << sp_->stderr_text();
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.1:22527");
  ASSERT_TRUE(b && c);
  ExpectRelay(*b, *c, "after the restart");
  // SIGTERM: the program goes with the super peer.
  EXPECT_EQ(StopSuperPeer(), 0);
  sp_.reset();
  EXPECT_EQ(XdpOnVeth0(), "");
  EXPECT_TRUE(Ping(kN1, "10.99.0.1", 3000ms));
}

TEST_F(AfXdpTestbedTest, FollowsTheKernelsAddressesWithoutARestart) {
  auto ip = [](const std::string& args) {
    std::string out;
    EXPECT_EQ(Shell(absl::StrCat("ip -n ", kSpNs, " ", args), &out), 0) << args << ": " << out;
  };
  // Each change the super peer applies ends in a "now serving" line.
  auto serving_lines = [&] {
    const std::string err = sp_->stderr_text();
    int seen = 0;
    for (size_t at = err.find("--af_xdp: now serving"); at != std::string::npos;
         at = err.find("--af_xdp: now serving", at + 1)) {
      ++seen;
    }
    return seen;
  };
  auto applied_after = [&](int lines_before) {
    for (int i = 0; i < 100 && serving_lines() <= lines_before; ++i) {
      std::this_thread::sleep_for(50ms);
    }
    return serving_lines() > lines_before;
  };
  // 10.99.0.9/24 becomes the primary when 10.99.0.1/24 goes, as in a
  // renumbering (else it would go with it, and the subnet's route).
  static constexpr char kPromote[] = "net.ipv4.conf.veth0.promote_secondaries";
  std::string out;
  ASSERT_EQ(Shell(absl::StrCat("ip netns exec ", kSpNs, " sysctl -qw ", kPromote, "=1"), &out), 0)
      << out;
  // Whatever happens below, veth0 ends with the suite's addresses.
  absl::Cleanup restore = [&] {
    std::string out;
    Shell(absl::StrCat("ip -n ", kSpNs, " addr replace 10.99.0.1/24 dev veth0"), &out);
    Shell(absl::StrCat("ip -n ", kSpNs, " addr del 10.99.0.9/24 dev veth0"), &out);
    Shell(absl::StrCat("ip netns exec ", kSpNs, " sysctl -qw ", kPromote, "=0"), &out);
    Shell(absl::StrCat("ip -n ", kSpNs, " addr del fd99::9/64 dev veth0"), &out);
  };
  const pid_t pid = sp_->pid();
  auto b = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  ASSERT_NE(b, nullptr);

  // Added: served within a housekeeping round, by the same process.
  int lines = serving_lines();
  ip("addr add 10.99.0.9/24 dev veth0");
  ip("addr add fd99::9/64 dev veth0 nodad");
  ASSERT_TRUE(applied_after(lines)) << sp_->stderr_text();
  auto c = MakeNode(kN2, "10.99.0.3:0", "10.99.0.9:22527");
  auto c6 = MakeNode(kN2, "[fd99::3]:0", "[fd99::9]:22527");
  ASSERT_TRUE(c && c6) << sp_->stderr_text();
  ExpectRelay(*b, *c, "a node of the first address to one of an added one");
  ExpectRelay(*c6, *b, "IPv6 via an added address to IPv4");

  // Relaying goes on, nothing lost, while the workers' table changes under
  // it (another address comes and goes six times).
  std::thread churn([&] {
    for (int i = 0; i < 6; ++i) {
      std::string o;
      Shell(absl::StrCat("ip -n ", kSpNs, " addr ", i % 2 ? "del" : "add",
                         " fd99::a/64 dev veth0 nodad"), &o);
      std::this_thread::sleep_for(1100ms);
    }
  });
  constexpr int kApps = 600;
  for (int i = 0; i < kApps; ++i) {
    const std::string text = absl::StrCat("during churn ", i);
    EXPECT_TRUE(b->SendApp(c->public_key(), std::vector<uint8_t>(text.begin(), text.end())));
    std::this_thread::sleep_for(10ms);
  }
  churn.join();
  int relayed = 0;
  for (const ReceivedMessage& m : c->Drain(1000ms)) {
    relayed += m.type == MessageType::kApp && m.sender == b->public_key();
  }
  EXPECT_EQ(relayed, kApps);
  EXPECT_GE(serving_lines() - lines, 4) << "the churn did not reach the workers";

  // Removed: the kernel's again at once (no answer to a HELLO there, the
  // program passes it on); the rest is served on.
  const double other_before = Verdict(Metrics(), "pass_other_address");
  lines = serving_lines();
  ip("addr del 10.99.0.1/24 dev veth0");
  ASSERT_TRUE(applied_after(lines)) << sp_->stderr_text();
  EXPECT_FALSE(b->Register(1000ms)) << "a HELLO to a removed address was answered";
  EXPECT_GT(Verdict(Metrics(), "pass_other_address"), other_before);
  auto d = MakeNode(kN1, "10.99.0.2:0", "10.99.0.9:22527");
  ASSERT_NE(d, nullptr);
  ExpectRelay(*d, *c6, "after a removal");

  // Back: the first address is served again.
  lines = serving_lines();
  ip("addr add 10.99.0.1/24 dev veth0");
  ASSERT_TRUE(applied_after(lines)) << sp_->stderr_text();
  auto e = MakeNode(kN1, "10.99.0.2:0", "10.99.0.1:22527");
  ASSERT_NE(e, nullptr);
  ExpectRelay(*e, *c, "at a re-added address");
  EXPECT_TRUE(sp_->running());
  EXPECT_EQ(sp_->pid(), pid);
  EXPECT_FALSE(absl::StrContains(sp_->stderr_text(), "shutting down")) << sp_->stderr_text();
}

TEST_F(AfXdpTestbedTest, AnInterfaceGoneEndsTheProcessForARestart) {
  std::string out;
  ASSERT_EQ(Shell(std::string("ip -n ") + kSpNs + " link del veth0", &out), 0) << out;
  const std::optional<int> code = sp_->WaitExit(5000ms);
  ASSERT_TRUE(code.has_value()) << "still running without its interface";
  EXPECT_EQ(*code, 1);
  EXPECT_TRUE(absl::StrContains(sp_->stderr_text(), "--af_xdp=veth0: the interface is gone"))
      << sp_->stderr_text();
  sp_.reset();
  // The testbed again, for whatever runs next.
  ASSERT_EQ(Shell(TestbedScript() + " up " + layout_, &out), 0) << out;
}

}  // namespace
}  // namespace drasyl::testing
