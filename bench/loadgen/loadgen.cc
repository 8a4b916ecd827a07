// drasyl-loadgen: plays N simulated drasyl nodes against a super peer and
// measures what it does with them.
//
//   build/drasyl-loadgen --url 'udp://127.0.0.1:22527?publicKey=<hex>&networkId=1'
//       --nodes=1000 --difficulty=24 --rate=100000 --duration=10 --json
//
// Phases:
//   1. identities: N node identities from the --identities cache (generated
//      on first use with every core), session keys with the super peer
//      (cached next to it, per super peer key);
//   2. registration: a real, armed HELLO per node, at most --hello_window
//      unanswered at a time, resent until acknowledged: registrations/s and
//      HELLO->ACK round trips;
//   3. HELLO flood (--hello_flood_ms): HELLOs of registered nodes as fast as
//      the window allows: HELLO/s the control thread sustains for known peers;
//   4. traffic steps: APP messages between node pairs (--pattern) at --rate
//      (or each of --rates, or a --search for the highest rate with loss
//      below --loss_threshold_pct), each for --duration seconds, while every
//      node re-sends its HELLO every --hello_interval_ms like a real node.
//
// Every simulated node uses one of --sockets UDP sockets (node i: socket
// i % sockets), bound to distinct 127.100.x.y addresses when the super peer
// is on loopback. The super peer keeps one path per node; nodes sharing a
// socket share a path, and the receiver tells them apart by the recipient key.
//
// An APP payload carries (little-endian) magic "DLG1", source node, recipient
// node, step id, a sequence number per (source socket, recipient socket) —
// the order the super peer must keep — and the send time (CLOCK_REALTIME ns).
// Receive times are the kernel's SO_TIMESTAMPNS stamps. Loss = sent - received
// after a drain time; reordered = arrivals with a sequence number below the
// highest already seen on their (socket, socket) flow.
//
// With a poll-mode backend (DPDK) a traffic step runs to completion on one
// thread: it sends a burst when one is due and polls for what came back in
// between, never sleeping, so that the receive time is when the burst was
// polled, not when a sleeping receiver woke up. The send stamp is written
// by the backend as it hands the burst to the port, receive times are taken
// per received burst, both from the TSC. Messages are copies of a template
// whose checksum sum is precomputed; per message only the sums of the
// sender's and recipient's parts (precomputed per node) and of the sequence
// number are added. Messages the port refuses (a full ring to the super
// peer: memif pushes back where a NIC would overflow) count as offered and
// lost. The receiver thread serves the other phases.
//
// Progress goes to stderr once a second; --json prints one JSON object on
// stdout at the end.
//
// --attack=forged|sybil|replay|garbage|tcp-idle|none runs an attack from an
// address of its own instead, measuring what honest nodes get meanwhile
// (bench/loadgen/attack.h).
//
// This file: the flags and the phases in order. The pieces: shared_state.h
// (what the threads share), receiver.h, hello_sender.h (registration, flood,
// re-HELLOs), app_messages.h, traffic_step.h, rate_search.h, progress.h,
// results_json.h, identity_cache.h, packet_io.h (the backends).
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/loadgen/app_messages.h"
#include "bench/loadgen/attack.h"
#include "bench/loadgen/flag_values.h"
#include "bench/loadgen/hello_sender.h"
#include "bench/loadgen/identity_cache.h"
#include "bench/loadgen/packet_io.h"
#include "bench/loadgen/progress.h"
#include "bench/loadgen/rate_search.h"
#include "bench/loadgen/receiver.h"
#include "bench/loadgen/results_json.h"
#include "bench/loadgen/rng.h"
#include "bench/loadgen/shared_state.h"
#include "bench/loadgen/step_result.h"
#include "bench/loadgen/traffic_step.h"
#include "common/byte_order.h"
#include "common/clock.h"
#include "common/hex.h"
#include "common/identity.h"
#include "common/wire.h"
#include "config/flags_help.h"
#include "gflags/gflags.h"
#include "glog/logging.h"

DECLARE_bool(help);
DEFINE_string(url, "", "Super peer URL: udp://host:port?publicKey=<64 hex>&networkId=N");
DEFINE_uint64(nodes, 1000, "Simulated nodes (each registers with its own identity).");
DEFINE_string(identities, "drasyl-loadgen.identities",
              "Identity cache file (binary, see bench/loadgen/identity_cache.h); generated on "
              "first use, extended when more nodes are asked for.");
