// IP fragments on the DPDK path (dataplane/dpdk/dpdk_fragments.h) on real mbufs
// of a real mempool, without a device: what FragmentDatagram makes, that
// the per-worker reassembly puts it back together in any order, what
// ClassifyFragment takes, and that every drop is counted under its reason
// with no mbuf lost.
#include <gtest/gtest.h>

#ifdef DRASYL_HAVE_DPDK

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_fragments.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "tests/support/dpdk_node_frame.h"

namespace drasyl::dpdk {
namespace {

constexpr uint16_t kPort = 22527;
constexpr unsigned kPoolSize = 2047;

uint64_t Drops(const WorkerCounters& c, DropReason r) {
  return CounterGet(c.drops[static_cast<size_t>(r)]);
}

class DpdkFragmentsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto args = BuildEalArgs("-l 0 --no-pci --no-huge -m 128 --log-level=lib.eal:error "
                             "--log-level=lib.*:error",
                             HugepageInfo{});
    ASSERT_TRUE(args.ok());
    ASSERT_TRUE(InitEal(args->argv).ok());
    pool_ = CreateMbufPool("frag_test", kPoolSize, 0, SOCKET_ID_ANY);
    linear_ = CreateMbufPool("frag_linear", 7, 0, SOCKET_ID_ANY, kLinearMbufDataRoom);
    ASSERT_NE(pool_, nullptr);
    ASSERT_NE(linear_, nullptr);
  }

  void SetUp() override {
    cfg_.udp4_port_be = rte_cpu_to_be_16(kPort);
    cfg_.udp6_port_be = rte_cpu_to_be_16(kPort);
    cfg_.port_mac[0] = {{0x02, 0, 0, 0, 0, 0x01}};
    LocalAddress a4, a6;
    a4.family = 4;
    a4.ip = {10, 99, 0, 1};
    a6.family = 6;
    a6.ip = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    cfg_.AddAddress(a4);
    cfg_.AddAddress(a6);
  }

  void TearDown() override {
    // Nothing lost or leaked, whatever the test did.
    EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize);
    EXPECT_EQ(rte_mempool_avail_count(linear_), 7u);
  }

  // A UDP datagram of payload_len bytes from a node (10.99.0.2 / fd99::2,
  // port 4000) to our address and listener, in one linear mbuf.
  rte_mbuf* Datagram(bool v6, size_t payload_len) {
    PeerPath to_us;
    to_us.transport = Transport::kUdp;
    to_us.family = v6 ? 6 : 4;
    to_us.port = kPort;
    to_us.mac = {0x02, 0, 0, 0, 0, 0x01};
    to_us.ip = v6 ? cfg_.addrs[1].ip : cfg_.addrs[0].ip;
    to_us.local_addr = v6 ? 1 : 0;
    std::vector<uint8_t> payload(payload_len);
    for (size_t i = 0; i < payload_len; ++i) payload[i] = static_cast<uint8_t>(i * 7 + 1);
    rte_mbuf* m = rte_pktmbuf_alloc(linear_);
    EXPECT_TRUE(BuildFrame(m, to_us, cfg_, payload.data(), payload.size()));
    drasyl::testing::MakeFromNode(m, v6);
    return m;
  }

  std::vector<rte_mbuf*> Fragments(const rte_mbuf* m, uint16_t mtu, uint32_t id = 7) {
    rte_mbuf* out[kMaxOutFragments];
    DropReason why;
    const size_t n = FragmentDatagram(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_pkt_len(m),
                                      14, mtu, id, pool_, out, kMaxOutFragments, &why);
    return std::vector<rte_mbuf*>(out, out + n);
  }

  static void FreeAll(const std::vector<rte_mbuf*>& v) {
    for (rte_mbuf* m : v) rte_pktmbuf_free(m);
  }

  static inline rte_mempool* pool_ = nullptr;
  static inline rte_mempool* linear_ = nullptr;
  PacketConfig cfg_;
  WorkerCounters ctr_;
};

