// Header parse/classify and the backend-independent relay decision over a
// burst, with 1 to 1 000 000 registered peers.
//   build/bench/relay_bench
#include <benchmark/benchmark.h>
#include <sodium.h>

#include <cstring>
#include <random>
#include <vector>

#include "bench/bench_keys.h"
#include "common/wire.h"
#include "dataplane/relay.h"

namespace drasyl {
namespace {

constexpr size_t kBurst = 32;

std::vector<uint8_t> AppMessage(const PublicKey& to, const PublicKey& from, size_t payload) {
  wire::HeaderFields h;
  h.recipient = to;
  h.sender = from;
  h.type = wire::MessageType::kApp;
  std::vector<uint8_t> body(payload, 0xab);
  std::vector<uint8_t> msg(wire::MessageBytes(payload, false));
  wire::BuildMessage(h, body.data(), body.size(), nullptr, nullptr, msg.data(), msg.size());
  return msg;
}

void BM_ParseHeader(benchmark::State& state) {
  auto keys = RandomKeys(2, 1);
  auto msg = AppMessage(keys[0], keys[1], 64);
  for (auto _ : state) {
    wire::Header h;
    benchmark::DoNotOptimize(wire::ParseHeader(msg.data(), msg.size(), &h));
    benchmark::DoNotOptimize(h);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseHeader);

// ns per packet of DecideBurst: parse, classify, look up and bump the hop
// count, for bursts of 32 APP messages to random registered peers.
void BM_DecideBurst(benchmark::State& state) {
  const size_t peers = state.range(0);
  auto keys = RandomKeys(peers, 2);
  PeerTable table;
  table.Reserve(peers);
  for (size_t i = 0; i < peers; ++i) {
    PeerUpdate u;
    u.key = keys[i];
    u.path = PeerPath::Udp(SocketAddress::V4(0x0a000001 + i, 22527), 0);
    table.Apply(u);
  }
  // 1024 distinct messages so that lookups hit the whole table.
  constexpr size_t kMessages = 1024;
  std::mt19937_64 rng(3);
  std::vector<std::vector<uint8_t>> msgs;
  for (size_t i = 0; i < kMessages; ++i) {
    msgs.push_back(AppMessage(keys[rng() % peers], keys[rng() % peers], 64));
  }
  RelayConfig cfg;
  cfg.self = RandomKeys(1, 4)[0];
  UniteFilter unites(5000);
  PacketView views[kBurst];
  Decision out[kBurst];
  size_t next = 0;
  for (auto _ : state) {
    for (size_t i = 0; i < kBurst; ++i) {
      auto& m = msgs[next++ & (kMessages - 1)];
      m[wire::off::kHopCount] = 0;
      views[i] = {m.data(), static_cast<uint32_t>(m.size())};
    }
    DecideBurst(cfg, table, &unites, 1000, views, kBurst, out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * kBurst);
  state.counters["ns_per_packet"] = benchmark::Counter(
      static_cast<double>(state.iterations() * kBurst),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  state.counters["table_bytes_per_peer"] = static_cast<double>(table.MemoryBytes()) / peers;
}
BENCHMARK(BM_DecideBurst)->Arg(1)->Arg(1000)->Arg(100000)->Arg(1000000);

}  // namespace
}  // namespace drasyl
