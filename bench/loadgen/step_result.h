// What a phase of the load generator measured: a traffic step, or a HELLO
// phase (registration, flood).
#ifndef DRASYL_BENCH_LOADGEN_STEP_RESULT_H_
#define DRASYL_BENCH_LOADGEN_STEP_RESULT_H_

#include <cstdint>

namespace drasyl::loadgen {

struct StepResult {
  int id = 0;
  double target_pps = 0;  // 0 = open loop
  double seconds = 0;
  uint64_t offered = 0;
  uint64_t offered_bytes = 0;
  uint64_t relayed = 0;
  uint64_t relayed_bytes = 0;
  uint64_t reordered = 0;
  uint64_t hellos = 0;
  uint64_t acks = 0;
  uint64_t unites = 0;
  uint64_t tx_errors = 0;
  uint64_t skipped = 0;  // run to completion: due while the generator was stalled
  double lat_p50_us = 0, lat_p99_us = 0, lat_p999_us = 0, lat_max_us = 0;

  double offered_pps() const { return seconds > 0 ? offered / seconds : 0; }
  double relayed_pps() const { return seconds > 0 ? relayed / seconds : 0; }
  double loss_pct() const {
    return offered ? 100.0 * (static_cast<double>(offered) - static_cast<double>(relayed)) / offered
                   : 0;
  }
};

struct PhaseResult {
  uint64_t nodes = 0;
  uint64_t done = 0;      // registered nodes / acks
  uint64_t sent = 0;      // HELLOs sent
  double seconds = 0;
  double per_s = 0;
  double rtt_p50_us = 0, rtt_p99_us = 0, rtt_p999_us = 0;
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_STEP_RESULT_H_