TEST_F(DpdkFragmentsTest, FragmentsFitTheMtuAsASendingHostMakesThem) {
  for (bool v6 : {false, true}) {
    for (uint16_t mtu : {1280, 1400, 1500}) {
      SCOPED_TRACE(::testing::Message() << (v6 ? "IPv6" : "IPv4") << " MTU " << mtu);
      rte_mbuf* whole = Datagram(v6, 4000);
      const std::vector<rte_mbuf*> f = Fragments(whole, mtu);
      const size_t hdr = v6 ? 48 : 20;
      const size_t data = 4008;  // UDP header and payload
      EXPECT_EQ(f.size(), (data + ((mtu - hdr) & ~7u) - 1) / ((mtu - hdr) & ~7u));
      size_t next = 0;
      for (size_t i = 0; i < f.size(); ++i) {
        const uint8_t* ip = rte_pktmbuf_mtod_offset(f[i], const uint8_t*, 14);
        EXPECT_LE(rte_pktmbuf_pkt_len(f[i]) - 14, mtu);
        const bool last = i + 1 == f.size();
        if (v6) {
          EXPECT_EQ(ip[6], 44);
          EXPECT_EQ(ip[40], 17);
          const uint16_t fo = static_cast<uint16_t>(ip[42] << 8 | ip[43]);
          EXPECT_EQ(fo & 0xfff8, next);
          EXPECT_EQ(fo & 1, last ? 0 : 1);
          EXPECT_EQ(ip[47], 7);  // identification
          next += (ip[4] << 8 | ip[5]) - 8;
        } else {
          const uint16_t frag = static_cast<uint16_t>(ip[6] << 8 | ip[7]);
          EXPECT_EQ(frag & 0x4000, 0) << "DF must be clear";
          EXPECT_EQ((frag & 0x1fff) * 8u, next);
          EXPECT_EQ((frag & 0x2000) != 0, !last);
          EXPECT_EQ(ip[5], 7);  // ID
          EXPECT_EQ(csum::Fold(csum::SumWords(ip, 20)), 0xffff) << "header checksum";
          next += (ip[2] << 8 | ip[3]) - 20;
        }
      }
      EXPECT_EQ(next, data);
      FreeAll(f);
      rte_pktmbuf_free(whole);
    }
  }
}

TEST_F(DpdkFragmentsTest, ReassemblesInAnyOrderIntoTheDatagramThatWasCut) {
  auto reassembly = Reassembler::Create(SOCKET_ID_ANY);
  ASSERT_NE(reassembly, nullptr);
  for (bool v6 : {false, true}) {
    for (bool reverse : {false, true}) {
      SCOPED_TRACE(::testing::Message() << (v6 ? "IPv6" : "IPv4") << (reverse ? " reversed" : ""));
      rte_mbuf* whole = Datagram(v6, 3000);
      std::vector<rte_mbuf*> f = Fragments(whole, 1280);
      ASSERT_EQ(f.size(), 3u);
      if (reverse) std::reverse(f.begin(), f.end());
      rte_mbuf* done = nullptr;
      for (size_t i = 0; i < f.size(); ++i) {
        ASSERT_EQ(ClassifyFragment(f[i], cfg_, 0), FragmentKind::kFragment);
        done = reassembly->Add(f[i], 1000, ctr_);
        EXPECT_EQ(done != nullptr, i + 1 == f.size());
      }
      ASSERT_NE(done, nullptr);
      DropReason why;
      rte_mbuf* flat = Linearize(done, linear_, &why);
      ASSERT_NE(flat, nullptr);
      ASSERT_EQ(rte_pktmbuf_pkt_len(flat), rte_pktmbuf_pkt_len(whole));
      const size_t from = 14 + (v6 ? 8 : 12);  // the addresses on
      EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(flat, uint8_t*) + from,
                            rte_pktmbuf_mtod(whole, uint8_t*) + from,
                            rte_pktmbuf_pkt_len(flat) - from),
                0);
      ParsedFrame parsed;
      ASSERT_EQ(ParseFrame(flat, cfg_, 0, &parsed, &why), FrameClass::kOurs);
      EXPECT_EQ(parsed.payload_len, 3000);
      // Checksums (the IPv4 header's computed anew) verify.
      EXPECT_EQ(SourcePath(flat, parsed, 0).transport, Transport::kUdp);
      rte_pktmbuf_free(flat);
      rte_pktmbuf_free(whole);
    }
  }
  EXPECT_EQ(ctr_.drops_total(), 0u);
}

