// The load generator's identity cache: many node identities (Ed25519 key +
// proof of work), generated once with every core and kept in a binary file,
// plus a second file with the session keys those nodes share with one super
// peer (so a million X25519 exchanges are paid once per super peer key).
//
// Identity file (all integers little-endian):
//   0   8  magic "DRLGID01"
//   8   4  difficulty: every proof of work in the file reaches at least this
//  12   4  reserved (0)
//  16   8  count
//  24   count records of 68 bytes: secret key (64, libsodium layout
//          seed || public key) || proof of work (int32)
//
// Session-key file "<identities>.kx-<first 16 hex digits of the super peer key>":
//   0   8  magic "DRLGKX01"
//   8  32  the super peer's public key
//  40   8  count
//  48   count records of 72 bytes: node public key prefix (8) || rx (32) || tx (32)
//          (the node's view: rx decrypts what the super peer sends it)
#ifndef DRASYL_BENCH_LOADGEN_IDENTITY_CACHE_H_
#define DRASYL_BENCH_LOADGEN_IDENTITY_CACHE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/identity.h"
#include "common/types.h"

namespace drasyl::loadgen {

// Returns `count` identities valid for `difficulty`: the first ones of the
// file, generating (and appending to the file) what is missing. A file of
// lower difficulty is an error (it is never overwritten); threads 0 = all cores.
absl::StatusOr<std::vector<Identity>> LoadOrGenerateIdentities(const std::string& path,
                                                               size_t count, int difficulty,
                                                               int threads);

// The nodes' session keys with the super peer `sp`, from the cache next to
// the identity file when it matches, else derived on all cores and saved.
absl::StatusOr<std::vector<SessionKeys>> LoadOrDeriveSessionKeys(
    const std::string& identity_path, const std::vector<Identity>& ids, const PublicKey& sp,
    int threads);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_IDENTITY_CACHE_H_
