// AEGIS-256X2 with AES-NI: each lane's six state blocks in its own 128-bit
// registers (twelve registers in all). Built with -maes -msse4.1; only called
// after CPUID said so.
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
  __m128i a0, a1, a2, a3, a4, a5;  // lane 0
  __m128i b0, b1, b2, b3, b4, b5;  // lane 1
};

AEGIS_INLINE __m128i Load(const uint8_t* p) {
  return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}
AEGIS_INLINE void Store(uint8_t* p, __m128i v) {
  _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
}

// V'[i] = AESRound(V[i-1], V[i]); V'[0] also absorbs the message block, XORed
// after the round (AESRound(x, k) = f(x) ^ k) to keep it off the AESENC inputs.
AEGIS_INLINE void Update(State& s, __m128i ma, __m128i mb) {
  const __m128i ta = s.a5;
  const __m128i tb = s.b5;
  s.a5 = _mm_aesenc_si128(s.a4, s.a5);
  s.b5 = _mm_aesenc_si128(s.b4, s.b5);
  s.a4 = _mm_aesenc_si128(s.a3, s.a4);
  s.b4 = _mm_aesenc_si128(s.b3, s.b4);
  s.a3 = _mm_aesenc_si128(s.a2, s.a3);
  s.b3 = _mm_aesenc_si128(s.b2, s.b3);
  s.a2 = _mm_aesenc_si128(s.a1, s.a2);
  s.b2 = _mm_aesenc_si128(s.b1, s.b2);
  s.a1 = _mm_aesenc_si128(s.a0, s.a1);
  s.b1 = _mm_aesenc_si128(s.b0, s.b1);
  s.a0 = _mm_xor_si128(_mm_aesenc_si128(ta, s.a0), ma);
  s.b0 = _mm_xor_si128(_mm_aesenc_si128(tb, s.b0), mb);
}

AEGIS_INLINE __m128i Za(const State& s) {
  return _mm_xor_si128(_mm_xor_si128(s.a1, s.a4),
                       _mm_xor_si128(s.a5, _mm_and_si128(s.a2, s.a3)));
}
AEGIS_INLINE __m128i Zb(const State& s) {
  return _mm_xor_si128(_mm_xor_si128(s.b1, s.b4),
                       _mm_xor_si128(s.b5, _mm_and_si128(s.b2, s.b3)));
}

AEGIS_INLINE void Init(State& s, const uint8_t* key, const uint8_t* nonce) {
  const __m128i c0 = _mm_setr_epi8(0x00, 0x01, 0x01, 0x02, 0x03, 0x05, 0x08, 0x0d, 0x15, 0x22,
                                   0x37, 0x59, static_cast<char>(0x90), static_cast<char>(0xe9),
                                   0x79, 0x62);
  const __m128i c1 =
      _mm_setr_epi8(static_cast<char>(0xdb), 0x3d, 0x18, 0x55, 0x6d, static_cast<char>(0xc2),
                    0x2f, static_cast<char>(0xf1), 0x20, 0x11, 0x31, 0x42, 0x73,
                    static_cast<char>(0xb5), 0x28, static_cast<char>(0xdd));
  // ctx_i = i || (degree - 1) || 0...
  const __m128i ctxa = _mm_setr_epi32(0x0100, 0, 0, 0);
  const __m128i ctxb = _mm_setr_epi32(0x0101, 0, 0, 0);
  const __m128i k0 = Load(key), k1 = Load(key + 16);
  const __m128i n0 = Load(nonce), n1 = Load(nonce + 16);
  const __m128i k0n0 = _mm_xor_si128(k0, n0), k1n1 = _mm_xor_si128(k1, n1);
  s.a0 = s.b0 = k0n0;
  s.a1 = s.b1 = k1n1;
  s.a2 = s.b2 = c1;
  s.a3 = s.b3 = c0;
  s.a4 = s.b4 = _mm_xor_si128(k0, c0);
  s.a5 = s.b5 = _mm_xor_si128(k1, c1);
  const auto step = [&s, ctxa, ctxb](__m128i m) __attribute__((always_inline)) {
    s.a3 = _mm_xor_si128(s.a3, ctxa);
    s.a5 = _mm_xor_si128(s.a5, ctxa);
    s.b3 = _mm_xor_si128(s.b3, ctxb);
    s.b5 = _mm_xor_si128(s.b5, ctxb);
    Update(s, m, m);
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
  for (; i + kRate <= adlen; i += kRate) Update(s, Load(ad + i), Load(ad + i + 16));
  if (i < adlen) {
    alignas(16) uint8_t pad[kRate] = {};
    std::memcpy(pad, ad + i, adlen - i);
    Update(s, Load(pad), Load(pad + 16));
  }
}

AEGIS_INLINE __m128i Finalize(State& s, size_t adlen, size_t mlen) {
  const __m128i u = _mm_set_epi64x(static_cast<long long>(static_cast<uint64_t>(mlen) << 3),
                                   static_cast<long long>(static_cast<uint64_t>(adlen) << 3));
  const __m128i ta = _mm_xor_si128(s.a3, u);
  const __m128i tb = _mm_xor_si128(s.b3, u);
  for (int i = 0; i < 7; ++i) Update(s, ta, tb);
  const __m128i xa = _mm_xor_si128(_mm_xor_si128(_mm_xor_si128(s.a0, s.a1), s.a2),
                                   _mm_xor_si128(_mm_xor_si128(s.a3, s.a4), s.a5));
  const __m128i xb = _mm_xor_si128(_mm_xor_si128(_mm_xor_si128(s.b0, s.b1), s.b2),
                                   _mm_xor_si128(_mm_xor_si128(s.b3, s.b4), s.b5));
  return _mm_xor_si128(xa, xb);
}

}  // namespace

