// The load generator's progress line on stderr, once a second.
#ifndef DRASYL_BENCH_LOADGEN_PROGRESS_H_
#define DRASYL_BENCH_LOADGEN_PROGRESS_H_

#include "bench/loadgen/shared_state.h"

namespace drasyl::loadgen {

// Runs until s->stop_progress.
void ProgressLoop(Shared* s);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_PROGRESS_H_
