// The traffic steps the load generator runs: the --rates given, or a
// --search for the highest rate with loss below a threshold; and which step
// was the best without loss.
#ifndef DRASYL_BENCH_LOADGEN_RATE_SEARCH_H_
#define DRASYL_BENCH_LOADGEN_RATE_SEARCH_H_

#include <atomic>
#include <functional>
#include <vector>

#include "bench/loadgen/step_result.h"

namespace drasyl::loadgen {

struct SearchOptions {
  int probes = 1;                  // open-loop probes first (the best one counts)
  int refine = 3;                  // bisection steps
  double loss_threshold_pct = 0.1;
};

// Runs one traffic step at a rate (0: open loop), appends its result to the
// steps so far and returns it.
using RunStep = std::function<const StepResult&(double rate)>;

// Lost less than the threshold (and offered something).
bool Lossless(const StepResult& r, double loss_threshold_pct);
// Whether the generator offered (nearly) the rate it was asked for.
bool Reached(const StepResult& r);
// The rate a step stands for: its target, or what the open loop offered.
double RateOf(const StepResult& r);

// The search: open-loop probes, a ladder of fractions of an anchor (what the
// best probe offered when it lost nothing, else what the super peer relayed
// under it), halving while nothing was lossless, then bisection between the
// highest lossless rate offered in full and the lowest rate above it that
// lost messages or could not be offered. `steps` are those run so far (and
// grow with every run_step); `step_total` is kept as the expected count.
void SearchHighestRate(const SearchOptions& opts, const RunStep& run_step,
                       const std::vector<StepResult>& steps, std::atomic<int>* step_total,
                       const std::atomic<bool>& interrupted);

struct Best {
  const StepResult* step = nullptr;  // the lossless step that relayed most; null: none
  // The generator, not the super peer, set the limit: the best step was the
  // open loop, or a faster step could not be offered in full and lost nothing.
  bool generator_limited = false;
};
Best BestLossless(const std::vector<StepResult>& steps, double loss_threshold_pct);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_RATE_SEARCH_H_
