#include "dataplane/dpdk/dpdk_port_plan.h"

#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "dataplane/dpdk/dpdk_fragments.h"

namespace drasyl::dpdk {

absl::StatusOr<std::vector<TapPlan>> PlanTaps(
    const std::vector<PortCaps>& ports, const std::vector<DpdkAddress>& addresses,
    const std::string& tap_name, absl::FunctionRef<bool(const std::string&)> name_taken) {
  // Per ethernet port a TAP (the kernel's ARP and ND answers then name the
  // port's MAC), and per VLAN with addresses on that port a TAP of its own:
  // the kernel sees that VLAN's traffic untagged there (the workers pop and
  // push the tag), so it needs no 802.1Q support of its own.
  std::vector<TapPlan> taps;
  for (size_t i = 0; i < ports.size(); ++i) {
    if (ports[i].tap) taps.push_back({i, 0, "", {}, {}});
  }
  for (const DpdkAddress& a : addresses) {
    const auto port = std::find_if(ports.begin(), ports.end(),
                                   [&](const PortCaps& p) { return p.port_id == a.port; });
    if (port == ports.end()) {
      return absl::InvalidArgumentError(
          absl::StrFormat("--dpdk_addr %s/%d@port%d: there is no DPDK ethernet port %d",
                          a.addr.HostString(), a.prefix_len, a.port, a.port));
    }
    if (!port->tap) continue;  // the kernel has its addresses on its own interface
    const size_t eth_index = static_cast<size_t>(port - ports.begin());
    auto it = std::find_if(taps.begin(), taps.end(), [&](const TapPlan& t) {
      return t.eth_index == eth_index && t.vlan == a.vlan;
    });
    if (it == taps.end()) it = taps.insert(taps.end(), TapPlan{eth_index, a.vlan, "", {}, {}});
    it->addrs.push_back({a.addr.family(), a.addr.bytes(), a.prefix_len});
    it->text.push_back(absl::StrCat(a.addr.HostString(), "/", a.prefix_len));
  }
  auto name_of = [&](const TapPlan& t, int first) {
    std::string name = absl::StrCat(tap_name, first + static_cast<int>(t.eth_index));
    if (t.vlan != 0) absl::StrAppend(&name, ".", t.vlan);
    return name;
  };
  int first = 0;
  for (bool taken = true; taken;) {
    taken = false;
    for (size_t i = 0; i < taps.size() && !taken; ++i) taken = name_taken(name_of(taps[i], first));
    if (taken) ++first;
    if (first > 999) return absl::ResourceExhaustedError("no free TAP name " + tap_name + "<N>");
  }
  for (TapPlan& t : taps) {
    t.name = name_of(t, first);
    if (t.name.size() > 15) {
      return absl::InvalidArgumentError("TAP name too long (15 characters at most): " + t.name +
                                        "; choose a shorter --dpdk_tap");
    }
  }
  return taps;
}

absl::StatusOr<QueuePlan> PlanQueues(const std::vector<PortCaps>& ports,
                                     const std::vector<TapPlan>& taps,
                                     const std::vector<uint16_t>& tap_ports,
                                     uint16_t tap_max_queues, size_t worker_lcores,
                                     size_t af_packet_frame_size) {
  if (ports.empty()) return absl::InvalidArgumentError("no ethernet port to plan for");
  if (tap_ports.size() != taps.size()) return absl::InternalError("a TAP without port id");
  QueuePlan plan;
  // Workers: the EAL's worker lcores, as many as every port has TX queues
  // for (each worker transmits on its own queue of every port).
  size_t n_workers = std::max<size_t>(1, worker_lcores);
  size_t cap = n_workers;
  for (const PortCaps& p : ports) cap = std::min<size_t>(cap, p.max_tx_queues);
  if (!taps.empty()) cap = std::min<size_t>(cap, tap_max_queues);
  if (cap == 0) return absl::FailedPreconditionError("a DPDK port has no TX queue");
  if (cap < n_workers) {
    plan.warnings.push_back(absl::StrCat("DPDK: using ", cap, " of ", n_workers,
                                         " worker lcores (a port has only ", cap,
                                         " TX queue(s))"));
    n_workers = cap;
  }
  if (worker_lcores == 0) {
    plan.warnings.push_back(
        "DPDK: no worker lcore in the EAL core list (e.g. -l 0-1); running one worker on a "
        "registered thread");
  }
  plan.workers = n_workers;

  // RX queues: one per worker with RSS, else one per port. net_af_packet
  // spreads flows over its queue pairs in the kernel (PACKET_FANOUT_HASH)
  // and must have all of them polled. Each worker reassembles the IP
  // fragments its queues get, so those of one datagram must meet: RSS
  // hashes fragments (RTE_ETH_RSS_FRAG_IPV4/6, in RTE_ETH_RSS_IP) on their
  // addresses only, as the kernel's flow hash behind net_af_packet's fanout
  // does (and that fanout has the kernel reassemble IPv4 ones first).
  plan.ports.resize(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) {
    const uint64_t hf = ports[i].rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    const bool fanout = ports[i].driver == "net_af_packet";
    if ((hf != 0 || fanout) && ports[i].max_rx_queues > 1 && n_workers > 1) {
      plan.ports[i].rx_queues =
          static_cast<uint16_t>(std::min<size_t>(n_workers, ports[i].max_rx_queues));
      plan.ports[i].rss_hf = hf;
      plan.ports[i].kernel_fanout = hf == 0;
    }
    if (ports[i].every_rx_queue) {
      plan.ports[i].rx_queues = ports[i].max_rx_queues;
      plan.ports[i].tx_queues = ports[i].max_rx_queues;
      plan.ports[i].rss_hf = 0;
      plan.ports[i].kernel_fanout = false;
    }
  }

  // What each worker polls: one queue of every TAP (the kernel spreads
  // what it sends over them), and its share of the ports' RX queues, first.
  const uint32_t stride = static_cast<uint32_t>(n_workers + 1);
  plan.worker.resize(n_workers);
  for (size_t w = 0; w < n_workers; ++w) {
    WorkerPlan& wp = plan.worker[w];
    wp.drains_egress = w == 0;
    wp.first_fragment_id = static_cast<uint32_t>(w);
    wp.fragment_id_stride = stride;
    for (size_t t = 0; t < taps.size(); ++t) {
      wp.rx.push_back({tap_ports[t], static_cast<uint16_t>(w), true,
                       ports[taps[t].eth_index].port_id, taps[t].vlan});
    }
  }
  for (size_t i = 0; i < ports.size(); ++i) {
    uint16_t own_tap = kNoPort;
    for (size_t t = 0; t < taps.size(); ++t) {
      if (taps[t].eth_index == i && taps[t].vlan == 0) own_tap = tap_ports[t];
    }
    for (uint16_t q = 0; q < plan.ports[i].rx_queues; ++q) {
      std::vector<RxSource>& rx = plan.worker[(q + i) % n_workers].rx;
      rx.insert(rx.begin(), {ports[i].port_id, q, false, own_tap});
    }
  }
  plan.control_fragment_id = static_cast<uint32_t>(n_workers);
  plan.fragment_id_stride = stride;

  // Mbufs: every descriptor ring full, plus caches and bursts in flight.
  size_t mbufs = kEgressRingSize + (n_workers + 1) * (kMbufCache + 4 * kBurst);
  for (const PortQueues& pq : plan.ports) {
    mbufs += size_t{pq.rx_queues} * kRxDesc + std::max<size_t>(pq.tx_queues, n_workers) * kTxDesc;
  }
  for (size_t i = 0; i < ports.size(); ++i) {  // net_af_xdp fills each fill ring with 2048 more
    if (ports[i].every_rx_queue) mbufs += size_t{plan.ports[i].rx_queues} * 2 * kRxDesc;
  }
  mbufs += taps.size() * n_workers * 2 * size_t{kTapDesc};
  // What reassembly may hold (a fragment flood must not starve RX), and
  // one datagram's fragments in flight per sender.
  mbufs += n_workers * size_t{kFragmentMbufsPerWorker} + (n_workers + 1) * kMaxOutFragments;
  size_t pool_size = 1;
  while (pool_size < mbufs + 1) pool_size <<= 1;
  plan.mbufs = static_cast<unsigned>(pool_size - 1);
  // Room for a frame of the largest MTU (and two tags) in one mbuf, and
  // for a whole frame of net_af_packet's ring (framesz=: its RX needs it).
  size_t data_room =
      std::max<size_t>(RTE_MBUF_DEFAULT_BUF_SIZE, RTE_PKTMBUF_HEADROOM + af_packet_frame_size);
  for (const PortCaps& p : ports) {
    data_room = std::max<size_t>(
        data_room, RTE_PKTMBUF_HEADROOM + p.mtu + RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN);
  }
  plan.data_room = static_cast<uint16_t>(std::min<size_t>(data_room, 0xffff));
  // Two per worker (a datagram being handled, and slack) and a few for the
  // control thread; no cache (the control thread has none).
  size_t linear = 1;
  while (linear < 2 * n_workers + 8 + 1) linear <<= 1;
  plan.linear_mbufs = static_cast<unsigned>(linear - 1);
  return plan;
}

}  // namespace drasyl::dpdk
