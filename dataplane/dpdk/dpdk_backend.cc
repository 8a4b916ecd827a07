#include "dataplane/dpdk/dpdk_backend.h"

#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_pause.h>
#include <rte_prefetch.h>
#include <rte_ring.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/clock.h"
#include "dataplane/dpdk/dpdk_af_xdp.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_fragments.h"
#include "dataplane/dpdk/dpdk_packet.h"
#include "dataplane/dpdk/dpdk_tap.h"
#include "glog/logging.h"

namespace drasyl {

using dpdk::FrameClass;
using dpdk::kMaxPorts;
using dpdk::PacketConfig;
using dpdk::ParsedFrame;

namespace {

constexpr uint16_t kBurst = 32;
constexpr uint16_t kRxDesc = 1024;
constexpr uint16_t kTxDesc = 1024;
constexpr uint16_t kTapDesc = 512;
constexpr unsigned kMbufCache = 256;
constexpr unsigned kEgressRingSize = 1024;
// Empty polling rounds before a worker starts to nap (idle_sleep_us), and
// its first nap; naps then double up to idle_sleep_us.
constexpr uint32_t kIdleRoundsBeforeSleep = 1024;
constexpr uint32_t kFirstNapUs = 8;
// Under full load, a worker polls its TAP queues every this many rounds.
constexpr uint32_t kTapPollEvery = 16;
// Frames with wrong checksums logged per port (then only counted), and the
// notes a worker keeps for the log at most.
constexpr uint8_t kChecksumLogsPerPort = 5;
constexpr uint32_t kChecksumNoteSlots = 64;

// Where a worker polls: an RX queue of an ethernet port (its exceptions go
// to `peer`, the port's TAP, or to the TAP of their VLAN) or of a TAP (its
// frames go out on `peer`, the ethernet port, tagged with `vlan` if not 0).
struct RxSource {
  uint16_t port;
  uint16_t queue;
  bool tap;
  uint16_t peer;
  uint16_t vlan = 0;
};

constexpr uint16_t kNoPort = 0xffff;

}  // namespace

struct DpdkBackend::Worker {
  std::unique_ptr<WorkerCore> core;
  unsigned lcore = LCORE_ID_ANY;  // LCORE_ID_ANY: runs on a registered std::thread
  uint16_t txq = 0;               // its TX queue on every port
  std::vector<RxSource> rx;
  bool drains_egress = false;     // transmits the control thread's frames
  std::unique_ptr<dpdk::Reassembler> reassembly;
  // IPv4 / IPv6 identification of the datagrams it fragments: its own
  // residue class, so that no two workers (or the control thread) reuse
  // one at the same time.
  uint32_t next_fragment_id = 0;
  uint32_t fragment_id_stride = 1;
  uint32_t NextFragmentId() { return next_fragment_id += fragment_id_stride; }
  bool launched = false;
  std::thread thread;
  // Frames to the super peer itself whose checksums were wrong, noted for
  // Housekeeping to log (a worker never logs): the first
  // kChecksumLogsPerPort per port while the slots last. The worker fills
  // a slot, then publishes it (release); Housekeeping reads up to there.
  struct ChecksumNote {
    uint16_t port;
    dpdk::ChecksumFault fault;
    PeerPath from;
  };
  std::array<ChecksumNote, kChecksumNoteSlots> checksum_notes;
  std::atomic<uint32_t> checksum_notes_published{0};
  uint8_t checksum_notes_per_port[kMaxPorts] = {};  // the worker's
  uint32_t checksum_notes_read = 0;                 // Housekeeping's
};

struct DpdkBackend::Impl {
  PacketConfig pcfg;
  rte_mempool* pool = nullptr;
  // Mbufs of kLinearMbufDataRoom for reassembled datagrams and the control
  // thread's oversized frames, while they are handled.
  rte_mempool* linear_pool = nullptr;
  // Per ethernet port id: its MTU (IP bytes of a frame; --dpdk_mtu or the
  // port's), and the longest untagged frame that fits it.
  uint16_t mtu[kMaxPorts] = {};
  uint32_t max_untagged_frame[kMaxPorts] = {};
  uint32_t control_fragment_id = 0;  // the control thread's, as Worker's
  uint32_t fragment_id_stride = 1;
  rte_ring* egress = nullptr;  // control thread -> worker 0 (mbuf->port = destination)
  std::vector<uint16_t> eth_ports;
  // Every TAP: first eth_ports[i]'s own (index i), then those of the VLANs.
  struct Tap {
    uint16_t port;  // its port id
    uint16_t eth;   // the ethernet port whose link it stands for
    uint16_t vlan;  // 0: the port's untagged traffic
    std::string name;
    unsigned ifindex = 0;  // the kernel's, to notice a deletion or a rename
  };
  std::vector<Tap> taps;
  // Per ethernet port id: (VLAN id, TAP port id) of its VLANs. Read by the
  // workers on the exception path only.
  std::vector<std::pair<uint16_t, uint16_t>> vlan_taps[kMaxPorts];
  std::vector<uint16_t> configured;  // ports to stop and close
  bool is_eth[kMaxPorts] = {};
  int idle_sleep_us = 0;
  uint8_t checksum_logged[kMaxPorts] = {};  // Housekeeping's, per port
  const std::atomic<bool>* stop = nullptr;
  std::atomic<bool> accepting{false};  // SendFromControl allowed
  std::unique_ptr<dpdk::AfXdpPorts> af_xdp;  // --af_xdp
};

namespace {

using Impl = DpdkBackend::Impl;
using Worker = DpdkBackend::Worker;

// Transmits f frames, each to its port, on queue txq; frees what did not go.
// Counts them as transmitted, or (to_kernel) as handed to the kernel.
void TransmitGrouped(rte_mbuf** pkts, uint16_t* ports, size_t f, uint16_t txq,
                     WorkerCounters& ctr, bool to_kernel = false) {
  rte_mbuf* batch[kBurst];
  uint64_t sent_total = 0, bytes_total = 0;
  while (f > 0) {
    const uint16_t port = ports[0];
    size_t b = 0, rest = 0;
    uint64_t bytes = 0;
    for (size_t i = 0; i < f; ++i) {
      if (ports[i] == port) {
        batch[b++] = pkts[i];
        bytes += rte_pktmbuf_pkt_len(pkts[i]);
      } else {
        pkts[rest] = pkts[i];
        ports[rest++] = ports[i];
      }
    }
    f = rest;
    const uint16_t sent = rte_eth_tx_burst(port, txq, batch, static_cast<uint16_t>(b));
    for (size_t i = sent; i < b; ++i) {
      bytes -= rte_pktmbuf_pkt_len(batch[i]);
      rte_pktmbuf_free(batch[i]);
    }
    if (sent < b) ctr.Drop(DropReason::kTxFailed, b - sent);
    sent_total += sent;
    bytes_total += bytes;
  }
  if (to_kernel) {
    CounterAdd(ctr.to_kernel, sent_total);
    return;
  }
  CounterAdd(ctr.tx_packets, sent_total);
  CounterAdd(ctr.tx_bytes, bytes_total);
}

inline void ClearOffloadFlags(rte_mbuf* m) {
  m->ol_flags &= (RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL);
}

// Frames from ethernet port src.port for the kernel: to the port's TAP, or,
// tag popped, to their VLAN's TAP; what the kernel cannot have (unknown
// VLANs, stacked tags) is dropped and counted.
void ToKernel(const Impl& im, Worker& w, const RxSource& src, rte_mbuf** exc, size_t e) {
  WorkerCounters& ctr = w.core->counters();
  if (src.peer == kNoPort) {  // --af_xdp: no TAP (our XDP program passed the kernel's)
    ctr.Drop(DropReason::kNoKernelPath, e);
    for (size_t i = 0; i < e; ++i) rte_pktmbuf_free(exc[i]);
    return;
  }
  const std::vector<std::pair<uint16_t, uint16_t>>& vlans = im.vlan_taps[src.port];
  uint16_t taps[kBurst];
  size_t n = 0;
  for (size_t i = 0; i < e; ++i) {
    rte_mbuf* m = exc[i];
    DropReason why;
    const int vid = dpdk::PopVlanForKernel(m, im.pcfg, src.port, &why);
    uint16_t tap = vid == 0 ? src.peer : kNoPort;
    for (size_t v = 0; vid > 0 && v < vlans.size(); ++v) {
      if (vlans[v].first == vid) tap = vlans[v].second;
    }
    if (tap == kNoPort) {
      ctr.Drop(vid < 0 ? why : DropReason::kUnknownVlan);
      rte_pktmbuf_free(m);
      continue;
    }
    ClearOffloadFlags(m);
    exc[n] = m;
    taps[n++] = tap;
  }
  TransmitGrouped(exc, taps, n, w.txq, ctr, /*to_kernel=*/true);
}

// Notes a frame to the super peer itself whose checksums are wrong (see
// Worker::checksum_notes); off the hot path, and cheap after the first few.
[[gnu::noinline, gnu::cold]] void NoteBadChecksum(Worker& w, uint16_t port, const rte_mbuf* m,
                                                  const ParsedFrame& f) {
  const uint32_t n = w.checksum_notes_published.load(std::memory_order_relaxed);
  if (w.checksum_notes_per_port[port] >= kChecksumLogsPerPort || n >= kChecksumNoteSlots) return;
  ++w.checksum_notes_per_port[port];
  Worker::ChecksumNote& note = w.checksum_notes[n];
  note.port = port;
  note.fault = dpdk::CheckChecksums(m, f);
  note.from = dpdk::SourceEndpoint(m, f);
  std::memcpy(note.from.mac.data(), rte_pktmbuf_mtod_offset(m, const uint8_t*, 6), 6);
  note.from.vlan = f.vlan;
  w.checksum_notes_published.store(n + 1, std::memory_order_release);
}

// Transmits n frames (any number) on one port.
void TransmitToPort(rte_mbuf** pkts, size_t n, uint16_t port, uint16_t txq, WorkerCounters& ctr) {
  uint16_t ports[kBurst];
  std::fill(ports, ports + kBurst, port);
  for (size_t done = 0; done < n; done += kBurst) {
    TransmitGrouped(pkts + done, ports, std::min<size_t>(kBurst, n - done), txq, ctr);
  }
}

// A frame (rewritten for its next hop on `port`) that exceeds the port's
// MTU, or sits in a linear mbuf: out in fragments (or one copy), as the
// sending host the super peer is for it. Takes m.
void SendFitted(const Impl& im, Worker& w, rte_mbuf* m, uint16_t port, bool tagged) {
  WorkerCounters& ctr = w.core->counters();
  const size_t l2 = tagged ? dpdk::detail::kEthLen + dpdk::detail::kVlanLen : dpdk::detail::kEthLen;
  dpdk::FinishChecksumsInSoftware(m, l2);
  rte_mbuf* out[dpdk::kMaxOutFragments];
  DropReason why;
  const size_t n = dpdk::FragmentDatagram(rte_pktmbuf_mtod(m, const uint8_t*),
                                          rte_pktmbuf_pkt_len(m), l2, im.mtu[port],
                                          w.NextFragmentId(), im.pool, out, dpdk::kMaxOutFragments,
                                          &why);
  rte_pktmbuf_free(m);
  if (n == 0) {
    ctr.Drop(why);
    return;
  }
  TransmitToPort(out, n, port, w.txq, ctr);
}

// A whole datagram in one mbuf that is not from the fast path (reassembled
// and linearized, or an IPv6 atomic fragment without its header): parsed,
// decided and sent as a frame of a burst would be, fragmented to fit the
// MTU on the way out; UDP to another port goes to the kernel, fragmented
// to the TAP's MTU (the port's). Takes m.
void WholeDatagram(const Impl& im, Worker& w, const RxSource& src, rte_mbuf* m) {
  WorkerCore& core = *w.core;
  WorkerCounters& ctr = core.counters();
  ParsedFrame parsed;
  PacketView view;
  DropReason why = DropReason::kMalformedFrame;
  const dpdk::CommonFrame common(im.pcfg, src.port);
  switch (dpdk::ParseFrame(m, im.pcfg, common, src.port, &parsed, &view, &why)) {
    case FrameClass::kOurs:
      break;
    case FrameClass::kException: {
      const bool tagged = dpdk::detail::Load16(rte_pktmbuf_mtod(m, const uint8_t*) + 12) ==
                          dpdk::detail::kEthVlan;
      dpdk::FinishChecksumsInSoftware(m, tagged ? 18 : 14);
      rte_mbuf* out[dpdk::kMaxOutFragments];
      const size_t n = dpdk::FragmentDatagram(
          rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_pkt_len(m), tagged ? 18 : 14,
          im.mtu[src.port], w.NextFragmentId(), im.pool, out, dpdk::kMaxOutFragments, &why);
      for (size_t i = 0; i < n; ++i) {  // the tag the port stripped, for ToKernel
        out[i]->ol_flags = m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED;
        out[i]->vlan_tci = m->vlan_tci;
      }
      rte_pktmbuf_free(m);
      if (n == 0) ctr.Drop(why);
      for (size_t done = 0; done < n; done += kBurst) {
        ToKernel(im, w, src, out + done, std::min<size_t>(kBurst, n - done));
      }
      return;
    }
    case FrameClass::kDrop:
      ctr.Drop(why);
      rte_pktmbuf_free(m);
      return;
  }
  Decision dec;
  core.Process(
      &view, 1, MonotonicMillis(),
      [&](size_t) {
        const PeerPath from = dpdk::SourcePath(m, parsed, src.port);
        if (from.transport == Transport::kNone) NoteBadChecksum(w, src.port, m, parsed);
        return from;
      },
      [&](size_t, const PeerPath& from) { return dpdk::CameFrom(m, parsed, from); }, &dec);
  if (dec.verdict == Verdict::kForward) {
    const PeerPath& path = *dec.path;
    if (im.is_eth[path.listener] && dpdk::RewriteForward(m, parsed, path, im.pcfg)) {
      SendFitted(im, w, m, path.listener, path.vlan & dpdk::kVlanTagged);
      return;
    }
    ctr.Drop(DropReason::kTxFailed);
  }
  rte_pktmbuf_free(m);
}

// Fragments of UDP datagrams to our addresses (ClassifyFragment), from
// the exception path of a burst: into the worker's reassembly; each
// datagram they complete goes on as a whole (WholeDatagram).
void FromWireFragments(const Impl& im, Worker& w, const RxSource& src, rte_mbuf** frags,
                       const dpdk::FragmentKind* kinds, size_t n) {
  WorkerCounters& ctr = w.core->counters();
  const uint64_t tsc = rte_rdtsc();
  for (size_t i = 0; i < n; ++i) {
    rte_mbuf* m = frags[i];
    if (kinds[i] == dpdk::FragmentKind::kBad) {
      ctr.Drop(DropReason::kBadFragment);
      rte_pktmbuf_free(m);
      continue;
    }
    if (kinds[i] == dpdk::FragmentKind::kAtomic) {
      dpdk::StripAtomicFragmentHeader(m);
    } else {
      rte_mbuf* whole = w.reassembly->Add(m, tsc, ctr);
      if (whole == nullptr) continue;
      DropReason why;
      m = dpdk::Linearize(whole, im.linear_pool, &why);
      if (m == nullptr) {
        ctr.Drop(why);
        continue;
      }
    }
    WholeDatagram(im, w, src, m);
  }
  w.reassembly->FreeDropped();
}

// A burst from an ethernet port: relay what is ours, the rest to the TAP.
void FromWire(const Impl& im, Worker& w, const RxSource& src, rte_mbuf** pkts, uint16_t n) {
  WorkerCore& core = *w.core;
  WorkerCounters& ctr = core.counters();
  rte_mbuf* ours[kBurst];
  ParsedFrame parsed[kBurst];
  PacketView views[kBurst];
  Decision dec[kBurst];
  rte_mbuf* exc[kBurst];
  rte_mbuf* fwd[kBurst];
  uint16_t fwd_port[kBurst];
  rte_mbuf* frags[kBurst];
  dpdk::FragmentKind frag_kinds[kBurst];
  rte_mbuf* over[kBurst];
  const PeerPath* over_path[kBurst];
  size_t k = 0, e = 0, nf = 0, o = 0;
  uint64_t bytes = 0;
  const dpdk::CommonFrame common(im.pcfg, src.port);
  for (uint16_t i = 0; i < n && i < dpdk::kPrefetchAhead; ++i) dpdk::PrefetchFrame(pkts[i]);
  for (uint16_t i = 0; i < n; ++i) {
    if (i + dpdk::kPrefetchAhead < n) dpdk::PrefetchFrame(pkts[i + dpdk::kPrefetchAhead]);
    rte_mbuf* m = pkts[i];
    bytes += rte_pktmbuf_pkt_len(m);
    DropReason reason;
    switch (dpdk::ParseFrame(m, im.pcfg, common, src.port, &parsed[k], &views[k], &reason)) {
      case FrameClass::kOurs:
        ours[k++] = m;
        break;
      case FrameClass::kException: {
        // IP fragments to us are ours to reassemble, not the kernel's.
        const dpdk::FragmentKind fk = dpdk::ClassifyFragment(m, im.pcfg, src.port);
        if (fk != dpdk::FragmentKind::kNone) {
          frags[nf] = m;
          frag_kinds[nf++] = fk;
        } else {
          exc[e++] = m;
        }
        break;
      }
      case FrameClass::kDrop:
        ctr.Drop(dpdk::RefineDropReason(m, im.pcfg, src.port, reason));
        rte_pktmbuf_free(m);
        break;
    }
  }
  CounterAdd(ctr.rx_packets, n);
  CounterAdd(ctr.rx_bytes, bytes);

  if (k > 0) {
    core.Process(
        views, k, MonotonicMillis(),
        [&](size_t i) {
          const PeerPath from = dpdk::SourcePath(ours[i], parsed[i], src.port);
          if (from.transport == Transport::kNone) NoteBadChecksum(w, src.port, ours[i], parsed[i]);
          return from;
        },
        [&](size_t i, const PeerPath& from) { return dpdk::CameFrom(ours[i], parsed[i], from); },
        dec);
    size_t f = 0;
    for (size_t i = 0; i < k; ++i) {
      if (dec[i].verdict == Verdict::kForward) {
        const PeerPath& path = *dec[i].path;
        if (im.is_eth[path.listener] && dpdk::RewriteForward(ours[i], parsed[i], path, im.pcfg)) {
          // Longer than the port's MTU allows (a tagged frame may be 4
          // bytes longer): fragmented after the burst.
          if (rte_pktmbuf_pkt_len(ours[i]) > im.max_untagged_frame[path.listener] &&
              dpdk::IpBytes(ours[i], path.vlan & dpdk::kVlanTagged) > im.mtu[path.listener]) {
            over[o] = ours[i];
            over_path[o++] = &path;
            continue;
          }
          fwd[f] = ours[i];
          fwd_port[f++] = path.listener;
          continue;
        }
        ctr.Drop(DropReason::kTxFailed);
      }
      // Dropped, or copied to the control thread (to self, to a TCP peer).
      rte_pktmbuf_free(ours[i]);
    }
    TransmitGrouped(fwd, fwd_port, f, w.txq, ctr);
    for (size_t i = 0; i < o; ++i) {
      SendFitted(im, w, over[i], over_path[i]->listener, over_path[i]->vlan & dpdk::kVlanTagged);
    }
  }

  if (e > 0) ToKernel(im, w, src, exc, e);
  if (nf > 0) FromWireFragments(im, w, src, frags, frag_kinds, nf);
  core.EndBurst();
}

// A burst the kernel sent through a TAP: out on its ethernet port (a VLAN's
// TAP: tagged with the VLAN).
void FromKernel(Worker& w, const RxSource& src, rte_mbuf** pkts, uint16_t n) {
  WorkerCounters& ctr = w.core->counters();
  CounterAdd(ctr.from_kernel, n);
  uint16_t ports[kBurst];
  size_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    ClearOffloadFlags(m);
    if (src.vlan != 0) {
      m->vlan_tci = src.vlan;
      if (rte_vlan_insert(&m) != 0) {  // no headroom, or not a direct mbuf
        rte_pktmbuf_free(m);
        ctr.Drop(DropReason::kTxFailed);
        continue;
      }
    }
    pkts[k] = m;
    ports[k++] = src.peer;
  }
  TransmitGrouped(pkts, ports, k, w.txq, ctr);
}

bool DrainEgress(const Impl& im, Worker& w) {
  rte_mbuf* pkts[kBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(im.egress, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  if (n == 0) return false;
  uint16_t ports[kBurst];
  for (unsigned i = 0; i < n; ++i) ports[i] = pkts[i]->port;
  TransmitGrouped(pkts, ports, n, w.txq, w.core->counters());
  return true;
}

void RunWorker(const Impl& im, Worker& w) {
  prctl(PR_SET_TIMERSLACK, 1000UL);  // naps of the length asked for, not +50 µs
  WorkerCore& core = *w.core;
  rte_mbuf* pkts[kBurst];
  uint32_t idle = 0;
  uint32_t nap_us = 0;
  uint32_t round = 0;
  uint32_t expire_round = 0;
  bool saturated = false;
  while (!im.stop->load(std::memory_order_relaxed)) {
    bool busy = core.ApplyUpdates() > 0;
    // Incomplete datagrams whose time is up: every so many rounds (under
    // load a round is a burst; idle, a nap of at most idle_sleep_us).
    constexpr uint32_t kExpireEvery = 256;
    if (++expire_round % kExpireEvery == 0) w.reassembly->Expire(rte_rdtsc(), core.counters());
    // Polling a TAP costs a system call: under full load (the last burst
    // was full) only every kTapPollEvery rounds; exceptions are rare.
    const bool poll_taps = !saturated || (++round % kTapPollEvery) == 0;
    saturated = false;
    for (const RxSource& src : w.rx) {
      if (src.tap && !poll_taps) continue;
      const uint16_t n = rte_eth_rx_burst(src.port, src.queue, pkts, kBurst);
      if (n == 0) continue;
      busy = true;
      if (src.tap) {
        FromKernel(w, src, pkts, n);
      } else {
        saturated = saturated || n == kBurst;
        FromWire(im, w, src, pkts, n);
      }
    }
    if (w.drains_egress && DrainEgress(im, w)) busy = true;
    if (busy) {
      idle = 0;
      nap_us = 0;
    } else if (im.idle_sleep_us > 0 && ++idle > kIdleRoundsBeforeSleep) {
      // Naps grow while nothing comes, up to idle_sleep_us.
      nap_us = std::min<uint32_t>(nap_us ? nap_us * 2 : kFirstNapUs, im.idle_sleep_us);
      usleep(nap_us);
    } else {
      rte_pause();
    }
  }
}

struct LaunchArg {
  const Impl* im;
  Worker* w;
};

int LcoreMain(void* arg) {
  auto* a = static_cast<LaunchArg*>(arg);
  RunWorker(*a->im, *a->w);
  delete a;
  return 0;
}

absl::Status PortError(const char* what, uint16_t port, int err) {
  return absl::InternalError(
      absl::StrFormat("DPDK port %d: %s failed: %s", port, what, rte_strerror(err < 0 ? -err : err)));
}

// Configures `port` with nb_rxq RX and nb_txq TX queues.
absl::Status ConfigurePort(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t rx_desc,
                           uint16_t tx_desc, uint64_t rss_hf, uint64_t tx_offloads,
                           rte_mempool* pool) {
  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  if (nb_rxq > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
  }
  conf.txmode.offloads = tx_offloads;
  int r = rte_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
  if (r < 0) return PortError("configure", port, r);
  uint16_t nb_rxd = rx_desc, nb_txd = tx_desc;
  r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
  if (r < 0) return PortError("adjust descriptors", port, r);
  int socket = rte_eth_dev_socket_id(port);
  if (socket < 0) socket = static_cast<int>(SOCKET_ID_ANY);
  rte_eth_dev_info info;
  r = rte_eth_dev_info_get(port, &info);
  if (r != 0) return PortError("info", port, r);
  for (uint16_t q = 0; q < nb_rxq; ++q) {
    r = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, nullptr, pool);
    if (r < 0) return PortError("RX queue setup", port, r);
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = tx_offloads;
  for (uint16_t q = 0; q < nb_txq; ++q) {
    r = rte_eth_tx_queue_setup(port, q, nb_txd, socket, &txconf);
    if (r < 0) return PortError("TX queue setup", port, r);
  }
  return absl::OkStatus();
}

// The MTU of the kernel interface with index if_index; 0 if unknown.
int KernelMtu(uint32_t if_index) {
  char name[IF_NAMESIZE];
  if (if_index == 0 || if_indextoname(if_index, name) == nullptr) return 0;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
  const int r = ::ioctl(fd, SIOCGIFMTU, &ifr);
  ::close(fd);
  return r == 0 ? ifr.ifr_mtu : 0;
}

// The MTU a port is run with: `wanted` (--dpdk_mtu) when given, else the
// one of the kernel interface it is bound to (net_af_packet on a veth,
// ...: DPDK itself says 1500 until told), else the port's.
absl::StatusOr<uint16_t> PortMtu(uint16_t port, const rte_eth_dev_info& info, int wanted) {
  int mtu = wanted;
  const char* from = "--dpdk_mtu";
  if (mtu <= 0) {
    mtu = KernelMtu(info.if_index);
    from = "its kernel interface";
  }
  if (mtu <= 0) {
    uint16_t own = 0;
    if (rte_eth_dev_get_mtu(port, &own) != 0 || own == 0) own = RTE_ETHER_MTU;
    mtu = own;
    from = "the port";
  }
  if (mtu < dpdk::kMinMtu || mtu > info.max_mtu || mtu < info.min_mtu) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "DPDK port %d (%s): MTU %d (from %s) is not usable: the backend needs %d (IPv6's "
        "minimum) or more, the port takes %d to %d",
        port, info.driver_name, mtu, from, dpdk::kMinMtu, info.min_mtu, info.max_mtu));
  }
  return static_cast<uint16_t>(mtu);
}

}  // namespace

