// AEGIS-256X2: the draft's test vectors for every implementation, agreement of
// the SIMD implementations with the portable one, in-place operation and
// rejection of forgeries.
#include "common/aegis256x2.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/aegis256x2_internal.h"
#include "tests/support/test_vectors.h"

namespace drasyl::aegis {
namespace {

using drasyl::testing::BytesToHex;
using drasyl::testing::HexToBytes;
using drasyl::testing::JsonValue;

using Bytes = std::vector<uint8_t>;

constexpr Impl kAllImpls[] = {Impl::kPortable, Impl::kAesni, Impl::kVaes};

const JsonValue& Vectors() {
  static const JsonValue* const v = new JsonValue(
      drasyl::testing::ReadJsonFile(drasyl::testing::TestVectorPath("aegis-256x2.json")));
  return *v;
}

Bytes RandomBytes(std::mt19937_64& rng, size_t n) {
  Bytes b(n);
  for (auto& x : b) x = static_cast<uint8_t>(rng());
  return b;
}

// nullptr for an empty vector, like a caller without AD or message would pass.
const uint8_t* Ptr(const Bytes& b) { return b.empty() ? nullptr : b.data(); }

class AegisImplTest : public ::testing::TestWithParam<Impl> {
 protected:
  void SetUp() override {
    if (!ImplSupported(GetParam())) {
      GTEST_SKIP() << ImplName(GetParam()) << " is not supported by this CPU";
    }
  }
  Impl impl() const { return GetParam(); }
};

std::string ParamName(const ::testing::TestParamInfo<Impl>& info) {
  return ImplName(info.param);
}

INSTANTIATE_TEST_SUITE_P(AllImpls, AegisImplTest, ::testing::ValuesIn(kAllImpls), ParamName);

TEST(AegisDispatchTest, NamesAndBest) {
  EXPECT_STREQ(ImplName(Impl::kPortable), "portable");
  EXPECT_STREQ(ImplName(Impl::kAesni), "aesni");
  EXPECT_STREQ(ImplName(Impl::kVaes), "vaes");
  EXPECT_TRUE(ImplSupported(Impl::kPortable));
  EXPECT_TRUE(ImplSupported(BestImpl()));
  // VAES implies AES-NI; the best is the most capable supported one.
  if (ImplSupported(Impl::kVaes)) {
    EXPECT_TRUE(ImplSupported(Impl::kAesni));
    EXPECT_EQ(BestImpl(), Impl::kVaes);
  } else if (ImplSupported(Impl::kAesni)) {
    EXPECT_EQ(BestImpl(), Impl::kAesni);
  } else {
    EXPECT_EQ(BestImpl(), Impl::kPortable);
  }
  std::printf("BestImpl: %s\n", ImplName(BestImpl()));
}

TEST(AegisVectorsTest, FileHasVectors) {
  size_t n = 0;
  for (const JsonValue& v : Vectors().AsArray()) n += v.Has("tag128");
  EXPECT_GE(n, 2u);
}

TEST_P(AegisImplTest, DraftVectors) {
  size_t checked = 0;
  for (const JsonValue& v : Vectors().AsArray()) {
    if (!v.Has("tag128")) continue;  // the "Initial State" entries
    SCOPED_TRACE(v["name"].AsString());
    const Bytes key = HexToBytes(v["key"].AsString());
    const Bytes nonce = HexToBytes(v["nonce"].AsString());
    const Bytes ad = HexToBytes(v["ad"].AsString());
    const Bytes msg = HexToBytes(v["msg"].AsString());
    const Bytes ct = HexToBytes(v["ct"].AsString());
    const Bytes tag = HexToBytes(v["tag128"].AsString());
    ASSERT_EQ(key.size(), kKeyBytes);
    ASSERT_EQ(nonce.size(), kNonceBytes);
    ASSERT_EQ(tag.size(), kTagBytes);
    ASSERT_EQ(ct.size(), msg.size());

    Bytes c(msg.size() + 1, 0xAA);  // +1: never an empty vector
    uint8_t t[kTagBytes];
    Encrypt(impl(), key.data(), nonce.data(), Ptr(ad), ad.size(), Ptr(msg), msg.size(), c.data(),
            t);
    EXPECT_EQ(BytesToHex(c.data(), msg.size()), v["ct"].AsString());
    EXPECT_EQ(BytesToHex(t, kTagBytes), v["tag128"].AsString());
    EXPECT_EQ(c[msg.size()], 0xAA) << "wrote past the end";

    Bytes m(ct.size() + 1, 0x55);
    EXPECT_TRUE(Decrypt(impl(), key.data(), nonce.data(), Ptr(ad), ad.size(), Ptr(ct), ct.size(),
                        tag.data(), m.data()));
    EXPECT_EQ(BytesToHex(m.data(), ct.size()), v["msg"].AsString());
    EXPECT_EQ(m[ct.size()], 0x55) << "wrote past the end";

    Bytes bad_tag = tag;
    bad_tag[0] ^= 1;
    EXPECT_FALSE(Decrypt(impl(), key.data(), nonce.data(), Ptr(ad), ad.size(), Ptr(ct),
                         ct.size(), bad_tag.data(), m.data()));
    ++checked;
  }
  EXPECT_GE(checked, 2u);
}

TEST_P(AegisImplTest, InitialState) {
  const JsonValue* input = nullptr;
  const JsonValue* state = nullptr;
  for (const JsonValue& v : Vectors().AsArray()) {
    if (v["name"].AsString() == "Initial State") input = &v;
    if (v["name"].AsString() == "Initial State (after initialization)") state = &v;
  }
  if (input == nullptr || state == nullptr) GTEST_SKIP() << "no initial-state vector";
  // The context blocks we hard-code: i || (degree - 1) || zeros.
  EXPECT_EQ((*input)["ctx[0]"].AsString(), "00010000000000000000000000000000");
  EXPECT_EQ((*input)["ctx[1]"].AsString(), "01010000000000000000000000000000");

  const Bytes key = HexToBytes((*input)["key"].AsString());
  const Bytes nonce = HexToBytes((*input)["nonce"].AsString());
  uint8_t out[internal::kStateBytes];
  internal::InitState(impl(), key.data(), nonce.data(), out);
  for (int i = 0; i < 6; ++i) {
    for (int lane = 0; lane < 2; ++lane) {
      const std::string name = "V[" + std::to_string(i) + "," + std::to_string(lane) + "]";
      EXPECT_EQ(BytesToHex(out + 16 * (2 * i + lane), 16), (*state)[name].AsString()) << name;
    }
  }
}

// Every message length 0..1500 with assorted AD lengths: encryption equals the
// portable implementation's, decryption inverts it. Buffers sit at odd
// addresses to exercise unaligned loads and stores.
TEST_P(AegisImplTest, AgreesWithPortable) {
  static constexpr size_t kAdLens[] = {0, 1, 31, 32, 33, 64, 74, 7, 96, 100};
  std::mt19937_64 rng(0xAE615 + static_cast<int>(impl()));
  for (size_t mlen = 0; mlen <= 1500; ++mlen) {
    const size_t adlen = kAdLens[mlen % (sizeof kAdLens / sizeof kAdLens[0])];
    const Bytes key = RandomBytes(rng, kKeyBytes);
    const Bytes nonce = RandomBytes(rng, kNonceBytes);
    const Bytes ad_buf = RandomBytes(rng, adlen + 1);
    const Bytes msg_buf = RandomBytes(rng, mlen + 1);
    const uint8_t* ad = ad_buf.data() + 1;
    const uint8_t* msg = msg_buf.data() + 1;

    Bytes want(mlen + 1), got(mlen + 2, 0xCC);
    uint8_t want_tag[kTagBytes], got_tag[kTagBytes];
    internal::EncryptPortable(key.data(), nonce.data(), ad, adlen, msg, mlen, want.data(),
                              want_tag);
    Encrypt(impl(), key.data(), nonce.data(), ad, adlen, msg, mlen, got.data() + 1, got_tag);
    ASSERT_EQ(0, std::memcmp(want.data(), got.data() + 1, mlen))
        << "mlen " << mlen << " adlen " << adlen;
    ASSERT_EQ(BytesToHex(want_tag, kTagBytes), BytesToHex(got_tag, kTagBytes))
        << "mlen " << mlen << " adlen " << adlen;
    ASSERT_EQ(got[0], 0xCC);
    ASSERT_EQ(got[mlen + 1], 0xCC) << "wrote past the end, mlen " << mlen;

    Bytes back(mlen + 2, 0x33);
    ASSERT_TRUE(Decrypt(impl(), key.data(), nonce.data(), ad, adlen, got.data() + 1, mlen,
                        got_tag, back.data() + 1))
        << "mlen " << mlen << " adlen " << adlen;
    ASSERT_EQ(0, std::memcmp(msg, back.data() + 1, mlen)) << "mlen " << mlen;
    ASSERT_EQ(back[0], 0x33);
    ASSERT_EQ(back[mlen + 1], 0x33) << "wrote past the end, mlen " << mlen;
  }
}

TEST_P(AegisImplTest, InPlace) {
  std::mt19937_64 rng(42);
  for (size_t mlen : {0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 1024, 1400, 1401}) {
    const Bytes key = RandomBytes(rng, kKeyBytes);
    const Bytes nonce = RandomBytes(rng, kNonceBytes);
    const Bytes ad = RandomBytes(rng, 74);
    const Bytes msg = RandomBytes(rng, mlen + 1);

    Bytes ct(mlen + 1);
    uint8_t tag[kTagBytes], tag2[kTagBytes];
    Encrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size(), msg.data(), mlen, ct.data(),
            tag);

    Bytes buf = msg;
    Encrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size(), buf.data(), mlen, buf.data(),
            tag2);
    EXPECT_EQ(0, std::memcmp(buf.data(), ct.data(), mlen)) << "mlen " << mlen;
    EXPECT_EQ(0, std::memcmp(tag, tag2, kTagBytes)) << "mlen " << mlen;

