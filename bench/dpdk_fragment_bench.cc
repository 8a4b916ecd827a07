// The DPDK backend's fragment path on real mbufs, without a device:
// full-size IPv6 messages (a 1 472-byte datagram, the reference node's
// default: a 1 520-byte IPv6 packet) from one IPv6 peer to another over
// 1 500-byte links, ns per message, 1 000 registered peers.
// frag:1 as they really come: two fragments each (the sender's kernel
// splits them), reassembled (librte_ip_frag), linearized, decided,
// rewritten and sent as two fragments again (dataplane/dpdk/dpdk_fragments.h,
// as dpdk_backend.cc's fragment path does; not RX, not TX). frag:0 the
// same messages unfragmented on a link that carries them whole, through
// the relay fast path (as bench/dpdk_relay_bench.cc's RelayBurst): what
// fragments cost.
//   build/bench/dpdk_fragment_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// A benchmark of its own (not in dpdk_relay_bench.cc): more code in that
// file changes how the compiler builds its RelayBurst, and with it the
// instruction count scripts/relay-instructions.sh reports for the fast path.
#include <benchmark/benchmark.h>

#ifdef DRASYL_HAVE_DPDK

#include <rte_cycles.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bench/bench_keys.h"
#include "common/clock.h"
#include "common/wire.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_fragments.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/worker_core.h"

