// Integration tests of the TCP fallback (docs/protocol.md §6) against the real
// binary: HELLO/ACK over TCP, relaying across transports, framing edge cases
// and connection handling.
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/byte_order.h"
#include "common/clock.h"
#include "common/wire.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/integration_helpers.h"
#include "tests/support/node_emulator.h"
#include "tests/support/super_peer_process.h"

namespace drasyl::testing {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAreArray;
using wire::MessageType;

// ---------------------------------------------------------------------------
// UDP on 127.0.0.1 and TCP on 127.0.0.1 (one TCP listener, so the banner's
// tcpPort is its port); a UNITE for every relayed message.

struct TcpConfig {
  static std::map<std::string, std::string> Env() {
    return {{"DRASYL_TCP4_LISTEN", "127.0.0.1:0"},
            {"DRASYL_MIN_POW_DIFFICULTY", "8"},
            {"DRASYL_SEND_UNITES", "0"}};
  }
  static std::vector<std::string> Args() { return {}; }
};
using Tcp = SharedSuperPeerTest<TcpConfig>;

TEST_F(Tcp, BannerCarriesTcpPort) {
  std::vector<BannerUrl> urls = sp_->banner();
  ASSERT_EQ(urls.size(), 1u);
  ASSERT_TRUE(urls[0].tcp_port.has_value()) << urls[0].url;
  EXPECT_NE(*urls[0].tcp_port, 0);
  EXPECT_THAT(urls[0].url, ::testing::EndsWith("&tcpPort=" + std::to_string(*urls[0].tcp_port)));
}

TEST_F(Tcp, HelloOverTcpIsAnsweredOverTcp) {
  std::unique_ptr<Node> c = MakeTcpNode(*sp_, GenerateTestIdentity(8));
  ASSERT_NE(c, nullptr);
  HelloOptions h;
  h.time = UnixMicros() - 4242;
  h.endpoints = {Ep("192.0.2.5:22527")};
  ASSERT_NE(c->SendHello(h), 0u);
  std::optional<ReceivedMessage> ack = c->ReceiveType(MessageType::kAck, kWait);
  ASSERT_TRUE(ack.has_value()) << "no ACK over TCP" << (c->closed() ? " (closed)" : "");
  EXPECT_TRUE(ack->armed());
  EXPECT_FALSE(ack->disarm_failed);
  ASSERT_TRUE(ack->ack.has_value());
  EXPECT_EQ(ack->ack->time, *h.time);
  EXPECT_EQ(ack->sender, IdentityA().public_key);
  EXPECT_EQ(ack->recipient, c->public_key());
  // Later HELLOs on the same connection are answered too.
  EXPECT_TRUE(c->Register(kWait));
  EXPECT_TRUE(c->Register(kWait));
}

TEST_F(Tcp, RelayUdpToTcp) {
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  std::vector<uint8_t> payload = RandomBytes(500);
  AppOptions a;
  a.hop_count = 2;
  std::vector<uint8_t> msg = b->BuildApp(c->public_key(), payload, a);
  ASSERT_TRUE(b->SendRaw(msg));
  ReceivedMessage got;
  ASSERT_TRUE(AppArrives(*c, payload, kWait, &got));
  EXPECT_EQ(got.hop_count, 3);
  ExpectRelayedUnchanged(msg, got);
}

TEST_F(Tcp, RelayTcpToUdp) {
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  std::vector<uint8_t> payload = RandomBytes(700);
  std::vector<uint8_t> msg = c->BuildApp(b->public_key(), payload);
  ASSERT_TRUE(c->SendRaw(msg));
  ReceivedMessage got;
  ASSERT_TRUE(AppArrives(*b, payload, kWait, &got));
  EXPECT_EQ(got.hop_count, 1);
  ExpectRelayedUnchanged(msg, got);
}

TEST_F(Tcp, RelayTcpToTcp) {
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> d = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  ASSERT_NE(d, nullptr);
  for (uint8_t hop : {0, 7}) {
    std::vector<uint8_t> payload = RandomBytes(1200);
    AppOptions a;
    a.hop_count = hop;
    std::vector<uint8_t> msg = c->BuildApp(d->public_key(), payload, a);
    ASSERT_TRUE(c->SendRaw(msg));
    ReceivedMessage got;
    ASSERT_TRUE(AppArrives(*d, payload, kWait, &got));
    EXPECT_EQ(got.hop_count, hop + 1);
    ExpectRelayedUnchanged(msg, got);
  }
  std::vector<uint8_t> back = RandomBytes(10);
  ASSERT_TRUE(d->SendApp(c->public_key(), back));
  EXPECT_TRUE(AppArrives(*c, back, kWait));
  // Larger than a UDP relay buffer: TCP to TCP carries it whole.
  std::vector<uint8_t> big = RandomBytes(20000);
  ASSERT_TRUE(c->SendApp(d->public_key(), big));
  EXPECT_TRUE(AppArrives(*d, big, kWait));
}

TEST_F(Tcp, DropRulesApplyToTcpFrames) {
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  // Hop 8, wrong network: not relayed from TCP.
  ASSERT_TRUE(c->SendApp(b->public_key(), RandomBytes(10), 8));
  AppOptions net;
  net.network_id = 7;
  ASSERT_TRUE(c->SendApp(b->public_key(), RandomBytes(10), net));
  std::vector<uint8_t> control = RandomBytes(10);
  ASSERT_TRUE(c->SendApp(b->public_key(), control));
  EXPECT_TRUE(OnlyAppArrives(*b, control, kWait, kQuiet));
  // Hop 8, wrong network: not relayed to TCP.
  ASSERT_TRUE(b->SendApp(c->public_key(), RandomBytes(10), 8));
  ASSERT_TRUE(b->SendApp(c->public_key(), RandomBytes(10), net));
  std::vector<uint8_t> control2 = RandomBytes(10);
  ASSERT_TRUE(b->SendApp(c->public_key(), control2));
  EXPECT_TRUE(OnlyAppArrives(*c, control2, kWait, kQuiet));
  // An unarmed HELLO over TCP gets no ACK (whether or not the server also
  // closes the connection for it); a control HELLO behind it does.
  HelloOptions unarmed;
  unarmed.armed = false;
  unarmed.time = UnixMicros() - 10;
  ASSERT_NE(c->SendHello(unarmed), 0u);
  HelloOptions ok;
  ok.time = *unarmed.time + 1;
  ASSERT_NE(c->SendHello(ok), 0u);
  std::optional<ReceivedMessage> ack = c->ReceiveType(MessageType::kAck, kWait);
  if (ack) {
    ASSERT_TRUE(ack->ack.has_value());
    EXPECT_EQ(ack->ack->time, *ok.time) << "the unarmed HELLO was answered";
  } else {
    EXPECT_TRUE(c->closed()) << "neither ACK nor close";
    EXPECT_NE(Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8))), nullptr);
  }
}