    EXPECT_TRUE(Decrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size(), buf.data(), mlen,
                        tag, buf.data()))
        << "mlen " << mlen;
    EXPECT_EQ(0, std::memcmp(buf.data(), msg.data(), mlen)) << "mlen " << mlen;
  }
}

// A flipped bit anywhere (tag, ciphertext, AD) fails and zeroes the output.
TEST_P(AegisImplTest, RejectsForgeries) {
  std::mt19937_64 rng(7);
  for (size_t mlen : {0, 1, 31, 32, 33, 100, 1400}) {
    const Bytes key = RandomBytes(rng, kKeyBytes);
    const Bytes nonce = RandomBytes(rng, kNonceBytes);
    const Bytes ad = RandomBytes(rng, 74);
    const Bytes msg = RandomBytes(rng, mlen + 1);
    Bytes ct(mlen + 1);
    uint8_t tag[kTagBytes];
    Encrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size(), msg.data(), mlen, ct.data(),
            tag);

    auto expect_reject = [&](const Bytes& a, const Bytes& c, const uint8_t* t,
                             const char* what) {
      Bytes out(mlen + 1, 0x77);
      EXPECT_FALSE(Decrypt(impl(), key.data(), nonce.data(), a.data(), a.size(), c.data(), mlen,
                           t, out.data()))
          << what << ", mlen " << mlen;
      for (size_t i = 0; i < mlen; ++i) {
        ASSERT_EQ(out[i], 0) << what << ": output not zeroed at " << i << ", mlen " << mlen;
      }
      EXPECT_EQ(out[mlen], 0x77) << "zeroed past the end";
      // In place as well.
      Bytes inplace = c;
      EXPECT_FALSE(Decrypt(impl(), key.data(), nonce.data(), a.data(), a.size(), inplace.data(),
                           mlen, t, inplace.data()));
      for (size_t i = 0; i < mlen; ++i) ASSERT_EQ(inplace[i], 0) << what << " (in place)";
    };

    for (int bit : {0, 7, 64, 127}) {
      uint8_t bad[kTagBytes];
      std::memcpy(bad, tag, kTagBytes);
      bad[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      expect_reject(ad, ct, bad, "tag bit flipped");
    }
    if (mlen > 0) {
      for (size_t pos : {size_t{0}, mlen / 2, mlen - 1}) {
        Bytes bad = ct;
        bad[pos] ^= 0x80;
        expect_reject(ad, bad, tag, "ciphertext bit flipped");
      }
    }
    for (size_t pos : {size_t{0}, size_t{40}, ad.size() - 1}) {
      Bytes bad = ad;
      bad[pos] ^= 0x01;
      expect_reject(bad, ct, tag, "AD bit flipped");
    }
    // Wrong key / nonce / length.
    Bytes bad_key = key;
    bad_key[31] ^= 1;
    Bytes out(mlen + 1);
    EXPECT_FALSE(Decrypt(impl(), bad_key.data(), nonce.data(), ad.data(), ad.size(), ct.data(),
                         mlen, tag, out.data()));
    Bytes bad_nonce = nonce;
    bad_nonce[0] ^= 1;
    EXPECT_FALSE(Decrypt(impl(), key.data(), bad_nonce.data(), ad.data(), ad.size(), ct.data(),
                         mlen, tag, out.data()));
    EXPECT_FALSE(Decrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size() - 1, ct.data(),
                         mlen, tag, out.data()));
    // Untouched, it still verifies.
    EXPECT_TRUE(Decrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size(), ct.data(), mlen,
                        tag, out.data()));
  }
}

