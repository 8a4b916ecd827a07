// Session keys (docs/protocol.md §3) against tests/vectors/messages.json.
#include "common/session_keys.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "common/hex.h"
#include "gtest/gtest.h"
#include "tests/support/test_vectors.h"

namespace drasyl {
namespace {

using testing::JsonValue;  // drasyl::testing, not GoogleTest's.

const JsonValue& Vectors() {
  static const JsonValue* vectors =
      new JsonValue(testing::ReadJsonFile(testing::TestVectorPath("messages.json")));
  return *vectors;
}

template <typename Key>
Key KeyFromHex(const std::string& hex) {
  Key key;
  absl::Status s = HexDecodeInto(hex, absl::MakeSpan(key));
  if (!s.ok()) throw std::runtime_error("bad key hex in vectors: " + hex);
  return key;
}

SecretKey SkOf(const std::string& name) {
  return KeyFromHex<SecretKey>(Vectors()["identities"][name]["sk"].AsString());
}
PublicKey PkOf(const std::string& name) {
  return KeyFromHex<PublicKey>(Vectors()["identities"][name]["pk"].AsString());
}

KeyExchange KxOf(const std::string& name) {
  absl::StatusOr<KeyExchange> kx = KeyExchange::Create(SkOf(name));
  if (!kx.ok()) throw std::runtime_error(kx.status().ToString());
  return *kx;
}

TEST(KeyExchange, X25519KeysOfIdentities) {
  for (const char* name : {"A", "B", "C"}) {
    const JsonValue& id = Vectors()["identities"][name];
    // The vector's pk is the public half of its sk.
    EXPECT_EQ(id["sk"].AsString().substr(64), id["pk"].AsString()) << name;
    KeyExchange kx = KxOf(name);
    EXPECT_EQ(HexEncode(kx.x25519_public_key()), id["x25519_pk"].AsString()) << name;
    EXPECT_EQ(HexEncode(kx.x25519_secret_key()), id["x25519_sk"].AsString()) << name;

    // Our X25519 public key equals the conversion of our Ed25519 public key.
    ASSERT_GE(sodium_init(), 0);
    PublicKey x_pk;
    ASSERT_EQ(crypto_sign_ed25519_pk_to_curve25519(x_pk.data(), PkOf(name).data()), 0);
    EXPECT_EQ(x_pk, kx.x25519_public_key()) << name;
  }
}

TEST(KeyExchange, SessionKeyVectors) {
  const std::vector<std::pair<std::string, std::string>> directions = {
      {"A", "B"}, {"B", "A"}, {"A", "C"}};
  for (const auto& [ours, peer] : directions) {
    const std::string name = ours + "->" + peer;
    const JsonValue& expected = Vectors()["session_keys"][name];
    absl::StatusOr<SessionKeys> keys = KxOf(ours).Derive(PkOf(peer));
    ASSERT_TRUE(keys.ok()) << name << ": " << keys.status();
    EXPECT_EQ(HexEncode(keys->rx), expected["rx"].AsString()) << name;
    EXPECT_EQ(HexEncode(keys->tx), expected["tx"].AsString()) << name;
  }
}

TEST(KeyExchange, BothSidesAgree) {
  for (const auto& [x, y] : {std::pair{"A", "B"}, std::pair{"A", "C"}, std::pair{"B", "C"}}) {
    absl::StatusOr<SessionKeys> xy = KxOf(x).Derive(PkOf(y));
    absl::StatusOr<SessionKeys> yx = KxOf(y).Derive(PkOf(x));
    ASSERT_TRUE(xy.ok() && yx.ok()) << x << y;
    EXPECT_EQ(xy->tx, yx->rx) << x << "->" << y;
    EXPECT_EQ(xy->rx, yx->tx) << x << "->" << y;
    EXPECT_NE(xy->rx, xy->tx);
  }
}

// The lower X25519 public key takes the client role: A's key (000a...) sorts
// below B's (8861...), so A's keys are crypto_kx_client_session_keys'.
TEST(KeyExchange, LowerX25519KeyIsClient) {
  KeyExchange a = KxOf("A");
  KeyExchange b = KxOf("B");
  ASSERT_LT(std::memcmp(a.x25519_public_key().data(), b.x25519_public_key().data(), 32), 0);
  SessionKey rx, tx;
  ASSERT_EQ(crypto_kx_client_session_keys(rx.data(), tx.data(), a.x25519_public_key().data(),
                                          a.x25519_secret_key().data(),
                                          b.x25519_public_key().data()),
            0);
  absl::StatusOr<SessionKeys> keys = a.Derive(PkOf("B"));
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->rx, rx);
  EXPECT_EQ(keys->tx, tx);
}

TEST(KeyExchange, DerivationIsStable) {
  KeyExchange a = KxOf("A");
  absl::StatusOr<SessionKeys> first = a.Derive(PkOf("C"));
  absl::StatusOr<SessionKeys> second = a.Derive(PkOf("C"));
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->rx, second->rx);
  EXPECT_EQ(first->tx, second->tx);
}

