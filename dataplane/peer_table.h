// A worker's replica of the peer table: public key -> current path. Only its
// owner thread reads and writes it; the control thread sends changes through
// an SPSC ring, applied between bursts. No locks, no atomics.
#ifndef DRASYL_DATAPLANE_PEER_TABLE_H_
#define DRASYL_DATAPLANE_PEER_TABLE_H_

#include <cstring>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "absl/container/flat_hash_map.h"
#include "common/types.h"
#include "dataplane/peer_path.h"

namespace drasyl {

// A key as it sits in a received message, with its hash computed once: a
// burst prefetches its table slot and later looks it up by the same KeyRef,
// without copying the key out of the packet or hashing it twice.
struct KeyRef {
  const uint8_t* bytes;  // kPublicKeyBytes
  size_t hash;
};

// Ed25519 public keys are uniformly distributed, and registering one costs a
// proof of work, so the key's first 64 bits mixed by absl's seeded hash
// suffice: keys that share them take 2^64 key generations each to find.
// Transparent: tables keyed by PublicKey are looked up by KeyRef too.
struct PublicKeyHash {
  using is_transparent = void;
  static size_t Of(const uint8_t* key) {
    uint64_t a;
    std::memcpy(&a, key, 8);
    return absl::Hash<uint64_t>{}(a);
  }
  size_t operator()(const PublicKey& k) const { return Of(k.data()); }
  size_t operator()(const KeyRef& k) const { return k.hash; }
};

// Key equality as an inlined fixed-size compare: std::array's == becomes a
// call to memcmp (it orders), one per lookup on the relay path. With SSE2,
// two 16-byte compares and one mask test (the compiler's inlined memcmp
// compares in 8-byte steps).
struct PublicKeyEq {
  using is_transparent = void;
  static bool Equal(const uint8_t* a, const uint8_t* b) {
#ifdef __SSE2__
    static_assert(kPublicKeyBytes == 32);
    const __m128i lo = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(b)));
    const __m128i hi = _mm_cmpeq_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 16)),
                                      _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16)));
    return _mm_movemask_epi8(_mm_and_si128(lo, hi)) == 0xffff;
#else
    return std::memcmp(a, b, kPublicKeyBytes) == 0;
#endif
  }
  bool operator()(const PublicKey& a, const PublicKey& b) const {
    return Equal(a.data(), b.data());
  }
  bool operator()(const PublicKey& a, const KeyRef& b) const { return Equal(a.data(), b.bytes); }
  bool operator()(const KeyRef& a, const PublicKey& b) const { return Equal(a.bytes, b.data()); }
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

  // For a burst: hashes the key at `key` (in a packet), prefetches its slot
  // and returns what Find looks it up by. A table that fits in a core's L2
  // is not prefetched: finding the slot costs as much as the lookup itself.
  KeyRef Prefetch(const uint8_t* key) const {
    const KeyRef ref{key, PublicKeyHash::Of(key)};
    if (map_.capacity() > kPrefetchAboveSlots) map_.prefetch(ref);
    return ref;
  }
  const PeerPath* Find(const KeyRef& key) const {
    auto it = map_.find(key);
    return it == map_.end() ? nullptr : &it->second;
  }
  size_t size() const { return map_.size(); }
  // Bytes of the table's slot array (what a peer costs a worker).
  size_t MemoryBytes() const {
    return map_.capacity() * (sizeof(std::pair<const PublicKey, PeerPath>) + 1);
  }

 private:
  static constexpr size_t kPrefetchAboveSlots = 4096;  // 256 KiB of slots
  absl::flat_hash_map<PublicKey, PeerPath, PublicKeyHash, PublicKeyEq> map_;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_PEER_TABLE_H_
