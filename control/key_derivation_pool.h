// Derives the session keys of new peers on helper threads. A key exchange
// costs ~70 µs; when thousands of nodes register at once (a super peer
// restart), one control thread doing them in turn is the bottleneck, so the
// control thread hands them out here and answers each HELLO when its keys
// come back. Lock-free rings both ways; idle threads sleep on a futex.
#ifndef DRASYL_CONTROL_KEY_DERIVATION_POOL_H_
#define DRASYL_CONTROL_KEY_DERIVATION_POOL_H_

#include <sched.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/session_keys.h"
#include "common/types.h"
#include "dataplane/spsc_ring.h"

namespace drasyl {

class KeyDerivationPool {
 public:
  struct Result {
    PublicKey peer{};
    bool ok = false;  // false: the key is not a usable X25519 peer
    SessionKeys keys{};
  };

  // `threads` >= 1 helper threads, bound to `cpus` when given; `wakeup_fd`
  // (an eventfd, or -1) is signalled when results are ready.
  KeyDerivationPool(const KeyExchange& kx, int threads, int wakeup_fd,
                    const cpu_set_t* cpus = nullptr);
  ~KeyDerivationPool();
  KeyDerivationPool(const KeyDerivationPool&) = delete;
  KeyDerivationPool& operator=(const KeyDerivationPool&) = delete;

  // Derivations submitted and not yet drained must stay below this.
  static constexpr size_t kMaxInFlight = 1024;

  // Control thread: queues a derivation; false when every queue is full.
  bool Submit(const PublicKey& peer);
  // Control thread: calls fn(const Result&) for every finished derivation.
  template <typename Fn>
  size_t Drain(Fn&& fn) {
    size_t n = 0;
    for (auto& h : helpers_) {
      while (Result* r = h->out.Front()) {
        fn(*r);
        h->out.Pop();
        ++n;
      }
    }
    return n;
  }
  int threads() const { return static_cast<int>(helpers_.size()); }

 private:
  static constexpr size_t kQueueDepth = kMaxInFlight;
  struct Helper {
    Helper() : in(kQueueDepth), out(kQueueDepth) {}
    SpscRing<PublicKey> in;
    SpscRing<Result> out;
    std::atomic<uint32_t> submitted{0};  // futex word: bumped on every Submit
    std::thread thread;
  };
  void Run(Helper* h);

  const KeyExchange kx_;
  const int wakeup_fd_;
  std::atomic<bool> stop_{false};
  std::vector<std::unique_ptr<Helper>> helpers_;
  size_t next_ = 0;
};

// How many helpers run where.
struct KeyDerivationPlacement {
  int threads = 0;
  bool pinned = false;  // bound to `cpus`
  cpu_set_t cpus{};
};

// Places the helpers. `requested`: --kx_threads (< 0: the default).
// `allowed`: the CPUs the process may use. `workers` and `main`: the CPUs a
// backend pinned its workers and its main thread to (the control thread
// runs on the latter), or nullptr when it pins nothing (kernel sockets):
// - nothing pinned: unpinned helpers, by default one per CPU (at most 4)
//   when there are two CPUs or more;
// - pinned workers (DPDK lcores busy-poll theirs): helpers never share a
//   worker's CPU. They go to the allowed CPUs no lcore uses, by default one
//   per such CPU (at most 4); without any, to the main thread's CPU beside
//   the control thread, and by default none (they would only take turns
//   with it).
KeyDerivationPlacement PlaceKeyDerivation(int requested, const cpu_set_t& allowed,
                                          const cpu_set_t* workers, const cpu_set_t* main);

// "0,2-3" for a CPU set (logs).
std::string CpuListString(const cpu_set_t& cpus);

}  // namespace drasyl

#endif  // DRASYL_CONTROL_KEY_DERIVATION_POOL_H_