DpdkBackend::DpdkBackend() : impl_(std::make_unique<Impl>()) {}

DpdkBackend::~DpdkBackend() {
  Stop();
  if (dpdk::EalInitialized()) {
    for (uint16_t port : impl_->configured) {
      rte_eth_dev_stop(port);
      rte_eth_dev_close(port);
    }
    impl_->configured.clear();
    if (impl_->egress != nullptr) {
      rte_ring_free(impl_->egress);
      impl_->egress = nullptr;
    }
    for (auto& w : workers_) w->reassembly.reset();  // DPDK memory: before the cleanup
    dpdk::CleanupEal();
  }
}

WorkerCore& DpdkBackend::worker(size_t i) { return *workers_[i]->core; }

bool DpdkBackend::PinnedCpus(cpu_set_t* workers, cpu_set_t* main) const {
  CPU_ZERO(workers);
  for (const auto& w : workers_) {
    if (w->lcore == LCORE_ID_ANY) return false;  // a plain thread, placed by the kernel
    const rte_cpuset_t cpus = rte_lcore_cpuset(w->lcore);
    CPU_OR(workers, workers, &cpus);
  }
  *main = rte_lcore_cpuset(rte_get_main_lcore());
  return !workers_.empty();
}

absl::StatusOr<std::unique_ptr<DpdkBackend>> DpdkBackend::Create(const DpdkBackendOptions& opts) {
  std::unique_ptr<DpdkBackend> b(new DpdkBackend());
  b->opts_ = opts;
  absl::Status s = b->Init();
  if (!s.ok()) return s;
  return b;
}

