// The load generator's random numbers: xoshiro256** seeded by splitmix64.
// Fast and reproducible from a seed; not for anything secret.
#ifndef DRASYL_BENCH_LOADGEN_RNG_H_
#define DRASYL_BENCH_LOADGEN_RNG_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace drasyl::loadgen {

struct Rng {  // xoshiro256**
  uint64_t s[4];
  explicit Rng(uint64_t seed) {
    for (auto& v : s) {  // splitmix64
      seed += 0x9e3779b97f4a7c15ull;
      uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      v = z ^ (z >> 31);
    }
  }
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t Next() {
    const uint64_t r = Rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = Rotl(s[3], 45);
    return r;
  }
  uint64_t Below(uint64_t n) { return static_cast<uint64_t>((static_cast<__uint128_t>(Next()) * n) >> 64); }
  void Fill(uint8_t* out, size_t n) {
    for (size_t i = 0; i < n; i += 8) {
      uint64_t v = Next();
      std::memcpy(out + i, &v, std::min<size_t>(8, n - i));
    }
  }
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_RNG_H_
