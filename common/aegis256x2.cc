// AEGIS-256X2 (draft-irtf-cfrg-aegis-aead, parallel degree 2, 128-bit tag):
// run-time dispatch and the portable implementation.
//
// The portable AES round is bitsliced (no secret-dependent memory accesses or
// branches): four 16-byte blocks are spread over eight 64-bit words, word j
// holding bit j of every byte, and the S-box is evaluated as a Boolean circuit
// (Boyar & Peralta, "A new combinational logic minimization technique with
// applications to cryptology", eprint 2009/191; the bit layout and the ShiftRows/MixColumns formulas follow the "ct64"
// technique of Thomas Pornin's BearSSL, MIT licence). One AEGIS update runs the
// round on all twelve state blocks (six per lane), i.e. three 4-block batches.

#include "common/aegis256x2.h"

#include <cpuid.h>

#include <cstring>

#include "common/aegis256x2_internal.h"

namespace drasyl::aegis {
namespace internal {
namespace {

// ---------------------------------------------------------------------------
// Bitsliced AES round (SubBytes, ShiftRows, MixColumns; no AddRoundKey).

// Spreads the 16 bits of each half of a word so that two words can be
// byte-interleaved into one 64-bit lane.
inline uint64_t Spread(uint64_t x) {
  x = (x | (x << 16)) & 0x0000FFFF0000FFFFull;
  x = (x | (x << 8)) & 0x00FF00FF00FF00FFull;
  return x;
}

inline uint32_t Gather(uint64_t x) {
  x &= 0x00FF00FF00FF00FFull;
  x = (x | (x >> 8)) & 0x0000FFFF0000FFFFull;
  return static_cast<uint32_t>(x | (x >> 16));
}

// Block (four little-endian words) -> two 64-bit words, before the transpose.
inline void InterleaveIn(uint64_t* lo, uint64_t* hi, const uint32_t w[4]) {
  *lo = Spread(w[0]) | (Spread(w[2]) << 8);
  *hi = Spread(w[1]) | (Spread(w[3]) << 8);
}

inline void InterleaveOut(uint32_t w[4], uint64_t lo, uint64_t hi) {
  w[0] = Gather(lo);
  w[1] = Gather(hi);
  w[2] = Gather(lo >> 8);
  w[3] = Gather(hi >> 8);
}

// Exchanges the bits of a selected by ~mask with the bits of b selected by mask
// (shifted by s): one step of an 8x8 bit-matrix transpose.
inline void SwapMove(uint64_t& a, uint64_t& b, uint64_t mask, int s) {
  const uint64_t x = a;
  const uint64_t y = b;
  a = (x & mask) | ((y & mask) << s);
  b = ((x >> s) & mask) | (y & ~mask);
}

// Involution between "block words" and "bit planes".
inline void Transpose(uint64_t q[8]) {
  for (int i = 0; i < 8; i += 2) SwapMove(q[i], q[i + 1], 0x5555555555555555ull, 1);
  for (int i = 0; i < 8; i += (i & 1) ? 3 : 1) {  // i = 0, 1, 4, 5
    SwapMove(q[i], q[i + 2], 0x3333333333333333ull, 2);
  }
  for (int i = 0; i < 4; ++i) SwapMove(q[i], q[i + 4], 0x0F0F0F0F0F0F0F0Full, 4);
}

// The AES S-box on bit planes (q[0] = least significant bit of each byte).
inline void SubBytes(uint64_t q[8]) {
  // Inputs numbered from the most significant bit, as in the paper.
  const uint64_t u0 = q[7], u1 = q[6], u2 = q[5], u3 = q[4];
  const uint64_t u4 = q[3], u5 = q[2], u6 = q[1], u7 = q[0];

  // Top linear layer.
  const uint64_t y14 = u3 ^ u5;
  const uint64_t y13 = u0 ^ u6;
  const uint64_t y9 = u0 ^ u3;
  const uint64_t y8 = u0 ^ u5;
  const uint64_t t0 = u1 ^ u2;
  const uint64_t y1 = t0 ^ u7;
  const uint64_t y4 = y1 ^ u3;
  const uint64_t y12 = y13 ^ y14;
  const uint64_t y2 = y1 ^ u0;
  const uint64_t y5 = y1 ^ u6;
  const uint64_t y3 = y5 ^ y8;
  const uint64_t t1 = u4 ^ y12;
  const uint64_t y15 = t1 ^ u5;
  const uint64_t y20 = t1 ^ u1;
  const uint64_t y6 = y15 ^ u7;
  const uint64_t y10 = y15 ^ t0;
  const uint64_t y11 = y20 ^ y9;
  const uint64_t y7 = u7 ^ y11;
  const uint64_t y17 = y10 ^ y11;
  const uint64_t y19 = y10 ^ y8;
  const uint64_t y16 = t0 ^ y11;
  const uint64_t y21 = y13 ^ y16;
  const uint64_t y18 = u0 ^ y16;

  // Non-linear middle (inversion in GF(2^4)^2).
  const uint64_t t2 = y12 & y15;
  const uint64_t t3 = y3 & y6;
  const uint64_t t4 = t3 ^ t2;
  const uint64_t t5 = y4 & u7;
  const uint64_t t6 = t5 ^ t2;
  const uint64_t t7 = y13 & y16;
  const uint64_t t8 = y5 & y1;
  const uint64_t t9 = t8 ^ t7;
  const uint64_t t10 = y2 & y7;
  const uint64_t t11 = t10 ^ t7;
  const uint64_t t12 = y9 & y11;
  const uint64_t t13 = y14 & y17;
  const uint64_t t14 = t13 ^ t12;
  const uint64_t t15 = y8 & y10;
  const uint64_t t16 = t15 ^ t12;
  const uint64_t t17 = t4 ^ t14;
  const uint64_t t18 = t6 ^ t16;
  const uint64_t t19 = t9 ^ t14;
  const uint64_t t20 = t11 ^ t16;
  const uint64_t t21 = t17 ^ y20;
  const uint64_t t22 = t18 ^ y19;
  const uint64_t t23 = t19 ^ y21;
  const uint64_t t24 = t20 ^ y18;
  const uint64_t t25 = t21 ^ t22;
  const uint64_t t26 = t21 & t23;
  const uint64_t t27 = t24 ^ t26;
  const uint64_t t28 = t25 & t27;
  const uint64_t t29 = t28 ^ t22;
  const uint64_t t30 = t23 ^ t24;
  const uint64_t t31 = t22 ^ t26;
  const uint64_t t32 = t31 & t30;
  const uint64_t t33 = t32 ^ t24;
  const uint64_t t34 = t23 ^ t33;
  const uint64_t t35 = t27 ^ t33;
  const uint64_t t36 = t24 & t35;
  const uint64_t t37 = t36 ^ t34;
  const uint64_t t38 = t27 ^ t36;
  const uint64_t t39 = t29 & t38;
  const uint64_t t40 = t25 ^ t39;
  const uint64_t t41 = t40 ^ t37;
  const uint64_t t42 = t29 ^ t33;
  const uint64_t t43 = t29 ^ t40;
  const uint64_t t44 = t33 ^ t37;
  const uint64_t t45 = t42 ^ t41;
  const uint64_t z0 = t44 & y15;
  const uint64_t z1 = t37 & y6;
  const uint64_t z2 = t33 & u7;
  const uint64_t z3 = t43 & y16;
  const uint64_t z4 = t40 & y1;
  const uint64_t z5 = t29 & y7;
  const uint64_t z6 = t42 & y11;
  const uint64_t z7 = t45 & y17;
  const uint64_t z8 = t41 & y10;
  const uint64_t z9 = t44 & y12;
  const uint64_t z10 = t37 & y3;
  const uint64_t z11 = t33 & y4;
  const uint64_t z12 = t43 & y13;
  const uint64_t z13 = t40 & y5;
  const uint64_t z14 = t29 & y2;
  const uint64_t z15 = t42 & y9;
  const uint64_t z16 = t45 & y14;
  const uint64_t z17 = t41 & y8;

  // Bottom linear layer (with the affine constant 0x63 folded in as NOTs).
  const uint64_t t46 = z15 ^ z16;
  const uint64_t t47 = z10 ^ z11;
  const uint64_t t48 = z5 ^ z13;
  const uint64_t t49 = z9 ^ z10;
  const uint64_t t50 = z2 ^ z12;
  const uint64_t t51 = z2 ^ z5;
  const uint64_t t52 = z7 ^ z8;
  const uint64_t t53 = z0 ^ z3;
  const uint64_t t54 = z6 ^ z7;
  const uint64_t t55 = z16 ^ z17;
  const uint64_t t56 = z12 ^ t48;
  const uint64_t t57 = t50 ^ t53;
  const uint64_t t58 = z4 ^ t46;
  const uint64_t t59 = z3 ^ t54;
  const uint64_t t60 = t46 ^ t57;
  const uint64_t t61 = z14 ^ t57;
  const uint64_t t62 = t52 ^ t58;
  const uint64_t t63 = t49 ^ t58;
  const uint64_t t64 = z4 ^ t59;
  const uint64_t t65 = t61 ^ t62;
  const uint64_t t66 = z1 ^ t63;
  const uint64_t s0 = t59 ^ t63;
  const uint64_t s6 = t56 ^ ~t62;
  const uint64_t s7 = t48 ^ ~t60;
  const uint64_t t67 = t64 ^ t65;
  const uint64_t s3 = t53 ^ t66;
  const uint64_t s4 = t51 ^ t66;
  const uint64_t s5 = t47 ^ t65;
  const uint64_t s1 = t64 ^ ~s3;
  const uint64_t s2 = t55 ^ ~t67;

  q[7] = s0;
  q[6] = s1;
  q[5] = s2;
  q[4] = s3;
  q[3] = s4;
  q[2] = s5;
  q[1] = s6;
  q[0] = s7;
}

// In the bitsliced layout each 16-bit group of a plane is one row of the four
// blocks (4 bits = 4 blocks per column); rotating row r by r columns is a
// rotation of 4-bit nibbles inside the group.
inline void ShiftRows(uint64_t q[8]) {
  for (int i = 0; i < 8; ++i) {
    const uint64_t x = q[i];
    q[i] = (x & 0x000000000000FFFFull)                 // row 0: unchanged
           | ((x & 0x00000000FFF00000ull) >> 4)        // row 1: rotate by 1
           | ((x & 0x00000000000F0000ull) << 12)       //
           | ((x & 0x0000FF0000000000ull) >> 8)        // row 2: rotate by 2
           | ((x & 0x000000FF00000000ull) << 8)        //
           | ((x & 0xF000000000000000ull) >> 12)       // row 3: rotate by 3
           | ((x & 0x0FFF000000000000ull) << 4);
  }
}

inline uint64_t Rot16(uint64_t x) { return (x >> 16) | (x << 48); }
inline uint64_t Rot32(uint64_t x) { return (x >> 32) | (x << 32); }

// MixColumns: out_row_r = 2*a_r + 3*a_{r+1} + a_{r+2} + a_{r+3}; multiplying by
// x in GF(2^8) shifts the planes by one and feeds the top plane back into
// planes 0, 1, 3 and 4 (x^8 = x^4 + x^3 + x + 1).
inline void MixColumns(uint64_t q[8]) {
  uint64_t a[8], r[8];
  for (int i = 0; i < 8; ++i) {
    a[i] = q[i];
    r[i] = Rot16(a[i]);
  }
  const uint64_t hi = a[7] ^ r[7];
  q[0] = hi ^ r[0] ^ Rot32(a[0] ^ r[0]);
  q[1] = a[0] ^ r[0] ^ hi ^ r[1] ^ Rot32(a[1] ^ r[1]);
  q[2] = a[1] ^ r[1] ^ r[2] ^ Rot32(a[2] ^ r[2]);
  q[3] = a[2] ^ r[2] ^ hi ^ r[3] ^ Rot32(a[3] ^ r[3]);
  q[4] = a[3] ^ r[3] ^ hi ^ r[4] ^ Rot32(a[4] ^ r[4]);
  q[5] = a[4] ^ r[4] ^ r[5] ^ Rot32(a[5] ^ r[5]);
  q[6] = a[5] ^ r[5] ^ r[6] ^ Rot32(a[6] ^ r[6]);
  q[7] = a[6] ^ r[6] ^ r[7] ^ Rot32(a[7] ^ r[7]);
}

// out[i] = MixColumns(ShiftRows(SubBytes(in[i]))) for n (multiple of 4) blocks
// given as little-endian 32-bit words.
void AesRounds(const uint32_t (*in)[4], uint32_t (*out)[4], int n) {
  for (int b = 0; b < n; b += 4) {
    uint64_t q[8];
    for (int i = 0; i < 4; ++i) InterleaveIn(&q[i], &q[i + 4], in[b + i]);
    Transpose(q);
    SubBytes(q);
    ShiftRows(q);
    MixColumns(q);
    Transpose(q);
    for (int i = 0; i < 4; ++i) InterleaveOut(out[b + i], q[i], q[i + 4]);
  }
}

// ---------------------------------------------------------------------------
// AEGIS-256X2 on top of it.

constexpr size_t kRate = 32;

inline uint32_t Load32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline void Store32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
  p[2] = static_cast<uint8_t>(v >> 16);
  p[3] = static_cast<uint8_t>(v >> 24);
}

// Two lanes of one 16-byte block each.
struct Pair {
  uint32_t w[2][4];
};

inline Pair LoadPair(const uint8_t* p) {
  Pair r;
  for (int l = 0; l < 2; ++l)
    for (int j = 0; j < 4; ++j) r.w[l][j] = Load32(p + 16 * l + 4 * j);
  return r;
}

inline void StorePair(uint8_t* p, const Pair& v) {
  for (int l = 0; l < 2; ++l)
    for (int j = 0; j < 4; ++j) Store32(p + 16 * l + 4 * j, v.w[l][j]);
}

// Same 16-byte block in both lanes.
inline Pair Broadcast(const uint8_t* p) {
  Pair r;
  for (int l = 0; l < 2; ++l)
    for (int j = 0; j < 4; ++j) r.w[l][j] = Load32(p + 4 * j);
  return r;
}

inline Pair Xor(const Pair& a, const Pair& b) {
  Pair r;
  for (int l = 0; l < 2; ++l)
    for (int j = 0; j < 4; ++j) r.w[l][j] = a.w[l][j] ^ b.w[l][j];
  return r;
}

struct State {
  // v[i*2 + lane] is V[i, lane]: the order AesRounds consumes.
  uint32_t v[12][4];