TEST(KeyExchange, EqualKeysRejected) {
  KeyExchange a = KxOf("A");
  PublicKey own = PkOf("A");
  EXPECT_FALSE(a.Derive(own).ok());
  // The negated point (sign bit flipped) is a different, valid Ed25519 key
  // with the same X25519 form: rejected as well.
  PublicKey negated = own;
  negated[31] ^= 0x80;
  ASSERT_NE(negated, own);
  absl::StatusOr<SessionKeys> keys = a.Derive(negated);
  EXPECT_FALSE(keys.ok());
  EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(KeyExchange, InvalidPointsRejected) {
  ASSERT_GE(sodium_init(), 0);
  KeyExchange a = KxOf("A");
  PublicKey zero{};
  PublicKey identity{};
  identity[0] = 1;  // y = 1: the neutral element, small order.
  PublicKey non_canonical;
  std::fill(non_canonical.begin(), non_canonical.end(), 0xff);
  non_canonical[31] = 0x7f;  // y = 2^255 - 1 >= p.
  // A valid key plus a point of order 8: on the curve but outside the
  // prime-order subgroup.
  PublicKey torsion_8 = KeyFromHex<PublicKey>(
      "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
  PublicKey mixed_order;
  ASSERT_EQ(crypto_core_ed25519_add(mixed_order.data(), PkOf("B").data(), torsion_8.data()), 0);

  for (const PublicKey& pk : {zero, identity, non_canonical, torsion_8, mixed_order}) {
    absl::StatusOr<SessionKeys> keys = a.Derive(pk);
    EXPECT_FALSE(keys.ok()) << HexEncode(pk);
    EXPECT_EQ(keys.status().code(), absl::StatusCode::kInvalidArgument) << HexEncode(pk);
  }

  // Off-curve encodings: about half of all y values have no x. Derive must
  // agree with libsodium's conversion on every one of a sweep of keys.
  int rejected = 0;
  for (int i = 0; i < 512; ++i) {
    PublicKey pk{};
    pk[0] = static_cast<uint8_t>(i);
    pk[1] = static_cast<uint8_t>(i >> 8);
    pk[2] = 0x5a;
    PublicKey x;
    const bool convertible = crypto_sign_ed25519_pk_to_curve25519(x.data(), pk.data()) == 0;
    EXPECT_EQ(a.Derive(pk).ok(), convertible) << HexEncode(pk);
    rejected += !convertible;
  }
  EXPECT_GT(rejected, 100);
  EXPECT_LT(rejected, 512);
}

TEST(KeyExchange, FreshIdentities) {
  ASSERT_GE(sodium_init(), 0);
  for (int i = 0; i < 16; ++i) {
    PublicKey pk1, pk2;
    SecretKey sk1, sk2;
    crypto_sign_keypair(pk1.data(), sk1.data());
    crypto_sign_keypair(pk2.data(), sk2.data());
    absl::StatusOr<KeyExchange> kx1 = KeyExchange::Create(sk1);
    absl::StatusOr<KeyExchange> kx2 = KeyExchange::Create(sk2);
    ASSERT_TRUE(kx1.ok() && kx2.ok());
    absl::StatusOr<SessionKeys> k12 = kx1->Derive(pk2);
    absl::StatusOr<SessionKeys> k21 = kx2->Derive(pk1);
    ASSERT_TRUE(k12.ok() && k21.ok());
    EXPECT_EQ(k12->tx, k21->rx);
    EXPECT_EQ(k12->rx, k21->tx);
  }
}

}  // namespace
}  // namespace drasyl