TEST_F(Tcp, UniteAcrossTransports) {
  HelloOptions hb, hc;
  hb.endpoints = {Ep("192.0.2.20:1111")};
  hc.endpoints = {Ep("198.51.100.30:2222"), Ep("[2001:db8::30]:3333")};
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)), hb);
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)), hc);
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(b->SendApp(c->public_key(), RandomBytes(10)));

  // C (TCP) learns B's HELLO endpoints plus B's observed UDP source.
  std::optional<ReceivedMessage> uc = c->ReceiveType(MessageType::kUnite, kWait);
  ASSERT_TRUE(uc.has_value()) << "no UNITE over TCP";
  ASSERT_TRUE(uc->unite.has_value());
  EXPECT_FALSE(uc->disarm_failed);
  EXPECT_EQ(uc->unite->address, b->public_key());
  std::vector<std::string> got, want = {"192.0.2.20:1111", b->local_address().ToString()};
  for (const SocketAddress& a : uc->unite_endpoints()) got.push_back(a.ToString());
  EXPECT_THAT(got, ElementsAreArray(want));

  // B learns C's HELLO endpoints only: C's HELLO did not come over UDP.
  std::optional<ReceivedMessage> ub = b->ReceiveType(MessageType::kUnite, kWait);
  ASSERT_TRUE(ub.has_value());
  ASSERT_TRUE(ub->unite.has_value());
  EXPECT_EQ(ub->unite->address, c->public_key());
  got.clear();
  for (const SocketAddress& a : ub->unite_endpoints()) got.push_back(a.ToString());
  EXPECT_THAT(got, ElementsAreArray({"198.51.100.30:2222", "[2001:db8::30]:3333"}));

  // The other direction (a frame relayed by the control thread) unites too.
  std::vector<uint8_t> back = RandomBytes(10);
  ASSERT_TRUE(c->SendApp(b->public_key(), back));
  ASSERT_TRUE(AppArrives(*b, back, kWait));
  std::optional<ReceivedMessage> ub2 = b->ReceiveType(MessageType::kUnite, kWait);
  ASSERT_TRUE(ub2.has_value()) << "no UNITE after a TCP->UDP relay";
  EXPECT_EQ(ub2->unite->address, c->public_key());
  std::optional<ReceivedMessage> uc2 = c->ReceiveType(MessageType::kUnite, kWait);
  ASSERT_TRUE(uc2.has_value()) << "no UNITE over TCP after a TCP->UDP relay";
  EXPECT_EQ(uc2->unite->address, b->public_key());
}