TEST_P(AegisImplTest, NullPointersWithZeroLengths) {
  const uint8_t key[kKeyBytes] = {1};
  const uint8_t nonce[kNonceBytes] = {2};
  uint8_t tag[kTagBytes];
  Encrypt(impl(), key, nonce, nullptr, 0, nullptr, 0, nullptr, tag);
  EXPECT_TRUE(Decrypt(impl(), key, nonce, nullptr, 0, nullptr, 0, tag, nullptr));
  tag[15] ^= 0x40;
  EXPECT_FALSE(Decrypt(impl(), key, nonce, nullptr, 0, nullptr, 0, tag, nullptr));
}

// The overloads without Impl use BestImpl() and agree with the portable code.
TEST(AegisDispatchTest, DefaultOverloads) {
  std::mt19937_64 rng(99);
  const Bytes key = RandomBytes(rng, kKeyBytes);
  const Bytes nonce = RandomBytes(rng, kNonceBytes);
  const Bytes ad = RandomBytes(rng, 74);
  const Bytes msg = RandomBytes(rng, 1400);
  Bytes c1(msg.size()), c2(msg.size()), m(msg.size());
  uint8_t t1[kTagBytes], t2[kTagBytes];
  Encrypt(key.data(), nonce.data(), ad.data(), ad.size(), msg.data(), msg.size(), c1.data(), t1);
  Encrypt(Impl::kPortable, key.data(), nonce.data(), ad.data(), ad.size(), msg.data(),
          msg.size(), c2.data(), t2);
  EXPECT_EQ(c1, c2);
  EXPECT_EQ(0, std::memcmp(t1, t2, kTagBytes));
  EXPECT_TRUE(Decrypt(key.data(), nonce.data(), ad.data(), ad.size(), c1.data(), c1.size(), t1,
                      m.data()));
  EXPECT_EQ(m, msg);
}

// Large inputs (beyond what a datagram carries) across implementations.
TEST_P(AegisImplTest, LargeMessage) {
  std::mt19937_64 rng(1234);
  const Bytes key = RandomBytes(rng, kKeyBytes);
  const Bytes nonce = RandomBytes(rng, kNonceBytes);
  const Bytes ad = RandomBytes(rng, 1000);
  const Bytes msg = RandomBytes(rng, 65536 + 5);
  Bytes want(msg.size()), got(msg.size());
  uint8_t want_tag[kTagBytes], got_tag[kTagBytes];
  internal::EncryptPortable(key.data(), nonce.data(), ad.data(), ad.size(), msg.data(),
                            msg.size(), want.data(), want_tag);
  Encrypt(impl(), key.data(), nonce.data(), ad.data(), ad.size(), msg.data(), msg.size(),
          got.data(), got_tag);
  EXPECT_EQ(want, got);
  EXPECT_EQ(0, std::memcmp(want_tag, got_tag, kTagBytes));
}

}  // namespace
}  // namespace drasyl::aegis
