// A worker's replica of the peer table: public key -> current path. Only its
// owner thread reads and writes it; the control thread sends changes through
// an SPSC ring, applied between bursts. No locks, no atomics.
#ifndef DRASYL_DATAPLANE_PEER_TABLE_H_
#define DRASYL_DATAPLANE_PEER_TABLE_H_

#include <cstring>

#include "absl/container/flat_hash_map.h"
#include "common/types.h"
#include "dataplane/peer_path.h"

namespace drasyl {

// Ed25519 public keys are uniformly distributed, and registering one costs a
// proof of work, so two words of the key mixed by absl's seeded hash suffice.
struct PublicKeyHash {
  size_t operator()(const PublicKey& k) const {
    uint64_t a, b;
    std::memcpy(&a, k.data(), 8);
    std::memcpy(&b, k.data() + 24, 8);
    return absl::Hash<uint64_t>{}(a ^ (b * 0x9e3779b97f4a7c15ull));
  }
};

// Key equality as four word compares: std::array's == becomes a call to
// memcmp, one per lookup on the relay path.
struct PublicKeyEq {
  bool operator()(const PublicKey& a, const PublicKey& b) const {
    uint64_t x[4], y[4];
    std::memcpy(x, a.data(), sizeof(x));
    std::memcpy(y, b.data(), sizeof(y));
    return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) | (x[3] ^ y[3])) == 0;
  }
};

// One change to a replica, sent by the control thread.
struct PeerUpdate {
  enum class Op : uint8_t { kUpsert, kErase };
  Op op = Op::kUpsert;
  PublicKey key{};
  PeerPath path{};
};

class PeerTable {
 public:
  void Apply(const PeerUpdate& u) {
    if (u.op == PeerUpdate::Op::kUpsert) {
      map_.insert_or_assign(u.key, u.path);
    } else {
      map_.erase(u.key);
    }
  }
  void Reserve(size_t n) { map_.reserve(n); }

  const PeerPath* Find(const PublicKey& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  // For a burst: prefetches the key's slot and returns its hash for Find.
  size_t PrefetchHashed(const PublicKey& key) const {
    map_.prefetch(key);
    return PublicKeyHash{}(key);
  }
  const PeerPath* Find(const PublicKey& key, size_t hash) const {
    auto it = map_.find(key, hash);
    return it == map_.end() ? nullptr : &it->second;
  }
  size_t size() const { return map_.size(); }
  // Bytes of the table's slot array (what a peer costs a worker).
  size_t MemoryBytes() const {
    return map_.capacity() * (sizeof(std::pair<const PublicKey, PeerPath>) + 1);
  }

 private:
  absl::flat_hash_map<PublicKey, PeerPath, PublicKeyHash, PublicKeyEq> map_;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_PEER_TABLE_H_
