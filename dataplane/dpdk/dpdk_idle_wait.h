// How a DPDK worker waits while nothing comes under --af_xdp: it sleeps in
// poll() on the AF_XDP sockets of its RX queues, so that the kernel wakes it
// with the first frame, instead of napping and polling again every
// idle_sleep_us (a fifth of a core on an idle VM). The worker that
// transmits the control thread's frames also waits on an eventfd, which the
// control thread writes after queueing one, and only while that worker
// sleeps: a busy worker costs the control thread no system call.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_IDLE_WAIT_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_IDLE_WAIT_H_

#include <poll.h>

#include <atomic>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/counters.h"

struct rte_ring;

namespace drasyl::dpdk {

class EgressWake {
 public:
  static absl::StatusOr<std::unique_ptr<EgressWake>> Create();
  ~EgressWake();
  EgressWake(const EgressWake&) = delete;
  EgressWake& operator=(const EgressWake&) = delete;

  // The control thread, after queueing a frame on the egress ring.
  void Notify();

 private:
  friend class IdleWait;
  explicit EgressWake(int fd) : fd_(fd) {}
  const int fd_;
  std::atomic<bool> sleeping_{false};
};

class IdleWait {
 public:
  // Longest sleep: the peer-table updates, the stop flag and the expiry of
  // incomplete datagrams are seen at least this often.
  static constexpr int kMaxSleepMs = 10;

  // socket_fds: the AF_XDP sockets of the worker's RX queues; none leaves
  // the worker to its naps.
  explicit IdleWait(const std::vector<int>& socket_fds);

  bool enabled() const { return !fds_.empty() && !broken_; }

  // Sleeps until a frame comes to one of the sockets, the control thread
  // queues a frame on `egress` (wake != nullptr: this worker drains it), or
  // kMaxSleepMs pass. A socket that reports an error turns the wait off.
  void Sleep(rte_ring* egress, EgressWake* wake, WorkerCounters& counters);

 private:
  std::vector<pollfd> fds_;  // the sockets, then the eventfd's slot
  bool broken_ = false;
};

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_IDLE_WAIT_H_