TEST_F(DpdkFragmentsTest, ClassifiesWhatItReassemblesAndWhatIsMalformed) {
  rte_mbuf* whole = Datagram(false, 2000);
  EXPECT_EQ(ClassifyFragment(whole, cfg_, 0), FragmentKind::kNone) << "not a fragment";
  std::vector<rte_mbuf*> f = Fragments(whole, 1500);
  ASSERT_EQ(f.size(), 2u);
  uint8_t* ip = rte_pktmbuf_mtod_offset(f[0], uint8_t*, 14);
  EXPECT_EQ(ClassifyFragment(f[0], cfg_, 0), FragmentKind::kFragment);
  ip[11] ^= 1;  // header checksum
  EXPECT_EQ(ClassifyFragment(f[0], cfg_, 0), FragmentKind::kBad);
  ip[11] ^= 1;
  ip[19] = 9;  // to someone else: the kernel's
  ip[10] = ip[11] = 0;
  uint16_t hck = rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip));
  std::memcpy(ip + 10, &hck, 2);
  EXPECT_EQ(ClassifyFragment(f[0], cfg_, 0), FragmentKind::kNone);
  // More fragments follow, yet not a multiple of 8 bytes.
  rte_pktmbuf_trim(f[0], 3);
  ip[19] = 1;
  ip[2] = static_cast<uint8_t>((rte_pktmbuf_pkt_len(f[0]) - 14) >> 8);
  ip[3] = static_cast<uint8_t>(rte_pktmbuf_pkt_len(f[0]) - 14);
  ip[10] = ip[11] = 0;
  hck = rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip));
  std::memcpy(ip + 10, &hck, 2);
  EXPECT_EQ(ClassifyFragment(f[0], cfg_, 0), FragmentKind::kBad);
  // Cut short of what its header says: a truncated frame, if dropped.
  EXPECT_EQ(RefineDropReason(f[1], cfg_, 0, DropReason::kMalformedFrame),
            DropReason::kMalformedFrame);
  rte_pktmbuf_trim(f[1], 10);
  EXPECT_EQ(ClassifyFragment(f[1], cfg_, 0), FragmentKind::kBad);
  EXPECT_EQ(RefineDropReason(f[1], cfg_, 0, DropReason::kMalformedFrame),
            DropReason::kTruncatedFrame);
  EXPECT_EQ(RefineDropReason(f[1], cfg_, 0, DropReason::kBadSource), DropReason::kBadSource);
  FreeAll(f);
  rte_pktmbuf_free(whole);

  // IPv6: an atomic fragment is the datagram without its fragment header.
  whole = Datagram(true, 500);
  f = Fragments(whole, 1500);
  ASSERT_EQ(f.size(), 1u);  // fits: a copy
  rte_mbuf* atomic = rte_pktmbuf_alloc(pool_);
  uint8_t* a = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(atomic, 14 + 40 + 8 + 508));
  const uint8_t* w = rte_pktmbuf_mtod(whole, const uint8_t*);
  std::memcpy(a, w, 54);
  std::memcpy(a + 62, w + 54, 508);
  a[14 + 6] = 44;
  a[14 + 4] = static_cast<uint8_t>((8 + 508) >> 8), a[14 + 5] = static_cast<uint8_t>(8 + 508);
  const uint8_t fh[8] = {17, 0, 0, 0, 0, 0, 0, 9};
  std::memcpy(a + 54, fh, 8);
  ASSERT_EQ(ClassifyFragment(atomic, cfg_, 0), FragmentKind::kAtomic);
  StripAtomicFragmentHeader(atomic);
  ASSERT_EQ(rte_pktmbuf_pkt_len(atomic), rte_pktmbuf_pkt_len(whole));
  EXPECT_EQ(std::memcmp(rte_pktmbuf_mtod(atomic, uint8_t*), w, rte_pktmbuf_pkt_len(whole)), 0);
  rte_pktmbuf_free(atomic);
  FreeAll(f);
  rte_pktmbuf_free(whole);
}

