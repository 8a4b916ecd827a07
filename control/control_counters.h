// Counters and gauges of the control thread. Single writer (the control
// thread); the metrics thread reads them relaxed.
#ifndef DRASYL_CONTROL_CONTROL_COUNTERS_H_
#define DRASYL_CONTROL_CONTROL_COUNTERS_H_

#include <atomic>
#include <cstdint>

#include "dataplane/counters.h"

namespace drasyl {

struct ControlCounters {
  // Messages addressed to the super peer, by type (ACK, APP, HELLO, UNITE).
  std::array<std::atomic<uint64_t>, 4> received_by_type{};
  std::atomic<uint64_t> acks_sent{0};
  std::atomic<uint64_t> unites_sent{0};
  std::atomic<uint64_t> send_failures{0};
  std::atomic<uint64_t> peers_registered{0};  // new peers with a first valid HELLO
  std::atomic<uint64_t> peers_expired{0};
  // HELLOs of new peers that waited for their key exchange on a helper
  // thread, and those dropped because too many were waiting already.
  std::atomic<uint64_t> hellos_awaiting_keys{0};
  std::atomic<uint64_t> hellos_key_backlog_full{0};
  // Configured limits (0: none), so that alerts follow the configuration.
  std::atomic<uint64_t> peers_limit{0};
  std::atomic<uint64_t> tcp_connections_limit{0};
  // Gauges, refreshed by the control thread.
  std::atomic<uint64_t> peers{0};
  std::atomic<uint64_t> peers_udp{0};
  std::atomic<uint64_t> peers_tcp{0};
  std::atomic<uint64_t> unite_entries{0};
  std::atomic<uint64_t> tcp_connections{0};
  std::atomic<uint64_t> tcp_sources_at_limit{0};
  std::atomic<uint64_t> tcp_syn_filter_updates{0};
  std::atomic<uint64_t> tcp_accepted{0};
  std::atomic<uint64_t> tcp_rejected_over_limit{0};
  std::atomic<uint64_t> tcp_rejected_per_source{0};
  std::atomic<uint64_t> tcp_evicted_unauthenticated{0};
  std::atomic<uint64_t> tcp_closed_unauthenticated{0};
  std::atomic<uint64_t> tcp_closed_malformed{0};
  std::atomic<uint64_t> tcp_closed_idle{0};
  std::atomic<uint64_t> tcp_closed_slow_reader{0};
  std::atomic<uint64_t> tcp_closed_by_peer{0};
  std::atomic<uint64_t> tcp_closed_by_server{0};
  std::atomic<uint64_t> tcp_bytes_in{0};
  std::atomic<uint64_t> tcp_bytes_out{0};
  std::atomic<uint64_t> tcp_frames_in{0};
  std::atomic<uint64_t> tcp_frames_out{0};
  // Relays of TCP frames and control-plane drops, shaped like a worker's.
  WorkerCounters plane;
};

}  // namespace drasyl

#endif  // DRASYL_CONTROL_CONTROL_COUNTERS_H_
