// Fair shares per source in front of the control thread. A "source" is what
// one host (or one subscriber's prefix) controls: an IPv4 address or an IPv6
// /64. Every limit against floods (message rate to the control thread, peer
// table share, pending key exchanges, TCP connections) is counted per source,
// so that one host with many identities gets one host's share.
#ifndef DRASYL_DATAPLANE_SOURCE_ADMISSION_H_
#define DRASYL_DATAPLANE_SOURCE_ADMISSION_H_

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "common/socket_address.h"
#include "dataplane/peer_path.h"

namespace drasyl {

// A source as one 64-bit key: an IPv6 /64 is its first 8 bytes; an IPv4
// address (also IPv4-mapped IPv6) is ffff:ffff:<address>::/64, a prefix of
// the unassigned ffff::/16 that no IPv6 host sends from.
using SourceKey = uint64_t;

inline SourceKey SourceKeyOf(uint8_t family, const uint8_t* ip) {
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  uint32_t v4;
  if (family == 4) {
    std::memcpy(&v4, ip, 4);
  } else if (std::memcmp(ip, kMapped, sizeof(kMapped)) == 0) {
    std::memcpy(&v4, ip + 12, 4);
  } else {
    uint64_t prefix;
    std::memcpy(&prefix, ip, 8);
    return __builtin_bswap64(prefix);
  }
  return 0xffff'ffff'0000'0000ull | __builtin_bswap32(v4);
}
inline SourceKey SourceKeyOf(const SocketAddress& a) {
  return SourceKeyOf(a.is_v4() ? 4 : 6, a.bytes().data());
}
// UDP paths only (a TCP path's source is its connection's peer address).
inline SourceKey SourceKeyOf(const PeerPath& udp) { return SourceKeyOf(udp.family, udp.ip.data()); }

// Token buckets per source in a fixed table (no allocation after
// construction, one owner thread). Each source may send `rate` messages a
// second on average and `burst` at once. Sources share a set of two slots
// by a seeded hash; a source not in its set takes the slot that was idle
// longest, with a full bucket, so that an idle source never blocks a new
// one. Colliding busy sources (three on one set, unlikely and not steerable
// without the seed) can refill each other's buckets: they then get more
// than their share, never less.
class SourceBuckets {
 public:
  // rate 0: everything passes.
  explicit SourceBuckets(uint32_t rate_per_s = 0, uint32_t burst = 0, size_t sets = 2048) {
    Configure(rate_per_s, burst);
    size_t n = 1;
    while (n < sets) n <<= 1;
    mask_ = n - 1;
    slots_ = std::make_unique<Slot[]>(2 * n);
  }
  // Before use, or from the owner thread.
  void Configure(uint32_t rate_per_s, uint32_t burst) {
    rate_ = rate_per_s;
    burst_milli_ = static_cast<uint64_t>(burst == 0 ? rate_per_s : burst) * 1000;
    full_after_ms_ = rate_ == 0 ? 0 : (burst_milli_ + rate_ - 1) / rate_;
  }
  bool enabled() const { return rate_ != 0; }

  // Takes one token of `source` at now_ms; false: over its rate.
  bool Admit(SourceKey source, uint64_t now_ms) {
    if (rate_ == 0) return true;
    // The key is stored +1 so that an empty slot (0) never matches.
    const uint64_t tag = source + 1 == 0 ? 1 : source + 1;
    Slot* set = &slots_[2 * (absl::HashOf(source) & mask_)];
    Slot* s = set[0].tag == tag ? &set[0] : set[1].tag == tag ? &set[1] : nullptr;
    if (s == nullptr) {
      s = set[0].last_ms <= set[1].last_ms ? &set[0] : &set[1];
      s->tag = tag;
      s->tokens_milli = burst_milli_;
    } else {
      // Elapsed ms * rate (messages/s) = refill in thousandths of a message
      // (below full_after_ms_ the product stays below burst_milli_ + rate_).
      const uint64_t elapsed = now_ms > s->last_ms ? now_ms - s->last_ms : 0;
      const uint64_t refill = elapsed >= full_after_ms_ ? burst_milli_ : elapsed * rate_;
      s->tokens_milli = std::min(burst_milli_, s->tokens_milli + refill);
    }
    s->last_ms = now_ms;
    if (s->tokens_milli < 1000) return false;
    s->tokens_milli -= 1000;
    return true;
  }

 private:
  struct Slot {
    uint64_t tag = 0;
    uint64_t last_ms = 0;
    uint64_t tokens_milli = 0;
  };
  uint32_t rate_ = 0;
  uint64_t burst_milli_ = 0;
  uint64_t full_after_ms_ = 0;  // ms after which a bucket is full again
  size_t mask_ = 0;
  std::unique_ptr<Slot[]> slots_;
};

// How many of something (peers, connections, key exchanges) each source
// holds, for a cap per source; sources holding none take no memory.
class SourceCounts {
 public:
  // Whether `source` holds fewer than `limit` (0: no limit).
  bool Below(SourceKey source, uint64_t limit) const {
    if (limit == 0) return true;
    auto it = counts_.find(source);
    return it == counts_.end() || it->second < limit;
  }
  void Add(SourceKey source) { ++counts_[source]; }
  // One fewer for `source`, which must hold at least one.
  void Remove(SourceKey source) {
    auto it = counts_.find(source);
    if (it != counts_.end() && --it->second == 0) counts_.erase(it);
  }

 private:
  absl::flat_hash_map<SourceKey, uint32_t> counts_;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_SOURCE_ADMISSION_H_
