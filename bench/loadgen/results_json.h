// The load generator's --json output: one object with the run's settings,
// the HELLO phases, every traffic step and the best lossless one.
#ifndef DRASYL_BENCH_LOADGEN_RESULTS_JSON_H_
#define DRASYL_BENCH_LOADGEN_RESULTS_JSON_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "bench/loadgen/rate_search.h"
#include "bench/loadgen/shared_state.h"
#include "bench/loadgen/step_result.h"

namespace drasyl::loadgen {

// A number for JSON: integers without a fraction, null when not finite.
std::string Num(double v);
std::string StepJson(const StepResult& r);
std::string PhaseJson(const PhaseResult& p, const char* done_name);

// What the object says about the run beyond the shared state.
struct RunSummary {
  std::string backend;
  std::string url;
  size_t active = 0;
  std::string pattern;
  uint64_t payload = 0;
  size_t message_bytes = 0;
  int difficulty = 0;
  int64_t hello_interval_ms = 0;
  int hello_endpoints = 0;
  double loss_threshold_pct = 0;
  PhaseResult registration;
  PhaseResult flood;
  const std::vector<StepResult>* steps = nullptr;
  Best best;
  uint64_t tx_errors = 0;
  uint64_t rss_before_kb = 0, rss_registered_kb = 0, rss_end_kb = 0;
  double bytes_per_peer = 0;
  bool interrupted = false;
};

// The whole object, one line with its newline.
std::string RunJson(const Shared& s, const RunSummary& run);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_RESULTS_JSON_H_