absl::Status DpdkBackend::Init() {
  Impl& im = *impl_;
  im.stop = &stop_;
  im.idle_sleep_us = std::max(0, opts_.idle_sleep_us);
  PacketConfig& pcfg = im.pcfg;

  // --af_xdp: the interfaces claimed, their kernel addresses ours.
  std::string eal_args = opts_.eal_args;
  if (!opts_.af_xdp.empty()) {
    absl::StatusOr<std::unique_ptr<dpdk::AfXdpPorts>> x = dpdk::AfXdpPorts::Prepare(opts_.af_xdp);
    if (!x.ok()) return x.status();
    im.af_xdp = std::move(*x);
    absl::StatusOr<std::vector<DpdkAddress>> addrs = im.af_xdp->Addresses();
    if (!addrs.ok()) return addrs.status();
    opts_.addresses = std::move(*addrs);
    eal_args = im.af_xdp->EalArgs(opts_.eal_args);
  }

  // Our addresses and ports.
  if (opts_.addresses.empty()) {
    return absl::InvalidArgumentError(
        "the DPDK backend needs the super peer's own addresses: --dpdk_addr=<ip>/<prefix>[,...]");
  }
  for (const DpdkAddress& a : opts_.addresses) {
    dpdk::LocalAddress la;
    la.family = a.addr.is_v4() ? 4 : 6;
    la.prefix_len = static_cast<uint8_t>(a.prefix_len);
    la.ip = a.addr.bytes();
    if (!pcfg.AddAddress(la)) {
      return absl::InvalidArgumentError(
          absl::StrCat("too many --dpdk_addr addresses (at most ", dpdk::kMaxLocalAddresses, ")"));
    }
  }
  pcfg.udp4_port_be = rte_cpu_to_be_16(opts_.udp4_port);
  pcfg.udp6_port_be = rte_cpu_to_be_16(opts_.udp6_port);
  if ((pcfg.n_v4 == 0 || opts_.udp4_port == 0) && (pcfg.n_v6 == 0 || opts_.udp6_port == 0)) {
    return absl::InvalidArgumentError(
        "no UDP listener for the --dpdk_addr addresses: an IPv4 address needs UDP4_LISTEN, an "
        "IPv6 address UDP6_LISTEN (with a fixed port)");
  }

  // EAL.
  absl::StatusOr<dpdk::EalArgs> eal = dpdk::BuildEalArgs(eal_args, dpdk::DetectHugepages());
  if (!eal.ok()) return eal.status();
  for (const std::string& note : eal->notes) LOG(INFO) << note;
  LOG(INFO) << "DPDK EAL arguments: " << absl::StrJoin(eal->argv, " ");
  if (absl::Status s = dpdk::InitEal(eal->argv); !s.ok()) return s;

  // Ethernet ports: every port the EAL arguments created.
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) { im.eth_ports.push_back(pid); }
  im.configured = im.eth_ports;  // stopped and closed on the way out, whatever happens
  if (im.eth_ports.empty()) {
    return absl::FailedPreconditionError(
        "DPDK found no ethernet port: bind a NIC to a DPDK driver or add a virtual one to "
        "--dpdk_eal, e.g. --vdev=net_af_packet0,iface=veth0");
  }
  if (im.af_xdp) {
    if (absl::Status s = im.af_xdp->CheckPorts(im.eth_ports); !s.ok()) return s;
  }
  std::vector<rte_eth_dev_info> infos(im.eth_ports.size());
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    const uint16_t port = im.eth_ports[i];
    if (port >= kMaxPorts) return absl::InternalError("port id out of range");
    int r = rte_eth_dev_info_get(port, &infos[i]);
    if (r != 0) return PortError("info", port, r);
    r = rte_eth_macaddr_get(port, &pcfg.port_mac[port]);
    if (r != 0) return PortError("MAC address", port, r);
    im.is_eth[port] = true;
    absl::StatusOr<uint16_t> mtu = PortMtu(port, infos[i], opts_.mtu);
    if (!mtu.ok()) return mtu.status();
    im.mtu[port] = *mtu;
    im.max_untagged_frame[port] = *mtu + uint32_t{RTE_ETHER_HDR_LEN};
  }
  for (const DpdkAddress& a : opts_.addresses) {
    if (a.port >= kMaxPorts || !im.is_eth[a.port]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--dpdk_addr %s/%d@port%d: there is no DPDK ethernet port %d (the EAL arguments "
          "created port(s) %s)",
          a.addr.HostString(), a.prefix_len, a.port, a.port, absl::StrJoin(im.eth_ports, ", ")));
    }
  }

  // The kernel's interfaces: per ethernet port a TAP with the port's MAC (so
  // the kernel's ARP and ND answers name the port), hot-plugged now that
  // the MAC is known, and per VLAN with addresses on that port a TAP of its
  // own: the kernel sees that VLAN's traffic untagged there (the workers pop
  // and push the tag), so it needs no 802.1Q support of its own.
  // Names <tap_name><k + i>[.<vid>] with the first k for which all are free
  // (several super peers may share a network namespace).
  struct Wanted {
    size_t eth_index;
    uint16_t vlan;
    std::vector<dpdk::InterfaceAddress> addrs;
    std::vector<std::string> text;  // for the log
  };
  std::vector<Wanted> wanted;
  for (size_t i = 0; i < im.eth_ports.size(); ++i) wanted.push_back({i, 0, {}, {}});
  for (const DpdkAddress& a : opts_.addresses) {
    const size_t eth_index =
        std::find(im.eth_ports.begin(), im.eth_ports.end(), a.port) - im.eth_ports.begin();
    auto it = std::find_if(wanted.begin(), wanted.end(), [&](const Wanted& t) {
      return t.eth_index == eth_index && t.vlan == a.vlan;
    });
    if (it == wanted.end()) it = wanted.insert(wanted.end(), Wanted{eth_index, a.vlan, {}, {}});
    it->addrs.push_back({a.addr.family(), a.addr.bytes(), a.prefix_len});
    it->text.push_back(absl::StrCat(a.addr.HostString(), "/", a.prefix_len));
    if (a.vlan != 0) pcfg.AllowVlan(a.port, a.vlan);
  }
  auto tap_name = [&](const Wanted& t, int first) {
    std::string name = absl::StrCat(opts_.tap_name, first + static_cast<int>(t.eth_index));
    if (t.vlan != 0) absl::StrAppend(&name, ".", t.vlan);
    return name;
  };
  int first = 0;
  for (bool taken = true; taken; ) {
    taken = false;
    for (size_t i = 0; i < wanted.size() && !taken; ++i) {
      taken = if_nametoindex(tap_name(wanted[i], first).c_str()) != 0;
    }
    if (taken) ++first;
    if (first > 999) return absl::ResourceExhaustedError("no free TAP name " + opts_.tap_name + "<N>");
  }
  for (size_t i = 0; i < wanted.size() && !im.af_xdp; ++i) {
    const uint16_t eth = im.eth_ports[wanted[i].eth_index];
    std::string ifname = tap_name(wanted[i], first);
    if (ifname.size() > 15) {
      return absl::InvalidArgumentError("TAP name too long (15 characters at most): " + ifname +
                                        "; choose a shorter --dpdk_tap");
    }
    absl::StatusOr<uint16_t> tap =
        dpdk::ProbeTap(ifname, dpdk::MacToString(pcfg.port_mac[eth]), static_cast<int>(i));
    if (!tap.ok()) return tap.status();
    if (*tap >= kMaxPorts) return absl::InternalError("TAP port id out of range");
    im.taps.push_back({*tap, eth, wanted[i].vlan, ifname, if_nametoindex(ifname.c_str())});
    im.configured.push_back(*tap);
    if (wanted[i].vlan != 0) im.vlan_taps[eth].push_back({wanted[i].vlan, *tap});
  }

  // Workers: the EAL's worker lcores, as many as every port has TX queues
  // for (each worker transmits on its own queue of every port).
  std::vector<unsigned> lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) { lcores.push_back(lc); }
  size_t n_workers = std::max<size_t>(1, lcores.size());
  size_t cap = n_workers;
  for (const rte_eth_dev_info& info : infos) cap = std::min<size_t>(cap, info.max_tx_queues);
  for (const Impl::Tap& tap : im.taps) {
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(tap.port, &info) == 0) {
      cap = std::min<size_t>(cap, std::min(info.max_rx_queues, info.max_tx_queues));
    }
  }
  if (cap == 0) return absl::FailedPreconditionError("a DPDK port has no TX queue");
  if (cap < n_workers) {
    LOG(WARNING) << "DPDK: using " << cap << " of " << n_workers
                 << " worker lcores (a port has only " << cap << " TX queue(s))";
    n_workers = cap;
  }
  if (lcores.empty()) {
    LOG(WARNING) << "DPDK: no worker lcore in the EAL core list (e.g. -l 0-1); running one "
                    "worker on a registered thread";
  }

  // RX queues: one per worker with RSS, else one per port. net_af_packet
  // spreads flows over its queue pairs in the kernel (PACKET_FANOUT_HASH)
  // and must have all of them polled. Each worker reassembles the IP
  // fragments its queues get, so those of one datagram must meet: RSS
  // hashes fragments (RTE_ETH_RSS_FRAG_IPV4/6, in RTE_ETH_RSS_IP) on their
  // addresses only, as the kernel's flow hash behind net_af_packet's fanout
  // does (and that fanout has the kernel reassemble IPv4 ones first).
  std::vector<uint16_t> nb_rxq(im.eth_ports.size(), 1);
  std::vector<uint64_t> rss_hf(im.eth_ports.size(), 0);
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    const uint64_t hf =
        infos[i].flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    const bool fanout = std::strcmp(infos[i].driver_name, "net_af_packet") == 0;
    if ((hf != 0 || fanout) && infos[i].max_rx_queues > 1 && n_workers > 1) {
      nb_rxq[i] = static_cast<uint16_t>(std::min<size_t>(n_workers, infos[i].max_rx_queues));
      rss_hf[i] = hf;
    }
    // --af_xdp: a socket on every RX queue of the interface (the NIC's RSS
    // spreads flows; what our program sends to a queue needs a socket).
    if (im.af_xdp) nb_rxq[i] = infos[i].max_rx_queues;
  }

  // Mbufs: every descriptor ring full, plus caches and bursts in flight.
  size_t mbufs = kEgressRingSize + (n_workers + 1) * (kMbufCache + 4 * kBurst);
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    mbufs += size_t{nb_rxq[i]} * kRxDesc + n_workers * kTxDesc;
  }
  mbufs += im.taps.size() * n_workers * 2 * size_t{kTapDesc};
  // net_af_xdp fills each socket's fill ring with 2048 more.
  if (im.af_xdp) {
    for (uint16_t q : nb_rxq) mbufs += size_t{q} * 2 * kRxDesc;
  }
  // What reassembly may hold (a fragment flood must not starve RX), and
  // one datagram's fragments in flight per sender.
  mbufs += n_workers * size_t{dpdk::kFragmentMbufsPerWorker} +
           (n_workers + 1) * dpdk::kMaxOutFragments;
  size_t pool_size = 1;
  while (pool_size < mbufs + 1) pool_size <<= 1;
  int socket = rte_eth_dev_socket_id(im.eth_ports[0]);
  if (socket < 0) socket = static_cast<int>(SOCKET_ID_ANY);
  // Room for a frame of the largest MTU (and two tags) in one mbuf, and
  // for a whole frame of net_af_packet's ring (framesz=: its RX needs it).
  size_t data_room = std::max<size_t>(RTE_MBUF_DEFAULT_BUF_SIZE,
                                      RTE_PKTMBUF_HEADROOM + dpdk::AfPacketFrameSize(opts_.eal_args));
  for (uint16_t port : im.eth_ports) {
    data_room = std::max<size_t>(data_room, RTE_PKTMBUF_HEADROOM + im.mtu[port] +
                                                RTE_ETHER_HDR_LEN + 2 * RTE_VLAN_HLEN);
  }
  data_room = std::min<size_t>(data_room, 0xffff);
  im.pool = dpdk::CreateMbufPool("drasyl_mbufs", static_cast<unsigned>(pool_size - 1), kMbufCache,
                                 socket, static_cast<uint16_t>(data_room));
  if (im.pool == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create the mbuf pool (", pool_size - 1, " mbufs): ", rte_strerror(rte_errno),
        "; give DPDK more memory (-m) or hugepages"));
  }
  // Two per worker (a datagram being handled, and slack) and a few for the
  // control thread; no cache (the control thread has none).
  size_t linear = 1;
  while (linear < 2 * n_workers + 8 + 1) linear <<= 1;
  im.linear_pool = dpdk::CreateMbufPool("drasyl_linear", static_cast<unsigned>(linear - 1), 0,
                                        socket, dpdk::kLinearMbufDataRoom);
  if (im.linear_pool == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create the pool for reassembled datagrams (", linear - 1,
                     " mbufs of 64 KiB): ", rte_strerror(rte_errno)));
  }
  im.egress = rte_ring_create("drasyl_egress", kEgressRingSize, socket,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (im.egress == nullptr) {
    return absl::InternalError(absl::StrCat("egress ring: ", rte_strerror(rte_errno)));
  }

  // Configure and start the ports and their TAPs; the addresses go onto the
  // TAP of their port and VLAN.
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    const uint16_t port = im.eth_ports[i];
    const uint64_t tx_off = infos[i].tx_offload_capa &
                            (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
    pcfg.port_tx_offloads[port] =
        ((tx_off & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) ? dpdk::kTxIpv4Cksum : 0) |
        ((tx_off & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ? dpdk::kTxUdpCksum : 0);
    // net_af_xdp pairs queues: as many TX as RX queues (n_workers <= both).
    const uint16_t nb_txq = im.af_xdp ? nb_rxq[i] : static_cast<uint16_t>(n_workers);
    if (absl::Status s = ConfigurePort(port, nb_rxq[i], nb_txq, kRxDesc,
                                       kTxDesc, rss_hf[i], tx_off, im.pool);
        !s.ok()) {
      return im.af_xdp ? dpdk::AfXdpPorts::Explain(s) : s;
    }
    // The MTU onto the port (net_af_packet: onto its interface) when the
    // operator chose it; one read from the kernel is DPDK's news only.
    uint16_t port_mtu = 0;
    rte_eth_dev_get_mtu(port, &port_mtu);
    if (port_mtu != im.mtu[port]) {
      const int m = rte_eth_dev_set_mtu(port, im.mtu[port]);
      if (m != 0 && opts_.mtu > 0) return PortError("setting --dpdk_mtu", port, m);
      if (m != 0) {
        LOG(WARNING) << "DPDK port " << port << ": cannot set its MTU to its interface's ("
                     << im.mtu[port] << "): " << rte_strerror(-m);
      }
    }
    int r = rte_eth_dev_start(port);
    if (r < 0) return PortError("start", port, r);
    // Multicast for IPv6 neighbour discovery; our unicast MAC filter is in
    // software, so promiscuous mode is not needed.
    rte_eth_allmulticast_enable(port);
    const uint16_t mtu = im.mtu[port];
    std::vector<std::string> tap_list;
    for (size_t t = 0; t < im.taps.size(); ++t) {
      const Impl::Tap& tap = im.taps[t];
      if (tap.eth != port) continue;
      if (absl::Status s = ConfigurePort(tap.port, static_cast<uint16_t>(n_workers),
                                         static_cast<uint16_t>(n_workers), kTapDesc, kTapDesc, 0,
                                         0, im.pool);
          !s.ok()) {
        return s;
      }
      r = rte_eth_dev_start(tap.port);
      if (r < 0) return PortError("start (TAP)", tap.port, r);
      if (absl::Status s = dpdk::ConfigureInterface(tap.name, wanted[t].addrs, mtu); !s.ok()) {
        return s;
      }
      tap_list.push_back(absl::StrCat(
          tap.name, tap.vlan ? absl::StrCat(" (VLAN ", tap.vlan, ")") : "",
          wanted[t].text.empty() ? "" : absl::StrCat(" ", absl::StrJoin(wanted[t].text, " "))));
    }
    LOG(INFO) << absl::StrFormat(
        "DPDK port %d (%s, MAC %s, MTU %d): %d RX queue(s)%s, %d TX queue(s), TX offloads:%s%s; "
        "TAP(s) %s",
        port, infos[i].driver_name, dpdk::MacToString(pcfg.port_mac[port]), mtu, nb_rxq[i],
        nb_rxq[i] > 1 ? (rss_hf[i] ? " with RSS" : " (kernel fanout)") : "", n_workers,
        (tx_off & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) ? " ipv4-cksum" : "",
        (tx_off & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ? " udp-cksum" : (tx_off ? "" : " none"),
        im.af_xdp ? "none (--af_xdp: the kernel keeps the interface)" : absl::StrJoin(tap_list, ", "));
  }

  // Workers and what each polls.
  for (size_t w = 0; w < n_workers; ++w) {
    auto worker = std::make_unique<Worker>();
    worker->core = std::make_unique<WorkerCore>(opts_.relay, opts_.send_unites_ms,
                                                opts_.control_wakeup);
    worker->lcore = lcores.empty() ? LCORE_ID_ANY : lcores[w];
    worker->txq = static_cast<uint16_t>(w);
    worker->drains_egress = w == 0;
    worker->reassembly = dpdk::Reassembler::Create(socket);
    if (worker->reassembly == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot create a fragment table: ", rte_strerror(rte_errno)));
    }
    worker->next_fragment_id = static_cast<uint32_t>(w);
    worker->fragment_id_stride = static_cast<uint32_t>(n_workers + 1);
    for (const Impl::Tap& tap : im.taps) {
      // The kernel spreads what it sends over the TAP's queues: one each.
      worker->rx.push_back({tap.port, static_cast<uint16_t>(w), true, tap.eth, tap.vlan});
    }
    workers_.push_back(std::move(worker));
  }
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    for (uint16_t q = 0; q < nb_rxq[i]; ++q) {
      Worker& w = *workers_[(q + i) % n_workers];
      w.rx.insert(w.rx.begin(),
                  {im.eth_ports[i], q, false, im.af_xdp ? kNoPort : im.taps[i].port});
    }
  }
  std::vector<std::string> where;
  for (auto& w : workers_) {
    where.push_back(w->lcore == LCORE_ID_ANY ? "thread" : absl::StrCat("lcore ", w->lcore));
  }
  if (im.af_xdp) {
    if (absl::Status s = im.af_xdp->Attach(opts_.udp4_port, opts_.udp6_port); !s.ok()) return s;
  }
  im.control_fragment_id = static_cast<uint32_t>(n_workers);
  im.fragment_id_stride = static_cast<uint32_t>(n_workers + 1);
  LOG(INFO) << "DPDK: " << n_workers << " worker(s) on " << absl::StrJoin(where, ", ");
  im.accepting.store(true);
  return absl::OkStatus();
}

absl::Status DpdkBackend::Start() {
  if (started_) return absl::OkStatus();
  started_ = true;
  Impl* im = impl_.get();
  for (auto& w : workers_) {
    Worker* raw = w.get();
    if (raw->lcore == LCORE_ID_ANY) {
      raw->thread = std::thread([im, raw] {
        if (rte_thread_register() != 0) {
          LOG(ERROR) << "rte_thread_register: " << rte_strerror(rte_errno);
        }
        RunWorker(*im, *raw);
        rte_thread_unregister();
      });
      raw->launched = true;
      continue;
    }
    auto* arg = new LaunchArg{im, raw};
    int r = rte_eal_remote_launch(&LcoreMain, arg, raw->lcore);
    if (r != 0) {
      delete arg;
      return absl::InternalError(absl::StrCat("cannot launch a worker on lcore ", raw->lcore,
                                              ": ", rte_strerror(-r)));
    }
    raw->launched = true;
  }
  return absl::OkStatus();
}

void DpdkBackend::Stop() {
  if (stopped_) return;
  stopped_ = true;
  impl_->accepting.store(false);
  stop_.store(true, std::memory_order_relaxed);
  for (auto& w : workers_) {
    if (!w->launched) continue;
    if (w->thread.joinable()) {
      w->thread.join();
    } else if (w->lcore != LCORE_ID_ANY) {
      rte_eal_wait_lcore(w->lcore);
    }
    w->launched = false;
  }
  if (!dpdk::EalInitialized()) return;
  // Frames the control thread queued but nobody sent.
  if (impl_->egress != nullptr) {
    void* obj;
    while (rte_ring_dequeue(impl_->egress, &obj) == 0) rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
  }
  for (uint16_t port : impl_->configured) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);  // a TAP's kernel interface goes away here
  }
  impl_->configured.clear();
}