DEFINE_int32(difficulty, 24, "Proof-of-work difficulty of the node identities (the super "
                             "peer's MIN_POW_DIFFICULTY must not be higher).");
DEFINE_int32(threads, 0, "Threads for identity generation and key derivation (0: all cores).");
DEFINE_bool(arm, true, "Arm (encrypt) HELLOs and expect armed ACKs, like real nodes; must "
                       "match the super peer's ARM_MESSAGES.");
DEFINE_uint64(sockets, 64, "UDP sockets the nodes are spread over (node i uses socket "
                           "i % sockets); at most --nodes.");
DEFINE_string(bind, "auto",
              "Local addresses: 'auto' (127.100.0.0/16 for a loopback super peer, else the "
              "wildcard), one address, or an IPv4 prefix a.b.c.d/len used in turn.");
DEFINE_int64(hello_interval_ms, 5000, "Each node re-sends its HELLO this often during traffic.");
DEFINE_uint64(hello_window, 512, "Unanswered HELLOs in flight during registration and flood.");
DEFINE_int32(hello_endpoints, 1, "Endpoints in each HELLO (0..15): the socket's address, then "
                                 "made-up ones from 192.0.2.0/24.");
DEFINE_double(register_timeout, 0, "Seconds to wait for every node to register (0: "
                                   "10 + nodes / 2000).");
DEFINE_int64(hello_flood_ms, 2000, "Duration of the HELLO flood phase (0 skips it).");
DEFINE_double(rate, 10000, "APP messages per second offered (0: open loop, as fast as possible).");
DEFINE_string(rates, "", "Comma-separated rates (pps, k/M suffixes, 0 = open loop): one "
                         "traffic step each (overrides --rate).");
DEFINE_bool(search, false, "Search the highest rate with loss below --loss_threshold_pct: an "
                           "open-loop probe, a ladder of 1/8..3/4 of what it offered (when it "
                           "lost messages: 1/8..3/2 of what was relayed), then bisection.");
DEFINE_int32(search_refine, 3, "Bisection steps of --search.");
DEFINE_int32(search_probes, 1, "Open-loop probes --search starts with (1..5); the one that "
                               "relayed the most anchors the ladder. What a saturated one-core "
                               "generator gets back can differ from one probe to the next.");
DEFINE_double(loss_threshold_pct, 0.1, "Loss below which a step counts as lossless.");
DEFINE_double(duration, 5, "Seconds per traffic step (0: no traffic).");
DEFINE_int64(drain_ms, 300, "Wait at least this long after each step for messages still in "
                            "flight, and on while they keep arriving (at most 5 s).");
DEFINE_uint64(payload, 64, "APP body bytes after the 79-byte header (32..3953).");
DEFINE_string(pattern, "all", "Pairs: 'pair' (node 0 <-> node 1), 'all' (every ordered pair of "
                              "active nodes in turn), 'random' (uniform random pairs).");
DEFINE_uint64(active, 0, "Nodes taking part in APP traffic (0: all).");
DEFINE_uint64(batch, 32, "Messages per sendmmsg at most.");
DEFINE_bool(json, false, "Print the results as one JSON object on stdout.");
DEFINE_int64(sp_pid, 0, "PID of a local super peer: report its RSS growth per registered peer.");
DEFINE_string(backend, "auto", "I/O backend: socket, dpdk, or auto (dpdk when --dpdk_eal is set).");
DEFINE_string(dpdk_eal, "", "DPDK backend: EAL arguments (space separated) of the generator's "
                            "own port(s), e.g. --vdev=net_af_packet0,iface=veth0.");
DEFINE_string(dpdk_local_ip, "", "DPDK backend: our IPv4 source address.");
DEFINE_string(dpdk_peer_mac, "", "DPDK backend: the super peer port's MAC address.");
DEFINE_bool(dpdk_accept_reflected, false,
            "DPDK backend: count our own frames coming back unchanged (source our address, "
            "destination the super peer) as relayed, so that a reflector such as dpdk-testpmd in "
            "io forwarding is measured like the super peer (scripts/memif-bench.sh).");
DEFINE_bool(kernel_timestamps, true, "Socket backend: receive times from SO_TIMESTAMPNS "
                                     "(else the time the receiver thread read the message).");
DEFINE_bool(progress, true, "Progress line on stderr once a second.");
DEFINE_uint64(seed, 1, "Seed of the pair pattern's random generator.");
DEFINE_bool(list_backends, false, "Print the usable I/O backends and exit.");

