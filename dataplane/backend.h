// What the control thread needs from an I/O backend (kernel sockets or DPDK):
// a narrow channel to its workers (publish a table update to all, drain what
// they queued with a budget, set their admission rate, read their counters)
// and a way to send UDP messages.
#ifndef DRASYL_DATAPLANE_BACKEND_H_
#define DRASYL_DATAPLANE_BACKEND_H_

#include <sched.h>

#include <atomic>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "common/socket_address.h"
#include "dataplane/peer_path.h"
#include "dataplane/worker_core.h"

namespace drasyl {

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;
  // Starts the worker threads / lcores.
  virtual absl::Status Start() = 0;
  // Stops and joins the workers. Idempotent.
  virtual void Stop() = 0;
  virtual size_t num_workers() const = 0;

  // Queues a table change for every worker's replica. A full ring means a
  // worker is far behind; the replicas must not diverge, so this waits for
  // it (workers drain at least every poll timeout) unless *stop turns true.
  void PublishUpdate(const PeerUpdate& u, const std::atomic<bool>* stop) {
    for (size_t w = 0; w < num_workers(); ++w) {
      UpdateRing& ring = worker(w).updates();
      while (!ring.TryPush(u)) {
        if (stop != nullptr && stop->load(std::memory_order_relaxed)) return;
        std::this_thread::yield();
      }
    }
  }
  // Hands at most `budget` items of each ring to handle(ControlItem&): the
  // priority rings of every worker (registered peers' HELLOs from their
  // current path) before the others, so that a flood of strangers delays
  // only strangers.
  template <typename Handle>
  void DrainToControl(size_t budget, Handle&& handle) {
    for (bool priority : {true, false}) {
      for (size_t w = 0; w < num_workers(); ++w) {
        ControlRing& ring = priority ? worker(w).to_control_priority() : worker(w).to_control();
        for (size_t i = 0; i < budget; ++i) {
          ControlItem* item = ring.Front();
          if (item == nullptr) break;
          handle(*item);
          ring.Pop();
        }
      }
    }
  }
  // Messages/s each source may send to the control thread, shared out among
  // the workers (a source's packets may reach every one: SO_REUSEPORT and
  // RSS hash its ports too); 0 = no limit. Before Start().
  void SetAdmissionRate(uint64_t per_source) {
    const uint64_t n = num_workers();
    const uint32_t share = static_cast<uint32_t>(per_source == 0 ? 0 : (per_source + n - 1) / n);
    for (size_t w = 0; w < n; ++w) worker(w).admission().Configure(share, 0);
  }
  // The workers' counters (each read relaxed; valid while the backend lives).
  std::vector<const WorkerCounters*> WorkerCounterViews() {
    std::vector<const WorkerCounters*> out;
    for (size_t w = 0; w < num_workers(); ++w) out.push_back(&worker(w).counters());
    return out;
  }

  // Sends one UDP message from the control thread (ACK, UNITE, relays from
  // TCP peers) to a UDP path. Returns false when it could not be sent. A
  // backend may queue it until FlushFromControl (the control thread calls it
  // after every round of work).
  virtual bool SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) = 0;
  // Sends what SendFromControl queued; returns how many of those were lost.
  virtual uint64_t FlushFromControl() { return 0; }
  // The UDP listener addresses as bound (a port 0 resolved to the real one).
  virtual std::vector<SocketAddress> udp_listeners() const = 0;
  // When the backend binds its threads to CPUs (DPDK lcores): the CPUs of
  // its workers and of its main thread (where the control thread runs),
  // so that other threads can keep off the workers' CPUs. False: it binds
  // nothing.
  virtual bool PinnedCpus(cpu_set_t* workers, cpu_set_t* main) const { return false; }
  // Called about once a second from the main thread (never from a worker):
  // logs what the workers noted for the log (they never log themselves) and
  // checks what the backend depends on outside the process. Not OK: the
  // backend cannot go on as configured (the message says why and what to
  // do); the super peer then shuts down and exits non-zero, for its
  // service manager to restart it.
  virtual absl::Status Housekeeping() { return absl::OkStatus(); }
  // Prometheus text of the backend's own series (e.g. --af_xdp's XDP
  // verdicts), appended to /metrics; from the metrics thread.
  virtual std::string ExtraMetrics() const { return ""; }

 protected:
  // A worker's core, for the channel above only: nothing outside the
  // backend reaches into a worker.
  virtual WorkerCore& worker(size_t i) = 0;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_BACKEND_H_