  Pair Get(int i) const {
    Pair r;
    std::memcpy(r.w, v[2 * i], sizeof r.w);
    return r;
  }
  void Set(int i, const Pair& p) { std::memcpy(v[2 * i], p.w, sizeof p.w); }

  // V'[i] = AESRound(V[i-1], V[i]) (V'[0] also absorbs m).
  void Update(const Pair& m) {
    uint32_t r[12][4];
    AesRounds(v, r, 12);
    for (int i = 0; i < 6; ++i) {
      const int prev = (i + 5) % 6;
      for (int l = 0; l < 2; ++l)
        for (int j = 0; j < 4; ++j) v[2 * i + l][j] ^= r[2 * prev + l][j];
    }
    for (int l = 0; l < 2; ++l)
      for (int j = 0; j < 4; ++j) v[l][j] ^= m.w[l][j];
  }

  // Keystream block: V[1] ^ V[4] ^ V[5] ^ (V[2] & V[3]).
  Pair Z() const {
    Pair z;
    for (int l = 0; l < 2; ++l)
      for (int j = 0; j < 4; ++j)
        z.w[l][j] = v[2 + l][j] ^ v[8 + l][j] ^ v[10 + l][j] ^ (v[4 + l][j] & v[6 + l][j]);
    return z;
  }
};

constexpr uint8_t kC0[16] = {0x00, 0x01, 0x01, 0x02, 0x03, 0x05, 0x08, 0x0d,
                             0x15, 0x22, 0x37, 0x59, 0x90, 0xe9, 0x79, 0x62};
constexpr uint8_t kC1[16] = {0xdb, 0x3d, 0x18, 0x55, 0x6d, 0xc2, 0x2f, 0xf1,
                             0x20, 0x11, 0x31, 0x42, 0x73, 0xb5, 0x28, 0xdd};

void Init(State& s, const uint8_t* key, const uint8_t* nonce) {
  const Pair k0 = Broadcast(key), k1 = Broadcast(key + 16);
  const Pair n0 = Broadcast(nonce), n1 = Broadcast(nonce + 16);
  const Pair c0 = Broadcast(kC0), c1 = Broadcast(kC1);
  const Pair k0n0 = Xor(k0, n0), k1n1 = Xor(k1, n1);
  s.Set(0, k0n0);
  s.Set(1, k1n1);
  s.Set(2, c1);
  s.Set(3, c0);
  s.Set(4, Xor(k0, c0));
  s.Set(5, Xor(k1, c1));
  // ctx_i = i || (degree - 1) || 0..., XORed into V[3] and V[5] of lane i.
  const uint32_t ctx[2] = {0x0100u, 0x0101u};
  const Pair* const ms[4] = {&k0, &k1, &k0n0, &k1n1};
  for (int round = 0; round < 4; ++round) {
    for (const Pair* m : ms) {
      for (int l = 0; l < 2; ++l) {
        s.v[6 + l][0] ^= ctx[l];
        s.v[10 + l][0] ^= ctx[l];
      }
      s.Update(*m);
    }
  }
}

void Absorb(State& s, const uint8_t* ad, size_t adlen) {
  size_t i = 0;
  for (; i + kRate <= adlen; i += kRate) s.Update(LoadPair(ad + i));
  if (i < adlen) {
    uint8_t pad[kRate] = {};
    std::memcpy(pad, ad + i, adlen - i);
    s.Update(LoadPair(pad));
  }
}

void Finalize(State& s, size_t adlen, size_t mlen, uint8_t tag[kTagBytes]) {
  const uint64_t ad_bits = static_cast<uint64_t>(adlen) << 3;
  const uint64_t msg_bits = static_cast<uint64_t>(mlen) << 3;
  const uint32_t u[4] = {static_cast<uint32_t>(ad_bits), static_cast<uint32_t>(ad_bits >> 32),
                         static_cast<uint32_t>(msg_bits), static_cast<uint32_t>(msg_bits >> 32)};
  Pair t = s.Get(3);
  for (int l = 0; l < 2; ++l)
    for (int j = 0; j < 4; ++j) t.w[l][j] ^= u[j];
  for (int i = 0; i < 7; ++i) s.Update(t);
  uint32_t acc[4] = {0, 0, 0, 0};
  for (int b = 0; b < 12; ++b)
    for (int j = 0; j < 4; ++j) acc[j] ^= s.v[b][j];
  for (int j = 0; j < 4; ++j) Store32(tag + 4 * j, acc[j]);
}

// Constant-time equality of two 16-byte tags.
bool TagsEqual(const uint8_t* a, const uint8_t* b) {
  uint32_t d = 0;
  for (size_t i = 0; i < kTagBytes; ++i) d |= static_cast<uint32_t>(a[i] ^ b[i]);
  __asm__("" : "+r"(d));  // no early exit
  return d == 0;
}

}  // namespace

void EncryptPortable(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                     const uint8_t* ad, size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c,
                     uint8_t tag[kTagBytes]) {
  State s;
  Init(s, key, nonce);
  Absorb(s, ad, adlen);
  size_t i = 0;
  for (; i + kRate <= mlen; i += kRate) {
    const Pair x = LoadPair(m + i);  // before the store: c may equal m
    StorePair(c + i, Xor(x, s.Z()));
    s.Update(x);
  }
  if (i < mlen) {
    uint8_t pad[kRate] = {};
    std::memcpy(pad, m + i, mlen - i);
    const Pair x = LoadPair(pad);
    StorePair(pad, Xor(x, s.Z()));
    std::memcpy(c + i, pad, mlen - i);
    s.Update(x);
  }
  Finalize(s, adlen, mlen, tag);
}

bool DecryptPortable(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                     const uint8_t* ad, size_t adlen, const uint8_t* c, size_t clen,
                     const uint8_t tag[kTagBytes], uint8_t* m) {
  State s;
  Init(s, key, nonce);
  Absorb(s, ad, adlen);
  size_t i = 0;
  for (; i + kRate <= clen; i += kRate) {
    const Pair x = Xor(LoadPair(c + i), s.Z());
    StorePair(m + i, x);
    s.Update(x);
  }
  if (i < clen) {
    const size_t r = clen - i;
    uint8_t pad[kRate] = {};
    std::memcpy(pad, c + i, r);
    StorePair(pad, Xor(LoadPair(pad), s.Z()));
    std::memset(pad + r, 0, kRate - r);
    std::memcpy(m + i, pad, r);
    s.Update(LoadPair(pad));
  }
  uint8_t expected[kTagBytes];
  Finalize(s, adlen, clen, expected);
  if (!TagsEqual(expected, tag)) {
    if (clen != 0) std::memset(m, 0, clen);
    return false;
  }
  return true;
}

void InitStatePortable(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                       uint8_t out[kStateBytes]) {
  State s;
  Init(s, key, nonce);
  for (int b = 0; b < 12; ++b)
    for (int j = 0; j < 4; ++j) Store32(out + 16 * b + 4 * j, s.v[b][j]);
}

}  // namespace internal