TEST_F(Tcp, FrameSentByteByByte) {
  std::unique_ptr<Node> c = MakeTcpNode(*sp_, GenerateTestIdentity(8));
  ASSERT_NE(c, nullptr);
  HelloOptions h;
  h.time = UnixMicros() - 99;
  std::vector<uint8_t> frame = Node::Frame(c->BuildHello(h));
  for (uint8_t byte : frame) {
    ASSERT_TRUE(c->SendStream(&byte, 1));
    std::this_thread::sleep_for(1ms);
  }
  std::optional<ReceivedMessage> ack = c->ReceiveType(MessageType::kAck, kWait);
  ASSERT_TRUE(ack.has_value()) << (c->closed() ? "connection closed" : "no ACK");
  ASSERT_TRUE(ack->ack.has_value());
  EXPECT_EQ(ack->ack->time, *h.time);
  // The stream is still in sync afterwards.
  EXPECT_TRUE(c->Register(kWait));
}

TEST_F(Tcp, FrameSplitAcrossWritesAtEveryBoundary) {
  std::unique_ptr<Node> c = MakeTcpNode(*sp_, GenerateTestIdentity(8));
  ASSERT_NE(c, nullptr);
  // Split after the first length byte, after the length, inside the header,
  // inside the body.
  for (size_t split : {size_t{1}, size_t{2}, size_t{40}, size_t{100}}) {
    HelloOptions h;
    h.time = UnixMicros() - 1000 + split;
    std::vector<uint8_t> frame = Node::Frame(c->BuildHello(h));
    ASSERT_LT(split, frame.size());
    ASSERT_TRUE(c->SendStream(frame.data(), split));
    std::this_thread::sleep_for(20ms);
    ASSERT_TRUE(c->SendStream(frame.data() + split, frame.size() - split));
    std::optional<ReceivedMessage> ack = c->ReceiveType(MessageType::kAck, kWait);
    ASSERT_TRUE(ack.has_value()) << "split at " << split;
    EXPECT_EQ(ack->ack->time, *h.time);
  }
}

