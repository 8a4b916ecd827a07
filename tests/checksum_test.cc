// The Internet checksum arithmetic of common/checksum.h (the dataplane's
// incremental updates, the load generator's precomputed sums) against a
// plain RFC 1071 reference: the fold equals a carry loop's, a message
// assembled from a template's sum and the sums of its fields, at even and
// odd offsets, must have the sum of the whole message, and a UDP checksum
// built that way must verify.
#include "common/checksum.h"

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace drasyl {
namespace {

// RFC 1071 over big-endian 16-bit words (a trailing odd byte padded with
// zero), folded; independent of checksum.h's native-order convention.
uint16_t ReferenceSum(const uint8_t* p, size_t n) {
  uint32_t s = 0;
  for (size_t i = 0; i < n; i += 2) {
    s += static_cast<uint32_t>(p[i]) << 8 | (i + 1 < n ? p[i + 1] : 0);
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<uint16_t>(s);
}

// checksum.h sums are in memory order: the reference's value with its bytes in
// memory order, read natively.
uint16_t Native(uint16_t be) {
  const uint8_t b[2] = {static_cast<uint8_t>(be >> 8), static_cast<uint8_t>(be)};
  uint16_t v;
  std::memcpy(&v, b, 2);
  return v;
}

// Ones' complement equality (0 and 0xffff are both zero).
bool Same(uint64_t a, uint64_t b) {
  return csum::Fold(a) % 0xffff == csum::Fold(b) % 0xffff;
}

// The end-around-carry fold, one carry at a time (what the rotating Fold
// must equal exactly, 0 and 0xffff kept apart).
uint16_t LoopFold(uint64_t s) {
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

TEST(ChecksumTest, FoldMatchesCarryLoop) {
  const uint64_t edges[] = {0,           1,          0xffff,      0x10000,
                            0x1fffe,     0xffffffff, 0x100000000, 0xffff0000ffff,
                            ~uint64_t{0}, uint64_t{1} << 63};
  for (uint64_t s : edges) EXPECT_EQ(csum::Fold(s), LoopFold(s)) << s;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 100000; ++i) {
    const uint64_t s = rng() >> (rng() % 64);
    ASSERT_EQ(csum::Fold(s), LoopFold(s)) << s;
  }
}

TEST(ChecksumTest, SumMatchesReference) {
  std::mt19937 rng(1);
  for (size_t n = 0; n < 300; ++n) {
    std::vector<uint8_t> m(n);
    for (auto& b : m) b = static_cast<uint8_t>(rng());
    EXPECT_TRUE(Same(csum::Sum(m.data(), n), Native(ReferenceSum(m.data(), n)))) << n;
  }
}

TEST(ChecksumTest, FieldsAtEvenAndOddOffsetsAddUp) {
  std::mt19937_64 rng(2);
  // The APP message layout of loadgen.cc: keys at 10 and 42, proof of work
  // at 74 (even); source, recipient, sequence number and stamp at 83, 87,
  // 95 and 103 (odd).
  struct Field {
    size_t off, len;
  };
  const Field fields[] = {{10, 32}, {42, 32}, {74, 4}, {83, 4}, {87, 4}, {95, 4}, {103, 8}};
  for (size_t len : {143u, 144u, 1103u}) {
    for (int round = 0; round < 50; ++round) {
      std::vector<uint8_t> m(len);
      for (auto& b : m) b = static_cast<uint8_t>(rng());
      std::vector<uint8_t> base = m;
      for (const Field& f : fields) std::memset(base.data() + f.off, 0, f.len);
      uint64_t sum = csum::Sum(base.data(), len);
      for (const Field& f : fields) {
        if (f.len == 4) {
          uint32_t v;
          std::memcpy(&v, m.data() + f.off, 4);
          sum += csum::At(f.off, csum::OfU32(v));
        } else if (f.len == 8) {
          uint64_t v;
          std::memcpy(&v, m.data() + f.off, 8);
          sum += csum::At(f.off, csum::OfU64(v));
        } else {
          sum += csum::At(f.off, csum::Sum(m.data() + f.off, f.len));
        }
      }
      EXPECT_TRUE(Same(sum, csum::Sum(m.data(), len)));
      EXPECT_TRUE(Same(sum, Native(ReferenceSum(m.data(), len))));
    }
  }
}

TEST(ChecksumTest, UdpChecksumFromPartsVerifies) {
  std::mt19937 rng(3);
  for (int round = 0; round < 200; ++round) {
    const size_t payload = 32 + rng() % 200;
    // Pseudo-header (12 bytes) followed by the UDP header and payload.
    std::vector<uint8_t> d(12 + 8 + payload);
    for (auto& b : d) b = static_cast<uint8_t>(rng());
    const uint16_t udp_len = static_cast<uint16_t>(8 + payload);
    d[8] = 0;
    d[9] = 17;
    d[10] = d[16] = static_cast<uint8_t>(udp_len >> 8);
    d[11] = d[17] = static_cast<uint8_t>(udp_len);
    d[18] = d[19] = 0;
    uint16_t proto_be, len_be, sport, dport;
    std::memcpy(&proto_be, &d[8], 2);
    std::memcpy(&len_be, &d[10], 2);
    std::memcpy(&sport, &d[12], 2);
    std::memcpy(&dport, &d[14], 2);
    uint32_t src, dst;
    std::memcpy(&src, &d[0], 4);
    std::memcpy(&dst, &d[4], 4);
    // As the DPDK backend assembles it: addresses, protocol and ports, the
    // length twice, the message's own sum.
    const uint64_t sum = uint64_t{csum::OfU32(src)} + csum::OfU32(dst) + proto_be + sport + dport +
                         2u * len_be + csum::Sum(d.data() + 20, payload);
    const uint16_t field = csum::UdpField(sum);
    std::memcpy(&d[18], &field, 2);
    EXPECT_EQ(ReferenceSum(d.data(), d.size()), 0xffff);
    EXPECT_NE(field, 0);
  }
}

}  // namespace
}  // namespace drasyl