namespace drasyl {
namespace {

constexpr size_t kBurst = 32;
constexpr uint16_t kPort = 22527;
bool g_no_huge = true;

// Hugepages when the host has them free, else --no-huge (as drasyl-sp).
rte_mempool* Pool() {
  static rte_mempool* pool = []() -> rte_mempool* {
    auto args = dpdk::BuildEalArgs("-l 0 --no-pci --log-level=lib.eal:error --log-level=lib.*:error",
                                   dpdk::DetectHugepages());
    if (!args.ok() || !dpdk::InitEal(args->argv).ok()) return nullptr;
    g_no_huge = args->no_huge;
    return dpdk::CreateMbufPool("bench_pool", 1023, 0, SOCKET_ID_ANY);
  }();
  return pool;
}

// The relay fast path for a burst of whole frames (parse, decide,
// rewrite), as RelayBurst in dpdk_relay_bench.cc.
[[gnu::noinline]] uint64_t RelayWholeBurst(rte_mbuf** burst, const dpdk::PacketConfig& cfg,
                                           WorkerCore& core) {
  dpdk::ParsedFrame parsed[kBurst];
  PacketView views[kBurst];
  Decision dec[kBurst];
  size_t k = 0;
  const dpdk::CommonFrame common(cfg, 0);
  for (size_t i = 0; i < kBurst; ++i) {
    DropReason why;
    if (dpdk::ParseFrame(burst[i], cfg, common, 0, &parsed[k], &views[k], &why) ==
        dpdk::FrameClass::kOurs) {
      burst[k++] = burst[i];
    }
  }
  core.Process(
      views, k, MonotonicMillis(),
      [&](size_t i) { return dpdk::SourcePath(burst[i], parsed[i], 0); },
      [&](size_t i, const PeerPath& from) { return dpdk::CameFrom(burst[i], parsed[i], from); },
      dec);
  uint64_t forwarded = 0;
  for (size_t i = 0; i < k; ++i) {
    forwarded += dec[i].verdict == Verdict::kForward &&
                 dpdk::RewriteForward(burst[i], parsed[i], *dec[i].path, cfg);
  }
  return forwarded;
}

rte_mempool* LinearPool() {
  static rte_mempool* pool =
      Pool() == nullptr ? nullptr
                        : dpdk::CreateMbufPool("bench_linear", 7, 0, SOCKET_ID_ANY,
                                               dpdk::kLinearMbufDataRoom);
  return pool;
}

// The backend's fragment path (dpdk_backend.cc: FromWireFragments,
// WholeDatagram, SendFitted) for n fragments: reassembled, each whole
// datagram decided and sent on in fragments of `mtu` (not transmitted:
// freed). Returns the fragments made.
[[gnu::noinline]] uint64_t RelayFragments(rte_mbuf** frags, size_t n, const dpdk::PacketConfig& cfg,
                                          WorkerCore& core, dpdk::Reassembler& reassembly,
                                          uint16_t mtu, uint32_t* next_id) {
  WorkerCounters& ctr = core.counters();
  const dpdk::CommonFrame common(cfg, 0);
  const uint64_t tsc = rte_rdtsc();
  uint64_t made = 0;
  for (size_t i = 0; i < n; ++i) {
    if (dpdk::ClassifyFragment(frags[i], cfg, 0) != dpdk::FragmentKind::kFragment) {
      rte_pktmbuf_free(frags[i]);
      continue;
    }
    rte_mbuf* whole = reassembly.Add(frags[i], tsc, ctr);
    if (whole == nullptr) continue;
    DropReason why;
    rte_mbuf* m = dpdk::Linearize(whole, LinearPool(), &why);
    if (m == nullptr) continue;
    dpdk::ParsedFrame parsed;
    PacketView view;
    Decision dec;
    if (dpdk::ParseFrame(m, cfg, common, 0, &parsed, &view, &why) == dpdk::FrameClass::kOurs) {
      core.Process(
          &view, 1, MonotonicMillis(), [&](size_t) { return dpdk::SourcePath(m, parsed, 0); },
          [&](size_t, const PeerPath& from) { return dpdk::CameFrom(m, parsed, from); }, &dec);
      if (dec.verdict == Verdict::kForward &&
          dpdk::RewriteForward(m, parsed, *dec.path, cfg)) {
        dpdk::FinishChecksumsInSoftware(m, 14);
        rte_mbuf* out[dpdk::kMaxOutFragments];
        const size_t k = dpdk::FragmentDatagram(rte_pktmbuf_mtod(m, const uint8_t*),
                                                rte_pktmbuf_pkt_len(m), 14, mtu, *next_id += 2,
                                                Pool(), out, dpdk::kMaxOutFragments, &why);
        for (size_t j = 0; j < k; ++j) rte_pktmbuf_free(out[j]);  // the PMD's TX would
        made += k;
      }
    }
    rte_pktmbuf_free(m);
  }
  reassembly.FreeDropped();
  return made;
}

void BM_DpdkRelayFragmented(benchmark::State& state) {
  const bool fragmented = state.range(0) != 0;
  constexpr size_t kPeers = 1000;
  constexpr size_t kMessages = 32;  // per round
  constexpr size_t kDatagram = 1472;  // UDP payload: the reference node's default MTU
  constexpr uint16_t kMtu = 1500;
  rte_mempool* pool = Pool();
  if (pool == nullptr || LinearPool() == nullptr) {
    state.SkipWithError("EAL / mempool setup failed");
    return;
  }
  dpdk::PacketConfig cfg;
  cfg.udp4_port_be = rte_cpu_to_be_16(kPort);
  cfg.udp6_port_be = rte_cpu_to_be_16(kPort);
  cfg.port_mac[0] = {{0x02, 0, 0, 0, 0, 1}};
  dpdk::LocalAddress a6;
  a6.family = 6;
  a6.ip = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  cfg.AddAddress(a6);
  PeerPath path;  // every peer's: back to us, as BM_DpdkRelay's
  path.transport = Transport::kUdp;
  path.family = 6;
  path.ip = a6.ip;
  path.port = kPort;
  path.listener = 0;
  path.local_addr = 0;
  std::memcpy(path.mac.data(), cfg.port_mac[0].addr_bytes, 6);
  RelayConfig rc;
  rc.self = RandomKeys(1, 99)[0];
  auto core = std::make_unique<WorkerCore>(rc, 5000, -1);
  auto keys = RandomKeys(kPeers, 2);
  core->table().Reserve(kPeers);
  for (size_t i = 0; i < kPeers; ++i) {
    PeerUpdate u;
    u.key = keys[i];
    u.path = path;
    core->table().Apply(u);
  }
  auto reassembly = dpdk::Reassembler::Create(SOCKET_ID_ANY);
  if (reassembly == nullptr) {
    state.SkipWithError("no fragment table");
    return;
  }

  // The messages as their senders' kernels send them: whole, or cut to
  // the 1 500-byte link (two fragments each).
  std::mt19937_64 rng(5);
  std::vector<std::vector<rte_mbuf*>> templates(kMessages);
  const size_t body = kDatagram - wire::MessageBytes(0, false);
  std::vector<uint8_t> payload(body, 0xab);
  std::vector<uint8_t> msg(wire::MessageBytes(body, false));
  for (size_t i = 0; i < kMessages; ++i) {
    wire::HeaderFields h;
    h.type = wire::MessageType::kApp;
    h.recipient = keys[rng() % kPeers];
    h.sender = keys[rng() % kPeers];
    if (h.sender == h.recipient) h.sender[0] ^= 1;
    wire::BuildMessage(h, payload.data(), payload.size(), nullptr, nullptr, msg.data(), msg.size());
    rte_mbuf* whole = rte_pktmbuf_alloc(LinearPool());
    if (whole == nullptr || !dpdk::BuildFrame(whole, path, cfg, msg.data(), msg.size())) {
      state.SkipWithError("cannot build frames");
      return;
    }
    rte_mbuf* parts[dpdk::kMaxOutFragments];
    DropReason why;
    const size_t k = dpdk::FragmentDatagram(rte_pktmbuf_mtod(whole, const uint8_t*),
                                            rte_pktmbuf_pkt_len(whole), 14,
                                            fragmented ? kMtu : 9000, static_cast<uint32_t>(i),
                                            pool, parts, dpdk::kMaxOutFragments, &why);
    rte_pktmbuf_free(whole);
    if (k != (fragmented ? 2u : 1u)) {
      state.SkipWithError("unexpected fragment count");
      return;
    }
    templates[i].assign(parts, parts + k);
  }
  // Each round: fresh copies of the frames, as a PMD's RX hands them over
  // (the copying is not timed), then the relay path, timed.
  std::vector<rte_mbuf*> frames;
  uint64_t messages = 0, made = 0;
  uint32_t next_id = 0;
  for (auto _ : state) {
    frames.clear();
    for (const auto& t : templates) {
      for (rte_mbuf* f : t) {
        rte_mbuf* c = rte_pktmbuf_alloc(pool);
        std::memcpy(rte_pktmbuf_append(c, static_cast<uint16_t>(rte_pktmbuf_pkt_len(f))),
                    rte_pktmbuf_mtod(f, const uint8_t*), rte_pktmbuf_pkt_len(f));
        frames.push_back(c);
      }
    }
    const auto start = std::chrono::steady_clock::now();
    if (fragmented) {
      made += RelayFragments(frames.data(), frames.size(), cfg, *core, *reassembly, kMtu, &next_id);
    } else {
      made += RelayWholeBurst(frames.data(), cfg, *core);
    }
    const auto stop = std::chrono::steady_clock::now();
    state.SetIterationTime(std::chrono::duration<double>(stop - start).count());
    if (!fragmented) {
      for (size_t i = 0; i < kMessages; ++i) rte_pktmbuf_free(frames[i]);
    }
    messages += kMessages;
    while (core->to_control().Front() != nullptr) core->to_control().Pop();
  }
  if (made != messages * (fragmented ? 2 : 1)) state.SkipWithError("not every message was relayed");
  state.SetItemsProcessed(static_cast<int64_t>(messages));
  state.SetLabel(g_no_huge ? "no-huge" : "hugepages");
  state.counters["ns_per_message"] = benchmark::Counter(
      static_cast<double>(messages), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  for (auto& t : templates) {
    for (rte_mbuf* f : t) rte_pktmbuf_free(f);
  }
}
// "_min" over --benchmark_repetitions: the run least disturbed by the rest
// of the machine.
BENCHMARK(BM_DpdkRelayFragmented)
    ->ComputeStatistics("min",
                        [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
    ->ArgName("frag")
    ->Arg(0)
    ->Arg(1)
    ->UseManualTime();

}  // namespace
}  // namespace drasyl

#endif  // DRASYL_HAVE_DPDK
