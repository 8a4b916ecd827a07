#include "control/metrics_render.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/wire.h"

namespace drasyl {
namespace {

void Header(std::string* out, const char* name, const char* type, const char* help) {
  absl::StrAppendFormat(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void Sample(std::string* out, const char* name, const std::string& labels, uint64_t value) {
  if (labels.empty()) {
    absl::StrAppendFormat(out, "%s %d\n", name, value);
  } else {
    absl::StrAppendFormat(out, "%s{%s} %d\n", name, labels, value);
  }
}

// One counter family with a `worker` label per worker plus the control thread.
template <typename Getter>
void PerWorker(std::string* out, const char* name, const char* help,
               const std::vector<const WorkerCounters*>& workers, const WorkerCounters& control,
               Getter get) {
  Header(out, name, "counter", help);
  for (size_t w = 0; w < workers.size(); ++w) {
    Sample(out, name, absl::StrFormat("worker=\"%d\"", w), get(*workers[w]));
  }
  Sample(out, name, "worker=\"control\"", get(control));
}

}  // namespace

std::string RenderPrometheus(const ControlCounters& c,
                             const std::vector<const WorkerCounters*>& workers,
                             const char* backend) {
  std::string out;
  Header(&out, "drasyl_info", "gauge", "Super peer build and backend.");
  Sample(&out, "drasyl_info", absl::StrFormat("backend=\"%s\"", backend), 1);

  Header(&out, "drasyl_peers", "gauge", "Registered peers by transport of their current path.");
  Sample(&out, "drasyl_peers", "transport=\"udp\"", CounterGet(c.peers_udp));
  Sample(&out, "drasyl_peers", "transport=\"tcp\"", CounterGet(c.peers_tcp));
  Sample(&out, "drasyl_peers", "transport=\"none\"",
         CounterGet(c.peers) - CounterGet(c.peers_udp) - CounterGet(c.peers_tcp));
  Header(&out, "drasyl_peers_registered_total", "counter", "Peers that completed a first HELLO.");
  Sample(&out, "drasyl_peers_registered_total", "", CounterGet(c.peers_registered));
  Header(&out, "drasyl_peers_expired_total", "counter", "Peers forgotten by housekeeping.");
  Sample(&out, "drasyl_peers_expired_total", "", CounterGet(c.peers_expired));

  Header(&out, "drasyl_messages_received_total", "counter",
         "Messages addressed to the super peer, by type.");
  for (uint8_t t = 0; t < 4; ++t) {
    Sample(&out, "drasyl_messages_received_total",
           absl::StrFormat("type=\"%s\"", wire::MessageTypeName(static_cast<wire::MessageType>(t))),
           CounterGet(c.received_by_type[t]));
  }
  Header(&out, "drasyl_messages_sent_total", "counter", "Messages the super peer sent, by type.");
  Sample(&out, "drasyl_messages_sent_total", "type=\"ACK\"", CounterGet(c.acks_sent));
  Sample(&out, "drasyl_messages_sent_total", "type=\"UNITE\"", CounterGet(c.unites_sent));
  Header(&out, "drasyl_send_failures_total", "counter", "ACK/UNITE/relay sends that failed.");
  Sample(&out, "drasyl_send_failures_total", "", CounterGet(c.send_failures));
  Header(&out, "drasyl_hellos_awaiting_keys_total", "counter",
         "HELLOs of new peers answered after a key exchange on a helper thread.");
  Sample(&out, "drasyl_hellos_awaiting_keys_total", "", CounterGet(c.hellos_awaiting_keys));
  Header(&out, "drasyl_hellos_key_backlog_full_total", "counter",
         "HELLOs of new peers dropped because too many key exchanges were pending.");
  Sample(&out, "drasyl_hellos_key_backlog_full_total", "", CounterGet(c.hellos_key_backlog_full));
  Header(&out, "drasyl_unite_pairs", "gauge", "Peer pairs under the UNITE rate limit.");
  Sample(&out, "drasyl_unite_pairs", "", CounterGet(c.unite_entries));

  PerWorker(&out, "drasyl_rx_packets_total", "Datagrams/frames received.", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.rx_packets); });
  PerWorker(&out, "drasyl_rx_bytes_total", "Bytes received.", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.rx_bytes); });
  PerWorker(&out, "drasyl_tx_packets_total", "Relayed datagrams transmitted.", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.tx_packets); });
  PerWorker(&out, "drasyl_relayed_packets_total", "APP messages relayed.", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.relayed_packets); });
  PerWorker(&out, "drasyl_relayed_bytes_total", "Bytes of APP messages relayed.", workers,
            c.plane, [](const WorkerCounters& w) { return CounterGet(w.relayed_bytes); });
  PerWorker(&out, "drasyl_to_control_total", "Messages handed to the control thread.", workers,
            c.plane, [](const WorkerCounters& w) { return CounterGet(w.to_control); });
  PerWorker(&out, "drasyl_to_kernel_total", "Frames handed to the kernel (DPDK TAP).", workers,
            c.plane, [](const WorkerCounters& w) { return CounterGet(w.to_kernel); });
  PerWorker(&out, "drasyl_from_kernel_total", "Frames from the kernel sent out (DPDK TAP).",
            workers, c.plane, [](const WorkerCounters& w) { return CounterGet(w.from_kernel); });
  PerWorker(&out, "drasyl_table_updates_total", "Peer table updates applied.", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.table_updates); });
  PerWorker(&out, "drasyl_worker_sleeps_total",
            "Idle waits on the worker's AF_XDP sockets (--af_xdp).", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.idle_sleeps); });
  PerWorker(&out, "drasyl_worker_wakeups_total",
            "Idle waits that a frame ended before their timeout (--af_xdp).", workers, c.plane,
            [](const WorkerCounters& w) { return CounterGet(w.idle_wakeups); });

  Header(&out, "drasyl_drops_total", "counter", "Dropped messages by reason.");
  for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
    uint64_t sum = CounterGet(c.plane.drops[r]);
    for (const WorkerCounters* w : workers) sum += CounterGet(w->drops[r]);
    Sample(&out, "drasyl_drops_total",
           absl::StrFormat("reason=\"%s\"", DropReasonName(static_cast<DropReason>(r))), sum);
  }

  // The same per worker (and the control thread), so that per worker
  // received = relayed + dropped + handed to the control thread can be
  // checked (tx_failed drops are relayed messages whose send failed: they
  // are also in drasyl_relayed_packets_total).
  Header(&out, "drasyl_worker_drops_total", "counter", "Dropped messages by worker and reason.");
  for (size_t r = 0; r < static_cast<size_t>(DropReason::kCount); ++r) {
    const char* reason = DropReasonName(static_cast<DropReason>(r));
    for (size_t w = 0; w < workers.size(); ++w) {
      Sample(&out, "drasyl_worker_drops_total",
             absl::StrFormat("worker=\"%d\",reason=\"%s\"", w, reason),
             CounterGet(workers[w]->drops[r]));
    }
    Sample(&out, "drasyl_worker_drops_total",
           absl::StrFormat("worker=\"control\",reason=\"%s\"", reason),
           CounterGet(c.plane.drops[r]));
  }

  Header(&out, "drasyl_tcp_connections", "gauge", "Open TCP fallback connections.");
  Sample(&out, "drasyl_tcp_connections", "", CounterGet(c.tcp_connections));
  Header(&out, "drasyl_tcp_sources_at_limit", "gauge",
         "Sources holding MAX_TCP_CONNECTIONS_PER_SOURCE: the kernel drops their connection "
         "attempts.");
  Sample(&out, "drasyl_tcp_sources_at_limit", "", CounterGet(c.tcp_sources_at_limit));
  Header(&out, "drasyl_tcp_syn_filter_updates_total", "counter",
         "Times the TCP listeners' connection-attempt filter was replaced.");
  Sample(&out, "drasyl_tcp_syn_filter_updates_total", "", CounterGet(c.tcp_syn_filter_updates));
  Header(&out, "drasyl_peers_limit", "gauge", "MAX_PEERS (0: no limit).");
  Sample(&out, "drasyl_peers_limit", "", CounterGet(c.peers_limit));
  Header(&out, "drasyl_tcp_connections_limit", "gauge",
         "MAX_TCP_CONNECTIONS in force (0: no limit, or no TCP listener).");
  Sample(&out, "drasyl_tcp_connections_limit", "", CounterGet(c.tcp_connections_limit));
  Header(&out, "drasyl_tcp_events_total", "counter", "TCP fallback connection events.");
  const std::pair<const char*, const std::atomic<uint64_t>*> tcp_events[] = {
      {"accepted", &c.tcp_accepted},
      {"rejected_over_limit", &c.tcp_rejected_over_limit},
      {"rejected_per_source", &c.tcp_rejected_per_source},
      {"evicted_unauthenticated", &c.tcp_evicted_unauthenticated},
      {"closed_unauthenticated", &c.tcp_closed_unauthenticated},
      {"closed_malformed", &c.tcp_closed_malformed},
      {"closed_idle", &c.tcp_closed_idle},
      {"closed_slow_reader", &c.tcp_closed_slow_reader},
      {"closed_by_peer", &c.tcp_closed_by_peer},
      {"closed_by_server", &c.tcp_closed_by_server},
  };
  for (const auto& [event, counter] : tcp_events) {
    Sample(&out, "drasyl_tcp_events_total", absl::StrCat("event=\"", event, "\""),
           CounterGet(*counter));
  }
  Header(&out, "drasyl_tcp_bytes_total", "counter",
         "TCP fallback stream bytes by direction, framing included.");
  Sample(&out, "drasyl_tcp_bytes_total", "direction=\"in\"", CounterGet(c.tcp_bytes_in));
  Sample(&out, "drasyl_tcp_bytes_total", "direction=\"out\"", CounterGet(c.tcp_bytes_out));
  Header(&out, "drasyl_tcp_frames_total", "counter", "TCP frames by direction.");
  Sample(&out, "drasyl_tcp_frames_total", "direction=\"in\"", CounterGet(c.tcp_frames_in));
  Sample(&out, "drasyl_tcp_frames_total", "direction=\"out\"", CounterGet(c.tcp_frames_out));
  return out;
}

}  // namespace drasyl
