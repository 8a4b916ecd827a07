#include "bench/loadgen/progress.h"

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <string>
#include <thread>

#include "absl/strings/str_format.h"
#include "bench/loadgen/packet_io.h"

namespace drasyl::loadgen {

void ProgressLoop(Shared* s) {
  uint64_t last_tx = 0, last_rx = 0, last_acks = 0, last_unites = 0;
  const uint64_t start = MonoNs();
  uint64_t next = start + 1000000000ull;
  while (!s->stop_progress.load()) {
    const uint64_t now = MonoNs();
    if (now < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint64_t>(100, (next - now) / 1000000 + 1)));
      continue;
    }
    next += 1000000000ull;
    const uint64_t tx = Get(s->app_tx), rx = Get(s->app_rx), acks = Get(s->acks),
                   unites = Get(s->unites);
    const double dtx = tx - last_tx, drx = rx - last_rx;
    std::string step;
    if (s->step_no.load() > 0) {
      const double target = s->step_target.load();
      step = absl::StrFormat(" step %d/%d (%s)", s->step_no.load(), s->step_total.load(),
                             target > 0 ? absl::StrFormat("%.0f pps", target) : "open loop");
    }
    std::fprintf(stderr,
                 "[%6.1fs] %s%s: registered %" PRIu64 "/%zu, ACK %" PRIu64 "/s, APP offered %.0f "
                 "pps, relayed %.0f pps%s, UNITE %" PRIu64 "/s\n",
                 (now - start) / 1e9, s->phase.load(), step.c_str(), Get(s->registered), s->n,
                 acks - last_acks, dtx, drx,
                 dtx > 0 ? absl::StrFormat(" (%.2f%%)", 100.0 * (drx - dtx) / dtx).c_str() : "",
                 unites - last_unites);
    last_tx = tx;
    last_rx = rx;
    last_acks = acks;
    last_unites = unites;
  }
}

}  // namespace drasyl::loadgen
