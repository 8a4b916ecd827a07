// The authoritative peer table, owned by the control thread: everything the
// super peer knows about a peer. Workers hold only key -> path replicas.
//
// Memory per peer is what limits how many nodes a box can carry, so records
// live densely in fixed-size chunks (no rehash ever copies or doubles them)
// and the hash index holds only a 4-byte record number per slot.
#ifndef DRASYL_CONTROL_PEER_REGISTRY_H_
#define DRASYL_CONTROL_PEER_REGISTRY_H_

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/types/span.h"
#include "common/types.h"
#include "common/wire.h"
#include "dataplane/peer_path.h"
#include "dataplane/peer_table.h"
#include "dataplane/source_admission.h"

namespace drasyl {

struct PeerRecord {
  PublicKey key{};
  SessionKeys keys{};          // when arming
  PeerPath path;               // kNone once its TCP connection closed
  uint64_t last_hello_ms = 0;  // monotonic, when its newest HELLO arrived
  // The time (its own clock, µs) of the newest HELLO accepted from it:
  // older ones are replays, equal ones copies over its other paths.
  uint64_t hello_time_us = 0;
  // The source (address, /64) its table share is counted against: that of
  // the path its newest HELLO moved it to.
  SourceKey source = 0;

  bool has_path() const { return path.transport != Transport::kNone; }
  // Endpoints of its last HELLO (for UNITEs).
  absl::Span<const wire::Endpoint> endpoints() const { return {endpoints_.get(), endpoint_count_}; }
  void SetEndpoints(absl::Span<const wire::Endpoint> e);

 private:
  friend class PeerRegistry;
  // Exactly sized: most nodes announce one or two endpoints, up to 15.
  std::unique_ptr<wire::Endpoint[]> endpoints_;
  uint32_t number_ = 0;  // its place in the registry
  uint8_t endpoint_count_ = 0;
  bool live_ = false;
};
static_assert(sizeof(PeerRecord) <= 168, "a peer record is what a registered node costs");

class PeerRegistry {
 public:
  PeerRegistry();
  PeerRegistry(const PeerRegistry&) = delete;  // the index refers to this object
  PeerRegistry& operator=(const PeerRegistry&) = delete;

  PeerRecord* Find(const PublicKey& key);
  const PeerRecord* Find(const PublicKey& key) const;
  void Prefetch(const PublicKey& key) const { index_.prefetch(key); }
  // Adds a record for a key not in the registry.
  PeerRecord& Insert(const PublicKey& key);
  // Removes the record (it must come from this registry); its memory is reused.
  void Erase(PeerRecord& rec);

  size_t size() const { return index_.size(); }
  bool empty() const { return index_.empty(); }

  // Calls fn(PeerRecord&) for every record. fn may Erase the record it gets.
  template <typename Fn>
  void ForEach(Fn&& fn) {
    for (uint32_t i = 0; i < high_water_; ++i) {
      PeerRecord& rec = At(i);
      if (rec.live_) fn(rec);
    }
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (uint32_t i = 0; i < high_water_; ++i) {
      const PeerRecord& rec = At(i);
      if (rec.live_) fn(rec);
    }
  }

  // Bytes held for records and the index (without endpoint lists).
  size_t MemoryBytes() const;

 private:
  static constexpr uint32_t kChunkBits = 14;  // 16 384 records (2.4 MiB) a chunk
  static constexpr uint32_t kChunkRecords = 1u << kChunkBits;

  // The index stores record numbers; hashing and comparing look at the
  // record's key, so a lookup by key needs no copy of it in the index.
  struct IndexHash {
    using is_transparent = void;
    const PeerRegistry* registry;
    size_t operator()(uint32_t i) const { return PublicKeyHash{}(registry->At(i).key); }
    size_t operator()(const PublicKey& k) const { return PublicKeyHash{}(k); }
  };
  struct IndexEq {
    using is_transparent = void;
    const PeerRegistry* registry;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, const PublicKey& k) const {
      return PublicKeyEq{}(registry->At(a).key, k);
    }
    bool operator()(const PublicKey& k, uint32_t a) const {
      return PublicKeyEq{}(registry->At(a).key, k);
    }
  };

  PeerRecord& At(uint32_t i) { return chunks_[i >> kChunkBits][i & (kChunkRecords - 1)]; }
  const PeerRecord& At(uint32_t i) const {
    return chunks_[i >> kChunkBits][i & (kChunkRecords - 1)];
  }

  absl::flat_hash_set<uint32_t, IndexHash, IndexEq> index_;
  std::vector<std::unique_ptr<PeerRecord[]>> chunks_;
  std::vector<uint32_t> free_;  // record numbers below high_water_ not in use
  uint32_t high_water_ = 0;
};

// The registry seen as a relay table (Prefetch/Find of PeerTable), so the
// control thread relays TCP frames with the workers' decision code without
// keeping a replica of its own.
class RegistryRelayView {
 public:
  explicit RegistryRelayView(const PeerRegistry& registry) : registry_(registry) {}
  const PeerPath* Find(const PublicKey& key) const {
    const PeerRecord* rec = registry_.Find(key);
    return rec == nullptr || !rec->has_path() ? nullptr : &rec->path;
  }
  KeyRef Prefetch(const uint8_t* key) const {
    registry_.Prefetch(wire::KeyAt(key));
    return KeyRef{key, 0};
  }
  const PeerPath* Find(const KeyRef& key) const { return Find(wire::KeyAt(key.bytes)); }

 private:
  const PeerRegistry& registry_;
};

}  // namespace drasyl

#endif  // DRASYL_CONTROL_PEER_REGISTRY_H_
