// The relay decision (docs/protocol.md §5 step 4) over bursts, on real buffers.
#include "dataplane/relay.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "common/wire.h"
#include "dataplane/spsc_ring.h"

namespace drasyl {
namespace {

PublicKey Key(uint8_t b) {
  PublicKey k;
  k.fill(b);
  return k;
}

std::vector<uint8_t> Message(const PublicKey& to, const PublicKey& from, wire::MessageType type,
                             uint8_t hop = 0, int32_t network = 1) {
  wire::HeaderFields h;
  h.recipient = to;
  h.sender = from;
  h.type = type;
  h.hop_count = hop;
  h.network_id = network;
  const uint8_t body[5] = {1, 2, 3, 4, 5};
  std::vector<uint8_t> m(wire::MessageBytes(sizeof(body), false));
  wire::BuildMessage(h, body, sizeof(body), nullptr, nullptr, m.data(), m.size());
  return m;
}

class RelayTest : public ::testing::Test {
 protected:
  RelayTest() {
    cfg_.self = Key(0xee);
    cfg_.network_id = 1;
    PeerUpdate u;
    u.key = Key(0xa1);
    u.path = PeerPath::Udp(SocketAddress::V4(0x0a000001, 1000), 0);
    table_.Apply(u);
    u.key = Key(0xb2);
    u.path = PeerPath::Tcp(7);
    table_.Apply(u);
  }

  Decision DecideOne(std::vector<uint8_t>& m, UniteFilter* unites = nullptr) {
    PacketView v{m.data(), static_cast<uint32_t>(m.size())};
    Decision d;
    DecideBurst(cfg_, table_, unites, 1000, &v, 1, &d);
    return d;
  }