absl::Status DpdkBackend::Housekeeping() {
  Impl& im = *impl_;
  for (auto& w : workers_) {
    const uint32_t n = w->checksum_notes_published.load(std::memory_order_acquire);
    for (; w->checksum_notes_read < n; ++w->checksum_notes_read) {
      const Worker::ChecksumNote& note = w->checksum_notes[w->checksum_notes_read];
      uint8_t& logged = im.checksum_logged[note.port];
      if (logged >= kChecksumLogsPerPort) continue;
      ++logged;
      char dev[RTE_ETH_NAME_MAX_LEN] = "?";
      rte_eth_dev_get_name_by_port(note.port, dev);
      LOG(WARNING) << absl::StrFormat(
          "DPDK port %d (%s): dropped a message to the super peer from %s (MAC %s%s): its %s "
          "checksum is wrong (drasyl_drops_total{reason=\"bad_checksum\"}). Likely cause: a "
          "sender on this host (a container or VM behind a veth or TAP) that leaves checksums "
          "to offloading; the kernel hands its partial checksums to DPDK's af_packet as they "
          "are. Fix: turn TX checksum offload off on the sender's interface, `ethtool -K <dev> "
          "tx off`.%s",
          note.port, dev, note.from.address().ToString(),
          dpdk::MacToString(*reinterpret_cast<const rte_ether_addr*>(note.from.mac.data())),
          note.from.vlan ? absl::StrCat(", VLAN ", note.from.vlan & 0xfff) : "",
          note.fault == dpdk::ChecksumFault::kIpv4Header ? "IPv4 header" : "UDP",
          logged == kChecksumLogsPerPort ? " (further ones on this port are only counted)" : "");
    }
  }
  if (im.af_xdp) {
    if (absl::Status s = im.af_xdp->CheckAddresses(); !s.ok()) return s;
  }
  // A TAP deleted or renamed under us: the kernel side of the exception
  // path is gone (relaying would go on, but not ARP, ND, ping, TCP). A
  // restart recreates it with its addresses, which is what a service
  // manager does after a failure exit.
  for (const Impl::Tap& tap : im.taps) {
    const unsigned now = if_nametoindex(tap.name.c_str());
    if (now == tap.ifindex) continue;
    char renamed[IF_NAMESIZE] = {};
    const bool exists = tap.ifindex != 0 && if_indextoname(tap.ifindex, renamed) != nullptr;
    return absl::FailedPreconditionError(absl::StrFormat(
        "DPDK: the TAP interface %s (the kernel side of port %d%s: ARP, ND, ping and the TCP "
        "fallback) %s; shutting down so that the service manager restarts the super peer, "
        "which creates it again with its addresses (start it again by hand otherwise; leave "
        "the %s<N> interfaces alone while it runs)",
        tap.name, tap.eth, tap.vlan ? absl::StrCat(", VLAN ", tap.vlan) : "",
        exists ? absl::StrCat("was renamed to ", renamed)
               : (now != 0 ? "was replaced by another interface of that name" : "was deleted"),
        opts_.tap_name));
  }
  return absl::OkStatus();
}

