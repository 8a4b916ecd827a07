// The super peer against attackers (the real binary, emulated nodes on
// loopback): replayed HELLOs, one source taking more than its share of the
// peer table, of the control thread or of the TCP fallback. Loopback has a
// whole /8, so "another host" is another 127.0.0.x address.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "tests/support/integration_helpers.h"
#include "tests/support/tcp_connect.h"
#include "tests/support/node_emulator.h"
#include "tests/support/super_peer_process.h"

namespace drasyl::testing {
namespace {

using namespace std::chrono_literals;
using wire::MessageType;

SocketAddress Loopback(const std::string& ip) {
  return SocketAddress::Parse(ip.find(':') == std::string::npos ? ip + ":0" : "[" + ip + "]:0")
      .value();
}

SuperPeerProcess::Options Hardened(std::map<std::string, std::string> extra = {}) {
  SuperPeerProcess::Options o;
  o.env = {{"DRASYL_UDP6_LISTEN", "[::1]:0"},     {"DRASYL_TCP4_LISTEN", "127.0.0.1:0"},
           {"DRASYL_MIN_POW_DIFFICULTY", "8"},    {"DRASYL_SEND_UNITES", "-1"},
           {"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:0"}};
  for (auto& [k, v] : extra) o.env[k] = v;
  return o;
}

// A node of `id` on UDP (v4 or v6) or TCP, its socket bound to `bind`.
std::unique_ptr<Node> NodeAt(SuperPeerProcess& sp, const Identity& id, NodeTransport transport,
                             const char* bind, bool v6 = false) {
  std::optional<SocketAddress> server =
      transport == NodeTransport::kTcp ? sp.tcp_address() : v6 ? sp.udp6() : sp.udp4();
  if (!server) {
    ADD_FAILURE() << "no such listener in the banner:\n" << sp.stdout_text();
    return nullptr;
  }
  NodeOptions o = transport == NodeTransport::kTcp
                      ? TcpNodeOptions(id, sp.public_key(), *server)
                      : UdpNodeOptions(id, sp.public_key(), *server);
  o.bind = Loopback(bind);
  absl::StatusOr<std::unique_ptr<Node>> n = Node::Create(o);
  if (!n.ok()) {
    ADD_FAILURE() << "node at " << bind << ": " << n.status();
    return nullptr;
  }
  return std::move(*n);
}

// The sample <metric>{<label>="<value>"} of /metrics (0 when absent).
uint64_t Metric(SuperPeerProcess& sp, const std::string& metric, const std::string& label,
                const std::string& value) {
  std::optional<uint16_t> port = sp.metrics_port();
  if (!port) return 0;
  const std::string body = HttpGet(SocketAddress::V4(INADDR_LOOPBACK, *port), "/metrics").body();
  std::smatch m;
  const std::regex re(metric + "\\{" + label + "=\"" + value + "\"\\} (\\d+)");
  return std::regex_search(body, m, re) ? std::stoull(m[1]) : 0;
}
// The unlabelled sample <metric> of /metrics (0 when absent).
uint64_t Metric(SuperPeerProcess& sp, const std::string& metric) {
  std::optional<uint16_t> port = sp.metrics_port();
  if (!port) return 0;
  const std::string body = HttpGet(SocketAddress::V4(INADDR_LOOPBACK, *port), "/metrics").body();
  std::smatch m;
  return std::regex_search(body, m, std::regex("\\n" + metric + " (\\d+)")) ? std::stoull(m[1])
                                                                             : 0;
}
uint64_t Drops(SuperPeerProcess& sp, const std::string& reason) {
  return Metric(sp, "drasyl_drops_total", "reason", reason);
}
uint64_t TcpEvents(SuperPeerProcess& sp, const std::string& event) {
  return Metric(sp, "drasyl_tcp_events_total", "event", event);
}

// Polls `read` (metrics gauges are published twice a second) until it
// reaches `at_least` or 3 s pass; returns the last value.
template <typename Read>
uint64_t Eventually(Read&& read, uint64_t at_least) {
  uint64_t v = read();
  for (int i = 0; i < 30 && v < at_least; ++i) {
    std::this_thread::sleep_for(100ms);
    v = read();
  }
  return v;
}

// The APP `payload` from `from` arrives at `to`, and nothing at `not_at`.
void ExpectRelayedOnlyTo(Node& from, Node& to, Node& not_at, const PublicKey& recipient,
                         const std::string& payload) {
  const std::vector<uint8_t> bytes(payload.begin(), payload.end());
  ASSERT_TRUE(from.SendApp(recipient, bytes));
  EXPECT_TRUE(AppArrives(to, bytes, kWait)) << payload;
  EXPECT_TRUE(NoMessageOfType(not_at, MessageType::kApp, kQuiet)) << payload;
}

// ---------------------------------------------------------------------------
// Anti-replay.

TEST(AntiReplay, ReplayedHelloNeitherMovesThePathNorIsAnsweredOnceTheNodeMovedOn) {
  SuperPeerProcess sp(Hardened());
  ASSERT_TRUE(sp.Start().ok());
  const Identity b_id = GenerateTestIdentity(8);
  std::unique_ptr<Node> b = NodeAt(sp, b_id, NodeTransport::kUdp, "127.0.0.1");
  std::unique_ptr<Node> c = RegisteredUdpNode(sp, GenerateTestIdentity(8));
  std::unique_ptr<Node> attacker = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kUdp, "127.0.0.2");
  ASSERT_TRUE(b && c && attacker);

