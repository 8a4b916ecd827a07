// AEGIS-256X2 with VAES + AVX2: V[i] of both lanes in one 256-bit register
// (lane 0 in the low 128 bits), so one update is six VAESENC on ymm registers
// and 32 message bytes are one unaligned load. Built with -maes -mavx2 -mvaes;
// only called after CPUID said so. No AVX-512.
//
// Everything here is static or in an anonymous namespace, and no C++ library
// template is instantiated: an out-of-line copy compiled with these flags
// must never be picked by the linker for code that runs on other CPUs.

#include <immintrin.h>

#include <cstring>

#include "common/aegis256x2_internal.h"

namespace drasyl::aegis::internal {
namespace {

#define AEGIS_INLINE __attribute__((always_inline)) inline

constexpr size_t kRate = 32;

struct State {
  __m256i s0, s1, s2, s3, s4, s5;
};

AEGIS_INLINE __m256i Load(const uint8_t* p) {
  return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
}
AEGIS_INLINE void Store(uint8_t* p, __m256i v) {
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
}

// V'[i] = AESRound(V[i-1], V[i]); V'[0] also absorbs the message. Since
// AESRound(x, k) = f(x) ^ k, the message is XORed after the AES round, which
// keeps it (in decryption: a function of the state) off the VAESENC inputs.
AEGIS_INLINE void Update(State& s, __m256i m) {
  const __m256i t = s.s5;
  s.s5 = _mm256_aesenc_epi128(s.s4, s.s5);
  s.s4 = _mm256_aesenc_epi128(s.s3, s.s4);
  s.s3 = _mm256_aesenc_epi128(s.s2, s.s3);
  s.s2 = _mm256_aesenc_epi128(s.s1, s.s2);
  s.s1 = _mm256_aesenc_epi128(s.s0, s.s1);
  s.s0 = _mm256_xor_si256(_mm256_aesenc_epi128(t, s.s0), m);
}

// Keystream: V[1] ^ V[4] ^ V[5] ^ (V[2] & V[3]).
AEGIS_INLINE __m256i Z(const State& s) {
  return _mm256_xor_si256(_mm256_xor_si256(s.s1, s.s4),
                          _mm256_xor_si256(s.s5, _mm256_and_si256(s.s2, s.s3)));
}

AEGIS_INLINE __m256i Broadcast(const uint8_t* p) {
  return _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}

AEGIS_INLINE void Init(State& s, const uint8_t* key, const uint8_t* nonce) {
  const __m256i c0 = _mm256_broadcastsi128_si256(_mm_setr_epi8(
      0x00, 0x01, 0x01, 0x02, 0x03, 0x05, 0x08, 0x0d, 0x15, 0x22, 0x37, 0x59,
      static_cast<char>(0x90), static_cast<char>(0xe9), 0x79, 0x62));
  const __m256i c1 = _mm256_broadcastsi128_si256(
      _mm_setr_epi8(static_cast<char>(0xdb), 0x3d, 0x18, 0x55, 0x6d, static_cast<char>(0xc2),
                    0x2f, static_cast<char>(0xf1), 0x20, 0x11, 0x31, 0x42, 0x73,
                    static_cast<char>(0xb5), 0x28, static_cast<char>(0xdd)));
  // ctx_i = i || (degree - 1) || 0..., lane i.
  const __m256i ctx = _mm256_setr_epi32(0x0100, 0, 0, 0, 0x0101, 0, 0, 0);
  const __m256i k0 = Broadcast(key), k1 = Broadcast(key + 16);
  const __m256i n0 = Broadcast(nonce), n1 = Broadcast(nonce + 16);
  const __m256i k0n0 = _mm256_xor_si256(k0, n0), k1n1 = _mm256_xor_si256(k1, n1);
  s.s0 = k0n0;
  s.s1 = k1n1;
  s.s2 = c1;
  s.s3 = c0;
  s.s4 = _mm256_xor_si256(k0, c0);
  s.s5 = _mm256_xor_si256(k1, c1);
  const auto step = [&s, ctx](__m256i m) __attribute__((always_inline)) {
    s.s3 = _mm256_xor_si256(s.s3, ctx);
    s.s5 = _mm256_xor_si256(s.s5, ctx);
    Update(s, m);
  };
  for (int i = 0; i < 4; ++i) {
    step(k0);
    step(k1);
    step(k0n0);
    step(k1n1);
  }
}

AEGIS_INLINE void Absorb(State& s, const uint8_t* ad, size_t adlen) {
  size_t i = 0;
  for (; i + kRate <= adlen; i += kRate) Update(s, Load(ad + i));
  if (i < adlen) {
    alignas(32) uint8_t pad[kRate] = {};
    std::memcpy(pad, ad + i, adlen - i);
    Update(s, Load(pad));
  }
}

AEGIS_INLINE __m128i Finalize(State& s, size_t adlen, size_t mlen) {
  const __m256i u = _mm256_broadcastsi128_si256(
      _mm_set_epi64x(static_cast<long long>(static_cast<uint64_t>(mlen) << 3),
                     static_cast<long long>(static_cast<uint64_t>(adlen) << 3)));
  const __m256i t = _mm256_xor_si256(s.s3, u);
  for (int i = 0; i < 7; ++i) Update(s, t);
  const __m256i x = _mm256_xor_si256(_mm256_xor_si256(_mm256_xor_si256(s.s0, s.s1), s.s2),
                                     _mm256_xor_si256(_mm256_xor_si256(s.s3, s.s4), s.s5));
  return _mm_xor_si128(_mm256_castsi256_si128(x), _mm256_extracti128_si256(x, 1));
}

}  // namespace

void EncryptVaes(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                 const uint8_t* ad, size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c,
                 uint8_t tag[kTagBytes]) {
  State s;
  Init(s, key, nonce);
  Absorb(s, ad, adlen);
  size_t i = 0;
  for (; i + kRate <= mlen; i += kRate) {
    const __m256i x = Load(m + i);  // before the store: c may equal m
    Store(c + i, _mm256_xor_si256(x, Z(s)));
    Update(s, x);
  }
  if (i < mlen) {
    alignas(32) uint8_t pad[kRate] = {};
    std::memcpy(pad, m + i, mlen - i);
    const __m256i x = Load(pad);
    Store(pad, _mm256_xor_si256(x, Z(s)));
    std::memcpy(c + i, pad, mlen - i);
    Update(s, x);
  }
  _mm_storeu_si128(reinterpret_cast<__m128i*>(tag), Finalize(s, adlen, mlen));
}

bool DecryptVaes(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                 const uint8_t* ad, size_t adlen, const uint8_t* c, size_t clen,
                 const uint8_t tag[kTagBytes], uint8_t* m) {
  State s;
  Init(s, key, nonce);
  Absorb(s, ad, adlen);
  size_t i = 0;
  for (; i + kRate <= clen; i += kRate) {
    const __m256i x = _mm256_xor_si256(Load(c + i), Z(s));
    Store(m + i, x);
    Update(s, x);
  }
  if (i < clen) {
    const size_t r = clen - i;
    alignas(32) uint8_t pad[kRate] = {};
    std::memcpy(pad, c + i, r);
    Store(pad, _mm256_xor_si256(Load(pad), Z(s)));
    std::memset(pad + r, 0, kRate - r);
    std::memcpy(m + i, pad, r);
    Update(s, Load(pad));
  }
  const __m128i diff = _mm_xor_si128(Finalize(s, adlen, clen),
                                     _mm_loadu_si128(reinterpret_cast<const __m128i*>(tag)));
  const bool ok = _mm_testz_si128(diff, diff);  // constant-time: one test of all bits
  if (!ok) {
    if (clen != 0) std::memset(m, 0, clen);
    return false;
  }
  return true;
}

void InitStateVaes(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                   uint8_t out[kStateBytes]) {
  State s;
  Init(s, key, nonce);
  const __m256i v[6] = {s.s0, s.s1, s.s2, s.s3, s.s4, s.s5};
  // V[i] in the register is lane 0 || lane 1, exactly the V[i,0], V[i,1] order.
  for (int i = 0; i < 6; ++i) Store(out + 32 * i, v[i]);
}

}  // namespace drasyl::aegis::internal
