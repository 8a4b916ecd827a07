// What latency this machine allows at all, whatever the software: the
// floor under the capacity report's p99 (scripts/capacity-report.sh).
//
// BM_CpuStalls/cpu:N spins on CPU N reading the clock and counts the gaps
// longer than 20 us: time the CPU was taken away (the hypervisor, timer
// ticks under nested virtualization, interrupts, other tasks).
//
// BM_RingModel/rate:R/cost:C is the super peer's relay path with nothing
// but the essentials: a generator thread on CPU 0 sends time-stamped 8-byte
// messages in bursts of 32 at R/s into a shared-memory ring and polls a
// second ring for them; a forwarder thread on CPU 1 spends C cycles per
// message (the super peer's work; 0: none) and moves them to the second
// ring. Every stall of either CPU shows up in the latency quantiles, and
// the queue it leaves drains at what the forwarder has to spare.
#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "bench/loadgen/histogram.h"
#include "benchmark/benchmark.h"

namespace drasyl {
namespace {

constexpr uint64_t kStallNs = 20000;

bool Pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// Spins for about `ns` (the forwarder's work per burst).
void Spin(uint64_t ns) {
  for (const uint64_t until = NowNs() + ns; NowNs() < until;) {
  }
}

void BM_CpuStalls(benchmark::State& state) {
  const int cpu = static_cast<int>(state.range(0));
  if (cpu >= static_cast<int>(std::thread::hardware_concurrency()) || !Pin(cpu)) {
    state.SkipWithError("no such CPU");
    return;
  }
  uint64_t stalls = 0, stalled = 0, longest = 0, spun = 0;
  for (auto _ : state) {
    uint64_t prev = NowNs();
    const uint64_t begin = prev;
    const uint64_t end = begin + 2000000000ull;
    while (prev < end) {
      const uint64_t t = NowNs();
      const uint64_t gap = t - prev;
      if (gap > kStallNs) {
        ++stalls;
        stalled += gap;
        longest = std::max(longest, gap);
      }
      prev = t;
    }
    spun += prev - begin;
  }
  state.counters["stalls_per_s"] = stalls / (spun / 1e9);
  state.counters["stalled_pct"] = 100.0 * stalled / spun;
  state.counters["longest_us"] = longest / 1e3;
}
BENCHMARK(BM_CpuStalls)->ArgName("cpu")->Arg(0)->Arg(1)->Iterations(1)->Unit(benchmark::kMillisecond);

// Single-producer single-consumer ring of time stamps.
class Ring {
 public:
  static constexpr uint64_t kSize = 1 << 14;  // as memif's rsize=14

  size_t Push(const uint64_t* v, size_t n) {
    const uint64_t h = head_.load(std::memory_order_relaxed);
    const uint64_t t = tail_.load(std::memory_order_acquire);
    n = std::min<size_t>(n, kSize - (h - t));
    for (size_t i = 0; i < n; ++i) slots_[(h + i) & (kSize - 1)] = v[i];
    head_.store(h + n, std::memory_order_release);
    return n;
  }
  size_t Pop(uint64_t* v, size_t max) {
    const uint64_t t = tail_.load(std::memory_order_relaxed);
    const uint64_t h = head_.load(std::memory_order_acquire);
    const size_t n = std::min<size_t>(max, h - t);
    for (size_t i = 0; i < n; ++i) v[i] = slots_[(t + i) & (kSize - 1)];
    tail_.store(t + n, std::memory_order_release);
    return n;
  }

 private:
  alignas(64) std::atomic<uint64_t> head_{0};
  alignas(64) std::atomic<uint64_t> tail_{0};
  alignas(64) uint64_t slots_[kSize];
};

void BM_RingModel(benchmark::State& state) {
  if (std::thread::hardware_concurrency() < 2) {
    state.SkipWithError("needs 2 CPUs");
    return;
  }
  const double rate = static_cast<double>(state.range(0));
  const uint64_t cost_ns = static_cast<uint64_t>(state.range(1));
  auto to_sp = std::make_unique<Ring>();
  auto back = std::make_unique<Ring>();
  auto latency = std::make_unique<loadgen::Histogram>();
  std::atomic<bool> stop{false};
  std::thread forwarder([&] {
    Pin(1);
    uint64_t v[32];
    while (!stop.load(std::memory_order_relaxed)) {
      const size_t n = to_sp->Pop(v, 32);
      if (n == 0) continue;
      if (cost_ns > 0) Spin(n * cost_ns);
      for (size_t done = 0; done < n;) done += back->Push(v + done, n - done);
    }
  });
  Pin(0);
  uint64_t sent = 0;
  double seconds = 0;
  for (auto _ : state) {
    const uint64_t start = NowNs();
    const uint64_t end = start + 3000000000ull;
    uint64_t got[256];
    for (uint64_t now = start; now < end; now = NowNs()) {
      const size_t n = back->Pop(got, 256);
      if (n > 0) {
        const uint64_t rx = NowNs();
        for (size_t i = 0; i < n; ++i) latency->Add(rx - got[i]);
      }
      if ((now - start) * 1e-9 * rate >= sent + 32) {
        uint64_t burst[32];
        const uint64_t ts = NowNs();
        std::fill(burst, burst + 32, ts);
        sent += to_sp->Push(burst, 32);
      }
    }
    seconds += 3;
  }
  stop.store(true);
  forwarder.join();
  state.counters["sent_mpps"] = sent / seconds / 1e6;
  state.counters["p50_us"] = latency->Quantile(0.5) / 1e3;
  state.counters["p99_us"] = latency->Quantile(0.99) / 1e3;
  state.counters["p999_us"] = latency->Quantile(0.999) / 1e3;
}
// 5 Mpps; the forwarder doing nothing, and spending 50 / 100 ns per message
// (capacity 20 / 10 Mpps: the super peer's worker relays 9-12 Mpps over
// memif here).
BENCHMARK(BM_RingModel)
    ->ArgNames({"rate", "cost_ns"})
    ->Args({5000000, 0})
    ->Args({5000000, 50})
    ->Args({5000000, 100})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace drasyl
