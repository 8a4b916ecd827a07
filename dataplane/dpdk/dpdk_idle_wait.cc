#include "dataplane/dpdk/dpdk_idle_wait.h"

#include <rte_ring.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "glog/logging.h"

namespace drasyl::dpdk {

absl::StatusOr<std::unique_ptr<EgressWake>> EgressWake::Create() {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  return std::unique_ptr<EgressWake>(new EgressWake(fd));
}

EgressWake::~EgressWake() { ::close(fd_); }

void EgressWake::Notify() {
  // Pairs with the fence in IdleWait::Sleep: either the worker sees the
  // frame in the ring before it sleeps, or this sees it asleep.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (!sleeping_.load(std::memory_order_relaxed)) return;
  const uint64_t one = 1;
  ssize_t r = ::write(fd_, &one, sizeof(one));
  (void)r;  // a full counter already means "wake up"
}

IdleWait::IdleWait(const std::vector<int>& socket_fds) {
  if (socket_fds.empty()) return;  // naps
  for (int fd : socket_fds) fds_.push_back({fd, POLLIN, 0});
  fds_.push_back({-1, POLLIN, 0});  // the eventfd, when this worker drains the egress ring
}

void IdleWait::Sleep(rte_ring* egress, EgressWake* wake, WorkerCounters& counters) {
  if (wake != nullptr) {
    wake->sleeping_.store(true, std::memory_order_relaxed);
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (rte_ring_count(egress) != 0) {
      wake->sleeping_.store(false, std::memory_order_relaxed);
      return;
    }
  }
  fds_.back().fd = wake != nullptr ? wake->fd_ : -1;  // poll() skips a negative fd
  CounterAdd(counters.idle_sleeps);
  const int r = ::poll(fds_.data(), fds_.size(), kMaxSleepMs);
  if (wake != nullptr) wake->sleeping_.store(false, std::memory_order_relaxed);
  if (r < 0) {
    if (errno == EINTR) return;
    LOG(ERROR) << "a DPDK worker's wait on its AF_XDP sockets failed (" << strerror(errno)
               << "); it naps from now on";
    broken_ = true;
    return;
  }
  if (r == 0) return;
  CounterAdd(counters.idle_wakeups);
  for (size_t i = 0; i + 1 < fds_.size(); ++i) {
    if (fds_[i].revents & (POLLERR | POLLHUP | POLLNVAL)) {
      LOG(ERROR) << "a DPDK worker's AF_XDP socket reports an error (poll revents 0x" << std::hex
                 << fds_[i].revents << std::dec << "); the worker naps from now on";
      broken_ = true;
    }
  }
  if (fds_.back().fd >= 0 && (fds_.back().revents & POLLIN)) {
    uint64_t n;
    ssize_t got = ::read(fds_.back().fd, &n, sizeof(n));
    (void)got;  // nonblocking: emptied, or already empty
  }
}

}  // namespace drasyl::dpdk
