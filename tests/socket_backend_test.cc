// The socket backend's receive burst sizing (NextRxBurst); the backend
// itself is exercised end to end in super_peer_test.cc.
#include "dataplane/socket/socket_backend.h"

#include "gtest/gtest.h"

namespace drasyl {
namespace {

TEST(NextRxBurst, SmallDatagramsFillTheWholeBurst) {
  EXPECT_EQ(NextRxBurst(64 * 100, 64), kSocketRxBurst);
  EXPECT_EQ(NextRxBurst(64 * 1500, 64), kSocketRxBurst);
  EXPECT_EQ(NextRxBurst(3 * 1200, 3), kSocketRxBurst);  // a short burst: as many as before
}

TEST(NextRxBurst, CoalescedDatagramsAreAskedForAsManyAsTheByteBudgetHolds) {
  // 64 KiB datagrams (GRO trains): 4 of them are the 256 KiB budget.
  EXPECT_EQ(NextRxBurst(64 * 65535, 64), static_cast<int>(kSocketRxBurstBytes / 65535));
  EXPECT_EQ(NextRxBurst(4 * 65535, 4), 4);
  // 40 x 1 080-byte messages a train: 6 trains.
  EXPECT_EQ(NextRxBurst(10 * 43200, 10), 6);
  // A mix: the average decides (16 trains and 48 single messages: 16 459 bytes).
  EXPECT_EQ(NextRxBurst(16 * 65535 + 48 * 100, 64), 15);
  EXPECT_EQ(NextRxBurst(65535 + 63 * 100, 64), kSocketRxBurst);  // 1 123 bytes
  // The budget never holds fewer than one.
  EXPECT_EQ(NextRxBurst(kSocketRxBurstBytes * 3, 1), 1);
}

TEST(NextRxBurst, NothingReceivedAsksForTheWholeBurst) {
  EXPECT_EQ(NextRxBurst(0, 0), kSocketRxBurst);
  EXPECT_EQ(NextRxBurst(0, 5), kSocketRxBurst);  // empty datagrams
  EXPECT_EQ(NextRxBurst(100, -1), kSocketRxBurst);
}

TEST(NextRxBurst, NeverAsksForMoreThanTheBurstOrTheBudget) {
  for (uint64_t avg : {1ull, 79ull, 1000ull, 4096ull, 9000ull, 65535ull}) {
    for (int n : {1, 7, 64}) {
      const int next = NextRxBurst(avg * n, n);
      EXPECT_GE(next, 1);
      EXPECT_LE(next, kSocketRxBurst);
      EXPECT_LE(static_cast<uint64_t>(next) * avg, std::max<uint64_t>(kSocketRxBurstBytes, avg))
          << "avg " << avg;
    }
  }
}

}  // namespace
}  // namespace drasyl
