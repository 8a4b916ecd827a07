// The DPDK relay path on real mbufs, without a device: for bursts of 32 APP
// frames, parse Ethernet/IP/UDP, run the worker's relay decision
// (WorkerCore::Process: DecideBurst, counters, UNITE pre-filter) and
// rewrite every frame in place for its next hop (MACs, IPs, ports,
// checksums). Not RX, not TX. 1 to 1 000 000 registered peers, IPv4 and
// IPv6. Runs on hugepages when the host has free ones, else --no-huge.
//   build/bench/dpdk_relay_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
// Instructions per packet, independent of the machine's load:
//   scripts/relay-instructions.sh
// Goals: <= 25 ns/packet at 1 000 peers, <= 50 ns/packet at 1 000 000, one core.
#include <benchmark/benchmark.h>

#ifdef DRASYL_HAVE_DPDK

#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/clock.h"
#include "bench/bench_keys.h"
#include "common/wire.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/worker_core.h"

namespace drasyl {
namespace {

constexpr size_t kBurst = 32;
constexpr size_t kMaxFrames = 1024;  // a NIC ring's worth
constexpr size_t kBodyBytes = 64;
constexpr uint16_t kPort = 22527;

// Hugepages when the host has them free (as drasyl-sp does), else --no-huge;
// DPDK_RELAY_BENCH_NO_HUGE=1 says --no-huge in any case (valgrind, which
// scripts/relay-instructions.sh runs it under, cannot map hugepages).
bool g_no_huge = true;

rte_mempool* Pool() {
  static rte_mempool* pool = [] () -> rte_mempool* {
    const char* no_huge = std::getenv("DPDK_RELAY_BENCH_NO_HUGE");
    auto args = dpdk::BuildEalArgs(
        "-l 0 --no-pci --log-level=lib.eal:error",
        no_huge != nullptr && std::string(no_huge) == "1" ? dpdk::HugepageInfo{}
                                                          : dpdk::DetectHugepages());
    if (!args.ok() || !dpdk::InitEal(args->argv).ok()) return nullptr;
    g_no_huge = args->no_huge;
    return dpdk::CreateMbufPool("bench_pool", 2 * kMaxFrames - 1, 0, SOCKET_ID_ANY);
  }();
  return pool;
}

// What a worker does with one received burst of kBurst frames: parse,
// decide, rewrite. Returns how many were rewritten for forwarding. Not
// inlined, so that `valgrind --tool=callgrind` counts its instructions
// exactly (inclusive cost / calls / kBurst = instructions per packet).
[[gnu::noinline]] uint64_t RelayBurst(rte_mbuf** burst, const dpdk::PacketConfig& cfg,
                                      WorkerCore& core) {
  dpdk::ParsedFrame parsed[kBurst];
  PacketView views[kBurst];
  Decision dec[kBurst];
  size_t k = 0;
  const dpdk::CommonFrame common(cfg, 0);
  for (size_t i = 0; i < dpdk::kPrefetchAhead; ++i) dpdk::PrefetchFrame(burst[i]);
  for (size_t i = 0; i < kBurst; ++i) {
    if (i + dpdk::kPrefetchAhead < kBurst) dpdk::PrefetchFrame(burst[i + dpdk::kPrefetchAhead]);
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
    if (dec[i].verdict == Verdict::kForward &&
        dpdk::RewriteForward(burst[i], parsed[i], *dec[i].path, cfg)) {
      ++forwarded;
    }
    // Back to what the sender sent (hop count 0) for the frame's next
    // round (the rewrite moved neither the payload nor the frame); nobody
    // checks the checksum here.
    views[i].data[wire::off::kHopCount] = 0;
  }
  return forwarded;
}

void BM_DpdkRelay(benchmark::State& state) {
  const size_t peers = static_cast<size_t>(state.range(0));
  const bool v6 = state.range(1) == 6;
  // Frames cycled through: 32 = one burst, cache-resident (the mbufs hot as
  // the PMD's RX leaves them: the relay path's own cost); 1024 = a NIC
  // ring's worth, so every mbuf header and frame comes from L2/L3 (includes
  // the cache misses a PMD's RX would otherwise take).
  const size_t kFrames = static_cast<size_t>(state.range(2));
  // verify:1 -- --verify_senders: every sender is looked up too (and all of
  // them come from their registered path).
  const bool verify = state.range(3) != 0;
  if (kFrames % kBurst != 0 || (kFrames & (kFrames - 1)) != 0) {
    state.SkipWithError("ring: a power of two of whole bursts");
    return;
  }
  rte_mempool* pool = Pool();
  if (pool == nullptr) {
    state.SkipWithError("EAL / mempool setup failed");
    return;
  }

  dpdk::PacketConfig cfg;
  cfg.udp4_port_be = rte_cpu_to_be_16(kPort);
  cfg.udp6_port_be = rte_cpu_to_be_16(kPort);
  cfg.port_mac[0] = {{0x02, 0, 0, 0, 0, 1}};
  dpdk::LocalAddress a4, a6;
  a4.family = 4;
  a4.ip = {10, 99, 0, 1};
  a6.family = 6;
  a6.ip = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  cfg.AddAddress(a4);
  cfg.AddAddress(a6);

  // Every peer's path leads back to us (our address, port and MAC), so a
  // rewritten frame parses as ours again on the next round: the frames can
  // be cycled without rebuilding. The work per frame is the same as for a
  // real next hop.
  PeerPath path;
  path.transport = Transport::kUdp;
  path.family = v6 ? 6 : 4;
  path.ip = v6 ? a6.ip : a4.ip;
  path.port = kPort;
  path.listener = 0;
  path.local_addr = v6 ? 1 : 0;
  std::memcpy(path.mac.data(), cfg.port_mac[0].addr_bytes, 6);

  RelayConfig rc;
  rc.self = RandomKeys(1, 99)[0];
  rc.verify_senders = verify;
  auto core = std::make_unique<WorkerCore>(rc, 5000, -1);
  auto keys = RandomKeys(peers, 2);
  core->table().Reserve(peers);
  for (size_t i = 0; i < peers; ++i) {
    PeerUpdate u;
    u.key = keys[i];
    u.path = path;
    core->table().Apply(u);
  }

  // Frames to random registered peers from random registered peers.
  std::mt19937_64 rng(3);
  std::vector<rte_mbuf*> frames(kFrames);
  std::vector<uint8_t> body(kBodyBytes, 0xab);
  std::vector<uint8_t> msg(wire::MessageBytes(kBodyBytes, false));
  for (size_t i = 0; i < kFrames; ++i) {
    wire::HeaderFields h;
    h.type = wire::MessageType::kApp;
    h.recipient = keys[rng() % peers];
    h.sender = keys[rng() % peers];
    if (h.sender == h.recipient) h.sender[0] ^= 1;  // not a loopback (1 peer)
    wire::BuildMessage(h, body.data(), body.size(), nullptr, nullptr, msg.data(), msg.size());
    frames[i] = rte_pktmbuf_alloc(pool);
    if (frames[i] == nullptr || !dpdk::BuildFrame(frames[i], path, cfg, msg.data(), msg.size())) {
      state.SkipWithError("cannot build frames");
      return;
    }
  }
  rte_mbuf* burst[kBurst];
  size_t next = 0;
  uint64_t forwarded = 0, packets = 0;
  for (auto _ : state) {
    // The burst array as a PMD's rx_burst fills it (RelayBurst compacts it).
    std::memcpy(burst, &frames[next], sizeof(burst));
    next = (next + kBurst) & (kFrames - 1);
    forwarded += RelayBurst(burst, cfg, *core);
    packets += kBurst;
    // RX is not measured (nor TX): a PMD's rx_burst hands over mbufs whose
    // headers it has just written. Model that for the next burst.
    for (size_t i = 0; i < kBurst; ++i) rte_prefetch0(frames[next + i]);
    // The UNITE reports the control thread would take.
    while (core->to_control().Front() != nullptr) core->to_control().Pop();
  }
  if (forwarded != packets) {
    state.SkipWithError("not every frame was relayed");
  }
  state.SetItemsProcessed(static_cast<int64_t>(packets));
  state.SetLabel(g_no_huge ? "no-huge" : "hugepages");
  state.counters["ns_per_packet"] = benchmark::Counter(
      static_cast<double>(packets), benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  for (rte_mbuf* m : frames) rte_pktmbuf_free(m);
}
// With --benchmark_repetitions=N, "_min" is the run least disturbed by the
// rest of the machine (the figure for the goals on a shared VM).
BENCHMARK(BM_DpdkRelay)
    ->ComputeStatistics("min",
                        [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); })
    ->ArgNames({"peers", "ip", "ring", "verify"})
    ->ArgsProduct({{1, 1000, 100000, 1000000}, {4, 6}, {32, 1024}, {0}})
    ->Args({1000, 4, 32, 1})
    ->Args({1000000, 4, 32, 1});

}  // namespace
}  // namespace drasyl

#endif  // DRASYL_HAVE_DPDK
