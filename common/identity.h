// Identity of a super peer or node: Ed25519 key pair + proof of work, and the
// identity file that is the super peer's only state (docs/protocol.md §1).
#ifndef DRASYL_COMMON_IDENTITY_H_
#define DRASYL_COMMON_IDENTITY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "common/types.h"

namespace drasyl {

inline constexpr int kDefaultMinPowDifficulty = 24;

struct Identity {
  SecretKey secret_key{};
  PublicKey public_key{};
  int32_t pow = 0;
};

// Leading zero bits of SHA-256(hex(pk) || decimal(pow)), 0..256.
int PowDifficulty(const PublicKey& pk, int32_t pow);
bool PowValid(const PublicKey& pk, int32_t pow, int difficulty);

// Searches a pow valid for `difficulty`, counting up from INT32_MIN, split
// over `threads` threads (0: one per core). Fails only when no 32-bit value
// is valid, or difficulty is out of 0..256.
absl::StatusOr<int32_t> FindPow(const PublicKey& pk, int difficulty, int threads = 0);

// The Ed25519 public key that belongs to `sk` (its last 32 bytes, checked
// against the seed). Fails when the two halves do not match.
absl::StatusOr<PublicKey> PublicKeyOf(const SecretKey& sk);

// A fresh key pair with a pow valid for `difficulty`.
absl::StatusOr<Identity> GenerateIdentity(int difficulty, int threads = 0);

// "[Identity]\nSecretKey = <hex>\nProofOfWork = <pow>\n".
std::string FormatIdentityFile(const Identity& id);
// Parses the identity file text. Every problem is an error naming it.
absl::StatusOr<Identity> ParseIdentityFile(const std::string& text);

// Reads and parses the file. NotFoundError when it does not exist; any
// other failure (unreadable, malformed) is another error code with a message
// that names the path.
absl::StatusOr<Identity> LoadIdentityFile(const std::string& path);
// Writes atomically (temporary file in the same folder + rename), mode 0600.
absl::Status SaveIdentityFile(const std::string& path, const Identity& id);

// Loads the file; when it does not exist, logs
// "Identity file '<path>' not found. Generate new one..." , generates an
// identity valid for `difficulty` and saves it. Any other load error is
// returned as is: a malformed file is never overwritten.
absl::StatusOr<Identity> LoadOrCreateIdentity(const std::string& path, int difficulty);

}  // namespace drasyl

#endif  // DRASYL_COMMON_IDENTITY_H_
