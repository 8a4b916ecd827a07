// Prometheus text exposition of the super peer's counters. Labels are
// bounded: message type, drop reason, worker index, never a peer.
#ifndef DRASYL_CONTROL_METRICS_RENDER_H_
#define DRASYL_CONTROL_METRICS_RENDER_H_

#include <string>
#include <vector>

#include "control/control_counters.h"
#include "dataplane/counters.h"

namespace drasyl {

std::string RenderPrometheus(const ControlCounters& control,
                             const std::vector<const WorkerCounters*>& workers,
                             const char* backend);

}  // namespace drasyl

#endif  // DRASYL_CONTROL_METRICS_RENDER_H_
