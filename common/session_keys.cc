#include "common/session_keys.h"

#include <sodium.h>

#include <cstring>

#include "absl/status/status.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  CHECK(ok) << "sodium_init failed";
}

}  // namespace

absl::StatusOr<KeyExchange> KeyExchange::Create(const SecretKey& our_secret_key) {
  EnsureSodium();
  KeyExchange kx;
  if (crypto_sign_ed25519_sk_to_curve25519(kx.x_sk_.data(), our_secret_key.data()) != 0) {
    return absl::InvalidArgumentError("cannot convert the Ed25519 secret key to X25519");
  }
  // From the scalar rather than the stored public half: the pair is then
  // consistent even if the secret key's two halves disagree.
  if (crypto_scalarmult_base(kx.x_pk_.data(), kx.x_sk_.data()) != 0) {
    return absl::InvalidArgumentError("cannot derive the X25519 public key");
  }
  return kx;
}

absl::StatusOr<SessionKeys> KeyExchange::Derive(const PublicKey& peer) const {
  std::array<uint8_t, 32> peer_x;
  // Rejects non-canonical encodings, points off the curve, small-order points
  // and points outside the main subgroup.
  if (crypto_sign_ed25519_pk_to_curve25519(peer_x.data(), peer.data()) != 0) {
    return absl::InvalidArgumentError("peer public key is not a valid Ed25519 point");
  }
  const int order = std::memcmp(x_pk_.data(), peer_x.data(), x_pk_.size());
  if (order == 0) {
    return absl::InvalidArgumentError("peer public key equals our own");
  }
  SessionKeys keys;
  const int rc = order < 0 ? crypto_kx_client_session_keys(keys.rx.data(), keys.tx.data(),
                                                           x_pk_.data(), x_sk_.data(),
                                                           peer_x.data())
                           : crypto_kx_server_session_keys(keys.rx.data(), keys.tx.data(),
                                                           x_pk_.data(), x_sk_.data(),
                                                           peer_x.data());
  if (rc != 0) {
    return absl::InvalidArgumentError("key exchange with peer failed (degenerate shared secret)");
  }
  return keys;
}

}  // namespace drasyl
