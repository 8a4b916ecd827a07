// Clocks: a coarse monotonic millisecond clock for timeouts and rate limits
// (vDSO, no system call), and the wall clock in microseconds for HELLO times.
#ifndef DRASYL_COMMON_CLOCK_H_
#define DRASYL_COMMON_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace drasyl {

inline uint64_t MonotonicMillis() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

inline uint64_t UnixMicros() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

}  // namespace drasyl

#endif  // DRASYL_COMMON_CLOCK_H_