TEST_F(Tcp, SeveralFramesInOneWrite) {
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c = MakeTcpNode(*sp_, GenerateTestIdentity(8));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  const uint64_t t0 = UnixMicros() - 500;
  HelloOptions h1, h2;
  h1.time = t0;
  h2.time = t0 + 1;
  std::vector<uint8_t> payload = RandomBytes(300);
  std::vector<uint8_t> stream;
  for (const std::vector<uint8_t>& m :
       {c->BuildHello(h1), c->BuildApp(b->public_key(), payload), c->BuildHello(h2)}) {
    std::vector<uint8_t> f = Node::Frame(m);
    stream.insert(stream.end(), f.begin(), f.end());
  }
  // Plus the first half of a fourth frame, completed by a second write.
  HelloOptions h3;
  h3.time = t0 + 2;
  std::vector<uint8_t> f3 = Node::Frame(c->BuildHello(h3));
  stream.insert(stream.end(), f3.begin(), f3.begin() + 50);
  ASSERT_TRUE(c->SendStream(stream));
  std::this_thread::sleep_for(20ms);
  ASSERT_TRUE(c->SendStream(f3.data() + 50, f3.size() - 50));

  std::vector<uint64_t> acks;
  while (acks.size() < 3) {
    std::optional<ReceivedMessage> ack = c->ReceiveType(MessageType::kAck, kWait);
    if (!ack) break;
    ASSERT_TRUE(ack->ack.has_value());
    acks.push_back(ack->ack->time);
  }
  EXPECT_THAT(acks, ElementsAreArray({t0, t0 + 1, t0 + 2}));
  EXPECT_TRUE(AppArrives(*b, payload, kWait));
}

TEST_F(Tcp, GarbageFrameClosesConnection) {
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  std::vector<uint8_t> garbage = RandomBytes(120);
  garbage[0] = 0x00;  // certainly not the magic
  ASSERT_TRUE(c->SendRaw(garbage));
  EXPECT_TRUE(c->WaitClosed(kWait)) << "a frame that is no message must close the connection";
  // Control: the server still accepts and serves new connections.
  EXPECT_NE(Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8))), nullptr);
}

TEST_F(Tcp, ShortFrameClosesConnection) {
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  std::vector<uint8_t> hello = c->BuildHello({});
  hello.resize(40);  // shorter than the long header
  ASSERT_TRUE(c->SendRaw(hello));
  EXPECT_TRUE(c->WaitClosed(kWait));
}

TEST_F(Tcp, BadTypeFrameClosesConnection) {
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  std::vector<uint8_t> hello = c->BuildHello({});
  hello[wire::off::kType] = 9;
  ASSERT_TRUE(c->SendRaw(hello));
  EXPECT_TRUE(c->WaitClosed(kWait));
}

TEST_F(Tcp, ZeroLengthFrameClosesConnection) {
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  const uint8_t zero[2] = {0, 0};
  ASSERT_TRUE(c->SendStream(zero, 2));
  EXPECT_TRUE(c->WaitClosed(kWait));
  EXPECT_NE(Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8))), nullptr);
}

TEST_F(Tcp, OversizedGarbageFrameClosesConnection) {
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  std::vector<uint8_t> big = RandomBytes(65535);  // the largest a u16 length can announce
  big[0] = 0x00;
  ASSERT_TRUE(c->SendRaw(big));
  EXPECT_TRUE(c->WaitClosed(kWait));
  EXPECT_NE(Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8))), nullptr);
}

TEST_F(Tcp, OversizedAppToUdpPeerIsNotRelayedAndServerSurvives) {
  // A 65535-byte APP cannot go out as one UDP datagram (65507 bytes at most).
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->SendApp(b->public_key(), RandomBytes(65535 - wire::kHeaderBytes)));
  std::vector<uint8_t> control = RandomBytes(10);
  std::unique_ptr<Node> d = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(d, nullptr);
  ASSERT_TRUE(d->SendApp(b->public_key(), control));
  EXPECT_TRUE(OnlyAppArrives(*b, control, kWait, kQuiet));
  EXPECT_TRUE(sp_->running());
}

