// Fixed-size key types shared by every part of the super peer.
#ifndef DRASYL_COMMON_TYPES_H_
#define DRASYL_COMMON_TYPES_H_

#include <array>
#include <cstddef>
#include <cstdint>

namespace drasyl {

inline constexpr size_t kPublicKeyBytes = 32;
inline constexpr size_t kSecretKeyBytes = 64;
inline constexpr size_t kSessionKeyBytes = 32;

using PublicKey = std::array<uint8_t, kPublicKeyBytes>;
// libsodium layout: seed(32) || public key(32).
using SecretKey = std::array<uint8_t, kSecretKeyBytes>;
using SessionKey = std::array<uint8_t, kSessionKeyBytes>;

// Keys of one direction pair: decrypt what we receive with rx, encrypt with tx.
struct SessionKeys {
  SessionKey rx;
  SessionKey tx;
};

}  // namespace drasyl

#endif  // DRASYL_COMMON_TYPES_H_