  uint64_t t1 = 0;
  const std::vector<uint8_t> captured = b->BuildHello({}, &t1);
  ASSERT_TRUE(b->SendRaw(captured));
  ASSERT_TRUE(b->ReceiveType(MessageType::kAck, kWait).has_value());

  // The same bytes from another host: a copy of the newest HELLO may be
  // answered there, but does not take B's relay path.
  ASSERT_TRUE(attacker->SendRaw(captured));
  ASSERT_NO_FATAL_FAILURE(ExpectRelayedOnlyTo(*c, *b, *attacker, b_id.public_key, "after copy"));

  // B moves on; the old HELLO is now a replay: no ACK, no path change.
  const uint64_t t2 = t1 + 1000;
  HelloOptions newer;
  newer.time = t2;
  ASSERT_TRUE(b->Register(kWait, newer));
  ASSERT_TRUE(attacker->SendRaw(captured));
  EXPECT_TRUE(NoMessageOfType(*attacker, MessageType::kAck, kQuiet));
  ASSERT_NO_FATAL_FAILURE(ExpectRelayedOnlyTo(*c, *b, *attacker, b_id.public_key, "after replay"));
  EXPECT_GE(Drops(sp, "replayed_hello"), 1u);

  // B itself resending its old HELLO is a replay too (a clock stepped back):
  // dropped until its time passes the newest one again.
  HelloOptions older;
  older.time = t1;
  b->SendHello(older);
  EXPECT_TRUE(NoMessageOfType(*b, MessageType::kAck, kQuiet));
  EXPECT_GE(Drops(sp, "replayed_hello"), 2u);
  EXPECT_EQ(sp.Stop(), 0);
}

TEST(AntiReplay, OneHelloOverIpv4Ipv6AndTcpIsAnsweredOnEachAndTheFirstPathRelays) {
  SuperPeerProcess sp(Hardened());
  ASSERT_TRUE(sp.Start().ok());
  const Identity x = GenerateTestIdentity(8);
  std::unique_ptr<Node> v4 = NodeAt(sp, x, NodeTransport::kUdp, "127.0.0.1");
  std::unique_ptr<Node> v6 = NodeAt(sp, x, NodeTransport::kUdp, "::1", /*v6=*/true);
  std::unique_ptr<Node> tcp = NodeAt(sp, x, NodeTransport::kTcp, "127.0.0.1");
  std::unique_ptr<Node> c = RegisteredUdpNode(sp, GenerateTestIdentity(8));
  ASSERT_TRUE(v4 && v6 && tcp && c);

  // One HELLO, the same bytes over every path, as the reference node sends it.
  uint64_t t = 0;
  const std::vector<uint8_t> hello = v4->BuildHello({}, &t);
  for (Node* path : {v4.get(), v6.get(), tcp.get()}) {
    ASSERT_TRUE(path->SendRaw(hello));
    std::optional<ReceivedMessage> ack = path->ReceiveType(MessageType::kAck, kWait);
    ASSERT_TRUE(ack.has_value() && ack->ack.has_value()) << "no ACK on one of the paths";
    EXPECT_EQ(ack->ack->time, t);
  }
  // The relay path is the first that delivered it.
  ASSERT_NO_FATAL_FAILURE(ExpectRelayedOnlyTo(*c, *v4, *v6, x.public_key, "to the first path"));
  EXPECT_TRUE(NoMessageOfType(*tcp, MessageType::kApp, kQuiet));

  // The next round, delivered first over TCP, moves it there.
  HelloOptions next;
  next.time = t + 5'000'000;
  const std::vector<uint8_t> hello2 = v4->BuildHello(next);
  for (Node* path : {tcp.get(), v4.get(), v6.get()}) {
    ASSERT_TRUE(path->SendRaw(hello2));
    ASSERT_TRUE(path->ReceiveType(MessageType::kAck, kWait).has_value());
  }
  ASSERT_NO_FATAL_FAILURE(ExpectRelayedOnlyTo(*c, *tcp, *v4, x.public_key, "to TCP"));
  EXPECT_TRUE(NoMessageOfType(*v6, MessageType::kApp, kQuiet));

  // The first round's HELLO over TCP again is a replay there too.
  ASSERT_TRUE(tcp->SendRaw(hello));
  EXPECT_TRUE(NoMessageOfType(*tcp, MessageType::kAck, kQuiet));
  EXPECT_FALSE(tcp->closed()) << "a replay is dropped, the connection stays";
  EXPECT_GE(Drops(sp, "replayed_hello"), 1u);
  EXPECT_EQ(sp.Stop(), 0);
}

// ---------------------------------------------------------------------------
// Fair shares per source.

TEST(SourceShares, OneSourceHoldsAtMostMaxPeersPerSource) {
  SuperPeerProcess sp(Hardened({{"DRASYL_MAX_PEERS_PER_SOURCE", "3"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.push_back(NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kUdp, "127.0.0.3"));
    ASSERT_NE(nodes.back(), nullptr);
    ASSERT_TRUE(nodes.back()->Register(kWait)) << i;
  }
  // A fourth identity from the same address, over UDP or TCP, is refused...
  std::unique_ptr<Node> fourth = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kUdp, "127.0.0.3");
  std::unique_ptr<Node> fifth = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kTcp, "127.0.0.3");
  ASSERT_TRUE(fourth && fifth);
  EXPECT_FALSE(fourth->Register(kQuiet));
  EXPECT_FALSE(fifth->Register(kQuiet));
  EXPECT_GE(Drops(sp, "source_peer_limit"), 2u);
  // ... while another host registers, and the first three stay answered.
  std::unique_ptr<Node> other = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kUdp, "127.0.0.4");
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(other->Register(kWait));
  EXPECT_TRUE(nodes[0]->Register(kWait));
  // A registered peer may not move into the full source either.
  std::unique_ptr<Node> moved = NodeAt(sp, other->identity(), NodeTransport::kUdp, "127.0.0.3");
  ASSERT_NE(moved, nullptr);
  EXPECT_FALSE(moved->Register(kQuiet));
  ASSERT_NO_FATAL_FAILURE(
      ExpectRelayedOnlyTo(*nodes[1], *other, *moved, other->public_key(), "still at .4"));
  EXPECT_EQ(sp.Stop(), 0);
}

