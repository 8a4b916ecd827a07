// Bounded lock-free single-producer single-consumer ring. The control thread
// feeds each worker's table replica through one, and each worker hands
// packets to the control thread through another. Producer and consumer
// indices live on separate cache lines; each side caches the other's index
// so that the common case touches no shared line.
#ifndef DRASYL_DATAPLANE_SPSC_RING_H_
#define DRASYL_DATAPLANE_SPSC_RING_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace drasyl {

template <typename T>
class SpscRing {
 public:
  // capacity is rounded up to a power of two.
  explicit SpscRing(size_t capacity) {
    size_t cap = 1;
    while (cap < capacity) cap <<= 1;
    mask_ = cap - 1;
    slots_ = std::make_unique<T[]>(cap);
  }
  SpscRing(const SpscRing&) = delete;
  SpscRing& operator=(const SpscRing&) = delete;

  size_t capacity() const { return mask_ + 1; }

  // Producer: a slot to fill in place, or nullptr when full. Commit with Push().
  T* Reserve() {
    const uint64_t head = head_.load(std::memory_order_relaxed);
    if (head - cached_tail_ > mask_) {
      cached_tail_ = tail_.load(std::memory_order_acquire);
      if (head - cached_tail_ > mask_) return nullptr;
    }
    return &slots_[head & mask_];
  }
  void Push() { head_.store(head_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }
  bool TryPush(const T& value) {
    T* slot = Reserve();
    if (slot == nullptr) return false;
    *slot = value;
    Push();
    return true;
  }

  // Consumer: the oldest slot, or nullptr when empty. Release with Pop().
  T* Front() {
    const uint64_t tail = tail_.load(std::memory_order_relaxed);
    if (tail == cached_head_) {
      cached_head_ = head_.load(std::memory_order_acquire);
      if (tail == cached_head_) return nullptr;
    }
    return &slots_[tail & mask_];
  }
  void Pop() { tail_.store(tail_.load(std::memory_order_relaxed) + 1, std::memory_order_release); }

  bool Empty() const {
    return head_.load(std::memory_order_acquire) == tail_.load(std::memory_order_acquire);
  }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  uint64_t cached_tail_ = 0;                   // producer's view of tail_
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
  uint64_t cached_head_ = 0;                   // consumer's view of head_
  alignas(64) size_t mask_ = 0;
  std::unique_ptr<T[]> slots_;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_SPSC_RING_H_