// ---------------------------------------------------------------------------
// Dispatch.

namespace {

struct CpuImpls {
  bool aesni;
  bool vaes;
  Impl best;
};

CpuImpls Detect() {
  __builtin_cpu_init();  // may run before libgcc's own constructor
  CpuImpls r{};
  r.aesni = __builtin_cpu_supports("aes") && __builtin_cpu_supports("sse4.1");
  // __builtin_cpu_supports("avx2") already includes the OS (XCR0) check.
  // VAES is CPUID leaf 7 ECX bit 9 (read directly: clang 14's builtin lacks "vaes").
  unsigned a = 0, b = 0, c = 0, d = 0;
  const bool vaes = __get_cpuid_count(7, 0, &a, &b, &c, &d) && (c & (1u << 9)) != 0;
  r.vaes = r.aesni && __builtin_cpu_supports("avx2") && vaes;
  r.best = r.vaes ? Impl::kVaes : r.aesni ? Impl::kAesni : Impl::kPortable;
  return r;
}

const CpuImpls& Cpu() {
  static const CpuImpls cpu = Detect();
  return cpu;
}

// An unsupported request runs the portable code instead of faulting.
Impl Effective(Impl impl) { return ImplSupported(impl) ? impl : Impl::kPortable; }

}  // namespace