const char* DpdkBackend::name() const { return impl_->af_xdp ? "af_xdp" : "dpdk"; }

std::string DpdkBackend::ExtraMetrics() const {
  return impl_->af_xdp ? impl_->af_xdp->Metrics() : "";
}

bool DpdkBackend::SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) {
  Impl& im = *impl_;
  if (!im.accepting.load(std::memory_order_relaxed)) return false;
  if (path.transport != Transport::kUdp || path.listener >= kMaxPorts || !im.is_eth[path.listener]) {
    return false;
  }
  // The control thread is not an EAL thread: the pool's per-lcore cache is
  // bypassed and its (multi-producer/consumer) ring used directly.
  const size_t ip_bytes = (path.family == 4 ? 20 : 40) + 8 + len;
  if (ip_bytes > im.mtu[path.listener]) return SendFragmentsFromControl(path, data, len);
  rte_mbuf* m = rte_pktmbuf_alloc(im.pool);
  if (m == nullptr) return false;
  if (!dpdk::BuildFrame(m, path, im.pcfg, data, len)) {
    rte_pktmbuf_free(m);
    return false;
  }
  m->port = path.listener;
  if (rte_ring_sp_enqueue(im.egress, m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  return true;
}

bool DpdkBackend::SendFragmentsFromControl(const PeerPath& path, const uint8_t* data, size_t len) {
  Impl& im = *impl_;
  // Built whole in a linear mbuf, then copied out in fragments (a TCP
  // peer's message to a UDP peer, or the super peer's own, beyond the MTU).
  rte_mbuf* whole = rte_pktmbuf_alloc(im.linear_pool);
  if (whole == nullptr) return false;
  if (!dpdk::BuildFrame(whole, path, im.pcfg, data, len)) {
    rte_pktmbuf_free(whole);
    return false;
  }
  rte_mbuf* out[dpdk::kMaxOutFragments];
  DropReason why;
  im.control_fragment_id += im.fragment_id_stride;
  const size_t n = dpdk::FragmentDatagram(rte_pktmbuf_mtod(whole, const uint8_t*),
                                          rte_pktmbuf_pkt_len(whole), whole->l2_len,
                                          im.mtu[path.listener], im.control_fragment_id, im.pool,
                                          out, dpdk::kMaxOutFragments, &why);
  rte_pktmbuf_free(whole);
  if (n == 0) return false;
  for (size_t i = 0; i < n; ++i) out[i]->port = path.listener;
  // All of them or none: a datagram without a fragment is lost anyway.
  if (rte_ring_sp_enqueue_bulk(im.egress, reinterpret_cast<void**>(out),
                               static_cast<unsigned>(n), nullptr) == 0) {
    for (size_t i = 0; i < n; ++i) rte_pktmbuf_free(out[i]);
    return false;
  }
  return true;
}

absl::StatusOr<std::unique_ptr<Backend>> CreateDpdkBackend(const DpdkBackendOptions& opts) {
  absl::StatusOr<std::unique_ptr<DpdkBackend>> b = DpdkBackend::Create(opts);
  if (!b.ok()) return b.status();
  return std::unique_ptr<Backend>(std::move(*b));
}

}  // namespace drasyl
