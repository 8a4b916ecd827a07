// Session keys between two identities, libsodium crypto_kx compatible
// (docs/protocol.md §3): Ed25519 -> X25519, lower X25519 public key is the client.
#ifndef DRASYL_COMMON_SESSION_KEYS_H_
#define DRASYL_COMMON_SESSION_KEYS_H_

#include "absl/status/statusor.h"
#include "common/types.h"

namespace drasyl {

// Our side of the key exchange: the X25519 form of our identity, converted
// once, so that deriving keys for a new peer costs one scalar multiplication.
class KeyExchange {
 public:
  // Fails when the secret key cannot be converted.
  static absl::StatusOr<KeyExchange> Create(const SecretKey& our_secret_key);

  // Keys for talking to `peer` (an Ed25519 public key). Fails when the peer's
  // key is not a valid Ed25519 point, or converts to our own X25519 key.
  absl::StatusOr<SessionKeys> Derive(const PublicKey& peer) const;

  const std::array<uint8_t, 32>& x25519_public_key() const { return x_pk_; }
  const std::array<uint8_t, 32>& x25519_secret_key() const { return x_sk_; }

 private:
  std::array<uint8_t, 32> x_pk_{};
  std::array<uint8_t, 32> x_sk_{};
};

}  // namespace drasyl

#endif  // DRASYL_COMMON_SESSION_KEYS_H_