namespace drasyl::loadgen {
namespace {

std::atomic<bool> g_interrupted{false};

// VmRSS of a process in KiB (0 when unreadable).
uint64_t RssKb(int64_t pid) {
  if (pid <= 0) return 0;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) {
      uint64_t kb = 0;
      std::sscanf(line.c_str() + 6, "%" SCNu64, &kb);
      return kb;
    }
  }
  return 0;
}

int ListBackends() {
  std::printf("socket\n");
  absl::StatusOr<std::unique_ptr<PacketIo>> d = CreateDpdkIo(DpdkIoOptions{});
  if (d.ok() || !absl::IsUnimplemented(d.status())) std::printf("dpdk\n");
  else std::fprintf(stderr, "dpdk: %s\n", std::string(d.status().message()).c_str());
  return 0;
}

// The traffic settings, checked.
struct Config {
  size_t n = 0;
  Pattern pattern = Pattern::kAll;
  std::vector<double> rates;
  size_t active = 0;
  size_t sockets = 0;
  std::string backend;
};

// The settings from the flags, or the message of what is wrong with them.
absl::StatusOr<Config> ConfigFromFlags() {
  Config c;
  c.n = FLAGS_nodes;
  if (c.n < 2) return absl::InvalidArgumentError("--nodes must be at least 2");
  if (c.n > UINT32_MAX / 2) return absl::InvalidArgumentError("--nodes too large");
  if (FLAGS_pattern == "pair") c.pattern = Pattern::kPair;
  else if (FLAGS_pattern == "all") c.pattern = Pattern::kAll;
  else if (FLAGS_pattern == "random") c.pattern = Pattern::kRandom;
  else return absl::InvalidArgumentError("--pattern must be pair, all or random");
  if (FLAGS_payload < kPayloadHeader || FLAGS_payload + wire::kHeaderBytes > 4032) {
    return absl::InvalidArgumentError(absl::StrFormat("--payload must be within %zu..%zu bytes",
                                                      kPayloadHeader, 4032 - wire::kHeaderBytes));
  }
  if (FLAGS_search_probes < 1 || FLAGS_search_probes > 5) {
    return absl::InvalidArgumentError("--search_probes must be within 1..5");
  }
  if (!FLAGS_rates.empty()) {
    if (std::count(FLAGS_rates.begin(), FLAGS_rates.end(), ',') >= kMaxSteps - 1) {
      return absl::InvalidArgumentError(absl::StrFormat("--rates takes at most %d steps", kMaxSteps - 1));
    }
    for (absl::string_view r : absl::StrSplit(FLAGS_rates, ',', absl::SkipEmpty())) {
      absl::StatusOr<double> v = ParseRate(r);
      if (!v.ok()) return absl::InvalidArgumentError(absl::StrCat("--rates: ", v.status().message()));
      c.rates.push_back(*v);
    }
  } else {
    c.rates.push_back(FLAGS_rate);
  }
  c.active = FLAGS_active == 0 ? c.n : std::min<size_t>(FLAGS_active, c.n);
  if (c.pattern == Pattern::kPair) c.active = 2;
  c.sockets = std::clamp<size_t>(FLAGS_sockets, 1, c.n);
  c.backend = FLAGS_backend;
  if (c.backend == "auto") c.backend = FLAGS_dpdk_eal.empty() ? "socket" : "dpdk";
  if (c.backend != "socket" && c.backend != "dpdk") {
    return absl::InvalidArgumentError("--backend must be socket, dpdk or auto");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<PacketIo>> OpenIo(const Config& c, const Url& url) {
  if (c.backend == "socket") {
    SocketIoOptions o;
    o.super_peer = url.addr;
    o.sockets = c.sockets;
    o.bind = FLAGS_bind;
    o.kernel_timestamps = FLAGS_kernel_timestamps;
    return CreateSocketIo(o);
  }
  DpdkIoOptions o;
  o.eal = FLAGS_dpdk_eal;
  o.super_peer = url.addr;
  o.local_ip = FLAGS_dpdk_local_ip;
  o.peer_mac = FLAGS_dpdk_peer_mac;
  o.accept_reflected = FLAGS_dpdk_accept_reflected;
  o.ports = c.sockets;
  return CreateDpdkIo(o);
}

// The nodes' identities (from the cache), their session keys with the super
// peer, and the lookup tables of the receive side.
absl::Status LoadNodes(Shared* s) {
  absl::StatusOr<std::vector<Identity>> ids =
      LoadOrGenerateIdentities(FLAGS_identities, s->n, FLAGS_difficulty, FLAGS_threads);
  if (!ids.ok()) return ids.status();
  s->ids = std::move(*ids);
  for (const Identity& id : s->ids) {
    if (id.public_key == s->sp.pk) {
      return absl::FailedPreconditionError("a node identity equals the super peer's key");
    }
  }
  if (s->arm) {
    absl::StatusOr<std::vector<SessionKeys>> keys =
        LoadOrDeriveSessionKeys(FLAGS_identities, s->ids, s->sp.pk, FLAGS_threads);
    if (!keys.ok()) return keys.status();
    s->keys = std::move(*keys);
  }
  s->index.reserve(s->n);
  s->key8.resize(s->n);
  for (size_t i = 0; i < s->n; ++i) {
    s->key8[i] = Load64(s->ids[i].public_key.data());
    s->index.emplace(s->key8[i], static_cast<uint32_t>(i));
  }
  s->hello_sent_ns = std::make_unique<std::atomic<uint64_t>[]>(s->n);
  s->acked = std::make_unique<std::atomic<uint8_t>[]>(s->n);
  s->rx_flow_next.assign(s->k * s->k, 0);
  return absl::OkStatus();
}

void FillRtt(const Histogram& h, PhaseResult* p) {
  p->rtt_p50_us = h.Quantile(0.5) / 1e3;
  p->rtt_p99_us = h.Quantile(0.99) / 1e3;
  p->rtt_p999_us = h.Quantile(0.999) / 1e3;
}

size_t HelloWindow() { return std::max<uint64_t>(1, FLAGS_hello_window); }

// Registration: every node's HELLO until acknowledged. Returns the result;
// *failed when no node registered.
PhaseResult Register(Shared* s, HelloSender* hellos, bool* failed) {
  s->phase = "registration";
  s->hello_phase = kPhaseRegister;
  const double timeout = FLAGS_register_timeout > 0 ? FLAGS_register_timeout : 10.0 + s->n / 2000.0;
  PhaseResult reg = hellos->HelloPhase(true, timeout, HelloWindow());
  FillRtt(s->hello_rtt[kPhaseRegister], &reg);
  std::fprintf(stderr,
               "loadgen: registered %" PRIu64 "/%zu nodes in %.2f s: %.0f registrations/s "
               "(HELLO->ACK p50 %.0f us, p99 %.0f us, %" PRIu64 " HELLOs sent)\n",
               reg.done, s->n, reg.seconds, reg.per_s, reg.rtt_p50_us, reg.rtt_p99_us, reg.sent);
  *failed = reg.done == 0;
  if (reg.done == 0) {
    std::fprintf(stderr,
                 "drasyl-loadgen: no HELLO was acknowledged. Check the URL (address, publicKey, "
                 "networkId), --arm against the super peer's ARM_MESSAGES, --difficulty against "
                 "its MIN_POW_DIFFICULTY, and its MAX_PEERS.\n");
  } else if (reg.done < s->n) {
    std::fprintf(stderr, "loadgen: WARNING: %zu nodes did not register (MAX_PEERS? timeout?)\n",
                 static_cast<size_t>(s->n - reg.done));
  }
  return reg;
}

// HELLO flood: registered nodes' HELLOs as fast as the window allows.
PhaseResult Flood(Shared* s, HelloSender* hellos) {
  s->phase = "hello flood";
  s->hello_phase = kPhaseFlood;
  PhaseResult flood = hellos->HelloPhase(false, FLAGS_hello_flood_ms / 1000.0, HelloWindow());
  FillRtt(s->hello_rtt[kPhaseFlood], &flood);
  std::fprintf(stderr,
               "loadgen: HELLO flood: %" PRIu64 " ACKs in %.2f s: %.0f HELLO/s (RTT p50 %.0f us, "
               "p99 %.0f us)\n",
               flood.done, flood.seconds, flood.per_s, flood.rtt_p50_us, flood.rtt_p99_us);
  return flood;
}

// Traffic: the --rates given, or the --search; every step's result.
std::vector<StepResult> Traffic(Shared* s, TrafficSender* traffic, const Config& c) {
  const double hello_rate = FLAGS_hello_interval_ms > 0 ? s->n * 1000.0 / FLAGS_hello_interval_ms : 0;
  std::vector<StepResult> steps;
  int next_id = 1;
  const RunStep run_step = [&](double rate) -> const StepResult& {
    s->step_no = next_id;
    s->step_target = rate;
    StepResult r = traffic->Step(next_id++, rate, FLAGS_duration, hello_rate);
    std::fprintf(stderr,
                 "loadgen: step %d %s: offered %.0f pps, relayed %.0f pps (%.2f Gbit/s), loss "
                 "%.3f%%, reordered %" PRIu64 ", latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
                 r.id, rate > 0 ? absl::StrFormat("at %.0f pps", rate).c_str() : "open loop",
                 r.offered_pps(), r.relayed_pps(), r.relayed_bytes * 8 / r.seconds / 1e9,
                 r.loss_pct(), r.reordered, r.lat_p50_us, r.lat_p99_us, r.lat_p999_us);
    steps.push_back(r);
    return steps.back();
  };
  if (FLAGS_search) {
    SearchOptions o;
    o.probes = FLAGS_search_probes;
    o.refine = FLAGS_search_refine;
    o.loss_threshold_pct = FLAGS_loss_threshold_pct;
    SearchHighestRate(o, run_step, steps, &s->step_total, g_interrupted);
  } else {
    s->step_total = static_cast<int>(c.rates.size());
    for (double rate : c.rates) {
      if (g_interrupted) break;
      run_step(rate);
    }
  }
  return steps;
}

int Run() {
  if (FLAGS_list_backends) return ListBackends();
  // ---- configuration
  absl::StatusOr<Url> url = ParseUrl(FLAGS_url);
  if (!url.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(url.status().message()).c_str());
    return 2;
  }
  if (AttackRequested()) {
    AttackTarget target;
    target.udp = url->addr;
    target.tcp_port = url->tcp_port;
    target.pk = url->pk;
    target.network_id = url->network_id;
    return RunAttack(target, &g_interrupted);
  }
  absl::StatusOr<Config> config = ConfigFromFlags();
  if (!config.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(config.status().message()).c_str());
    return 2;
  }
  const Config& c = *config;

  // ---- I/O
  absl::StatusOr<std::unique_ptr<PacketIo>> io = OpenIo(c, *url);
  if (!io.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s backend: %s\n", c.backend.c_str(),
                 std::string(io.status().message()).c_str());
    return 1;
  }

  // ---- identities
  Shared s;
  s.n = c.n;
  s.k = (*io)->num_ports();
  s.sp = *url;
  s.arm = FLAGS_arm;
  s.interrupted = &g_interrupted;
  s.phase = "identities";
  if (absl::Status st = LoadNodes(&s); !st.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(st.message()).c_str());
    return 1;
  }
  std::fprintf(stderr,
               "loadgen: %zu nodes on %zu %s ports -> %s (network %d, %s), pattern %s over %zu "
               "active nodes, payload %" PRIu64 " bytes\n",
               c.n, s.k, (*io)->name(), url->addr.ToString().c_str(), url->network_id,
               s.arm ? "armed" : "unarmed", FLAGS_pattern.c_str(), c.active, FLAGS_payload);

  std::thread receiver([&] { ReceiverLoop(&s, io->get()); });
  std::thread progress;
  if (FLAGS_progress) progress = std::thread([&] { ProgressLoop(&s); });
  // This thread sends (and, poll mode, runs traffic to completion): on the
  // backend's CPU if it has one; the threads above stay where they were.
  (*io)->PinCallingThread();
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // precise sleeps for rate pacing

  // One random generator for the HELLOs' arming and the random pattern.
  Rng rng(FLAGS_seed);
  const size_t batch = std::max<uint64_t>(1, FLAGS_batch);
  HelloSender hellos(&s, io->get(), batch, FLAGS_hello_endpoints, &rng);
  AppMessages apps(&s, c.pattern, c.active, FLAGS_payload, (*io)->poll_mode(), &rng);
  TrafficSender traffic(&s, io->get(), &apps, &hellos, c.active, batch, FLAGS_drain_ms);

  // ---- registration
  const uint64_t rss_before = RssKb(FLAGS_sp_pid);
  bool failed = false;
  const PhaseResult reg = Register(&s, &hellos, &failed);
  // Let the control thread's table updates reach every worker, then measure.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t rss_registered = RssKb(FLAGS_sp_pid);

  // ---- HELLO flood
  PhaseResult flood;
  if (!failed && FLAGS_hello_flood_ms > 0 && !g_interrupted) flood = Flood(&s, &hellos);

  // ---- traffic
  s.phase = "traffic";
  s.hello_phase = kPhaseTraffic;
  std::vector<StepResult> steps;
  if (!failed && FLAGS_duration > 0) steps = Traffic(&s, &traffic, c);
  const uint64_t rss_end = RssKb(FLAGS_sp_pid);

  // ---- results
  s.stop_progress = true;
  if (progress.joinable()) progress.join();
  {
    std::lock_guard<std::mutex> lock(s.rx_mu);
    s.stop_rx = true;
  }
  s.rx_cv.notify_all();
  receiver.join();

  const Best best = BestLossless(steps, FLAGS_loss_threshold_pct);
  if (best.step != nullptr) {
    std::fprintf(stderr,
                 "loadgen: highest lossless (< %.3g%%) rate: %.0f pps relayed = %.4f Mpps, %.3f "
                 "Gbit/s, p99 %.1f us%s\n",
                 FLAGS_loss_threshold_pct, best.step->relayed_pps(), best.step->relayed_pps() / 1e6,
                 best.step->relayed_bytes * 8 / best.step->seconds / 1e9, best.step->lat_p99_us,
                 best.generator_limited ? " (generator-limited: the generator could not offer more)"
                                        : "");
  }
  double bytes_per_peer = 0;
  if (FLAGS_sp_pid > 0 && reg.done > 0 && rss_registered > rss_before) {
    bytes_per_peer = (rss_registered - rss_before) * 1024.0 / reg.done;
    std::fprintf(stderr,
                 "loadgen: super peer RSS %" PRIu64 " KiB -> %" PRIu64 " KiB with %" PRIu64
                 " peers: %.0f bytes per peer\n",
                 rss_before, rss_registered, reg.done, bytes_per_peer);
  }
  if (FLAGS_json) {
    RunSummary run;
    run.backend = (*io)->name();
    run.url = FLAGS_url;
    run.active = c.active;
    run.pattern = FLAGS_pattern;
    run.payload = FLAGS_payload;
    run.message_bytes = wire::kHeaderBytes + FLAGS_payload;
    run.difficulty = FLAGS_difficulty;
    run.hello_interval_ms = FLAGS_hello_interval_ms;
    run.hello_endpoints = FLAGS_hello_endpoints;
    run.loss_threshold_pct = FLAGS_loss_threshold_pct;
    run.registration = reg;
    run.flood = flood;
    run.steps = &steps;
    run.best = best;
    run.tx_errors = (*io)->tx_errors();
    run.rss_before_kb = rss_before;
    run.rss_registered_kb = rss_registered;
    run.rss_end_kb = rss_end;
    run.bytes_per_peer = bytes_per_peer;
    run.interrupted = g_interrupted;
    std::fputs(RunJson(s, run).c_str(), stdout);
    std::fflush(stdout);
  }
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace drasyl::loadgen

