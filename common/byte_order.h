// Loads and stores on unaligned byte buffers: big-endian (the wire order),
// and native (memory order: for checksums and header words compared as
// they lie), with the words that given bytes form in memory order. Shared
// by the dataplane and the load generator.
#ifndef DRASYL_COMMON_BYTE_ORDER_H_
#define DRASYL_COMMON_BYTE_ORDER_H_

#include <cstdint>
#include <cstring>

namespace drasyl {

inline uint16_t LoadBe16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return __builtin_bswap16(v);
}
inline uint32_t LoadBe32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return __builtin_bswap32(v);
}
inline uint64_t LoadBe64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return __builtin_bswap64(v);
}
inline void StoreBe16(uint8_t* p, uint16_t v) {
  v = __builtin_bswap16(v);
  std::memcpy(p, &v, 2);
}
inline void StoreBe32(uint8_t* p, uint32_t v) {
  v = __builtin_bswap32(v);
  std::memcpy(p, &v, 4);
}
inline void StoreBe64(uint8_t* p, uint64_t v) {
  v = __builtin_bswap64(v);
  std::memcpy(p, &v, 8);
}

// Native (memory order) loads and store.
inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void Store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }

// The 16-bit word that bytes a, b form in memory order, as a native load.
inline constexpr uint16_t WordOf(uint8_t a, uint8_t b) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return static_cast<uint16_t>(a | b << 8);
#else
  return static_cast<uint16_t>(a << 8 | b);
#endif
}
// The 32-bit word that bytes a, b, c, d form in memory order.
inline constexpr uint32_t WordOf32(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return uint32_t{a} | uint32_t{b} << 8 | uint32_t{c} << 16 | uint32_t{d} << 24;
#else
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | uint32_t{d};
#endif
}
// The 64-bit word that bytes b0..b7 form in memory order.
inline constexpr uint64_t WordOf64(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3, uint8_t b4,
                                   uint8_t b5, uint8_t b6, uint8_t b7) {
  const uint64_t lo = WordOf32(b0, b1, b2, b3), hi = WordOf32(b4, b5, b6, b7);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return lo | hi << 32;
#else
  return lo << 32 | hi;
#endif
}
// The 64-bit word (as loaded) that has v in network order at bytes at, at + 1
// (at even, < 7) and zeros elsewhere.
inline uint64_t Be16At(unsigned at, uint16_t v) {
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  return uint64_t{__builtin_bswap16(v)} << (8 * at);
#else
  return uint64_t{v} << (8 * (6 - at));
#endif
}

}  // namespace drasyl

#endif  // DRASYL_COMMON_BYTE_ORDER_H_
