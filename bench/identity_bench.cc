// Costs of the identity checks and key derivation a super peer performs for
// every new peer, and of generating its own pow.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "common/hex.h"
#include "common/identity.h"
#include "common/session_keys.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

// Identities A (super peer) and B (node) of docs/protocol.md §1.
constexpr char kSkA[] =
    "23ed710af14dce67a77f0d43e5bd470635813261a375ce01cb9c2bbcd7e632867f588b40e13c8758838062865bb9d8"
    "33d869d3d3d8516b9199c58b4405a36e65";
constexpr char kPkB[] = "77a27c8b2af5a4584c4398ad5e98204cf29bc572fa7abf436af9103d1c53d63a";
constexpr int32_t kPowB = -2116633556;

template <typename Key>
Key Decode(const char* hex) {
  Key key;
  CHECK(HexDecodeInto(hex, absl::MakeSpan(key)).ok());
  return key;
}

// One check per HELLO from an unknown sender.
void BM_PowValid(benchmark::State& state) {
  const PublicKey pk = Decode<PublicKey>(kPkB);
  for (auto _ : state) {
    benchmark::DoNotOptimize(PowValid(pk, kPowB, kDefaultMinPowDifficulty));
  }
}
BENCHMARK(BM_PowValid);

// Session keys for a new peer: Ed25519 -> X25519 conversion of the peer's key
// plus one X25519 scalar multiplication and a BLAKE2b.
void BM_KeyExchangeDerive(benchmark::State& state) {
  absl::StatusOr<KeyExchange> kx = KeyExchange::Create(Decode<SecretKey>(kSkA));
  CHECK(kx.ok());
  const PublicKey peer = Decode<PublicKey>(kPkB);
  for (auto _ : state) {
    absl::StatusOr<SessionKeys> keys = kx->Derive(peer);
    benchmark::DoNotOptimize(keys);
  }
}
BENCHMARK(BM_KeyExchangeDerive);

// Our side of the exchange, done once at startup.
void BM_KeyExchangeCreate(benchmark::State& state) {
  const SecretKey sk = Decode<SecretKey>(kSkA);
  for (auto _ : state) {
    absl::StatusOr<KeyExchange> kx = KeyExchange::Create(sk);
    benchmark::DoNotOptimize(kx);
  }
}
BENCHMARK(BM_KeyExchangeCreate);

// The search is deterministic (first valid value from INT32_MIN), so vary the
// key per iteration to average over different search lengths.
void BM_FindPow(benchmark::State& state) {
  PublicKey pk = Decode<PublicKey>(kPkB);
  const int difficulty = static_cast<int>(state.range(0));
  const int threads = static_cast<int>(state.range(1));
  int64_t hashes = 0;
  for (auto _ : state) {
    ++pk[0];
    absl::StatusOr<int32_t> pow = FindPow(pk, difficulty, threads);
    CHECK(pow.ok());
    hashes += static_cast<int64_t>(*pow) - INT32_MIN + 1;
  }
  state.counters["hashes/s"] = benchmark::Counter(static_cast<double>(hashes),
                                                  benchmark::Counter::kIsRate);
}
BENCHMARK(BM_FindPow)
    ->Args({16, 1})
    ->Args({16, 0})
    ->ArgNames({"difficulty", "threads"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace drasyl