int main(int argc, char** argv) {
  gflags::SetUsageMessage(
      "drasyl-loadgen --url 'udp://127.0.0.1:22527?publicKey=<hex>&networkId=1' [flags]\n"
      "Plays --nodes simulated drasyl nodes against a super peer: registers them (HELLO/ACK),\n"
      "floods HELLOs, then relays APP traffic between node pairs and reports rates, loss,\n"
      "reordering and latency (README: Sizing your super peer); with --attack=KIND it\n"
      "attacks the super peer from an address of its own instead (bench/loadgen/attack.h).");
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, true);
  if (FLAGS_help) {  // gflags' own --help exits 1 and lists every library's flags
    drasyl::PrintOwnFlagsHelp(argv[0], {"/bench/loadgen/"});
    return 0;
  }
  gflags::HandleCommandLineHelpFlags();  // --helpfull, --version, ...
  FLAGS_logtostderr = true;
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    std::fprintf(stderr, "drasyl-loadgen: unexpected argument '%s' (see --help)\n", argv[1]);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = [](int) { drasyl::loadgen::g_interrupted.store(true); };
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
  if (FLAGS_url.empty() && !FLAGS_list_backends) {
    std::fprintf(stderr, "drasyl-loadgen: --url is required (see --help)\n");
    return 2;
  }
  return drasyl::loadgen::Run();
}