TEST_F(Tcp, ClosedConnectionIsNoLongerAPath) {
  Identity cid = GenerateTestIdentity(8);
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c1 = Registered(MakeTcpNode(*sp_, cid));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c1, nullptr);
  std::vector<uint8_t> p1 = RandomBytes(10);
  ASSERT_TRUE(b->SendApp(cid.public_key, p1));
  ASSERT_TRUE(AppArrives(*c1, p1, kWait));
  c1->Close();
  std::this_thread::sleep_for(200ms);
  // Sending to C now must not disturb anything; after C reconnects, the new
  // connection is its path.
  ASSERT_TRUE(b->SendApp(cid.public_key, RandomBytes(10)));
  // B's HELLO takes the same worker and ring as that APP, so its ACK proves
  // the APP was handled before C reconnects (else it could reach the new
  // connection, which is correct relaying but not what this test checks).
  ASSERT_TRUE(b->Register(kWait));
  std::unique_ptr<Node> c2 = Registered(MakeTcpNode(*sp_, cid));
  ASSERT_NE(c2, nullptr);
  std::vector<uint8_t> p2 = RandomBytes(10);
  ASSERT_TRUE(b->SendApp(cid.public_key, p2));
  EXPECT_TRUE(OnlyAppArrives(*c2, p2, kWait, kQuiet));
}

TEST_F(Tcp, PathFollowsTheLastHelloAcrossTransports) {
  Identity cid = GenerateTestIdentity(8);
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c_tcp = Registered(MakeTcpNode(*sp_, cid));
  ASSERT_NE(b, nullptr);
  ASSERT_NE(c_tcp, nullptr);
  // C now says HELLO over UDP: relays go there, not to the TCP connection.
  std::unique_ptr<Node> c_udp = Registered(MakeUdpNode(*sp_, cid));
  ASSERT_NE(c_udp, nullptr);
  std::vector<uint8_t> p = RandomBytes(10);
  ASSERT_TRUE(b->SendApp(cid.public_key, p));
  EXPECT_TRUE(OnlyAppArrives(*c_udp, p, kWait, kQuiet));
  EXPECT_TRUE(NoMessageOfType(*c_tcp, MessageType::kApp, 0ms));
  // And back to TCP.
  ASSERT_TRUE(c_tcp->Register(kWait));
  std::vector<uint8_t> q = RandomBytes(10);
  ASSERT_TRUE(b->SendApp(cid.public_key, q));
  EXPECT_TRUE(OnlyAppArrives(*c_tcp, q, kWait, kQuiet));
  EXPECT_TRUE(NoMessageOfType(*c_udp, MessageType::kApp, 0ms));
}

// ---------------------------------------------------------------------------
// TCP over IPv6 (the only TCP listener, so tcpPort is its port).

struct Tcp6Config {
  static std::map<std::string, std::string> Env() {
    return {{"DRASYL_TCP6_LISTEN", "[::1]:0"},
            {"DRASYL_MIN_POW_DIFFICULTY", "8"},
            {"DRASYL_SEND_UNITES", "-1"}};
  }
  static std::vector<std::string> Args() { return {}; }
};
using Tcp6 = SharedSuperPeerTest<Tcp6Config>;

TEST_F(Tcp6, HelloAndRelayOverIpv6) {
  std::optional<SocketAddress> addr = sp_->tcp_address();
  ASSERT_TRUE(addr.has_value());
  EXPECT_TRUE(addr->is_v6());
  std::unique_ptr<Node> c = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_TRUE(c->local_address().is_v6());
  std::vector<uint8_t> p = RandomBytes(50), q = RandomBytes(60);
  ASSERT_TRUE(b->SendApp(c->public_key(), p));
  EXPECT_TRUE(AppArrives(*c, p, kWait));
  ASSERT_TRUE(c->SendApp(b->public_key(), q));
  EXPECT_TRUE(AppArrives(*b, q, kWait));
}

