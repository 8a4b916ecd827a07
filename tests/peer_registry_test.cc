#include "control/peer_registry.h"

#include <vector>

#include "absl/container/flat_hash_set.h"
#include "gtest/gtest.h"

namespace drasyl {
namespace {

PublicKey KeyOf(uint32_t n) {
  PublicKey k{};
  // Spread the number over the bytes the hash reads and over the rest.
  for (int i = 0; i < 32; ++i) k[i] = static_cast<uint8_t>((n >> ((i % 4) * 8)) ^ (i * 37));
  return k;
}

TEST(PeerRegistry, InsertFindErase) {
  PeerRegistry r;
  EXPECT_TRUE(r.empty());
  EXPECT_EQ(r.Find(KeyOf(1)), nullptr);
  PeerRecord& a = r.Insert(KeyOf(1));
  a.last_hello_ms = 11;
  a.path = PeerPath::Tcp(5);
  PeerRecord& b = r.Insert(KeyOf(2));
  b.last_hello_ms = 22;
  EXPECT_EQ(r.size(), 2u);
  ASSERT_NE(r.Find(KeyOf(1)), nullptr);
  EXPECT_EQ(r.Find(KeyOf(1))->key, KeyOf(1));
  EXPECT_EQ(r.Find(KeyOf(1))->last_hello_ms, 11u);
  EXPECT_EQ(r.Find(KeyOf(2))->last_hello_ms, 22u);
  EXPECT_TRUE(r.Find(KeyOf(1))->has_path());
  EXPECT_FALSE(r.Find(KeyOf(2))->has_path());

  r.Erase(*r.Find(KeyOf(1)));
  EXPECT_EQ(r.size(), 1u);
  EXPECT_EQ(r.Find(KeyOf(1)), nullptr);
  ASSERT_NE(r.Find(KeyOf(2)), nullptr);
  EXPECT_EQ(r.Find(KeyOf(2))->last_hello_ms, 22u);

  // The freed record is reused, and comes back clean.
  PeerRecord& c = r.Insert(KeyOf(3));
  EXPECT_EQ(&c, &a);
  EXPECT_EQ(c.last_hello_ms, 0u);
  EXPECT_FALSE(c.has_path());
  EXPECT_TRUE(c.endpoints().empty());
  EXPECT_EQ(r.Find(KeyOf(3)), &c);
}

TEST(PeerRegistry, EndpointsAreCopiedAndResized) {
  PeerRegistry r;
  PeerRecord& rec = r.Insert(KeyOf(7));
  std::vector<wire::Endpoint> eps(3);
  for (size_t i = 0; i < eps.size(); ++i) eps[i].port = static_cast<uint16_t>(1000 + i);
  rec.SetEndpoints(eps);
  ASSERT_EQ(rec.endpoints().size(), 3u);
  EXPECT_EQ(rec.endpoints()[2].port, 1002);
  eps[2].port = 9;  // a copy, not a view
  EXPECT_EQ(rec.endpoints()[2].port, 1002);
  rec.SetEndpoints(absl::MakeConstSpan(eps).subspan(0, 1));
  ASSERT_EQ(rec.endpoints().size(), 1u);
  EXPECT_EQ(rec.endpoints()[0].port, 1000);
  rec.SetEndpoints({});
  EXPECT_TRUE(rec.endpoints().empty());
  // More than a message can carry is cut, never overflows.
  std::vector<wire::Endpoint> many(wire::kMaxEndpoints + 5);
  rec.SetEndpoints(many);
  EXPECT_EQ(rec.endpoints().size(), wire::kMaxEndpoints);
}

TEST(PeerRegistry, ManyPeersAcrossChunksWithChurn) {
  PeerRegistry r;
  constexpr uint32_t kN = 40000;  // more than two chunks
  for (uint32_t i = 0; i < kN; ++i) r.Insert(KeyOf(i)).last_hello_ms = i;
  EXPECT_EQ(r.size(), kN);
  // Erase every third one while iterating, as housekeeping does.
  size_t visited = 0;
  r.ForEach([&](PeerRecord& rec) {
    ++visited;
    if (rec.last_hello_ms % 3 == 0) r.Erase(rec);
  });
  EXPECT_EQ(visited, kN);
  const size_t left = kN - (kN + 2) / 3;
  EXPECT_EQ(r.size(), left);
  for (uint32_t i = 0; i < kN; ++i) {
    const PeerRecord* rec = r.Find(KeyOf(i));
    if (i % 3 == 0) {
      EXPECT_EQ(rec, nullptr) << i;
    } else {
      ASSERT_NE(rec, nullptr) << i;
      EXPECT_EQ(rec->last_hello_ms, i);
    }
  }
  // Re-inserting fills the holes before the registry grows.
  const size_t bytes = r.MemoryBytes();
  for (uint32_t i = 0; i < kN; i += 3) r.Insert(KeyOf(i)).last_hello_ms = i;
  EXPECT_EQ(r.size(), kN);
  EXPECT_EQ(r.MemoryBytes(), bytes);
  size_t live = 0;
  absl::flat_hash_set<uint64_t> seen;
  r.ForEach([&](const PeerRecord& rec) {
    ++live;
    EXPECT_TRUE(seen.insert(rec.last_hello_ms).second);
    EXPECT_EQ(rec.key, KeyOf(static_cast<uint32_t>(rec.last_hello_ms)));
  });
  EXPECT_EQ(live, kN);
}

TEST(PeerRegistry, RelayViewSeesOnlyPeersWithAPath) {
  PeerRegistry r;
  r.Insert(KeyOf(1)).path = PeerPath::Tcp(3);
  r.Insert(KeyOf(2));
  RegistryRelayView view(r);
  ASSERT_NE(view.Find(KeyOf(1)), nullptr);
  EXPECT_EQ(view.Find(KeyOf(1))->tcp_conn, 3u);
  EXPECT_EQ(view.Find(KeyOf(2)), nullptr);
  EXPECT_EQ(view.Find(KeyOf(9)), nullptr);
}

}  // namespace
}  // namespace drasyl
