// What the control thread needs from an I/O backend (kernel sockets or DPDK):
// its workers' cores (rings, counters) and a way to send UDP messages.
#ifndef DRASYL_DATAPLANE_BACKEND_H_
#define DRASYL_DATAPLANE_BACKEND_H_

#include <sched.h>

#include <cstddef>
#include <string>
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
  virtual WorkerCore& worker(size_t i) = 0;
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
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_BACKEND_H_
