// Per-worker pre-filter for UNITE events: a worker tells the control thread
// about a relayed pair at most once per rate-limit window (now_ms divided by
// the interval), so relaying costs no control traffic in steady state.
// Direct-mapped and lossy by design: a collision only means one extra or one
// delayed event, and a pair relayed across a window's end is reported in
// both windows; the control thread keeps the authoritative per-pair rate
// limit.
#ifndef DRASYL_DATAPLANE_UNITE_FILTER_H_
#define DRASYL_DATAPLANE_UNITE_FILTER_H_

#include <array>
#include <cstdint>
#include <cstring>

namespace drasyl {

class UniteFilter {
 public:
  // interval_ms: -1 never, 0 always, n > 0 at most once per pair per n ms
  // window.
  explicit UniteFilter(int64_t interval_ms) : interval_ms_(interval_ms) {}

  // False when UNITEs are off: the relay decision need not ask at all.
  bool enabled() const { return interval_ms_ >= 0; }

  // The window now_ms falls in, for ShouldReportIn: computed once per burst
  // (a division), not per packet.
  uint64_t WindowAt(uint64_t now_ms) const {
    if (interval_ms_ <= 0) return interval_ms_ == 0 ? kAlways : kNever;
    return now_ms / static_cast<uint64_t>(interval_ms_);
  }

  // Whether the relay of sender -> recipient in `window` (WindowAt) should
  // be reported: the pair's first relay in the window.
  bool ShouldReportIn(uint64_t window, const uint8_t* sender, const uint8_t* recipient) {
    if (window >= kNever) return window == kAlways;
    uint64_t a, b;
    std::memcpy(&a, sender, 8);
    std::memcpy(&b, recipient, 8);
    // XOR: the same tag for both directions of a pair. Keys are uniformly
    // distributed; two pairs that share a slot cost one extra or delayed
    // event. The slot holds the tag of its last reported pair mixed with
    // the window: one compare says "this pair, this window".
    const uint64_t tag = a ^ b;
    const uint64_t mark = tag ^ (window * kMix);
    uint64_t& slot = slots_[(tag * kMix) >> (64 - kSlotBits)];
    if (slot == mark) return false;
    slot = mark;
    return true;
  }

 private:
  static constexpr uint64_t kAlways = ~uint64_t{0};
  static constexpr uint64_t kNever = kAlways - 1;
  static constexpr uint64_t kMix = 0x9e3779b97f4a7c15ull;  // 2^64 / golden ratio, odd
  static constexpr unsigned kSlotBits = 12;
  static constexpr size_t kSlots = size_t{1} << kSlotBits;
  int64_t interval_ms_;
  std::array<uint64_t, kSlots> slots_{};
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_UNITE_FILTER_H_
