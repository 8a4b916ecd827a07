// The super peer's address table in the DPDK backend's PacketConfig
// (dataplane/dpdk/dpdk_packet_config.h): indexes stay put when the set
// changes (--af_xdp follows the kernel's addresses while peers' paths hold
// those indexes), and the fast-matching arrays follow.
#include "dataplane/dpdk/dpdk_packet_config.h"

#include <vector>

#include "common/byte_order.h"
#include "gtest/gtest.h"

namespace drasyl::dpdk {
namespace {

LocalAddress V4(uint8_t last) { return LocalAddress{4, 24, {10, 0, 0, last}}; }
LocalAddress V6(uint8_t last) {
  return LocalAddress{6, 64, {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last}};
}

// Where the destination matcher finds `a`: its index, or -1.
int Match(const PacketConfig& c, const LocalAddress& a) {
  if (a.family == 4) {
    for (uint8_t i = 0; i < c.n_v4; ++i) {
      if (c.v4_be[i] == Load32(a.ip.data())) return c.v4_index[i];
    }
  } else {
    for (uint8_t i = 0; i < c.n_v6; ++i) {
      if (c.v6[i] == a.ip) return c.v6_index[i];
    }
  }
  return -1;
}

PeerPath PathAt(uint8_t family, uint8_t local_addr) {
  PeerPath p;
  p.family = family;
  p.local_addr = local_addr;
  return p;
}

TEST(PacketConfigAddresses, KeptAddressesKeepTheirIndexAndNewOnesTakeUnusedOnes) {
  PacketConfig c;
  ASSERT_TRUE(c.AddAddress(V4(1)));
  ASSERT_TRUE(c.AddAddress(V6(1)));
  ASSERT_TRUE(c.AddAddress(V4(2)));
  EXPECT_TRUE(c.ReplaceAddresses({V4(2), V4(9), V6(1)}).empty());
  EXPECT_EQ(Match(c, V4(1)), -1);  // removed
  EXPECT_EQ(Match(c, V6(1)), 1);
  EXPECT_EQ(Match(c, V4(2)), 2);
  EXPECT_EQ(Match(c, V4(9)), 3);  // not index 0, which a peer's path may still name
  EXPECT_EQ(c.n_v4, 2);
  EXPECT_EQ(c.n_v6, 1);
  // A path that arrived at the removed address answers from another of its
  // family; the others from their own.
  EXPECT_EQ(c.SourceIndex(PathAt(4, 0)), 2);
  EXPECT_EQ(c.SourceIndex(PathAt(4, 3)), 3);
  EXPECT_EQ(c.SourceIndex(PathAt(6, 1)), 1);
}

TEST(PacketConfigAddresses, AnEmptySetServesNothingAndANewSetAfterIt) {
  PacketConfig c;
  ASSERT_TRUE(c.AddAddress(V4(1)));
  EXPECT_TRUE(c.ReplaceAddresses({}).empty());
  EXPECT_EQ(c.n_v4 + c.n_v6, 0);
  EXPECT_EQ(c.SourceIndex(PathAt(4, 0)), -1);
  EXPECT_TRUE(c.ReplaceAddresses({V6(7)}).empty());
  EXPECT_EQ(Match(c, V6(7)), 1);
  EXPECT_EQ(c.SourceIndex(PathAt(6, 0)), 1);
}

TEST(PacketConfigAddresses, AFullTableReusesTheEarliestFreedIndexesAndReportsWhatDoesNotFit) {
  PacketConfig c;
  std::vector<LocalAddress> all;
  for (uint8_t i = 0; i < kMaxLocalAddresses; ++i) all.push_back(V4(i));
  EXPECT_TRUE(c.ReplaceAddresses(all).empty());
  EXPECT_EQ(c.n_addrs, kMaxLocalAddresses);
  // Remove 5 then 3; two new ones take index 5, then 3.
  std::vector<LocalAddress> next = all;
  next.erase(next.begin() + 5);
  EXPECT_TRUE(c.ReplaceAddresses(next).empty());
  next.erase(next.begin() + 3);
  EXPECT_TRUE(c.ReplaceAddresses(next).empty());
  next.push_back(V6(1));
  next.push_back(V6(2));
  EXPECT_TRUE(c.ReplaceAddresses(next).empty());
  EXPECT_EQ(Match(c, V6(1)), 5);
  EXPECT_EQ(Match(c, V6(2)), 3);
  // No room for a 17th.
  next.push_back(V6(3));
  const std::vector<LocalAddress> left_out = c.ReplaceAddresses(next);
  ASSERT_EQ(left_out.size(), 1u);
  EXPECT_EQ(left_out[0], V6(3));
  EXPECT_EQ(Match(c, V6(3)), -1);
  EXPECT_EQ(c.n_v4 + c.n_v6, kMaxLocalAddresses);
}

TEST(PacketConfigAddresses, AnUnknownFamilyIsReportedNotServed) {
  PacketConfig c;
  LocalAddress odd = V4(1);
  odd.family = 5;
  EXPECT_FALSE(c.AddAddress(odd));
  const std::vector<LocalAddress> left_out = c.ReplaceAddresses({odd, V4(2)});
  ASSERT_EQ(left_out.size(), 1u);
  EXPECT_EQ(Match(c, V4(2)), 0);
}

}  // namespace
}  // namespace drasyl::dpdk
