// Internet checksum arithmetic (RFC 1071) for the dataplane's incremental
// updates of relayed frames and the load generator's precomputed sums (RFC
// 1624): one implementation for both.
//
// Convention (as rte_raw_cksum): 16-bit words in memory order, loaded as
// native integers; the complemented, folded sum stored with memcpy is the
// right checksum on either byte order. A field at an odd offset from the
// start of the checksummed data contributes its even-offset sum with the
// bytes swapped (RFC 1071, 2.(B)): AtOdd().
#ifndef DRASYL_COMMON_CHECKSUM_H_
#define DRASYL_COMMON_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

#include "common/byte_order.h"

namespace drasyl::csum {

// Ones' complement sum of n bytes (n a multiple of 4) as 32-bit words into a
// 64-bit accumulator (two 16-bit words each: 2^16 == 1 mod 0xffff).
inline uint64_t SumWords(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i += 4) s += Load32(p + i);
  return s;
}
// Sum of the ones' complements of n bytes' 32-bit words (= minus their sum).
inline uint64_t SumComplement(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i += 4) s += uint32_t{~Load32(p + i)};
  return s;
}
// Ones' complement (end-around-carry) fold of a 64-bit sum to 16 bits.
// Adding a value to itself rotated by half its width leaves the
// end-around-carry sum of its halves in the upper half: two such steps, no
// carry loops.
inline uint16_t Fold(uint64_t s) {
  const uint32_t t = static_cast<uint32_t>((s + ((s << 32) | (s >> 32))) >> 32);
  return static_cast<uint16_t>((t + ((t << 16) | (t >> 16))) >> 16);
}

// Folded sum of n bytes starting at an even offset, any n (n odd: the last
// byte padded with zero, as if followed by a zero byte).
inline uint16_t Sum(const uint8_t* p, size_t n) {
  const size_t whole = n & ~size_t{3};
  uint64_t s = SumWords(p, whole);
  size_t i = whole;
  if (i + 2 <= n) {
    s += Load16(p + i);
    i += 2;
  }
  if (i < n) s += WordOf(p[i], 0);
  return Fold(s);
}

// The sum of a value's bytes as they lie in memory (native order), at an
// even offset.
inline uint16_t OfU32(uint32_t v) { return Fold(v); }
inline uint16_t OfU64(uint64_t v) { return Fold((v & 0xffffffffu) + (v >> 32)); }

// The contribution of a field at an odd offset, given its even-offset sum.
inline uint16_t AtOdd(uint16_t s) { return static_cast<uint16_t>(s << 8 | s >> 8); }
inline uint16_t At(size_t offset, uint16_t s) { return (offset & 1) ? AtOdd(s) : s; }

// The UDP checksum field for a sum (0 is sent as 0xffff: UDP's "no checksum").
inline uint16_t UdpField(uint64_t sum) {
  const uint16_t c = static_cast<uint16_t>(~Fold(sum));
  return c == 0 ? 0xffff : c;
}

}  // namespace drasyl::csum

#endif  // DRASYL_COMMON_CHECKSUM_H_
