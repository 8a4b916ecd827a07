// What the load generator's sender, receiver and progress line share: the
// simulated nodes, the receive-side counters and latency histograms, and
// who polls the receive side. Also the layout of an APP payload.
#ifndef DRASYL_BENCH_LOADGEN_SHARED_STATE_H_
#define DRASYL_BENCH_LOADGEN_SHARED_STATE_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bench/loadgen/flag_values.h"
#include "bench/loadgen/histogram.h"
#include "common/identity.h"
#include "common/wire.h"

namespace drasyl::loadgen {

// An APP payload carries (little-endian) magic "DLG1", source node,
// recipient node, step id, a sequence number per (source socket, recipient
// socket) and the send time.
constexpr uint32_t kPayloadMagic = 0x31474c44;  // "DLG1" little-endian
constexpr size_t kPayloadHeader = 32;
// Offsets in an APP message (after the 79-byte header) of the payload fields.
constexpr size_t kOffSrc = wire::kHeaderBytes + 4;
constexpr size_t kOffDst = wire::kHeaderBytes + 8;
constexpr size_t kOffSeq = wire::kHeaderBytes + 16;
constexpr size_t kOffStamp = wire::kHeaderBytes + 24;
constexpr int kMaxSteps = 250;
constexpr int kRxBurst = 256;
constexpr int kMaxBatch = 256;

// Counters written by one thread and read by others.
inline void Add(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t Get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }


enum class Pattern { kPair, kAll, kRandom };

// What came back of one traffic step.
struct StepRx {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> reordered{0};
  Histogram latency;  // ns
};

// Which phase a HELLO round trip counts for.
enum HelloPhase { kPhaseRegister = 0, kPhaseFlood = 1, kPhaseTraffic = 2, kPhases = 3 };

struct Shared {
  // Nodes.
  size_t n = 0;
  size_t k = 0;  // sockets
  std::vector<Identity> ids;
  std::vector<SessionKeys> keys;
  std::unique_ptr<std::atomic<uint64_t>[]> hello_sent_ns;  // MonoNs of the last HELLO
  std::unique_ptr<std::atomic<uint8_t>[]> acked;
  absl::flat_hash_map<uint64_t, uint32_t> index;  // first 8 key bytes -> node
  std::vector<uint64_t> key8;                     // node -> first 8 key bytes
  Url sp;
  bool arm = true;
  // Set by SIGINT / SIGTERM: every phase ends early.
  const std::atomic<bool>* interrupted = nullptr;

  // Receiver results.
  std::atomic<uint64_t> acks{0};
  std::atomic<uint64_t> acks_bad{0};
  std::atomic<uint64_t> registered{0};
  std::atomic<uint64_t> last_register_ns{0};
  std::atomic<uint64_t> unites{0};
  std::atomic<uint64_t> app_rx{0};
  std::atomic<uint64_t> foreign{0};
  std::atomic<int> hello_phase{kPhaseRegister};
  Histogram hello_rtt[kPhases];
  std::unique_ptr<StepRx[]> steps = std::make_unique<StepRx[]>(kMaxSteps + 1);
  std::vector<uint32_t> rx_flow_next;  // k*k: highest sequence + 1 seen per flow

  // Sender counters (for progress).
  std::atomic<uint64_t> app_tx{0};
  std::atomic<uint64_t> hellos_tx{0};

  // Progress.
  std::atomic<const char*> phase{"start"};
  std::atomic<int> step_no{0};
  std::atomic<int> step_total{0};
  std::atomic<double> step_target{0};
  std::atomic<bool> stop_rx{false};
  std::atomic<bool> stop_progress{false};

  // Who receives: the receiver thread, except during a run-to-completion
  // traffic step (rx_inline), for which it waits on rx_cv without waking
  // (a wakeup would cost the step's core a context switch).
  std::mutex rx_mu;
  std::condition_variable rx_cv;
  bool rx_inline = false;  // under rx_mu
  bool rx_busy = false;    // the receiver thread is polling; under rx_mu

  bool stopping() const { return interrupted->load(std::memory_order_relaxed); }
};

// Holds the receive side for a run-to-completion traffic step.
class RxOwnership {
 public:
  explicit RxOwnership(Shared* s) : s_(s) {
    std::unique_lock<std::mutex> lock(s_->rx_mu);
    s_->rx_inline = true;
    s_->rx_cv.wait(lock, [&] { return !s_->rx_busy; });
  }
  ~RxOwnership() {
    {
      std::lock_guard<std::mutex> lock(s_->rx_mu);
      s_->rx_inline = false;
    }
    s_->rx_cv.notify_all();
  }
  RxOwnership(const RxOwnership&) = delete;
  RxOwnership& operator=(const RxOwnership&) = delete;

 private:
  Shared* s_;
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_SHARED_STATE_H_
