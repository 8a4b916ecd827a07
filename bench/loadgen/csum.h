// Internet checksum arithmetic (RFC 1071) for the load generator's
// incremental UDP checksums (RFC 1624): a message's checksum is a sum of
// precomputed parts, never recomputed over the bytes per message.
//
// Convention (as rte_raw_cksum): 16-bit words in memory order, loaded as
// native integers; the complemented, folded sum stored with memcpy is the
// right checksum on either byte order. A field at an odd offset from the
// start of the checksummed data contributes its even-offset sum with the
// bytes swapped (RFC 1071, 2.(B)): AtOdd().
#ifndef DRASYL_BENCH_LOADGEN_CSUM_H_
#define DRASYL_BENCH_LOADGEN_CSUM_H_

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace drasyl::loadgen::csum {

// End-around-carry fold of a 64-bit accumulator to 16 bits.
inline uint16_t Fold(uint64_t s) {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Sum of n bytes starting at an even offset (n odd: the last byte padded
// with zero, as if followed by a zero byte).
inline uint16_t Sum(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    uint32_t w;
    std::memcpy(&w, p + i, 4);
    s += w;  // two words; 2^16 == 1 (mod 0xffff)
  }
  for (; i + 2 <= n; i += 2) {
    uint16_t w;
    std::memcpy(&w, p + i, 2);
    s += w;
  }
  if (i < n) {
    const uint8_t last[2] = {p[i], 0};
    uint16_t w;
    std::memcpy(&w, last, 2);
    s += w;
  }
  return Fold(s);
}

// The sum of a value's bytes as they lie in memory (native order), at an
// even offset.
inline uint16_t OfU32(uint32_t v) { return Fold(v); }
inline uint16_t OfU64(uint64_t v) { return Fold((v & 0xffffffffu) + (v >> 32)); }

// The contribution of a field at an odd offset, given its even-offset sum.
inline uint16_t AtOdd(uint16_t s) { return static_cast<uint16_t>(s << 8 | s >> 8); }
inline uint16_t At(size_t offset, uint16_t s) { return (offset & 1) ? AtOdd(s) : s; }

// The checksum field for a sum (0 is sent as 0xffff: UDP's "no checksum").
inline uint16_t UdpField(uint64_t sum) {
  const uint16_t c = static_cast<uint16_t>(~Fold(sum));
  return c == 0 ? 0xffff : c;
}

}  // namespace drasyl::loadgen::csum

#endif  // DRASYL_BENCH_LOADGEN_CSUM_H_
