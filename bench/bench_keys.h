// Deterministic pseudo-random public keys for the relay benchmarks.
#ifndef DRASYL_BENCH_BENCH_KEYS_H_
#define DRASYL_BENCH_BENCH_KEYS_H_

#include <cstring>
#include <random>
#include <vector>

#include "common/types.h"

namespace drasyl {

inline std::vector<PublicKey> RandomKeys(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<PublicKey> keys(n);
  for (auto& k : keys) {
    for (size_t i = 0; i < k.size(); i += 8) {
      uint64_t v = rng();
      std::memcpy(k.data() + i, &v, 8);
    }
  }
  return keys;
}

}  // namespace drasyl

#endif  // DRASYL_BENCH_BENCH_KEYS_H_