const char* ImplName(Impl impl) {
  switch (impl) {
    case Impl::kPortable:
      return "portable";
    case Impl::kAesni:
      return "aesni";
    case Impl::kVaes:
      return "vaes";
  }
  return "unknown";
}

bool ImplSupported(Impl impl) {
  switch (impl) {
    case Impl::kPortable:
      return true;
    case Impl::kAesni:
      return Cpu().aesni;
    case Impl::kVaes:
      return Cpu().vaes;
  }
  return false;
}

Impl BestImpl() { return Cpu().best; }

void Encrypt(Impl impl, const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
             const uint8_t* ad, size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c,
             uint8_t tag[kTagBytes]) {
  switch (Effective(impl)) {
    case Impl::kVaes:
      return internal::EncryptVaes(key, nonce, ad, adlen, m, mlen, c, tag);
    case Impl::kAesni:
      return internal::EncryptAesni(key, nonce, ad, adlen, m, mlen, c, tag);
    case Impl::kPortable:
      break;
  }
  internal::EncryptPortable(key, nonce, ad, adlen, m, mlen, c, tag);
}

bool Decrypt(Impl impl, const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
             const uint8_t* ad, size_t adlen, const uint8_t* c, size_t clen,
             const uint8_t tag[kTagBytes], uint8_t* m) {
  switch (Effective(impl)) {
    case Impl::kVaes:
      return internal::DecryptVaes(key, nonce, ad, adlen, c, clen, tag, m);
    case Impl::kAesni:
      return internal::DecryptAesni(key, nonce, ad, adlen, c, clen, tag, m);
    case Impl::kPortable:
      break;
  }
  return internal::DecryptPortable(key, nonce, ad, adlen, c, clen, tag, m);
}

void Encrypt(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
             size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c, uint8_t tag[kTagBytes]) {
  Encrypt(BestImpl(), key, nonce, ad, adlen, m, mlen, c, tag);
}

bool Decrypt(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
             size_t adlen, const uint8_t* c, size_t clen, const uint8_t tag[kTagBytes],
             uint8_t* m) {
  return Decrypt(BestImpl(), key, nonce, ad, adlen, c, clen, tag, m);
}

namespace internal {

void InitState(Impl impl, const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
               uint8_t out[kStateBytes]) {
  switch (Effective(impl)) {
    case Impl::kVaes:
      return InitStateVaes(key, nonce, out);
    case Impl::kAesni:
      return InitStateAesni(key, nonce, out);
    case Impl::kPortable:
      break;
  }
  InitStatePortable(key, nonce, out);
}

}  // namespace internal
}  // namespace drasyl::aegis
