// A fixed-size log-linear latency histogram (nanoseconds): exact below 64 ns,
// then 32 sub-buckets per power of two (about 3 % resolution) up to ~18 min.
// One writer (the receiver thread) adds with relaxed load+store; readers take
// relaxed snapshots. No allocation after construction.
#ifndef DRASYL_BENCH_LOADGEN_HISTOGRAM_H_
#define DRASYL_BENCH_LOADGEN_HISTOGRAM_H_

#include <array>
#include <atomic>
#include <cstdint>

namespace drasyl::loadgen {

class Histogram {
 public:
  static constexpr int kSubBits = 5;                 // 32 sub-buckets per octave
  static constexpr int kLinear = 64;                 // exact values 0..63
  static constexpr int kMaxExp = 40;                 // 2^40 ns ~ 18 min
  static constexpr int kBuckets = kLinear + (kMaxExp - 6 + 1) * (1 << kSubBits);

  static int Bucket(uint64_t v) {
    if (v < kLinear) return static_cast<int>(v);
    int e = 63 - __builtin_clzll(v);  // >= 6
    if (e > kMaxExp) return kBuckets - 1;
    const int sub = static_cast<int>((v >> (e - kSubBits)) & ((1 << kSubBits) - 1));
    return kLinear + (e - 6) * (1 << kSubBits) + sub;
  }
  // Midpoint of a bucket.
  static uint64_t Value(int b) {
    if (b < kLinear) return static_cast<uint64_t>(b);
    const int e = (b - kLinear) / (1 << kSubBits) + 6;
    const int sub = (b - kLinear) % (1 << kSubBits);
    const uint64_t lo = (uint64_t{1} << e) + (static_cast<uint64_t>(sub) << (e - kSubBits));
    return lo + (uint64_t{1} << (e - kSubBits)) / 2;
  }

  // Single writer.
  void Add(uint64_t v) {
    std::atomic<uint64_t>& c = counts_[Bucket(v)];
    c.store(c.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    count_.store(count_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    if (v > max_.load(std::memory_order_relaxed)) max_.store(v, std::memory_order_relaxed);
  }

  uint64_t count() const { return count_.load(std::memory_order_relaxed); }
  uint64_t max() const { return max_.load(std::memory_order_relaxed); }

  // Value at quantile q in [0, 1]; 0 when empty.
  uint64_t Quantile(double q) const {
    const uint64_t total = count();
    if (total == 0) return 0;
    uint64_t rank = static_cast<uint64_t>(q * static_cast<double>(total));
    if (rank >= total) rank = total - 1;
    uint64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
      seen += counts_[b].load(std::memory_order_relaxed);
      if (seen > rank) {
        const uint64_t v = Value(b);
        return v > max() ? max() : v;
      }
    }
    return max();
  }

  // Adds another histogram's counts (reader side; both quiescent).
  void Merge(const Histogram& o) {
    for (int b = 0; b < kBuckets; ++b) {
      counts_[b].store(counts_[b].load(std::memory_order_relaxed) +
                           o.counts_[b].load(std::memory_order_relaxed),
                       std::memory_order_relaxed);
    }
    count_.store(count() + o.count(), std::memory_order_relaxed);
    if (o.max() > max()) max_.store(o.max(), std::memory_order_relaxed);
  }

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> max_{0};
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_HISTOGRAM_H_
