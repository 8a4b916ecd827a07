#include "bench/loadgen/rate_search.h"

#include <algorithm>
#include <cmath>

namespace drasyl::loadgen {

bool Lossless(const StepResult& r, double loss_threshold_pct) {
  return r.offered > 0 && r.loss_pct() < loss_threshold_pct;
}
bool Reached(const StepResult& r) { return r.target_pps == 0 || r.offered_pps() >= 0.95 * r.target_pps; }
double RateOf(const StepResult& r) { return r.target_pps > 0 ? r.target_pps : r.offered_pps(); }

void SearchHighestRate(const SearchOptions& opts, const RunStep& run_step,
                       const std::vector<StepResult>& steps, std::atomic<int>* step_total,
                       const std::atomic<bool>& interrupted) {
  auto lossless = [&](const StepResult& r) { return Lossless(r, opts.loss_threshold_pct); };
  *step_total = opts.probes + 6 + opts.refine;
  StepResult probe = run_step(0);
  for (int i = 1; i < opts.probes && !interrupted; ++i) {
    const StepResult again = run_step(0);
    if (again.relayed_pps() > probe.relayed_pps()) probe = again;
  }
  // Anchor: what the open loop offered when nothing was lost, else what
  // the super peer relayed under that overload (the generator may offer
  // far more than it can take, e.g. over memif).
  const double anchor = std::max(100.0, lossless(probe) ? probe.offered_pps() : probe.relayed_pps());
  std::vector<double> ladder = {1.0 / 8, 1.0 / 4, 1.0 / 2, 3.0 / 4};
  if (!lossless(probe)) {
    ladder.push_back(1.0);
    if (1.5 * anchor < probe.offered_pps()) ladder.push_back(1.5);
  }
  for (double f : ladder) {
    if (interrupted) break;
    run_step(std::max(100.0, std::round(anchor * f)));
  }
  // Nothing lossless yet: halve below the lowest rate tried.
  for (int i = 0; i < 4 && !interrupted; ++i) {
    double lowest = 0;
    bool any = false;
    for (const StepResult& r : steps) {
      any = any || (lossless(r) && Reached(r));
      if (lowest == 0 || RateOf(r) < lowest) lowest = RateOf(r);
    }
    if (any || lowest < 200) break;
    ++*step_total;
    run_step(std::round(lowest / 2));
  }
  // Bisection between the highest rate that was offered in full without
  // loss and the lowest rate above it that lost messages or that the
  // generator could not offer in full.
  for (int i = 0; i < opts.refine && !interrupted; ++i) {
    double good = 0, upper = 0;
    for (const StepResult& r : steps) {
      if (lossless(r) && Reached(r)) good = std::max(good, RateOf(r));
    }
    for (const StepResult& r : steps) {
      const double at = RateOf(r);
      if (at > good && (!lossless(r) || !Reached(r)) && (upper == 0 || at < upper)) upper = at;
    }
    if (good == 0 || upper == 0 || upper - good < 0.03 * upper) break;
    run_step(std::round((good + upper) / 2));
  }
}

Best BestLossless(const std::vector<StepResult>& steps, double loss_threshold_pct) {
  Best best;
  for (const StepResult& r : steps) {
    if (Lossless(r, loss_threshold_pct) &&
        (best.step == nullptr || r.relayed_pps() > best.step->relayed_pps())) {
      best.step = &r;
    }
  }
  if (best.step != nullptr) {
    for (const StepResult& r : steps) {
      if (!Lossless(r, loss_threshold_pct)) continue;
      if (r.target_pps == 0 && &r == best.step) best.generator_limited = true;
      if (!Reached(r) && RateOf(r) >= RateOf(*best.step)) best.generator_limited = true;
    }
  }
  return best;
}

}  // namespace drasyl::loadgen
