// Per-worker pre-filter for UNITE events: a worker tells the control thread
// about a relayed pair at most once per rate-limit interval, so relaying
// costs no control traffic in steady state. Direct-mapped and lossy by
// design: a collision only means one extra or one delayed event; the
// control thread keeps the authoritative per-pair rate limit.
#ifndef DRASYL_DATAPLANE_UNITE_FILTER_H_
#define DRASYL_DATAPLANE_UNITE_FILTER_H_

#include <array>
#include <cstdint>
#include <cstring>

namespace drasyl {

class UniteFilter {
 public:
  // interval_ms: -1 never, 0 always, n > 0 at most once per pair per n ms.
  explicit UniteFilter(int64_t interval_ms) : interval_ms_(interval_ms) {}

  // False when UNITEs are off: the relay decision need not ask at all.
  bool enabled() const { return interval_ms_ >= 0; }

  // Whether the relay of sender -> recipient at now_ms should be reported.
  bool ShouldReport(const uint8_t* sender, const uint8_t* recipient, uint64_t now_ms) {
    if (interval_ms_ <= 0) return interval_ms_ == 0;
    uint64_t a, b;
    std::memcpy(&a, sender, 8);
    std::memcpy(&b, recipient, 8);
    // XOR: the same tag for both directions of a pair. Keys are uniformly
    // distributed; two pairs that share a tag cost one delayed event.
    const uint64_t tag = a ^ b;
    Slot& s = slots_[(tag * 0x9e3779b97f4a7c15ull) >> (64 - kSlotBits)];
    if (s.tag == tag && now_ms - s.last_ms < static_cast<uint64_t>(interval_ms_)) return false;
    s.tag = tag;
    s.last_ms = now_ms;
    return true;
  }

 private:
  static constexpr unsigned kSlotBits = 12;
  static constexpr size_t kSlots = size_t{1} << kSlotBits;
  struct Slot {
    uint64_t tag = 0;
    uint64_t last_ms = 0;
  };
  int64_t interval_ms_;
  std::array<Slot, kSlots> slots_{};
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_UNITE_FILTER_H_