// ---------------------------------------------------------------------------
// Idle connections: HELLO_TIMEOUT=500 ms, housekeeping every 100 ms.

struct TcpIdleConfig {
  static std::map<std::string, std::string> Env() {
    return {{"DRASYL_TCP4_LISTEN", "127.0.0.1:0"},
            {"DRASYL_MIN_POW_DIFFICULTY", "8"},
            {"DRASYL_HELLO_TIMEOUT", "500"}};
  }
  static std::vector<std::string> Args() { return {"--housekeeping_interval_ms=100"}; }
};
using TcpIdle = SharedSuperPeerTest<TcpIdleConfig>;

TEST_F(TcpIdle, SilentConnectionIsClosedActiveOneKept) {
  std::unique_ptr<Node> silent = MakeTcpNode(*sp_, GenerateTestIdentity(8));
  std::unique_ptr<Node> active = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(silent, nullptr);
  ASSERT_NE(active, nullptr);
  const auto start = std::chrono::steady_clock::now();
  bool silent_closed = false;
  while (std::chrono::steady_clock::now() - start < 1500ms) {
    ASSERT_TRUE(active->Register(kWait)) << "an active connection must stay open";
    silent_closed = silent_closed || silent->WaitClosed(150ms);
  }
  EXPECT_TRUE(silent_closed || silent->WaitClosed(1000ms))
      << "a connection that sends nothing must be closed after HELLO_TIMEOUT";
  EXPECT_FALSE(active->closed());
  EXPECT_TRUE(active->Register(kWait));
}

// ---------------------------------------------------------------------------
// Connection limit: MAX_TCP_CONNECTIONS=2.

struct TcpLimitConfig {
  static std::map<std::string, std::string> Env() {
    return {{"DRASYL_TCP4_LISTEN", "127.0.0.1:0"},
            {"DRASYL_MIN_POW_DIFFICULTY", "8"},
            {"DRASYL_MAX_TCP_CONNECTIONS", "2"}};
  }
  static std::vector<std::string> Args() { return {}; }
};
using TcpLimit = SharedSuperPeerTest<TcpLimitConfig>;

TEST_F(TcpLimit, ConnectionOverTheLimitIsClosedAndNotRegistered) {
  std::unique_ptr<Node> c1 = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  std::unique_ptr<Node> c2 = Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(c1, nullptr);
  ASSERT_NE(c2, nullptr);
  // The kernel completes the handshake; the server resets the connection,
  // which the client sees either as a failed connect or as the reset after it.
  const Identity third = GenerateTestIdentity(8);
  absl::StatusOr<std::unique_ptr<Node>> c3 =
      Node::Create(TcpNodeOptions(third, sp_->public_key(), *sp_->tcp_address()));
  if (c3.ok()) {
    (*c3)->SendHello();
    EXPECT_TRUE((*c3)->WaitClosed(kWait));
    EXPECT_TRUE(NoMessageOfType(**c3, MessageType::kAck, 0ms));
  }
  // The third peer was not registered: a relay to it goes nowhere, while the
  // first two keep working.
  std::unique_ptr<Node> b = Registered(MakeUdpNode(*sp_, GenerateTestIdentity(8)));
  ASSERT_NE(b, nullptr);
  ASSERT_TRUE(b->SendApp(third.public_key, RandomBytes(5)));
  std::vector<uint8_t> p = RandomBytes(5);
  ASSERT_TRUE(c1->SendApp(c2->public_key(), p));
  EXPECT_TRUE(AppArrives(*c2, p, kWait));
  // After one closes, a new connection is accepted.
  c1->Close();
  std::this_thread::sleep_for(200ms);
  EXPECT_NE(Registered(MakeTcpNode(*sp_, GenerateTestIdentity(8))), nullptr);
}

}  // namespace
}  // namespace drasyl::testing
