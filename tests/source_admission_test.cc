// Per-source keys and token buckets (dataplane/source_admission.h).
#include "dataplane/source_admission.h"

#include "gtest/gtest.h"

namespace drasyl {
namespace {

SocketAddress Addr(const char* text) { return SocketAddress::Parse(text).value(); }

TEST(SourceKeyTest, Ipv4AddressIsItsOwnSource) {
  EXPECT_EQ(SourceKeyOf(Addr("192.0.2.1:1")), SourceKeyOf(Addr("192.0.2.1:2")));
  EXPECT_NE(SourceKeyOf(Addr("192.0.2.1:1")), SourceKeyOf(Addr("192.0.2.2:1")));
  EXPECT_EQ(SourceKeyOf(Addr("192.0.2.1:1")), 0xffff'ffff'c000'0201ull);
}

TEST(SourceKeyTest, Ipv4MappedIpv6IsTheIpv4Source) {
  EXPECT_EQ(SourceKeyOf(Addr("[::ffff:192.0.2.1]:7")), SourceKeyOf(Addr("192.0.2.1:1")));
}

TEST(SourceKeyTest, Ipv6SourceIsTheSlash64) {
  EXPECT_EQ(SourceKeyOf(Addr("[2001:db8:1:2::1]:1")), SourceKeyOf(Addr("[2001:db8:1:2:ffff::9]:5")));
  EXPECT_NE(SourceKeyOf(Addr("[2001:db8:1:2::1]:1")), SourceKeyOf(Addr("[2001:db8:1:3::1]:1")));
  EXPECT_EQ(SourceKeyOf(Addr("[2001:db8:1:2::1]:1")), 0x2001'0db8'0001'0002ull);
}

TEST(SourceKeyTest, UdpPathHasTheSourceOfItsAddress) {
  EXPECT_EQ(SourceKeyOf(PeerPath::Udp(Addr("198.51.100.7:9"), 0)),
            SourceKeyOf(Addr("198.51.100.7:1")));
  EXPECT_EQ(SourceKeyOf(PeerPath::Udp(Addr("[2001:db8::7]:9"), 0)),
            SourceKeyOf(Addr("[2001:db8::8]:1")));
}

TEST(SourceBucketsTest, DisabledAdmitsEverything) {
  SourceBuckets b;
  EXPECT_FALSE(b.enabled());
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(b.Admit(1, 0));
}

TEST(SourceBucketsTest, BurstThenRate) {
  SourceBuckets b(100, 10);  // 100/s, 10 at once
  int admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += b.Admit(7, 1000);
  EXPECT_EQ(admitted, 10);
  // 50 ms later: 5 more tokens.
  admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += b.Admit(7, 1050);
  EXPECT_EQ(admitted, 5);
  // A long pause refills only up to the burst.
  admitted = 0;
  for (int i = 0; i < 50; ++i) admitted += b.Admit(7, 1'000'000);
  EXPECT_EQ(admitted, 10);
}

TEST(SourceBucketsTest, SourcesHaveBucketsOfTheirOwn) {
  SourceBuckets b(10, 10);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.Admit(1, 0));
  EXPECT_FALSE(b.Admit(1, 0));
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(b.Admit(2, 0)) << i;
  EXPECT_FALSE(b.Admit(2, 0));
}

TEST(SourceBucketsTest, ManySourcesNeverGetLessThanTheirShare) {
  // More sources than slots: a source evicted from its set comes back with a
  // full bucket, so each gets at least its burst.
  SourceBuckets b(5, 5, /*sets=*/16);
  for (uint64_t src = 0; src < 1000; ++src) {
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(b.Admit(src, 100)) << src;
  }
}

TEST(SourceBucketsTest, HugeRatesAndLongPausesDoNotOverflow) {
  SourceBuckets b(1'000'000'000, 0);
  EXPECT_TRUE(b.Admit(3, 0));
  EXPECT_TRUE(b.Admit(3, ~uint64_t{0} / 2));
  uint64_t admitted = 0;
  for (int i = 0; i < 1000; ++i) admitted += b.Admit(3, ~uint64_t{0} / 2);
  EXPECT_EQ(admitted, 1000u);
}

TEST(SourceCountsTest, CapsPerSourceAndForgetsEmptyOnes) {
  SourceCounts c;
  EXPECT_TRUE(c.Below(7, 2));
  c.Add(7);
  c.Add(7);
  EXPECT_FALSE(c.Below(7, 2));
  EXPECT_TRUE(c.Below(7, 0)) << "0 is no limit";
  EXPECT_TRUE(c.Below(8, 2)) << "another source";
  c.Remove(7);
  EXPECT_TRUE(c.Below(7, 2));
  c.Remove(7);
  c.Remove(7);  // none left: no underflow
  c.Add(7);
  EXPECT_TRUE(c.Below(7, 2));
}

}  // namespace
}  // namespace drasyl