  RelayConfig cfg_;
  PeerTable table_;
};

TEST_F(RelayTest, ForwardsAppToUdpPeerAndBumpsHop) {
  auto m = Message(Key(0xa1), Key(0x33), wire::MessageType::kApp, 3);
  auto before = m;
  Decision d = DecideOne(m);
  ASSERT_EQ(d.verdict, Verdict::kForward);
  EXPECT_EQ(d.path->port, 1000);
  EXPECT_EQ(m[wire::off::kHopCount], 4);
  before[wire::off::kHopCount] = 4;
  EXPECT_EQ(m, before);  // nothing else changed
}

TEST_F(RelayTest, TcpPeerGoesToControl) {
  auto m = Message(Key(0xb2), Key(0x33), wire::MessageType::kApp);
  Decision d = DecideOne(m);
  ASSERT_EQ(d.verdict, Verdict::kForwardTcp);
  EXPECT_EQ(d.path->tcp_conn, 7u);
  EXPECT_EQ(m[wire::off::kHopCount], 1);
}

TEST_F(RelayTest, MessagesToSelfGoToControlWhateverTheType) {
  for (auto type : {wire::MessageType::kHello, wire::MessageType::kApp, wire::MessageType::kAck,
                    wire::MessageType::kUnite}) {
    auto m = Message(Key(0xee), Key(0x33), type);
    EXPECT_EQ(DecideOne(m).verdict, Verdict::kToControl);
  }
}

TEST_F(RelayTest, DropsWithReasons) {
  struct Case {
    std::vector<uint8_t> msg;
    DropReason reason;
  };
  std::vector<Case> cases = {
      {Message(Key(0xa1), Key(0x33), wire::MessageType::kApp, 0, 2), DropReason::kWrongNetwork},
      {Message(Key(0xa1), Key(0x33), wire::MessageType::kHello), DropReason::kRelayNotApp},
      {Message(Key(0xa1), Key(0x33), wire::MessageType::kUnite), DropReason::kRelayNotApp},
      {Message(Key(0xa1), Key(0xa1), wire::MessageType::kApp), DropReason::kLoopback},
      {Message(Key(0xa1), Key(0x33), wire::MessageType::kApp, 8), DropReason::kHopLimit},
      {Message(Key(0xa1), Key(0x33), wire::MessageType::kApp, 255), DropReason::kHopLimit},
      {Message(Key(0x44), Key(0x33), wire::MessageType::kApp), DropReason::kUnknownRecipient},
      {std::vector<uint8_t>(78, 0), DropReason::kTooShort},
      {std::vector<uint8_t>(4, 0), DropReason::kTooShort},
      {std::vector<uint8_t>(100, 0), DropReason::kBadMagic},
  };
  auto bad_type = Message(Key(0xa1), Key(0x33), wire::MessageType::kApp);
  bad_type[wire::off::kType] = 4;
  cases.push_back({bad_type, DropReason::kBadType});
  for (auto& c : cases) {
    auto before = c.msg;
    Decision d = DecideOne(c.msg);
    EXPECT_EQ(d.verdict, Verdict::kDrop);
    EXPECT_EQ(d.reason, c.reason) << DropReasonName(c.reason);
    EXPECT_EQ(c.msg, before) << "a dropped message must not be modified";
  }
}

TEST_F(RelayTest, HopSevenIsRelayedAsEight) {
  auto m = Message(Key(0xa1), Key(0x33), wire::MessageType::kApp, 7);
  EXPECT_EQ(DecideOne(m).verdict, Verdict::kForward);
  EXPECT_EQ(m[wire::off::kHopCount], 8);
}

// Keys are told apart by all their bytes, even where the table's hash and
// the quick compares look at the first ones only.
TEST_F(RelayTest, KeysThatDifferOnlyInTheirLastByteAreDifferentPeers) {
  PublicKey near_self = cfg_.self;
  near_self[31] ^= 1;
  PublicKey near_a1 = Key(0xa1);
  near_a1[31] ^= 1;
  PeerUpdate u;
  u.key = near_a1;
  u.path = PeerPath::Udp(SocketAddress::V4(0x0a000002, 2000), 0);
  table_.Apply(u);

  auto to_near_self = Message(near_self, Key(0x33), wire::MessageType::kApp);
  Decision d = DecideOne(to_near_self);
  EXPECT_EQ(d.verdict, Verdict::kDrop);  // not the super peer, and not registered
  EXPECT_EQ(d.reason, DropReason::kUnknownRecipient);

  auto to_near_a1 = Message(near_a1, Key(0xa1), wire::MessageType::kApp);
  d = DecideOne(to_near_a1);
  ASSERT_EQ(d.verdict, Verdict::kForward);  // not a loopback
  EXPECT_EQ(d.path->port, 2000);
  auto to_a1 = Message(Key(0xa1), near_a1, wire::MessageType::kApp);
  d = DecideOne(to_a1);
  ASSERT_EQ(d.verdict, Verdict::kForward);
  EXPECT_EQ(d.path->port, 1000);
}

// --verify_senders (docs/protocol.md §8): an APP is relayed only from its sender's
// registered path; the sender key alone proves nothing.
TEST_F(RelayTest, VerifiedSendersMustComeFromTheirRegisteredPath) {
  const PeerPath a1_path = PeerPath::Udp(SocketAddress::V4(0x0a000001, 1000), 0);
  int asked = 0;
  auto decide = [&](std::vector<uint8_t>& m, const PeerPath& from) {
    PacketView v{m.data(), static_cast<uint32_t>(m.size())};
    Decision d;
    DecideBurst(cfg_, table_, nullptr, 1000, &v, 1, &d, [&](size_t i, const PeerPath& reg) {
      ++asked;
      EXPECT_EQ(i, 0u);
      return SameEndpoint(from, reg);
    });
    return d;
  };
  cfg_.verify_senders = true;
  auto m = Message(Key(0xb2), Key(0xa1), wire::MessageType::kApp);
  EXPECT_EQ(decide(m, a1_path).verdict, Verdict::kForwardTcp);
  // The same sender key from another address: dropped, untouched.
  m = Message(Key(0xb2), Key(0xa1), wire::MessageType::kApp);
  Decision d = decide(m, PeerPath::Udp(SocketAddress::V4(0x0a000009, 1000), 0));
  EXPECT_EQ(d.verdict, Verdict::kDrop);
  EXPECT_EQ(d.reason, DropReason::kUnverifiedSender);
  EXPECT_EQ(m[wire::off::kHopCount], 0);
  // A sender that is not registered at all.
  m = Message(Key(0xa1), Key(0x33), wire::MessageType::kApp);
  d = decide(m, a1_path);
  EXPECT_EQ(d.verdict, Verdict::kDrop);
  EXPECT_EQ(d.reason, DropReason::kUnverifiedSender);
  // The TCP peer: from its connection, and from another one.
  m = Message(Key(0xa1), Key(0xb2), wire::MessageType::kApp);
  EXPECT_EQ(decide(m, PeerPath::Tcp(7)).verdict, Verdict::kForward);
  m = Message(Key(0xa1), Key(0xb2), wire::MessageType::kApp);
  EXPECT_EQ(decide(m, PeerPath::Tcp(8)).reason, DropReason::kUnverifiedSender);
  EXPECT_EQ(asked, 4);
  // Off (the default, as the reference): anyone is relayed, nothing asked.
  cfg_.verify_senders = false;
  asked = 0;
  m = Message(Key(0xb2), Key(0x33), wire::MessageType::kApp);
  EXPECT_EQ(decide(m, a1_path).verdict, Verdict::kForwardTcp);
  EXPECT_EQ(asked, 0);
}

// Packets of a burst longer than a chunk are named by their index in the
// burst.
TEST_F(RelayTest, VerificationAsksAboutEachPacketByItsIndexInTheBurst) {
  cfg_.verify_senders = true;
  std::vector<std::vector<uint8_t>> msgs(150,
                                         Message(Key(0xb2), Key(0xa1), wire::MessageType::kApp));
  std::vector<PacketView> views;
  for (auto& m : msgs) views.push_back({m.data(), static_cast<uint32_t>(m.size())});
  std::vector<Decision> out(msgs.size());
  std::vector<int> asked(msgs.size(), 0);
  const BurstTally t = DecideBurst(cfg_, table_, nullptr, 0, views.data(), views.size(),
                                   out.data(), [&](size_t i, const PeerPath&) {
                                     ++asked.at(i);
                                     return i % 3 == 0;
                                   });
  EXPECT_EQ(t.relayed, 50u);
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_EQ(asked[i], 1) << i;
    EXPECT_EQ(out[i].verdict, i % 3 == 0 ? Verdict::kForwardTcp : Verdict::kDrop) << i;
  }
}

TEST(SameEndpointTest, AddressAndPortOrConnection) {
  const PeerPath a = PeerPath::Udp(SocketAddress::V4(0x0a000001, 1000), 0);
  PeerPath b = a;
  b.listener = 3;  // another listener, next hop or VLAN: the same endpoint
  b.mac[0] = 9;
  b.ip[8] = 1;  // beyond an IPv4 address
  EXPECT_TRUE(SameEndpoint(a, b));
  EXPECT_FALSE(SameEndpoint(a, PeerPath::Udp(SocketAddress::V4(0x0a000001, 1001), 0)));
  EXPECT_FALSE(SameEndpoint(a, PeerPath::Udp(SocketAddress::V4(0x0a000002, 1000), 0)));
  uint8_t v6[16] = {0xfd, 0x99};
  const PeerPath c = PeerPath::Udp(SocketAddress::V6(v6, 1000), 0);
  PeerPath d = c;
  EXPECT_TRUE(SameEndpoint(c, d));
  d.ip[15] = 1;
  EXPECT_FALSE(SameEndpoint(c, d));
  EXPECT_FALSE(SameEndpoint(a, c));
  EXPECT_TRUE(SameEndpoint(PeerPath::Tcp(4), PeerPath::Tcp(4)));
  EXPECT_FALSE(SameEndpoint(PeerPath::Tcp(4), PeerPath::Tcp(5)));
  EXPECT_FALSE(SameEndpoint(PeerPath::Tcp(4), a));
  EXPECT_FALSE(SameEndpoint(PeerPath{}, PeerPath{}));
}

TEST_F(RelayTest, MixedBurstLongerThanOneChunk) {
  std::vector<std::vector<uint8_t>> msgs;
  for (int i = 0; i < 200; ++i) {
    msgs.push_back(i % 3 == 0   ? Message(Key(0xa1), Key(0x33), wire::MessageType::kApp)
                   : i % 3 == 1 ? Message(Key(0x44), Key(0x33), wire::MessageType::kApp)
                                : Message(Key(0xee), Key(0x33), wire::MessageType::kHello));
  }
  std::vector<PacketView> views;
  for (auto& m : msgs) views.push_back({m.data(), static_cast<uint32_t>(m.size())});
  std::vector<Decision> out(msgs.size());
  const BurstTally t =
      DecideBurst(cfg_, table_, nullptr, 0, views.data(), views.size(), out.data());
  for (int i = 0; i < 200; ++i) {
    Verdict want = i % 3 == 0 ? Verdict::kForward : i % 3 == 1 ? Verdict::kDrop : Verdict::kToControl;
    EXPECT_EQ(out[i].verdict, want) << i;
  }
  // 67 relayed (i % 3 == 0), none of them with more to do than a transmit.
  EXPECT_EQ(t.relayed, 67u);
  EXPECT_EQ(t.relayed_bytes, 67u * msgs[0].size());
  EXPECT_EQ(t.plain, 67u);
}

// The tally tells the caller whether any decision needs more than a
// transmit: UNITE reports and TCP recipients are not plain.
TEST_F(RelayTest, TallySaysWhenABurstIsPlain) {
  auto relay = [&](UniteFilter* unites) {
    std::vector<std::vector<uint8_t>> msgs(
        8, Message(Key(0xa1), Key(0x33), wire::MessageType::kApp));
    std::vector<PacketView> views;
    for (auto& m : msgs) views.push_back({m.data(), static_cast<uint32_t>(m.size())});
    std::vector<Decision> out(msgs.size());
    return DecideBurst(cfg_, table_, unites, 1000, views.data(), views.size(), out.data());
  };
  BurstTally t = relay(nullptr);
  EXPECT_EQ(t.relayed, 8u);
  EXPECT_EQ(t.plain, 8u);
  UniteFilter limited(5000);
  t = relay(&limited);  // the pair's first relay is reported, the rest not
  EXPECT_EQ(t.relayed, 8u);
  EXPECT_EQ(t.plain, 7u);
  PeerUpdate tcp;
  tcp.key = Key(0xa1);
  tcp.path = PeerPath::Tcp(5);
  table_.Apply(tcp);
  t = relay(nullptr);
  EXPECT_EQ(t.relayed, 8u);
  EXPECT_EQ(t.plain, 0u);
}

TEST_F(RelayTest, UniteReportsFollowTheRateLimit) {
  UniteFilter every(0), never(-1), limited(5000);
  auto m = Message(Key(0xa1), Key(0x33), wire::MessageType::kApp);
  EXPECT_TRUE(DecideOne(m, &every).report_unite);
  m[wire::off::kHopCount] = 0;
  EXPECT_TRUE(DecideOne(m, &every).report_unite);
  m[wire::off::kHopCount] = 0;
  EXPECT_FALSE(DecideOne(m, &never).report_unite);
  m[wire::off::kHopCount] = 0;
  EXPECT_TRUE(DecideOne(m, &limited).report_unite);
  m[wire::off::kHopCount] = 0;
  EXPECT_FALSE(DecideOne(m, &limited).report_unite);  // same pair, same millisecond
}


// The filter's answer for one relay at now_ms (its window computed on the spot).
bool ShouldReport(UniteFilter& f, const uint8_t* sender, const uint8_t* recipient,
                  uint64_t now_ms) {
  return f.ShouldReportIn(f.WindowAt(now_ms), sender, recipient);
}

TEST(UniteFilterTest, PairIsUnorderedAndExpires) {
  UniteFilter f(100);
  PublicKey a = Key(1), b = Key(2), c = Key(3);
  EXPECT_TRUE(ShouldReport(f, a.data(), b.data(), 1000));
  EXPECT_FALSE(ShouldReport(f, b.data(), a.data(), 1050));  // reverse direction: same pair
  EXPECT_TRUE(ShouldReport(f, a.data(), c.data(), 1050));   // another pair
  EXPECT_TRUE(ShouldReport(f, a.data(), b.data(), 1100));   // interval elapsed
}

// A pair is reported once per window of the interval (now_ms / interval):
// not again within it, again in the next one; each pair on its own.
TEST(UniteFilterTest, OncePerWindow) {
  UniteFilter f(100);
  PublicKey a = Key(1), b = Key(2), c = Key(3);
  EXPECT_EQ(f.WindowAt(1099), 10u);
  EXPECT_TRUE(ShouldReport(f, a.data(), b.data(), 1001));
  EXPECT_FALSE(ShouldReport(f, a.data(), b.data(), 1099));
  EXPECT_TRUE(ShouldReport(f, a.data(), b.data(), 1100));
  EXPECT_FALSE(ShouldReport(f, b.data(), a.data(), 1199));
  EXPECT_TRUE(ShouldReport(f, a.data(), c.data(), 1199));
  EXPECT_FALSE(ShouldReport(f, c.data(), a.data(), 1150));
  // A pair first seen in a later window; an earlier window is another one.
  EXPECT_TRUE(ShouldReport(f, b.data(), c.data(), 5000));
  EXPECT_TRUE(ShouldReport(f, b.data(), c.data(), 100));
  // 0: every relay; -1: none, whatever the time.
  UniteFilter every(0), never(-1);
  for (uint64_t t : {0ull, 1ull, 1ull << 40}) {
    EXPECT_TRUE(ShouldReport(every, a.data(), b.data(), t));
    EXPECT_FALSE(ShouldReport(never, a.data(), b.data(), t));
  }
}

TEST(SpscRingTest, FifoAcrossThreadsWithoutLoss) {
  SpscRing<uint64_t> ring(64);
  constexpr uint64_t kCount = 1000000;
  std::thread producer([&] {
    for (uint64_t i = 0; i < kCount;) {
      if (ring.TryPush(i)) ++i;
    }
  });
  uint64_t expected = 0;
  while (expected < kCount) {
    if (uint64_t* v = ring.Front()) {
      ASSERT_EQ(*v, expected);
      ring.Pop();
      ++expected;
    }
  }
  producer.join();
  EXPECT_TRUE(ring.Empty());
}

TEST(SpscRingTest, FullRingRefuses) {
  SpscRing<int> ring(4);
  EXPECT_EQ(ring.capacity(), 4u);
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(ring.TryPush(i));
  EXPECT_FALSE(ring.TryPush(99));
  ASSERT_NE(ring.Front(), nullptr);
  EXPECT_EQ(*ring.Front(), 0);
  ring.Pop();
  EXPECT_TRUE(ring.TryPush(4));
}

}  // namespace
}  // namespace drasyl
