// The DPDK backend's port plan (dataplane/dpdk/dpdk_port_plan.h): TAP names
// and addresses, workers, RX queues and RSS, what each worker polls, mbufs.
#include "dataplane/dpdk/dpdk_port_plan.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include <set>
#include <string>
#include <vector>

#include "config/dpdk_addr.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace drasyl::dpdk {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

PortCaps Port(uint16_t id, const std::string& driver, uint16_t queues, uint64_t rss = 0,
              uint16_t mtu = 1500) {
  PortCaps p;
  p.port_id = id;
  p.driver = driver;
  p.max_rx_queues = queues;
  p.max_tx_queues = queues;
  p.rss_offloads = rss;
  p.mtu = mtu;
  return p;
}

DpdkAddress Addr(const std::string& entry) {
  absl::StatusOr<DpdkAddress> a = ::drasyl::ParseDpdkAddress(entry);
  EXPECT_TRUE(a.ok()) << entry << ": " << a.status();
  return a.ok() ? *a : DpdkAddress{};
}

bool NoneTaken(const std::string&) { return false; }

std::vector<std::string> Names(const std::vector<TapPlan>& taps) {
  std::vector<std::string> out;
  for (const TapPlan& t : taps) out.push_back(t.name);
  return out;
}

TEST(DpdkPortPlanTest, OneTapPerPortThenOnePerVlanWithItsAddresses) {
  const std::vector<PortCaps> ports = {Port(0, "net_af_packet", 4), Port(1, "net_memif", 1)};
  absl::StatusOr<std::vector<TapPlan>> taps =
      PlanTaps(ports,
               {Addr("10.0.0.1/24"), Addr("10.7.0.1/24@vlan7"), Addr("fd00::1/64@port1"),
                Addr("10.7.1.1/24@port1@vlan7"), Addr("10.7.0.2/24@vlan7")},
               "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok()) << taps.status();
  EXPECT_THAT(Names(*taps), ElementsAre("drasyl0", "drasyl1", "drasyl0.7", "drasyl1.7"));
  EXPECT_EQ((*taps)[0].eth_index, 0u);
  EXPECT_EQ((*taps)[0].vlan, 0);
  EXPECT_THAT((*taps)[0].text, ElementsAre("10.0.0.1/24"));
  EXPECT_THAT((*taps)[1].text, ElementsAre("fd00::1/64"));
  EXPECT_EQ((*taps)[1].addrs[0].family, AF_INET6);
  EXPECT_EQ((*taps)[2].eth_index, 0u);
  EXPECT_EQ((*taps)[2].vlan, 7);
  EXPECT_THAT((*taps)[2].text, ElementsAre("10.7.0.1/24", "10.7.0.2/24"));
  EXPECT_EQ((*taps)[3].eth_index, 1u);
  EXPECT_THAT((*taps)[3].text, ElementsAre("10.7.1.1/24"));
}

TEST(DpdkPortPlanTest, TapNamesSkipToTheFirstFreeSet) {
  const std::vector<PortCaps> ports = {Port(0, "net_tap", 1), Port(1, "net_tap", 1)};
  // drasyl1 is taken (another super peer's): k = 1 gives drasyl1 again, so
  // k = 2: drasyl2, drasyl3, drasyl2.5.
  const std::set<std::string> taken = {"drasyl1"};
  absl::StatusOr<std::vector<TapPlan>> taps =
      PlanTaps(ports, {Addr("10.0.0.1/24@vlan5")}, "drasyl",
               [&](const std::string& n) { return taken.count(n) > 0; });
  ASSERT_TRUE(taps.ok()) << taps.status();
  EXPECT_THAT(Names(*taps), ElementsAre("drasyl2", "drasyl3", "drasyl2.5"));
}

TEST(DpdkPortPlanTest, TapNameErrors) {
  const std::vector<PortCaps> ports = {Port(0, "net_tap", 1)};
  absl::StatusOr<std::vector<TapPlan>> taps =
      PlanTaps(ports, {Addr("10.0.0.1/24@vlan4000")}, "drasylsuper", NoneTaken);
  ASSERT_FALSE(taps.ok());
  EXPECT_THAT(std::string(taps.status().message()), HasSubstr("drasylsuper0.4000"));

  taps = PlanTaps(ports, {}, "d", [](const std::string&) { return true; });
  ASSERT_FALSE(taps.ok());
  EXPECT_EQ(taps.status().code(), absl::StatusCode::kResourceExhausted);

  taps = PlanTaps(ports, {Addr("10.0.0.1/24@port3")}, "drasyl", NoneTaken);
  ASSERT_FALSE(taps.ok());
  EXPECT_THAT(std::string(taps.status().message()), HasSubstr("no DPDK ethernet port 3"));
}

TEST(DpdkPortPlanTest, KernelFanoutQueuesPerWorkerEachPollsItsShareAndOneQueuePerTap) {
  const std::vector<PortCaps> ports = {Port(0, "net_af_packet", 8)};
  absl::StatusOr<std::vector<TapPlan>> taps = PlanTaps(ports, {}, "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok());
  absl::StatusOr<QueuePlan> plan = PlanQueues(ports, *taps, {5}, 16, 2, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->workers, 2u);
  EXPECT_TRUE(plan->warnings.empty());
  ASSERT_EQ(plan->ports.size(), 1u);
  EXPECT_EQ(plan->ports[0].rx_queues, 2);
  EXPECT_EQ(plan->ports[0].rss_hf, 0u);
  EXPECT_TRUE(plan->ports[0].kernel_fanout);
  ASSERT_EQ(plan->worker.size(), 2u);
  for (uint16_t w = 0; w < 2; ++w) {
    const WorkerPlan& wp = plan->worker[w];
    ASSERT_EQ(wp.rx.size(), 2u);
    // Its queue of the ethernet port first, exceptions to TAP port 5...
    EXPECT_EQ(wp.rx[0].port, 0);
    EXPECT_EQ(wp.rx[0].queue, w);
    EXPECT_FALSE(wp.rx[0].tap);
    EXPECT_EQ(wp.rx[0].peer, 5);
    // ...then its queue of the TAP, out on port 0.
    EXPECT_EQ(wp.rx[1].port, 5);
    EXPECT_EQ(wp.rx[1].queue, w);
    EXPECT_TRUE(wp.rx[1].tap);
    EXPECT_EQ(wp.rx[1].peer, 0);
    EXPECT_EQ(wp.drains_egress, w == 0);
    EXPECT_EQ(wp.first_fragment_id, w);
    EXPECT_EQ(wp.fragment_id_stride, 3u);
  }
  EXPECT_EQ(plan->control_fragment_id, 2u);
  EXPECT_EQ(plan->fragment_id_stride, 3u);
}

TEST(DpdkPortPlanTest, RssWhereThePortHasItElseOneQueueSpreadOverWorkers) {
  const uint64_t rss = RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP | RTE_ETH_RSS_L2_PAYLOAD;
  std::vector<PortCaps> ports = {Port(0, "net_ice", 64, rss), Port(1, "net_memif", 1),
                                 Port(2, "net_memif", 1)};
  ports[1].max_tx_queues = ports[2].max_tx_queues = 4;  // one RX queue, no RSS
  absl::StatusOr<std::vector<TapPlan>> taps =
      PlanTaps(ports, {Addr("10.0.0.1/24@port1@vlan9")}, "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok());
  ASSERT_EQ(taps->size(), 4u);
  absl::StatusOr<QueuePlan> plan = PlanQueues(ports, *taps, {10, 11, 12, 13}, 16, 3, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->workers, 3u);
  EXPECT_EQ(plan->ports[0].rx_queues, 3);
  EXPECT_EQ(plan->ports[0].rss_hf, RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
  EXPECT_FALSE(plan->ports[0].kernel_fanout);
  EXPECT_EQ(plan->ports[1].rx_queues, 1);
  EXPECT_EQ(plan->ports[1].rss_hf, 0u);
  // Port i's queue q goes to worker (q + i) % 3: port 1's only queue to
  // worker 1, port 2's to worker 2.
  auto eth_sources = [&](size_t w) {
    std::vector<std::pair<uint16_t, uint16_t>> out;
    for (const RxSource& s : plan->worker[w].rx) {
      if (!s.tap) out.push_back({s.port, s.queue});
    }
    return out;
  };
  EXPECT_THAT(eth_sources(0), ElementsAre(std::pair<uint16_t, uint16_t>{0, 0}));
  EXPECT_THAT(eth_sources(1), ElementsAre(std::pair<uint16_t, uint16_t>{1, 0},
                                          std::pair<uint16_t, uint16_t>{0, 1}));
  EXPECT_THAT(eth_sources(2), ElementsAre(std::pair<uint16_t, uint16_t>{2, 0},
                                          std::pair<uint16_t, uint16_t>{0, 2}));
  // Every worker polls every TAP; the VLAN TAP's frames go out on port 1
  // tagged with 9, port 1's exceptions to its own TAP (11).
  for (const WorkerPlan& wp : plan->worker) {
    size_t n_taps = 0;
    for (const RxSource& s : wp.rx) {
      if (s.tap) ++n_taps;
      if (s.tap && s.port == 13) {
        EXPECT_EQ(s.peer, 1);
        EXPECT_EQ(s.vlan, 9);
      }
      if (!s.tap && s.port == 1) {
        EXPECT_EQ(s.peer, 11);
      }
    }
    EXPECT_EQ(n_taps, 4u);
  }
}

TEST(DpdkPortPlanTest, WorkersCappedByQueues) {
  std::vector<PortCaps> ports = {Port(0, "net_af_packet", 2)};
  absl::StatusOr<std::vector<TapPlan>> taps = PlanTaps(ports, {}, "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok());
  absl::StatusOr<QueuePlan> plan = PlanQueues(ports, *taps, {1}, 16, 4, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->workers, 2u);
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_THAT(plan->warnings[0], HasSubstr("using 2 of 4 worker lcores"));
  // The TAPs' queues cap too.
  plan = PlanQueues(ports, *taps, {1}, 1, 4, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->workers, 1u);
  EXPECT_EQ(plan->ports[0].rx_queues, 1);  // one worker: no fanout
  // No worker lcore: one worker on a thread, said so.
  plan = PlanQueues(ports, *taps, {1}, 16, 0, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->workers, 1u);
  ASSERT_EQ(plan->warnings.size(), 1u);
  EXPECT_THAT(plan->warnings[0], HasSubstr("no worker lcore"));
  // A port without TX queues cannot be used.
  ports[0].max_tx_queues = 0;
  plan = PlanQueues(ports, *taps, {1}, 16, 2, 0);
  ASSERT_FALSE(plan.ok());
  EXPECT_EQ(plan.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST(DpdkPortPlanTest, MbufsCoverEveryRingAndTheLargestFrame) {
  std::vector<PortCaps> ports = {Port(0, "net_af_packet", 4, 0, 9000), Port(1, "net_memif", 1)};
  ports[1].max_tx_queues = 4;
  absl::StatusOr<std::vector<TapPlan>> taps =
      PlanTaps(ports, {Addr("10.0.0.1/24@vlan3")}, "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok());
  absl::StatusOr<QueuePlan> plan = PlanQueues(ports, *taps, {2, 3, 4}, 16, 4, 2048);
  ASSERT_TRUE(plan.ok());
  const size_t w = plan->workers;
  ASSERT_EQ(w, 4u);
  size_t rings = size_t{kEgressRingSize} + taps->size() * w * 2 * kTapDesc;
  for (const PortQueues& pq : plan->ports) rings += size_t{pq.rx_queues} * kRxDesc + w * kTxDesc;
  EXPECT_GT(plan->mbufs, rings);
  EXPECT_EQ((plan->mbufs + 1) & plan->mbufs, 0u) << "2^k - 1";
  EXPECT_EQ(plan->data_room, RTE_PKTMBUF_HEADROOM + 9000 + 14 + 8);
  EXPECT_EQ((plan->linear_mbufs + 1) & plan->linear_mbufs, 0u);
  EXPECT_GE(plan->linear_mbufs, 2 * w + 8);
  // net_af_packet's ring frame larger than any MTU: the data room holds it.
  plan = PlanQueues({Port(0, "net_af_packet", 1)}, {}, {}, 16, 1, 16384);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->data_room, RTE_PKTMBUF_HEADROOM + 16384);
  // Never beyond what an mbuf's data room can say.
  plan = PlanQueues({Port(0, "net_af_packet", 1, 0, 0xffff)}, {}, {}, 16, 1, 0);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->data_room, 0xffff);
}

// A port whose link the kernel keeps (no TAP of ours): no TAP, its
// addresses on no TAP, its exceptions have no peer, and no TAP caps the
// workers.
TEST(DpdkPortPlanTest, PortWithoutTap) {
  std::vector<PortCaps> ports = {Port(0, "net_af_xdp", 2), Port(1, "net_af_packet", 2)};
  ports[0].tap = false;
  absl::StatusOr<std::vector<TapPlan>> taps =
      PlanTaps(ports, {Addr("10.0.0.1/24"), Addr("10.1.0.1/24@port1")}, "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok());
  ASSERT_EQ(taps->size(), 1u);
  EXPECT_EQ((*taps)[0].name, "drasyl1");
  EXPECT_EQ((*taps)[0].eth_index, 1u);
  EXPECT_THAT((*taps)[0].text, ElementsAre("10.1.0.1/24"));
  absl::StatusOr<QueuePlan> plan = PlanQueues(ports, *taps, {7}, 16, 2, 0);
  ASSERT_TRUE(plan.ok());
  for (const WorkerPlan& wp : plan->worker) {
    for (const RxSource& s : wp.rx) {
      if (!s.tap && s.port == 0) {
        EXPECT_EQ(s.peer, kNoPort);
      }
      if (!s.tap && s.port == 1) {
        EXPECT_EQ(s.peer, 7);
      }
    }
  }
  ports.pop_back();
  taps = PlanTaps(ports, {Addr("10.0.0.1/24")}, "drasyl", NoneTaken);
  ASSERT_TRUE(taps.ok());
  EXPECT_TRUE(taps->empty());
  plan = PlanQueues(ports, *taps, {}, 0, 2, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->workers, 2u);
}

// --af_xdp: every RX queue has a socket (what our XDP program sends to a
// queue without one would reach nobody), each with its TX queue; fewer
// workers poll several; the fill rings' mbufs are in the pool.
TEST(DpdkPortPlanTest, EveryRxQueuePolledWithPairedTxQueues) {
  std::vector<PortCaps> ports = {Port(0, "net_af_xdp", 4)};
  ports[0].tap = false;
  ports[0].every_rx_queue = true;
  absl::StatusOr<QueuePlan> plan = PlanQueues(ports, {}, {}, 0, 2, 0);
  ASSERT_TRUE(plan.ok()) << plan.status();
  EXPECT_EQ(plan->workers, 2u);
  EXPECT_EQ(plan->ports[0].rx_queues, 4);
  EXPECT_EQ(plan->ports[0].tx_queues, 4);
  EXPECT_EQ(plan->ports[0].rss_hf, 0u);
  std::vector<int> polled(4, 0);
  for (const WorkerPlan& wp : plan->worker) {
    EXPECT_EQ(wp.rx.size(), 2u);
    for (const RxSource& s : wp.rx) {
      EXPECT_EQ(s.peer, kNoPort);
      ++polled[s.queue];
    }
  }
  EXPECT_THAT(polled, ElementsAre(1, 1, 1, 1));
  ports[0].every_rx_queue = false;
  absl::StatusOr<QueuePlan> without = PlanQueues(ports, {}, {}, 0, 2, 0);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->ports[0].rx_queues, 1);
  EXPECT_EQ(without->ports[0].tx_queues, 0);
  EXPECT_GT(plan->mbufs, without->mbufs + 4 * 2 * kRxDesc - 1);
}

}  // namespace
}  // namespace drasyl::dpdk
