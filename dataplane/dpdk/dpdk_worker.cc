#include "dataplane/dpdk/dpdk_worker.h"

#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_pause.h>
#include <rte_ring.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "common/byte_order.h"
#include "common/clock.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"

namespace drasyl::dpdk {

namespace {

// Empty polling rounds before a worker starts to nap (idle_sleep_us), and
// its first nap; naps then double up to idle_sleep_us.
constexpr uint32_t kIdleRoundsBeforeSleep = 1024;
constexpr uint32_t kFirstNapUs = 8;
// Under --af_xdp, after this long in naps (silence for a millisecond), a
// sleep on the AF_XDP sockets until a frame comes: nothing burns a core
// while idle, and steady traffic still meets a polling worker (a sleeping
// one takes a wake-up, on a VM up to milliseconds at the 99.9th percentile).
constexpr uint32_t kNapUsBeforeSocketSleep = 1000;
// Under full load, a worker polls its TAP queues every this many rounds.
constexpr uint32_t kTapPollEvery = 16;

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

// Transmits n frames (any number) on one port.
void TransmitToPort(rte_mbuf** pkts, size_t n, uint16_t port, uint16_t txq, WorkerCounters& ctr) {
  uint16_t ports[kBurst];
  std::fill(ports, ports + kBurst, port);
  for (size_t done = 0; done < n; done += kBurst) {
    TransmitGrouped(pkts + done, ports, std::min<size_t>(kBurst, n - done), txq, ctr);
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<Worker>> Worker::Create(const SharedConf* conf,
                                                       const WorkerPlan& plan, uint16_t txq,
                                                       const RelayConfig& relay,
                                                       int64_t send_unites_ms, int control_wakeup,
                                                       int socket) {
  std::unique_ptr<Reassembler> reassembly = Reassembler::Create(socket);
  if (reassembly == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create a fragment table: ", rte_strerror(rte_errno)));
  }
  return std::unique_ptr<Worker>(new Worker(conf, plan, txq, relay, send_unites_ms,
                                            control_wakeup, std::move(reassembly)));
}

Worker::Worker(const SharedConf* conf, const WorkerPlan& plan, uint16_t txq,
               const RelayConfig& relay, int64_t send_unites_ms, int control_wakeup,
               std::unique_ptr<Reassembler> reassembly)
    : conf_(conf),
      shared_(&conf->latest()),
      core_(relay, send_unites_ms, control_wakeup),
      txq_(txq),
      rx_(plan.rx),
      drains_egress_(plan.drains_egress),
      reassembly_(std::move(reassembly)),
      idle_wait_(plan.wait_fds),
      next_fragment_id_(plan.first_fragment_id),
      fragment_id_stride_(plan.fragment_id_stride) {}

// Frames from ethernet port src.port for the kernel: to the port's TAP, or,
// tag popped, to their VLAN's TAP; what the kernel cannot have (unknown
// VLANs, stacked tags) is dropped and counted.
void Worker::ToKernel(const RxSource& src, rte_mbuf** exc, size_t e) {
  WorkerCounters& ctr = core_.counters();
  const std::vector<std::pair<uint16_t, uint16_t>>& vlans = shared_->vlan_taps[src.port];
  uint16_t taps[kBurst];
  size_t n = 0;
  for (size_t i = 0; i < e; ++i) {
    rte_mbuf* m = exc[i];
    DropReason why;
    const int vid = PopVlanForKernel(m, shared_->pcfg, src.port, &why);
    uint16_t tap = vid == 0 ? src.peer : kNoPort;
    for (size_t v = 0; vid > 0 && v < vlans.size(); ++v) {
      if (vlans[v].first == vid) tap = vlans[v].second;
    }
    if (tap == kNoPort) {  // (vid 0: a port without TAP, --af_xdp)
      ctr.Drop(vid < 0 ? why : vid == 0 ? DropReason::kNoKernelPath : DropReason::kUnknownVlan);
      rte_pktmbuf_free(m);
      continue;
    }
    SetTxOffloads(m, 0);
    exc[n] = m;
    taps[n++] = tap;
  }
  TransmitGrouped(exc, taps, n, txq_, ctr, /*to_kernel=*/true);
}

// Notes a frame to the super peer itself whose checksums are wrong (see
// checksum_notes_); off the hot path, and cheap after the first few.
[[gnu::noinline, gnu::cold]] void Worker::NoteBadChecksum(uint16_t port, const rte_mbuf* m,
                                                          const ParsedFrame& f) {
  const uint32_t n = checksum_notes_published_.load(std::memory_order_relaxed);
  if (checksum_notes_per_port_[port] >= kChecksumLogsPerPort || n >= kChecksumNoteSlots) return;
  ++checksum_notes_per_port_[port];
  ChecksumNote& note = checksum_notes_[n];
  note.port = port;
  note.fault = CheckChecksums(m, f);
  note.from = SourceEndpoint(m, f);
  std::memcpy(note.from.mac.data(), rte_pktmbuf_mtod_offset(m, const uint8_t*, 6), 6);
  note.from.vlan = f.vlan;
  checksum_notes_published_.store(n + 1, std::memory_order_release);
}

// A frame (rewritten for its next hop on `port`) that exceeds the port's
// MTU, or sits in a linear mbuf: out in fragments (or one copy), as the
// sending host the super peer is for it. Takes m.
void Worker::SendFitted(rte_mbuf* m, uint16_t port, bool tagged) {
  WorkerCounters& ctr = core_.counters();
  const size_t l2 = tagged ? detail::kEthLen + detail::kVlanLen : detail::kEthLen;
  FinishChecksumsInSoftware(m, l2);
  rte_mbuf* out[kMaxOutFragments];
  DropReason why;
  const size_t n = FragmentDatagram(rte_pktmbuf_mtod(m, const uint8_t*), rte_pktmbuf_pkt_len(m),
                                    l2, shared_->mtu[port], NextFragmentId(), shared_->pool, out,
                                    kMaxOutFragments, &why);
  rte_pktmbuf_free(m);
  if (n == 0) {
    ctr.Drop(why);
    return;
  }
  TransmitToPort(out, n, port, txq_, ctr);
}

// A whole datagram in one mbuf that is not from the fast path (reassembled
// and linearized, or an IPv6 atomic fragment without its header): parsed,
// decided and sent as a frame of a burst would be, fragmented to fit the
// MTU on the way out; UDP to another port goes to the kernel, fragmented
// to the TAP's MTU (the port's). Takes m.
void Worker::WholeDatagram(const RxSource& src, rte_mbuf* m) {
  const WorkerShared& sh = *shared_;
  WorkerCounters& ctr = core_.counters();
  ParsedFrame parsed;
  PacketView view;
  DropReason why = DropReason::kMalformedFrame;
  const CommonFrame common(sh.pcfg, src.port);
  switch (ParseFrame(m, sh.pcfg, common, src.port, &parsed, &view, &why)) {
    case FrameClass::kOurs:
      break;
    case FrameClass::kException: {
      const bool tagged = Load16(rte_pktmbuf_mtod(m, const uint8_t*) + 12) == detail::kEthVlan;
      FinishChecksumsInSoftware(m, tagged ? 18 : 14);
      rte_mbuf* out[kMaxOutFragments];
      const size_t n = FragmentDatagram(rte_pktmbuf_mtod(m, const uint8_t*),
                                        rte_pktmbuf_pkt_len(m), tagged ? 18 : 14, sh.mtu[src.port],
                                        NextFragmentId(), sh.pool, out, kMaxOutFragments, &why);
      for (size_t i = 0; i < n; ++i) {  // the tag the port stripped, for ToKernel
        out[i]->ol_flags = m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED;
        out[i]->vlan_tci = m->vlan_tci;
      }
      rte_pktmbuf_free(m);
      if (n == 0) ctr.Drop(why);
      for (size_t done = 0; done < n; done += kBurst) {
        ToKernel(src, out + done, std::min<size_t>(kBurst, n - done));
      }
      return;
    }
    case FrameClass::kDrop:
      ctr.Drop(why);
      rte_pktmbuf_free(m);
      return;
  }
  Decision dec;
  core_.Process(
      &view, 1, MonotonicMillis(),
      [&](size_t) {
        const PeerPath from = SourcePath(m, parsed, src.port);
        if (from.transport == Transport::kNone) NoteBadChecksum(src.port, m, parsed);
        return from;
      },
      [&](size_t, const PeerPath& from) { return CameFrom(m, parsed, from); }, &dec);
  if (dec.verdict == Verdict::kForward) {
    const PeerPath& path = *dec.path;
    if (sh.is_eth[path.listener] && RewriteForward(m, parsed, path, sh.pcfg)) {
      SendFitted(m, path.listener, path.vlan & kVlanTagged);
      return;
    }
    ctr.Drop(DropReason::kTxFailed);
  }
  rte_pktmbuf_free(m);
}

// Fragments of UDP datagrams to our addresses (ClassifyFragment), from
// the exception path of a burst: into the worker's reassembly; each
// datagram they complete goes on as a whole (WholeDatagram).
void Worker::FromWireFragments(const RxSource& src, rte_mbuf** frags, const FragmentKind* kinds,
                               size_t n) {
  WorkerCounters& ctr = core_.counters();
  const uint64_t tsc = rte_rdtsc();
  for (size_t i = 0; i < n; ++i) {
    rte_mbuf* m = frags[i];
    if (kinds[i] == FragmentKind::kBad) {
      ctr.Drop(DropReason::kBadFragment);
      rte_pktmbuf_free(m);
      continue;
    }
    if (kinds[i] == FragmentKind::kAtomic) {
      StripAtomicFragmentHeader(m);
    } else {
      rte_mbuf* whole = reassembly_->Add(m, tsc, ctr);
      if (whole == nullptr) continue;
      DropReason why;
      m = Linearize(whole, shared_->linear_pool, &why);
      if (m == nullptr) {
        ctr.Drop(why);
        continue;
      }
    }
    WholeDatagram(src, m);
  }
  reassembly_->FreeDropped();
}

// A burst from an ethernet port: relay what is ours, the rest to the TAP.
void Worker::FromWire(const RxSource& src, rte_mbuf** pkts, uint16_t n) {
  const WorkerShared& sh = *shared_;
  WorkerCounters& ctr = core_.counters();
  rte_mbuf* ours[kBurst];
  ParsedFrame parsed[kBurst];
  PacketView views[kBurst];
  Decision dec[kBurst];
  rte_mbuf* exc[kBurst];
  rte_mbuf* fwd[kBurst];
  uint16_t fwd_port[kBurst];
  rte_mbuf* frags[kBurst];
  FragmentKind frag_kinds[kBurst];
  rte_mbuf* over[kBurst];
  const PeerPath* over_path[kBurst];
  size_t k = 0, e = 0, nf = 0, o = 0;
  uint64_t bytes = 0;
  const CommonFrame common(sh.pcfg, src.port);
  for (uint16_t i = 0; i < n && i < kPrefetchAhead; ++i) PrefetchFrame(pkts[i]);
  for (uint16_t i = 0; i < n; ++i) {
    if (i + kPrefetchAhead < n) PrefetchFrame(pkts[i + kPrefetchAhead]);
    rte_mbuf* m = pkts[i];
    bytes += rte_pktmbuf_pkt_len(m);
    DropReason reason;
    switch (ParseFrame(m, sh.pcfg, common, src.port, &parsed[k], &views[k], &reason)) {
      case FrameClass::kOurs:
        ours[k++] = m;
        break;
      case FrameClass::kException: {
        // IP fragments to us are ours to reassemble, not the kernel's.
        const FragmentKind fk = ClassifyFragment(m, sh.pcfg, src.port);
        if (fk != FragmentKind::kNone) {
          frags[nf] = m;
          frag_kinds[nf++] = fk;
        } else {
          exc[e++] = m;
        }
        break;
      }
      case FrameClass::kDrop:
        ctr.Drop(RefineDropReason(m, sh.pcfg, src.port, reason));
        rte_pktmbuf_free(m);
        break;
    }
  }
  CounterAdd(ctr.rx_packets, n);
  CounterAdd(ctr.rx_bytes, bytes);

  if (k > 0) {
    core_.Process(
        views, k, MonotonicMillis(),
        [&](size_t i) {
          const PeerPath from = SourcePath(ours[i], parsed[i], src.port);
          if (from.transport == Transport::kNone) NoteBadChecksum(src.port, ours[i], parsed[i]);
          return from;
        },
        [&](size_t i, const PeerPath& from) { return CameFrom(ours[i], parsed[i], from); }, dec);
    size_t f = 0;
    for (size_t i = 0; i < k; ++i) {
      if (dec[i].verdict == Verdict::kForward) {
        const PeerPath& path = *dec[i].path;
        if (sh.is_eth[path.listener] && RewriteForward(ours[i], parsed[i], path, sh.pcfg)) {
          // Longer than the port's MTU allows (a tagged frame may be 4
          // bytes longer): fragmented after the burst.
          if (rte_pktmbuf_pkt_len(ours[i]) > sh.max_untagged_frame[path.listener] &&
              IpBytes(ours[i], path.vlan & kVlanTagged) > sh.mtu[path.listener]) {
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
    TransmitGrouped(fwd, fwd_port, f, txq_, ctr);
    for (size_t i = 0; i < o; ++i) {
      SendFitted(over[i], over_path[i]->listener, over_path[i]->vlan & kVlanTagged);
    }
  }

  if (e > 0) ToKernel(src, exc, e);
  if (nf > 0) FromWireFragments(src, frags, frag_kinds, nf);
  core_.EndBurst();
}

// A VLAN's TAP: tagged with the VLAN.
void Worker::FromKernel(const RxSource& src, rte_mbuf** pkts, uint16_t n) {
  WorkerCounters& ctr = core_.counters();
  CounterAdd(ctr.from_kernel, n);
  uint16_t ports[kBurst];
  size_t k = 0;
  for (uint16_t i = 0; i < n; ++i) {
    rte_mbuf* m = pkts[i];
    SetTxOffloads(m, 0);
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
  TransmitGrouped(pkts, ports, k, txq_, ctr);
}

bool Worker::DrainEgress() {
  rte_mbuf* pkts[kBurst];
  const unsigned n =
      rte_ring_sc_dequeue_burst(shared_->egress, reinterpret_cast<void**>(pkts), kBurst, nullptr);
  if (n == 0) return false;
  uint16_t ports[kBurst];
  for (unsigned i = 0; i < n; ++i) ports[i] = pkts[i]->port;
  TransmitGrouped(pkts, ports, n, txq_, core_.counters());
  return true;
}

void Worker::Run() {
  prctl(PR_SET_TIMERSLACK, 1000UL);  // naps of the length asked for, not +50 µs
  rte_mbuf* pkts[kBurst];
  uint32_t idle = 0;
  uint32_t nap_us = 0;
  uint32_t napped_us = 0;
  uint32_t round = 0;
  uint32_t expire_round = 0;
  bool saturated = false;
  conf_->Online(txq_);
  for (;;) {
    // The conf of this round: nothing of the last one is held any more.
    shared_ = conf_->Current(txq_);
    if (shared_->stop->load(std::memory_order_relaxed)) break;
    bool busy = core_.ApplyUpdates() > 0;
    // Incomplete datagrams whose time is up: every so many rounds (under
    // load a round is a burst; idle, a nap of at most idle_sleep_us).
    constexpr uint32_t kExpireEvery = 256;
    if (++expire_round % kExpireEvery == 0) reassembly_->Expire(rte_rdtsc(), core_.counters());
    // Polling a TAP costs a system call: under full load (the last burst
    // was full) only every kTapPollEvery rounds; exceptions are rare.
    const bool poll_taps = !saturated || (++round % kTapPollEvery) == 0;
    saturated = false;
    for (const RxSource& src : rx_) {
      if (src.tap && !poll_taps) continue;
      const uint16_t n = rte_eth_rx_burst(src.port, src.queue, pkts, kBurst);
      if (n == 0) continue;
      busy = true;
      if (src.tap) {
        FromKernel(src, pkts, n);
      } else {
        saturated = saturated || n == kBurst;
        FromWire(src, pkts, n);
      }
    }
    if (drains_egress_ && DrainEgress()) busy = true;
    if (busy) {
      idle = 0;
      nap_us = 0;
      napped_us = 0;
    } else if (shared_->idle_sleep_us > 0 && ++idle > kIdleRoundsBeforeSleep) {
      // Naps grow while nothing comes, up to idle_sleep_us, then (--af_xdp)
      // a sleep until a frame comes; offline meanwhile, so that a conf
      // update does not wait for it.
      nap_us = std::min<uint32_t>(nap_us ? nap_us * 2 : kFirstNapUs, shared_->idle_sleep_us);
      const bool sleep = idle_wait_.enabled() && napped_us >= kNapUsBeforeSocketSleep;
      rte_ring* const egress = shared_->egress;
      EgressWake* const wake = drains_egress_ ? shared_->egress_wake : nullptr;
      conf_->Offline(txq_);
      if (sleep) {
        idle_wait_.Sleep(egress, wake, core_.counters());
      } else {
        usleep(nap_us);
        napped_us = std::min(napped_us + nap_us, kNapUsBeforeSocketSleep);
      }
      conf_->Online(txq_);
    } else {
      rte_pause();
    }
  }
  conf_->Offline(txq_);
}

}  // namespace drasyl::dpdk