TEST(SourceShares, AFloodingSourceIsRateLimitedWhileOthersRegister) {
  SuperPeerProcess sp(Hardened({{"DRASYL_CONTROL_RATE_PER_SOURCE", "40"}, {"DRASYL_WORKERS", "1"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::unique_ptr<Node> flooder = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kUdp, "127.0.0.5");
  ASSERT_NE(flooder, nullptr);
  ASSERT_TRUE(flooder->Register(kWait));
  // 400 fresh HELLOs at once: one second's worth pass, the rest is dropped
  // by the worker before it reaches the control thread.
  const uint64_t t0 = UnixMicros();
  for (uint64_t i = 1; i <= 400; ++i) {
    HelloOptions h;
    h.time = t0 + i;
    flooder->SendHello(h);
  }
  size_t acks = 0;
  for (const ReceivedMessage& m : flooder->Drain(1000ms)) acks += m.type == MessageType::kAck;
  EXPECT_GE(acks, 1u);
  EXPECT_LT(acks, 200u) << "a 40/s source got most of 400 HELLOs answered";
  EXPECT_GE(Drops(sp, "source_rate_limited"), 200u);
  // Another host is not affected.
  std::unique_ptr<Node> other = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kUdp, "127.0.0.6");
  ASSERT_NE(other, nullptr);
  EXPECT_TRUE(other->Register(kWait));
  EXPECT_EQ(sp.Stop(), 0);
}

// ---------------------------------------------------------------------------
// TCP fallback under idle-connection floods.

TEST(TcpFlood, IdleConnectionsFromOneHostDoNotLockOthersOut) {
  SuperPeerProcess sp(Hardened({{"DRASYL_MAX_TCP_CONNECTIONS", "40"},
                                {"DRASYL_MAX_TCP_CONNECTIONS_PER_SOURCE", "20"},
                                {"DRASYL_TCP_HELLO_TIMEOUT", "1000"}}));
  ASSERT_TRUE(sp.Start().ok());
  std::optional<SocketAddress> server = sp.tcp_address();
  ASSERT_TRUE(server.has_value());
  // An authenticated TCP peer from before the flood.
  std::unique_ptr<Node> early = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kTcp, "127.0.0.7");
  ASSERT_NE(early, nullptr);
  ASSERT_TRUE(early->Register(kWait));

  // 100 idle connections from one host: the super peer keeps at most 20 of
  // them; the rest are reset after accept or, once the host holds its 20,
  // dropped by the listeners' SYN filter before any handshake.
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    int fd = StartTcpConnect(*server, Loopback("127.0.0.8"));
    if (fd >= 0) idle.push_back(fd);
  }
  ASSERT_GE(idle.size(), 50u);
  EXPECT_EQ(Eventually([&] { return Metric(sp, "drasyl_tcp_sources_at_limit"); }, 1), 1u);
  // Idle connections from many hosts fill the rest of the table...
  for (int i = 0; i < 30; ++i) {
    const std::string ip = "127.0.1." + std::to_string(10 + i);
    int fd = StartTcpConnect(*server, Loopback(ip));
    if (fd >= 0) idle.push_back(fd);
  }
  // ... yet five new TCP nodes from other hosts register (unauthenticated
  // ones make room), and the early one is never pushed out.
  for (int i = 0; i < 5; ++i) {
    const std::string ip = "127.0.2." + std::to_string(10 + i);
    std::unique_ptr<Node> n = NodeAt(sp, GenerateTestIdentity(8), NodeTransport::kTcp, ip.c_str());
    ASSERT_NE(n, nullptr);
    EXPECT_TRUE(n->Register(kWait)) << ip;
  }
  EXPECT_TRUE(early->Register(kWait));
  EXPECT_FALSE(early->closed());
  EXPECT_GE(Metric(sp, "drasyl_tcp_syn_filter_updates_total"), 1u);
  EXPECT_GE(Eventually([&] { return TcpEvents(sp, "evicted_unauthenticated"); }, 1), 1u);
  // Past the HELLO deadline the idle ones are gone, the early peer is not.
  std::this_thread::sleep_for(1500ms);
  EXPECT_GE(Eventually([&] { return TcpEvents(sp, "closed_unauthenticated"); }, 1), 1u);
  EXPECT_TRUE(early->Register(kWait));
  for (int fd : idle) close(fd);
  EXPECT_EQ(sp.Stop(), 0);
}

}  // namespace
}  // namespace drasyl::testing