TEST_F(DpdkFragmentsTest, CountsEveryDropByReason) {
  auto reassembly = Reassembler::Create(SOCKET_ID_ANY, /*entries=*/4, /*timeout_ms=*/100);
  ASSERT_NE(reassembly, nullptr);
  const uint64_t ms = rte_get_tsc_hz() / 1000 + 1;
  // Five incomplete datagrams (first fragments, IDs 1-5): the fifth finds
  // the table full.
  rte_mbuf* whole = Datagram(false, 2000);
  for (uint32_t id = 1; id <= 5; ++id) {
    std::vector<rte_mbuf*> f = Fragments(whole, 1500, id);
    rte_pktmbuf_free(f[1]);
    ASSERT_EQ(ClassifyFragment(f[0], cfg_, 0), FragmentKind::kFragment);
    EXPECT_EQ(reassembly->Add(f[0], 10 * ms, ctr_), nullptr);
  }
  EXPECT_EQ(Drops(ctr_, DropReason::kFragmentTableFull), 1u);
  // Their time runs out: the four held fragments.
  reassembly->Expire(200 * ms, ctr_);
  EXPECT_EQ(Drops(ctr_, DropReason::kFragmentTimeout), 4u);
  // Overlapping fragments of one datagram: the first fragment twice: both
  // dropped (the last, after, starts anew).
  std::vector<rte_mbuf*> f = Fragments(whole, 1500, 9);
  std::vector<rte_mbuf*> again = Fragments(whole, 1500, 9);
  rte_pktmbuf_free(again[1]);
  for (rte_mbuf* m : {f[0], again[0], f[1]}) {
    ASSERT_EQ(ClassifyFragment(m, cfg_, 0), FragmentKind::kFragment);
    EXPECT_EQ(reassembly->Add(m, 300 * ms, ctr_), nullptr);
  }
  EXPECT_EQ(Drops(ctr_, DropReason::kBadFragmentSet), 2u);
  reassembly->FreeDropped();
  // More fragments than the table keeps of one datagram.
  rte_mbuf* big = Datagram(false, 12000);
  f = Fragments(big, 1280, 11);
  ASSERT_GT(f.size(), kMaxFragmentsPerDatagram);
  for (rte_mbuf* m : f) {
    ASSERT_EQ(ClassifyFragment(m, cfg_, 0), FragmentKind::kFragment);
    EXPECT_EQ(reassembly->Add(m, 400 * ms, ctr_), nullptr);
  }
  EXPECT_GE(Drops(ctr_, DropReason::kBadFragmentSet), 2u + kMaxFragmentsPerDatagram);
  reassembly.reset();  // frees what it still holds
  rte_pktmbuf_free(big);
  rte_pktmbuf_free(whole);
}

TEST_F(DpdkFragmentsTest, WhatCannotBeSentIsSaidAndNothingLeaks) {
  rte_mbuf* big = Datagram(true, 12000);
  rte_mbuf* out[4];
  DropReason why = DropReason::kCount;
  EXPECT_EQ(FragmentDatagram(rte_pktmbuf_mtod(big, const uint8_t*), rte_pktmbuf_pkt_len(big), 14,
                             1280, 1, pool_, out, 4, &why),
            0u);
  EXPECT_EQ(why, DropReason::kTooBigToFragment);
  rte_pktmbuf_free(big);
}

}  // namespace
}  // namespace drasyl::dpdk

#endif  // DRASYL_HAVE_DPDK