void EncryptAesni(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                  const uint8_t* ad, size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c,
                  uint8_t tag[kTagBytes]) {
  State s;
  Init(s, key, nonce);
  Absorb(s, ad, adlen);
  size_t i = 0;
  for (; i + kRate <= mlen; i += kRate) {
    const __m128i ma = Load(m + i), mb = Load(m + i + 16);
    Store(c + i, _mm_xor_si128(ma, Za(s)));
    Store(c + i + 16, _mm_xor_si128(mb, Zb(s)));
    Update(s, ma, mb);
  }
  if (i < mlen) {
    alignas(16) uint8_t pad[kRate] = {};
    std::memcpy(pad, m + i, mlen - i);
    const __m128i ma = Load(pad), mb = Load(pad + 16);
    Store(pad, _mm_xor_si128(ma, Za(s)));
    Store(pad + 16, _mm_xor_si128(mb, Zb(s)));
    std::memcpy(c + i, pad, mlen - i);
    Update(s, ma, mb);
  }
  Store(tag, Finalize(s, adlen, mlen));
}

bool DecryptAesni(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                  const uint8_t* ad, size_t adlen, const uint8_t* c, size_t clen,
                  const uint8_t tag[kTagBytes], uint8_t* m) {
  State s;
  Init(s, key, nonce);
  Absorb(s, ad, adlen);
  size_t i = 0;
  for (; i + kRate <= clen; i += kRate) {
    const __m128i ma = _mm_xor_si128(Load(c + i), Za(s));
    const __m128i mb = _mm_xor_si128(Load(c + i + 16), Zb(s));
    Store(m + i, ma);
    Store(m + i + 16, mb);
    Update(s, ma, mb);
  }
  if (i < clen) {
    const size_t r = clen - i;
    alignas(16) uint8_t pad[kRate] = {};
    std::memcpy(pad, c + i, r);
    Store(pad, _mm_xor_si128(Load(pad), Za(s)));
    Store(pad + 16, _mm_xor_si128(Load(pad + 16), Zb(s)));
    std::memset(pad + r, 0, kRate - r);
    std::memcpy(m + i, pad, r);
    Update(s, Load(pad), Load(pad + 16));
  }
  const __m128i diff = _mm_xor_si128(Finalize(s, adlen, clen), Load(tag));
  if (!_mm_testz_si128(diff, diff)) {  // constant-time: one test of all bits
    if (clen != 0) std::memset(m, 0, clen);
    return false;
  }
  return true;
}

void InitStateAesni(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                    uint8_t out[kStateBytes]) {
  State s;
  Init(s, key, nonce);
  const __m128i v[12] = {s.a0, s.b0, s.a1, s.b1, s.a2, s.b2, s.a3, s.b3, s.a4, s.b4, s.a5, s.b5};
  for (int i = 0; i < 12; ++i) Store(out + 16 * i, v[i]);
}

}  // namespace drasyl::aegis::internal
