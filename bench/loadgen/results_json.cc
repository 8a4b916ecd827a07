#include "bench/loadgen/results_json.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace drasyl::loadgen {

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.6g", v);
}

std::string StepJson(const StepResult& r) {
  return absl::StrCat(
      "{\"step\":", r.id, ",\"target_pps\":", Num(r.target_pps), ",\"seconds\":", Num(r.seconds),
      ",\"offered_pkts\":", r.offered, ",\"relayed_pkts\":", r.relayed,
      ",\"offered_pps\":", Num(std::round(r.offered_pps())),
      ",\"relayed_pps\":", Num(std::round(r.relayed_pps())),
      ",\"offered_bps\":", Num(std::round(r.offered_bytes * 8 / std::max(r.seconds, 1e-9))),
      ",\"relayed_bps\":", Num(std::round(r.relayed_bytes * 8 / std::max(r.seconds, 1e-9))),
      ",\"loss_pct\":", Num(std::round(r.loss_pct() * 1e4) / 1e4), ",\"reordered\":", r.reordered,
      ",\"latency_us\":{\"p50\":", Num(std::round(r.lat_p50_us * 10) / 10),
      ",\"p99\":", Num(std::round(r.lat_p99_us * 10) / 10),
      ",\"p999\":", Num(std::round(r.lat_p999_us * 10) / 10),
      ",\"max\":", Num(std::round(r.lat_max_us * 10) / 10), "}",
      ",\"hellos\":", r.hellos, ",\"acks\":", r.acks, ",\"unites\":", r.unites,
      ",\"tx_errors\":", r.tx_errors, ",\"skipped\":", r.skipped, "}");
}

std::string PhaseJson(const PhaseResult& p, const char* done_name) {
  return absl::StrCat("{\"nodes\":", p.nodes, ",\"", done_name, "\":", p.done,
                      ",\"hellos_sent\":", p.sent, ",\"seconds\":", Num(std::round(p.seconds * 1e4) / 1e4),
                      ",\"per_s\":", Num(std::round(p.per_s)),
                      ",\"rtt_us\":{\"p50\":", Num(std::round(p.rtt_p50_us * 10) / 10),
                      ",\"p99\":", Num(std::round(p.rtt_p99_us * 10) / 10),
                      ",\"p999\":", Num(std::round(p.rtt_p999_us * 10) / 10), "}}");
}

std::string RunJson(const Shared& s, const RunSummary& run) {
  const Histogram& traffic_rtt = s.hello_rtt[kPhaseTraffic];
  std::string out = absl::StrCat(
      "{\"tool\":\"drasyl-loadgen\",\"backend\":\"", run.backend, "\",\"url\":\"", run.url,
      "\",\"nodes\":", s.n, ",\"sockets\":", s.k, ",\"active\":", run.active, ",\"pattern\":\"",
      run.pattern, "\",\"payload_bytes\":", run.payload, ",\"message_bytes\":", run.message_bytes,
      ",\"arm\":", s.arm ? "true" : "false", ",\"difficulty\":", run.difficulty,
      ",\"hello_interval_ms\":", run.hello_interval_ms, ",\"hello_endpoints\":",
      run.hello_endpoints, ",\"loss_threshold_pct\":", Num(run.loss_threshold_pct),
      ",\"registration\":", PhaseJson(run.registration, "registered"),
      ",\"hello_flood\":", PhaseJson(run.flood, "acks"), ",\"hello_rtt_traffic_us\":{\"p50\":",
      Num(std::round(traffic_rtt.Quantile(0.5) / 100) / 10), ",\"p99\":",
      Num(std::round(traffic_rtt.Quantile(0.99) / 100) / 10), ",\"p999\":",
      Num(std::round(traffic_rtt.Quantile(0.999) / 100) / 10), "},\"steps\":[");
  for (size_t i = 0; i < run.steps->size(); ++i) {
    absl::StrAppend(&out, i ? "," : "", StepJson((*run.steps)[i]));
  }
  absl::StrAppend(&out, "],\"max_lossless\":", run.best.step ? StepJson(*run.best.step) : "null",
                  ",\"generator_limited\":", run.best.generator_limited ? "true" : "false",
                  ",\"acks_total\":", Get(s.acks), ",\"acks_bad\":", Get(s.acks_bad),
                  ",\"unites_total\":", Get(s.unites), ",\"foreign\":", Get(s.foreign),
                  ",\"tx_errors\":", run.tx_errors, ",\"sp_rss_kb\":{\"before\":", run.rss_before_kb,
                  ",\"registered\":", run.rss_registered_kb, ",\"end\":", run.rss_end_kb,
                  "},\"bytes_per_peer\":", Num(std::round(run.bytes_per_peer)),
                  ",\"interrupted\":", run.interrupted ? "true" : "false", "}\n");
  return out;
}

}  // namespace drasyl::loadgen
