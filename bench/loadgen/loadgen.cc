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
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <condition_variable>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "bench/loadgen/attack.h"
#include "common/checksum.h"
#include "bench/loadgen/histogram.h"
#include "bench/loadgen/identity_cache.h"
#include "bench/loadgen/packet_io.h"
#include "bench/loadgen/rng.h"
#include "common/clock.h"
#include "control/flags_help.h"
#include "common/config.h"
#include "common/hex.h"
#include "common/identity.h"
#include "common/wire.h"
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
// --dpdk_eal is the super peer's flag (common/config.cc), shared here.
DECLARE_string(dpdk_eal);

namespace drasyl::loadgen {
namespace {

constexpr uint32_t kPayloadMagic = 0x31474c44;  // "DLG1" little-endian
constexpr size_t kPayloadHeader = 32;
// Offsets in an APP message (after the 79-byte header) of the payload fields.
constexpr size_t kOffSrc = wire::kHeaderBytes + 4;
constexpr size_t kOffDst = wire::kHeaderBytes + 8;
constexpr size_t kOffSeq = wire::kHeaderBytes + 16;
constexpr size_t kOffStamp = wire::kHeaderBytes + 24;
constexpr int kMaxSteps = 250;
constexpr int kRxBurst = 256;
constexpr int kMaxBatch = 256;

std::atomic<bool> g_interrupted{false};

// ---------------------------------------------------------------- utilities

void Add(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
uint64_t Get(const std::atomic<uint64_t>& c) { return c.load(std::memory_order_relaxed); }

uint64_t Le64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
uint32_t Le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

void SleepUntilMono(uint64_t t_ns) {
  timespec ts{static_cast<time_t>(t_ns / 1000000000ull), static_cast<long>(t_ns % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

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

struct Url {
  SocketAddress addr;
  PublicKey pk{};
  int32_t network_id = 1;
  std::optional<uint16_t> tcp_port;  // the TCP fallback's port (--attack=tcp-idle)
};

absl::StatusOr<Url> ParseUrl(const std::string& text) {
  Url url;
  std::string rest = text;
  if (rest.rfind("udp://", 0) != 0) return absl::InvalidArgumentError("--url must start with udp://");
  rest = rest.substr(6);
  const size_t q = rest.find('?');
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(rest.substr(0, q));
  if (!a.ok()) return absl::InvalidArgumentError(absl::StrCat("--url address: ", a.status().message()));
  url.addr = *a;
  bool have_pk = false;
  if (q != std::string::npos) {
    for (absl::string_view kv : absl::StrSplit(rest.substr(q + 1), '&')) {
      const size_t eq = kv.find('=');
      if (eq == absl::string_view::npos) continue;
      const std::string key(kv.substr(0, eq));
      const std::string value(kv.substr(eq + 1));
      if (key == "publicKey") {
        if (!HexDecodeInto(value, absl::MakeSpan(url.pk)).ok()) {
          return absl::InvalidArgumentError("--url publicKey must be 64 hex digits");
        }
        have_pk = true;
      } else if (key == "tcpPort") {
        uint32_t port = 0;
        if (!absl::SimpleAtoi(value, &port) || port == 0 || port > 65535) {
          return absl::InvalidArgumentError("--url tcpPort must be a port number");
        }
        url.tcp_port = static_cast<uint16_t>(port);
      } else if (key == "networkId") {
        if (!absl::SimpleAtoi(value, &url.network_id)) {
          return absl::InvalidArgumentError("--url networkId must be a 32-bit integer");
        }
      }
    }
  }
  if (!have_pk) return absl::InvalidArgumentError("--url has no publicKey=");
  return url;
}

absl::StatusOr<double> ParseRate(absl::string_view s) {
  double mult = 1;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) mult = 1e3;
  if (!s.empty() && (s.back() == 'm' || s.back() == 'M')) mult = 1e6;
  if (mult != 1) s.remove_suffix(1);
  double v;
  if (!absl::SimpleAtod(s, &v) || v < 0) {
    return absl::InvalidArgumentError(absl::StrCat("bad rate '", s, "'"));
  }
  return v * mult;
}

// ---------------------------------------------------------------- state

enum class Pattern { kPair, kAll, kRandom };

struct StepRx {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<uint64_t> reordered{0};
  Histogram latency;  // ns
};

enum HelloPhase { kPhaseRegister = 0, kPhaseFlood = 1, kPhaseTraffic = 2, kPhases = 3 };

struct Shared {
  // Nodes.
  size_t n = 0;
  size_t k = 0;  // sockets
  std::vector<Identity> ids;
  std::vector<SessionKeys> keys;
  std::unique_ptr<std::atomic<uint64_t>[]> hello_sent_ns;  // MonoNs of the last HELLO
  std::unique_ptr<std::atomic<uint8_t>[]> acked;
  absl::flat_hash_map<uint64_t, uint32_t> index;  // first 8 key bytes -> node
  std::vector<uint64_t> key8;                     // node -> first 8 key bytes
  Url sp;
  bool arm = true;

  // Receiver results.
  std::atomic<uint64_t> acks{0};
  std::atomic<uint64_t> acks_bad{0};
  std::atomic<uint64_t> registered{0};
  std::atomic<uint64_t> last_register_ns{0};
  std::atomic<uint64_t> unites{0};
  std::atomic<uint64_t> app_rx{0};
  std::atomic<uint64_t> foreign{0};
  std::atomic<int> hello_phase{kPhaseRegister};
  Histogram hello_rtt[kPhases];
  std::unique_ptr<StepRx[]> steps = std::make_unique<StepRx[]>(kMaxSteps + 1);
  uint32_t* rx_flow_next = nullptr;  // k*k: highest sequence + 1 seen per flow

  // Sender counters (for progress).
  std::atomic<uint64_t> app_tx{0};
  std::atomic<uint64_t> hellos_tx{0};

  // Progress.
  std::atomic<const char*> phase{"start"};
  std::atomic<int> step_no{0};
  std::atomic<int> step_total{0};
  std::atomic<double> step_target{0};
  std::atomic<bool> stop_rx{false};
  std::atomic<bool> stop_progress{false};

  // Who receives: the receiver thread, except during a run-to-completion
  // traffic step (rx_inline), for which it waits on rx_cv without waking
  // (a wakeup would cost the step's core a context switch).
  std::mutex rx_mu;
  std::condition_variable rx_cv;
  bool rx_inline = false;  // under rx_mu
  bool rx_busy = false;    // the receiver thread is polling; under rx_mu
};

// Holds the receive side for a run-to-completion traffic step.
class RxOwnership {
 public:
  explicit RxOwnership(Shared* s) : s_(s) {
    std::unique_lock<std::mutex> lock(s_->rx_mu);
    s_->rx_inline = true;
    s_->rx_cv.wait(lock, [&] { return !s_->rx_busy; });
  }
  ~RxOwnership() {
    {
      std::lock_guard<std::mutex> lock(s_->rx_mu);
      s_->rx_inline = false;
    }
    s_->rx_cv.notify_all();
  }
  RxOwnership(const RxOwnership&) = delete;
  RxOwnership& operator=(const RxOwnership&) = delete;

 private:
  Shared* s_;
};

uint32_t NodeOf(const Shared& s, const uint8_t* key) {
  auto it = s.index.find(Le64(key));
  if (it == s.index.end()) return UINT32_MAX;
  if (std::memcmp(s.ids[it->second].public_key.data(), key, kPublicKeyBytes) != 0) return UINT32_MAX;
  return it->second;
}

// ---------------------------------------------------------------- receiver

// Accounts for `got` received messages (whoever polled them).
void HandleRx(Shared* s, RxPacket* pkts, int got) {
  const size_t n = s->n;
  const size_t k = s->k;
  uint64_t mono = 0;  // for HELLO round trips, read once per call when needed
  for (int i = 0; i < got; ++i) {
    RxPacket& p = pkts[i];
    if (p.len < wire::kHeaderBytes || LoadBe32(p.data) != wire::kMagic) {
      Add(s->foreign);
      continue;
    }
    const uint8_t type = p.data[wire::off::kType];
    if (type == static_cast<uint8_t>(wire::MessageType::kApp)) {
      const uint8_t* pl = p.data + wire::kHeaderBytes;
      if (p.len < wire::kHeaderBytes + kPayloadHeader || Le32(pl) != kPayloadMagic) {
        Add(s->foreign);
        continue;
      }
      const uint32_t src = Le32(pl + 4), dst = Le32(pl + 8), step = Le32(pl + 12);
      const uint32_t seq = Le32(pl + 16);
      const uint64_t ts = Le64(pl + 24);
      if (src >= n || dst >= n || step > kMaxSteps ||
          Le64(p.data + wire::off::kRecipient) != s->key8[dst]) {
        Add(s->foreign);
        continue;
      }
      StepRx& st = s->steps[step];
      Add(st.packets);
      Add(st.bytes, p.wire_len);
      st.latency.Add(p.rx_ns > ts ? p.rx_ns - ts : 0);
      uint32_t& next = s->rx_flow_next[(src % k) * k + dst % k];
      if (seq + 1 <= next) {
        Add(st.reordered);
      } else {
        next = seq + 1;
      }
      Add(s->app_rx);
    } else if (type == static_cast<uint8_t>(wire::MessageType::kAck)) {
      const uint32_t node = NodeOf(*s, p.data + wire::off::kRecipient);
      if (node == UINT32_MAX ||
          std::memcmp(p.data + wire::off::kSender, s->sp.pk.data(), kPublicKeyBytes) != 0) {
        Add(s->foreign);
        continue;
      }
      const uint8_t* body = p.data + wire::kHeaderBytes;
      size_t body_len = p.len - wire::kHeaderBytes;
      if (s->arm) {
        uint8_t* plain;
        if (p.len != p.wire_len ||
            wire::Disarm(p.data, p.len, s->keys[node].rx, &plain, &body_len) != wire::Error::kOk) {
          Add(s->acks_bad);
          continue;
        }
        body = plain;
      }
      wire::AckBody ack;
      if (wire::ParseAckBody(body, body_len, &ack) != wire::Error::kOk) {
        Add(s->acks_bad);
        continue;
      }
      if (mono == 0) mono = MonoNs();
      const uint64_t sent = s->hello_sent_ns[node].load(std::memory_order_relaxed);
      const int phase = s->hello_phase.load(std::memory_order_relaxed);
      s->hello_rtt[phase].Add(mono > sent ? mono - sent : 0);
      Add(s->acks);
      if (s->acked[node].load(std::memory_order_relaxed) == 0) {
        s->acked[node].store(1, std::memory_order_relaxed);
        Add(s->registered);
        s->last_register_ns.store(mono, std::memory_order_relaxed);
      }
    } else if (type == static_cast<uint8_t>(wire::MessageType::kUnite)) {
      Add(s->unites);
    } else {
      Add(s->foreign);
    }
  }
}

// The receiver thread: polls whenever no run-to-completion step does.
void ReceiverLoop(Shared* s, PacketIo* io) {
  std::vector<RxPacket> pkts(kRxBurst);
  // A poll-mode backend's Receive returns within this when nothing comes,
  // and so hands the receive side over without delay.
  const int timeout_ms = io->poll_mode() ? 2 : 50;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(s->rx_mu);
      s->rx_cv.wait(lock, [&] { return !s->rx_inline || s->stop_rx.load(); });
      if (s->stop_rx.load()) break;
      s->rx_busy = true;
    }
    const int got = io->Receive(pkts.data(), kRxBurst, timeout_ms);
    if (got > 0) HandleRx(s, pkts.data(), got);
    {
      std::lock_guard<std::mutex> lock(s->rx_mu);
      s->rx_busy = false;
    }
    s->rx_cv.notify_all();
  }
}

// ---------------------------------------------------------------- sender

struct StepResult {
  int id = 0;
  double target_pps = 0;  // 0 = open loop
  double seconds = 0;
  uint64_t offered = 0;
  uint64_t offered_bytes = 0;
  uint64_t relayed = 0;
  uint64_t relayed_bytes = 0;
  uint64_t reordered = 0;
  uint64_t hellos = 0;
  uint64_t acks = 0;
  uint64_t unites = 0;
  uint64_t tx_errors = 0;
  uint64_t skipped = 0;  // run to completion: due while the generator was stalled
  double lat_p50_us = 0, lat_p99_us = 0, lat_p999_us = 0, lat_max_us = 0;

  double offered_pps() const { return seconds > 0 ? offered / seconds : 0; }
  double relayed_pps() const { return seconds > 0 ? relayed / seconds : 0; }
  double loss_pct() const {
    return offered ? 100.0 * (static_cast<double>(offered) - static_cast<double>(relayed)) / offered
                   : 0;
  }
};

struct PhaseResult {
  uint64_t nodes = 0;
  uint64_t done = 0;      // registered nodes / acks
  uint64_t sent = 0;      // HELLOs sent
  double seconds = 0;
  double per_s = 0;
  double rtt_p50_us = 0, rtt_p99_us = 0, rtt_p999_us = 0;
};

class Sender {
 public:
  Sender(Shared* s, PacketIo* io, Pattern pattern, size_t active, size_t payload, size_t batch,
         uint64_t seed)
      : s_(s), io_(io), pattern_(pattern), active_(active), payload_(payload),
        batch_(std::min<size_t>(batch, kMaxBatch)), rng_(seed) {
    msg_len_ = wire::kHeaderBytes + payload_;
    stride_ = (msg_len_ + 63) & ~size_t{63};  // whole cache lines, densely packed
    bufs_.assign(kMaxBatch * stride_, 0);
    tx_flow_seq_.assign(s_->k * s_->k, 0);
    all_offset_.assign(pattern_ == Pattern::kAll ? active_ : 0, 0);
    socket_cursor_.assign(s_->k, 0);
    per_socket_ = (s_->n + s_->k - 1) / s_->k;
    // Header template of every APP buffer.
    for (int b = 0; b < kMaxBatch; ++b) {
      uint8_t* m = bufs_.data() + b * stride_;
      StoreBe32(m, wire::kMagic);
      m[wire::off::kHopCount] = 0;
      m[wire::off::kFlags] = s_->arm ? wire::kFlagArmed : 0;  // looks like a real, armed APP
      StoreBe32(m + wire::off::kNetworkId, static_cast<uint32_t>(s_->sp.network_id));
      m[wire::off::kType] = static_cast<uint8_t>(wire::MessageType::kApp);
    }
    if (io_->poll_mode()) {
      tx_sum_.resize(s_->n);
      rx_sum_.resize(s_->n);
      for (size_t node = 0; node < s_->n; ++node) {
        const uint8_t* key = s_->ids[node].public_key.data();
        uint8_t pow[4];
        StoreBe32(pow, static_cast<uint32_t>(s_->ids[node].pow));
        const uint16_t key_sum = csum::Sum(key, kPublicKeyBytes);
        const uint16_t id_sum = csum::OfU32(static_cast<uint32_t>(node));
        tx_sum_[node] = csum::Fold(uint64_t{csum::At(wire::off::kSender, key_sum)} +
                                   csum::At(wire::off::kPow, csum::Sum(pow, 4)) +
                                   csum::At(kOffSrc, id_sum));
        rx_sum_[node] = csum::Fold(uint64_t{csum::At(wire::off::kRecipient, key_sum)} +
                                   csum::At(kOffDst, id_sum));
      }
    }
    // HELLO endpoints per socket.
    endpoints_.resize(s_->k);
    for (size_t sock = 0; sock < s_->k; ++sock) {
      wire::EndpointList& l = endpoints_[sock];
      const SocketAddress local = io_->local_address(sock);
      int want = std::clamp(FLAGS_hello_endpoints, 0, 15);
      if (want > 0 && !local.IsWildcard()) {
        l.push_back(wire::Endpoint::From(local));
        --want;
      }
      for (int e = 0; e < want; ++e) {
        l.push_back(wire::Endpoint::From(
            SocketAddress::V4(0xc0000200u + 1 + e, static_cast<uint16_t>(20000 + sock % 40000))));
      }
    }
  }

  // Node at position c of the socket-grouped order (UINT32_MAX: a hole).
  uint32_t NodeAt(size_t c) const {
    const size_t sock = c / per_socket_;
    const size_t node = sock + (c % per_socket_) * s_->k;
    return node < s_->n ? static_cast<uint32_t>(node) : UINT32_MAX;
  }
  size_t positions() const { return per_socket_ * s_->k; }

  // Sends HELLOs for the nodes at positions *cursor, ... that pass `want`,
  // at most `max`, all from one socket (a batch stops at a socket boundary).
  // With `wrap` the cursor starts over at the end; at most one lap is
  // scanned per call. Returns the number of HELLOs built (unsent ones count
  // as lost HELLOs).
  template <typename Want>
  size_t SendHelloBatch(size_t* cursor, size_t max, Want&& want, bool wrap) {
    max = std::min(max, batch_);
    TxPacket pkts[kMaxBatch];
    uint32_t nodes[kMaxBatch];
    size_t m = 0;
    size_t sock = SIZE_MAX;
    const size_t end = positions();
    size_t scanned = 0;
    while (m < max && scanned < end) {
      if (*cursor >= end) {
        if (!wrap) break;
        *cursor = 0;
        if (m > 0) break;
      }
      const size_t c = *cursor;
      const size_t cs = c / per_socket_;
      if (sock != SIZE_MAX && cs != sock) break;
      ++*cursor;
      ++scanned;
      const uint32_t node = NodeAt(c);
      if (node == UINT32_MAX || !want(node)) continue;
      sock = cs;
      uint8_t* out = hello_bufs_[m];
      pkts[m] = {out, static_cast<uint32_t>(BuildHello(node, sock, out))};
      nodes[m] = node;
      ++m;
    }
    if (m == 0) return 0;
    const uint64_t now = MonoNs();
    for (size_t i = 0; i < m; ++i) s_->hello_sent_ns[nodes[i]].store(now, std::memory_order_relaxed);
    const int sent = io_->Send(sock, pkts, static_cast<int>(m));
    Add(s_->hellos_tx, sent > 0 ? sent : 0);
    return m;
  }

  size_t BuildHello(uint32_t node, size_t sock, uint8_t* out) {
    wire::HeaderFields h;
    h.network_id = s_->sp.network_id;
    h.recipient = s_->sp.pk;
    h.sender = s_->ids[node].public_key;
    h.pow = s_->ids[node].pow;
    h.type = wire::MessageType::kHello;
    wire::HelloBody hello;
    hello.time = UnixMicros();
    hello.child_time = 1;
    hello.endpoints = endpoints_[sock];
    uint8_t body[wire::kMaxHelloBodyBytes];
    const size_t body_len = wire::WriteHelloBody(hello, body);
    uint8_t random[wire::kArmRandomBytes];
    rng_.Fill(random, sizeof(random));
    return wire::BuildMessage(h, body, body_len, s_->arm ? &s_->keys[node].tx : nullptr, random,
                              out, kHelloBufBytes);
  }

  // Windowed HELLO phase: at most `window` HELLOs unanswered. When nothing
  // comes back for a while, what is out counts as lost and sending resumes.
  // register_mode: every node not yet acknowledged, lap after lap, until all
  // are registered or `seconds` pass. Otherwise: acknowledged nodes in turn
  // for `seconds` (the HELLO/s a super peer sustains for known peers).
  PhaseResult HelloPhase(bool register_mode, double seconds, size_t window) {
    PhaseResult r;
    r.nodes = s_->n;
    const uint64_t acks0 = Get(s_->acks);
    const uint64_t reg0 = Get(s_->registered);
    // Generous: the control thread pauses for housekeeping (a scan of the whole
    // table every 5 s), and resending early would overflow its queues.
    const uint64_t stall_ns = register_mode ? 1000000000ull : 500000000ull;
    uint64_t sent = 0;
    uint64_t lost = 0;
    size_t cursor = 0;
    bool lap_done = false;
    const uint64_t start = MonoNs();
    const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
    uint64_t last_progress = start;
    uint64_t last_acks = 0;
    for (;;) {
      const uint64_t now = MonoNs();
      if (g_interrupted.load() || now >= deadline) break;
      if (register_mode && Get(s_->registered) >= s_->n) break;
      const uint64_t acks = Get(s_->acks) - acks0;
      if (acks != last_acks) {
        last_acks = acks;
        last_progress = now;
      }
      const uint64_t in_flight = sent > acks + lost ? sent - acks - lost : 0;
      if (in_flight > 0 && now - last_progress > stall_ns) {
        lost = sent > acks ? sent - acks : 0;
        last_progress = now;
        continue;
      }
      if (lap_done) {
        if (in_flight == 0) {  // next lap: the nodes still unacknowledged
          cursor = 0;
          lap_done = false;
        } else {
          std::this_thread::sleep_for(std::chrono::microseconds(20));
        }
        continue;
      }
      if (in_flight >= window) {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        continue;
      }
      size_t m;
      if (register_mode) {
        m = SendHelloBatch(
            &cursor, window - in_flight,
            [&](uint32_t node) { return s_->acked[node].load(std::memory_order_relaxed) == 0; },
            false);
        if (cursor >= positions()) lap_done = true;
      } else {
        m = SendHelloBatch(
            &cursor, window - in_flight,
            [&](uint32_t node) { return s_->acked[node].load(std::memory_order_relaxed) != 0; },
            true);
        if (m == 0) break;  // nobody registered
      }
      sent += m;
    }
    const uint64_t stop = MonoNs();
    // Let the last answers arrive (they do not count for the rate).
    while (MonoNs() < stop + 200000000ull && Get(s_->acks) - acks0 < sent - lost) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    r.sent = sent;
    if (register_mode) {
      r.done = Get(s_->registered) - reg0;
      const uint64_t last = Get(s_->last_register_ns);
      r.seconds = (last > start ? last - start : stop - start) / 1e9;
    } else {
      r.done = Get(s_->acks) - acks0;
      r.seconds = (stop - start) / 1e9;
    }
    r.per_s = r.seconds > 0 ? r.done / r.seconds : 0;
    return r;
  }

  // One traffic step at `rate` pps (0: open loop) for `seconds`.
  StepResult TrafficStep(int id, double rate, double seconds, double hello_rate) {
    if (io_->poll_mode()) return TrafficStepPolled(id, rate, seconds, hello_rate);
    StepResult r;
    r.id = id;
    r.target_pps = rate;
    const uint64_t acks0 = Get(s_->acks), unites0 = Get(s_->unites);
    const uint64_t txerr0 = io_->tx_errors();
    const uint64_t start = MonoNs();
    const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
    uint64_t app_sent = 0, hello_sent = 0, bytes = 0;
    // At a set rate, send in bursts of ~100 us worth of messages.
    const size_t min_batch =
        rate > 0 ? std::clamp<size_t>(static_cast<size_t>(rate / 10000), 1, batch_) : batch_;
    const size_t sockets_used = std::min(active_, s_->k);
    size_t sock = 0;
    uint64_t now = start;
    while (now < end && !g_interrupted.load(std::memory_order_relaxed)) {
      bool did = false;
      // APP messages due.
      size_t due = batch_;
      if (rate > 0) {
        const double should = (now - start) * 1e-9 * rate;
        due = should > app_sent ? static_cast<size_t>(should - app_sent) : 0;
        if (due < min_batch) due = 0;
        due = std::min(due, batch_);
      }
      if (due > 0) {
        const size_t m = BuildApp(id, sock, due);
        const uint64_t ts = NowNs();
        for (size_t i = 0; i < m; ++i) {
          std::memcpy(bufs_.data() + i * stride_ + wire::kHeaderBytes + 24, &ts, 8);
        }
        TxPacket pkts[kMaxBatch];
        for (size_t i = 0; i < m; ++i) pkts[i] = {bufs_.data() + i * stride_, static_cast<uint32_t>(msg_len_)};
        const int sent = io_->Send(sock, pkts, static_cast<int>(m));
        if (sent > 0) {
          app_sent += sent;
          bytes += static_cast<uint64_t>(sent) * msg_len_;
          Add(s_->app_tx, sent);
        }
        // Messages the backend could not send are not offered (their
        // sequence numbers leave gaps, which do not count as reordering).
        sock = (sock + 1) % sockets_used;
        did = true;
      }
      if (RefreshHellos(hello_rate, now - start, &hello_sent)) did = true;
      now = MonoNs();
      if (!did && rate > 0) {
        // Sleep until the next burst (or HELLO) is due.
        uint64_t next = start + static_cast<uint64_t>((app_sent + min_batch) / rate * 1e9);
        if (hello_rate > 0) {
          next = std::min(next, start + static_cast<uint64_t>((hello_sent + 1) / hello_rate * 1e9));
        }
        next = std::min(next, end);
        if (next > now + 20000) SleepUntilMono(next - 5000);
        now = MonoNs();
      }
    }
    r.seconds = (std::min(now, end) - start) / 1e9;
    if (r.seconds <= 0) r.seconds = (MonoNs() - start) / 1e9;
    r.offered = app_sent;
    r.offered_bytes = bytes;
    r.hellos = hello_sent;
    Drain(s_->steps[id], r.offered, MonoNs, SleepUntilMono);
    Collect(&r, acks0, unites0, txerr0);
    return r;
  }

  // A traffic step of a poll-mode backend, run to completion on this
  // thread: poll, send what is due, repeat; never sleep.
  StepResult TrafficStepPolled(int id, double rate, double seconds, double hello_rate) {
    RxOwnership rx(s_);
    StepResult r;
    r.id = id;
    r.target_pps = rate;
    const uint64_t acks0 = Get(s_->acks), unites0 = Get(s_->unites);
    const uint64_t txerr0 = io_->tx_errors();
    const uint16_t base_sum = StepBaseSum(id);
    const uint64_t start = io_->Now();
    const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
    uint64_t app_sent = 0, hello_sent = 0, bytes = 0;
    // At a set rate, bursts of ~100 us worth of messages (at most --batch).
    const size_t min_batch =
        rate > 0 ? std::clamp<size_t>(static_cast<size_t>(rate / 10000), 1, batch_) : batch_;
    const size_t sockets_used = std::min(active_, s_->k);
    // Messages that fell due while this thread did not run (the hypervisor
    // or the kernel took the core; here up to milliseconds) are skipped
    // beyond 100 us worth: sent back to back, they would arrive as a burst
    // that no steady sender makes, and fill the super peer's ring.
    const uint64_t max_lag = std::max<uint64_t>(2 * batch_, static_cast<uint64_t>(rate * 1e-4));
    uint64_t skipped = 0;
    size_t sock = 0;
    uint64_t now = start;
    TxPacket pkts[kMaxBatch];
    uint16_t sums[kMaxBatch];
    while (now < end && !g_interrupted.load(std::memory_order_relaxed)) {
      PollRx();
      size_t due = batch_;
      if (rate > 0) {
        const double should = (now - start) * 1e-9 * rate - static_cast<double>(skipped);
        due = should > app_sent ? static_cast<size_t>(should - app_sent) : 0;
        if (due > max_lag) {
          skipped += due - batch_;
          due = batch_;
        }
        if (due < min_batch) due = 0;
        due = std::min(due, batch_);
      }
      if (due > 0) {
        const size_t m = BuildApp(id, sock, due, base_sum, sums);
        for (size_t i = 0; i < m; ++i) {
          pkts[i] = {bufs_.data() + i * stride_, static_cast<uint32_t>(msg_len_), sums[i], true};
        }
        // What the port refused (its ring to the super peer full) counts as
        // offered and lost: on a NIC the super peer's receive ring would
        // have overflowed. (Over memif the sender sees it, not the peer.)
        io_->SendStamped(sock, pkts, static_cast<int>(m), kOffStamp);
        app_sent += m;
        bytes += static_cast<uint64_t>(m) * msg_len_;
        Add(s_->app_tx, m);
        sock = (sock + 1) % sockets_used;
      }
      RefreshHellos(hello_rate, now - start, &hello_sent);
      now = io_->Now();
    }
    r.seconds = (std::min(now, end) - start) / 1e9;
    if (r.seconds <= 0) r.seconds = (io_->Now() - start) / 1e9;
    r.offered = app_sent;
    r.offered_bytes = bytes;
    r.hellos = hello_sent;
    r.skipped = skipped;
    Drain(
        s_->steps[id], r.offered, [this] { return io_->Now(); },
        [this](uint64_t t) { PollUntil(t); });
    Collect(&r, acks0, unites0, txerr0);
    return r;
  }

 private:
  void PollRx() {
    const int got = io_->Receive(rx_pkts_, kRxBurst, 0);
    if (got > 0) HandleRx(s_, rx_pkts_, got);
  }
  void PollUntil(uint64_t t) {
    while (io_->Now() < t) PollRx();
  }

  // After a step: wait drain_ms, then on while messages of the step still
  // come in (a saturated super peer may hold seconds of queue), at most 5 s.
  // now() and wait_until(t) are the step loop's clock and way of waiting
  // (sleeping, or polling the receive side).
  template <typename Now, typename WaitUntil>
  static void Drain(const StepRx& st, uint64_t offered, Now now, WaitUntil wait_until) {
    const uint64_t start = now();
    wait_until(start + static_cast<uint64_t>(FLAGS_drain_ms) * 1000000ull);
    for (uint64_t before = Get(st.packets);;) {
      if (Get(st.packets) >= offered || now() - start > 5000000000ull) break;
      wait_until(now() + 100000000ull);
      const uint64_t after = Get(st.packets);
      if (after == before) break;
      before = after;
    }
  }

  // The HELLOs of registered nodes due `elapsed_ns` into a traffic step at
  // `hello_rate`/s (nodes keep re-sending them meanwhile, like real ones);
  // true when some were due.
  bool RefreshHellos(double hello_rate, uint64_t elapsed_ns, uint64_t* hello_sent) {
    if (hello_rate <= 0) return false;
    const double should = elapsed_ns * 1e-9 * hello_rate;
    if (should < *hello_sent + 1) return false;
    const size_t want = std::min<size_t>(static_cast<size_t>(should - *hello_sent), batch_);
    const size_t m = SendHelloBatch(
        &refresh_cursor_, want,
        [&](uint32_t node) { return s_->acked[node].load(std::memory_order_relaxed) != 0; }, true);
    *hello_sent += m > 0 ? m : want;  // nobody registered: do not spin on it
    return true;
  }

  // The step's results once it is drained.
  void Collect(StepResult* out, uint64_t acks0, uint64_t unites0, uint64_t txerr0) {
    StepResult& r = *out;
    const StepRx& st = s_->steps[r.id];
    r.relayed = Get(st.packets);
    r.relayed_bytes = Get(st.bytes);
    r.reordered = Get(st.reordered);
    r.acks = Get(s_->acks) - acks0;
    r.unites = Get(s_->unites) - unites0;
    r.tx_errors = io_->tx_errors() - txerr0;
    r.lat_p50_us = st.latency.Quantile(0.5) / 1e3;
    r.lat_p99_us = st.latency.Quantile(0.99) / 1e3;
    r.lat_p999_us = st.latency.Quantile(0.999) / 1e3;
    r.lat_max_us = st.latency.max() / 1e3;
  }

  // The checksum sum of an APP message of `step` with the per-message
  // fields (keys, proof of work, source, recipient, sequence number, stamp)
  // zero.
  uint16_t StepBaseSum(int step) const {
    std::vector<uint8_t> m(bufs_.begin(), bufs_.begin() + msg_len_);
    if (m.size() < wire::kHeaderBytes + kPayloadHeader) return 0;  // (--payload is checked)
    std::memset(m.data() + wire::off::kRecipient, 0, 2 * kPublicKeyBytes + 4);
    std::memset(m.data() + wire::kHeaderBytes, 0, kPayloadHeader);
    const uint32_t fields[4] = {kPayloadMagic, 0, 0, static_cast<uint32_t>(step)};
    std::memcpy(m.data() + wire::kHeaderBytes, fields, sizeof(fields));
    return csum::Sum(m.data(), m.size());
  }

  // Fills up to `want` APP messages from nodes on socket `sock`; returns how
  // many. With `sums`: each message's checksum sum (base_sum: StepBaseSum).
  size_t BuildApp(int step, size_t sock, size_t want, uint16_t base_sum = 0,
                  uint16_t* sums = nullptr) {
    const size_t k = s_->k;
    const size_t a = active_;
    // Active nodes on this socket: sock, sock + k, ... < a.
    const size_t on_sock = sock < a ? (a - 1 - sock) / k + 1 : 0;
    if (on_sock == 0) return 0;
    size_t m = 0;
    for (; m < want; ++m) {
      uint32_t src, dst;
      switch (pattern_) {
        case Pattern::kPair:
          src = static_cast<uint32_t>(sock == 0 ? 0 : 1);
          if (k == 1) src = static_cast<uint32_t>(pair_flip_++ & 1);
          dst = 1 - src;
          break;
        case Pattern::kAll: {
          size_t& j = socket_cursor_[sock];
          src = static_cast<uint32_t>(sock + j * k);
          j = (j + 1) % on_sock;
          uint32_t& off = all_offset_[src];
          dst = static_cast<uint32_t>((src + 1 + off) % a);
          off = static_cast<uint32_t>((off + 1) % (a - 1));
          break;
        }
        case Pattern::kRandom:
        default:
          src = static_cast<uint32_t>(sock + rng_.Below(on_sock) * k);
          dst = static_cast<uint32_t>(rng_.Below(a - 1));
          if (dst >= src) ++dst;
          break;
      }
      uint8_t* msg = bufs_.data() + m * stride_;
      std::memcpy(msg + wire::off::kRecipient, s_->ids[dst].public_key.data(), kPublicKeyBytes);
      std::memcpy(msg + wire::off::kSender, s_->ids[src].public_key.data(), kPublicKeyBytes);
      StoreBe32(msg + wire::off::kPow, static_cast<uint32_t>(s_->ids[src].pow));
      uint8_t* pl = msg + wire::kHeaderBytes;
      const uint32_t seq = tx_flow_seq_[(src % k) * k + dst % k]++;
      const uint32_t fields[5] = {kPayloadMagic, src, dst, static_cast<uint32_t>(step), seq};
      std::memcpy(pl, fields, sizeof(fields));
      if (sums != nullptr) {
        sums[m] = csum::Fold(uint64_t{base_sum} + tx_sum_[src] + rx_sum_[dst] +
                             csum::At(kOffSeq, csum::OfU32(seq)));
      }
    }
    return m;
  }

  static constexpr size_t kHelloBufBytes =
      wire::kHeaderBytes + wire::kArmOverhead + wire::kMaxHelloBodyBytes;

  Shared* s_;
  PacketIo* io_;
  Pattern pattern_;
  size_t active_;
  size_t payload_;
  size_t batch_;
  Rng rng_;
  size_t msg_len_ = 0;
  size_t stride_ = 0;
  std::vector<uint8_t> bufs_;
  uint8_t hello_bufs_[kMaxBatch][kHelloBufBytes];
  std::vector<uint32_t> tx_flow_seq_;
  std::vector<uint32_t> all_offset_;
  std::vector<size_t> socket_cursor_;
  std::vector<wire::EndpointList> endpoints_;
  // Poll-mode backends: per node the checksum sums of its part of an APP
  // message as sender (key, proof of work, source field) and as recipient
  // (key, recipient field).
  std::vector<uint16_t> tx_sum_;
  std::vector<uint16_t> rx_sum_;
  RxPacket rx_pkts_[kRxBurst];
  size_t per_socket_ = 1;
  size_t refresh_cursor_ = 0;
  uint64_t pair_flip_ = 0;
};

bool Lossless(const StepResult& r) { return r.offered > 0 && r.loss_pct() < FLAGS_loss_threshold_pct; }
// Whether the generator offered (nearly) the rate it was asked for.
bool Reached(const StepResult& r) { return r.target_pps == 0 || r.offered_pps() >= 0.95 * r.target_pps; }
double RateOf(const StepResult& r) { return r.target_pps > 0 ? r.target_pps : r.offered_pps(); }

// ---------------------------------------------------------------- output

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.6g", v);
}

std::string StepJson(const StepResult& r, size_t msg_len) {
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

void FillRtt(const Histogram& h, PhaseResult* p) {
  p->rtt_p50_us = h.Quantile(0.5) / 1e3;
  p->rtt_p99_us = h.Quantile(0.99) / 1e3;
  p->rtt_p999_us = h.Quantile(0.999) / 1e3;
}

void ProgressLoop(Shared* s) {
  uint64_t last_tx = 0, last_rx = 0, last_acks = 0, last_unites = 0;
  const uint64_t start = MonoNs();
  uint64_t next = start + 1000000000ull;
  while (!s->stop_progress.load()) {
    const uint64_t now = MonoNs();
    if (now < next) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::min<uint64_t>(100, (next - now) / 1000000 + 1)));
      continue;
    }
    next += 1000000000ull;
    const uint64_t tx = Get(s->app_tx), rx = Get(s->app_rx), acks = Get(s->acks),
                   unites = Get(s->unites);
    const double dtx = tx - last_tx, drx = rx - last_rx;
    std::string step;
    if (s->step_no.load() > 0) {
      const double target = s->step_target.load();
      step = absl::StrFormat(" step %d/%d (%s)", s->step_no.load(), s->step_total.load(),
                             target > 0 ? absl::StrFormat("%.0f pps", target) : "open loop");
    }
    std::fprintf(stderr,
                 "[%6.1fs] %s%s: registered %" PRIu64 "/%zu, ACK %" PRIu64 "/s, APP offered %.0f "
                 "pps, relayed %.0f pps%s, UNITE %" PRIu64 "/s\n",
                 (now - start) / 1e9, s->phase.load(), step.c_str(), Get(s->registered), s->n,
                 acks - last_acks, dtx, drx,
                 dtx > 0 ? absl::StrFormat(" (%.2f%%)", 100.0 * (drx - dtx) / dtx).c_str() : "",
                 unites - last_unites);
    last_tx = tx;
    last_rx = rx;
    last_acks = acks;
    last_unites = unites;
  }
}

int Run() {
  if (FLAGS_list_backends) {
    std::printf("socket\n");
    absl::StatusOr<std::unique_ptr<PacketIo>> d = CreateDpdkIo(DpdkIoOptions{});
    if (d.ok() || !absl::IsUnimplemented(d.status())) std::printf("dpdk\n");
    else std::fprintf(stderr, "dpdk: %s\n", std::string(d.status().message()).c_str());
    return 0;
  }
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
  const size_t n = FLAGS_nodes;
  if (n < 2) {
    std::fprintf(stderr, "drasyl-loadgen: --nodes must be at least 2\n");
    return 2;
  }
  if (n > UINT32_MAX / 2) {
    std::fprintf(stderr, "drasyl-loadgen: --nodes too large\n");
    return 2;
  }
  Pattern pattern;
  if (FLAGS_pattern == "pair") pattern = Pattern::kPair;
  else if (FLAGS_pattern == "all") pattern = Pattern::kAll;
  else if (FLAGS_pattern == "random") pattern = Pattern::kRandom;
  else {
    std::fprintf(stderr, "drasyl-loadgen: --pattern must be pair, all or random\n");
    return 2;
  }
  if (FLAGS_payload < kPayloadHeader || FLAGS_payload + wire::kHeaderBytes > 4032) {
    std::fprintf(stderr, "drasyl-loadgen: --payload must be within %zu..%zu bytes\n",
                 kPayloadHeader, 4032 - wire::kHeaderBytes);
    return 2;
  }
  if (FLAGS_search_probes < 1 || FLAGS_search_probes > 5) {
    std::fprintf(stderr, "drasyl-loadgen: --search_probes must be within 1..5\n");
    return 2;
  }
  std::vector<double> rates;
  if (!FLAGS_rates.empty()) {
    if (std::count(FLAGS_rates.begin(), FLAGS_rates.end(), ',') >= kMaxSteps - 1) {
      std::fprintf(stderr, "drasyl-loadgen: --rates takes at most %d steps\n", kMaxSteps - 1);
      return 2;
    }
    for (absl::string_view r : absl::StrSplit(FLAGS_rates, ',', absl::SkipEmpty())) {
      absl::StatusOr<double> v = ParseRate(r);
      if (!v.ok()) {
        std::fprintf(stderr, "drasyl-loadgen: --rates: %s\n", std::string(v.status().message()).c_str());
        return 2;
      }
      rates.push_back(*v);
    }
  } else {
    rates.push_back(FLAGS_rate);
  }
  size_t active = FLAGS_active == 0 ? n : std::min<size_t>(FLAGS_active, n);
  if (pattern == Pattern::kPair) active = 2;
  const size_t k = std::clamp<size_t>(FLAGS_sockets, 1, n);

  // ---- I/O
  std::string backend = FLAGS_backend;
  if (backend == "auto") backend = FLAGS_dpdk_eal.empty() ? "socket" : "dpdk";
  absl::StatusOr<std::unique_ptr<PacketIo>> io;
  if (backend == "socket") {
    SocketIoOptions o;
    o.super_peer = url->addr;
    o.sockets = k;
    o.bind = FLAGS_bind;
    o.kernel_timestamps = FLAGS_kernel_timestamps;
    io = CreateSocketIo(o);
  } else if (backend == "dpdk") {
    DpdkIoOptions o;
    o.eal = FLAGS_dpdk_eal;
    o.super_peer = url->addr;
    o.local_ip = FLAGS_dpdk_local_ip;
    o.peer_mac = FLAGS_dpdk_peer_mac;
    o.accept_reflected = FLAGS_dpdk_accept_reflected;
    o.ports = k;
    io = CreateDpdkIo(o);
  } else {
    std::fprintf(stderr, "drasyl-loadgen: --backend must be socket, dpdk or auto\n");
    return 2;
  }
  if (!io.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s backend: %s\n", backend.c_str(),
                 std::string(io.status().message()).c_str());
    return 1;
  }

  // ---- identities
  Shared s;
  s.n = n;
  s.k = (*io)->num_ports();
  s.sp = *url;
  s.arm = FLAGS_arm;
  s.phase = "identities";
  {
    absl::StatusOr<std::vector<Identity>> ids =
        LoadOrGenerateIdentities(FLAGS_identities, n, FLAGS_difficulty, FLAGS_threads);
    if (!ids.ok()) {
      std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(ids.status().message()).c_str());
      return 1;
    }
    s.ids = std::move(*ids);
  }
  for (const Identity& id : s.ids) {
    if (id.public_key == url->pk) {
      std::fprintf(stderr, "drasyl-loadgen: a node identity equals the super peer's key\n");
      return 1;
    }
  }
  if (s.arm) {
    absl::StatusOr<std::vector<SessionKeys>> keys =
        LoadOrDeriveSessionKeys(FLAGS_identities, s.ids, url->pk, FLAGS_threads);
    if (!keys.ok()) {
      std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(keys.status().message()).c_str());
      return 1;
    }
    s.keys = std::move(*keys);
  }
  s.index.reserve(n);
  s.key8.resize(n);
  for (size_t i = 0; i < n; ++i) {
    s.key8[i] = Le64(s.ids[i].public_key.data());
    s.index.emplace(s.key8[i], static_cast<uint32_t>(i));
  }
  s.hello_sent_ns = std::make_unique<std::atomic<uint64_t>[]>(n);
  s.acked = std::make_unique<std::atomic<uint8_t>[]>(n);
  s.rx_flow_next = static_cast<uint32_t*>(std::calloc(s.k * s.k, sizeof(uint32_t)));

  std::fprintf(stderr,
               "loadgen: %zu nodes on %zu %s ports -> %s (network %d, %s), pattern %s over %zu "
               "active nodes, payload %" PRIu64 " bytes\n",
               n, s.k, (*io)->name(), url->addr.ToString().c_str(), url->network_id,
               s.arm ? "armed" : "unarmed", FLAGS_pattern.c_str(), active, FLAGS_payload);

  std::thread receiver([&] { ReceiverLoop(&s, io->get()); });
  std::thread progress;
  if (FLAGS_progress) progress = std::thread([&] { ProgressLoop(&s); });
  // This thread sends (and, poll mode, runs traffic to completion): on the
  // backend's CPU if it has one; the threads above stay where they were.
  (*io)->PinCallingThread();
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);  // precise sleeps for rate pacing

  Sender sender(&s, io->get(), pattern, active, FLAGS_payload, std::max<uint64_t>(1, FLAGS_batch),
                FLAGS_seed);
  const size_t msg_len = wire::kHeaderBytes + FLAGS_payload;

  // ---- registration
  const uint64_t rss_before = RssKb(FLAGS_sp_pid);
  s.phase = "registration";
  s.hello_phase = kPhaseRegister;
  const double reg_timeout =
      FLAGS_register_timeout > 0 ? FLAGS_register_timeout : 10.0 + n / 2000.0;
  PhaseResult reg = sender.HelloPhase(true, reg_timeout, std::max<uint64_t>(1, FLAGS_hello_window));
  FillRtt(s.hello_rtt[kPhaseRegister], &reg);
  std::fprintf(stderr,
               "loadgen: registered %" PRIu64 "/%zu nodes in %.2f s: %.0f registrations/s "
               "(HELLO->ACK p50 %.0f us, p99 %.0f us, %" PRIu64 " HELLOs sent)\n",
               reg.done, n, reg.seconds, reg.per_s, reg.rtt_p50_us, reg.rtt_p99_us, reg.sent);
  int rc = 0;
  if (reg.done == 0) {
    std::fprintf(stderr,
                 "drasyl-loadgen: no HELLO was acknowledged. Check the URL (address, publicKey, "
                 "networkId), --arm against the super peer's ARM_MESSAGES, --difficulty against "
                 "its MIN_POW_DIFFICULTY, and its MAX_PEERS.\n");
    rc = 1;
  } else if (reg.done < n) {
    std::fprintf(stderr, "loadgen: WARNING: %zu nodes did not register (MAX_PEERS? timeout?)\n",
                 static_cast<size_t>(n - reg.done));
  }
  // Let the control thread's table updates reach every worker, then measure.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const uint64_t rss_registered = RssKb(FLAGS_sp_pid);

  // ---- HELLO flood
  PhaseResult flood;
  if (rc == 0 && FLAGS_hello_flood_ms > 0 && !g_interrupted) {
    s.phase = "hello flood";
    s.hello_phase = kPhaseFlood;
    flood = sender.HelloPhase(false, FLAGS_hello_flood_ms / 1000.0,
                              std::max<uint64_t>(1, FLAGS_hello_window));
    FillRtt(s.hello_rtt[kPhaseFlood], &flood);
    std::fprintf(stderr,
                 "loadgen: HELLO flood: %" PRIu64 " ACKs in %.2f s: %.0f HELLO/s (RTT p50 %.0f us, "
                 "p99 %.0f us)\n",
                 flood.done, flood.seconds, flood.per_s, flood.rtt_p50_us, flood.rtt_p99_us);
  }

  // ---- traffic
  s.phase = "traffic";
  s.hello_phase = kPhaseTraffic;
  const double hello_rate =
      FLAGS_hello_interval_ms > 0 ? n * 1000.0 / FLAGS_hello_interval_ms : 0;
  std::vector<StepResult> steps;
  int next_id = 1;
  auto run_step = [&](double rate) -> const StepResult& {
    s.step_no = next_id;
    s.step_target = rate;
    StepResult r = sender.TrafficStep(next_id++, rate, FLAGS_duration, hello_rate);
    std::fprintf(stderr,
                 "loadgen: step %d %s: offered %.0f pps, relayed %.0f pps (%.2f Gbit/s), loss "
                 "%.3f%%, reordered %" PRIu64 ", latency p50 %.1f us, p99 %.1f us, p99.9 %.1f us\n",
                 r.id, rate > 0 ? absl::StrFormat("at %.0f pps", rate).c_str() : "open loop",
                 r.offered_pps(), r.relayed_pps(), r.relayed_bytes * 8 / r.seconds / 1e9,
                 r.loss_pct(), r.reordered, r.lat_p50_us, r.lat_p99_us, r.lat_p999_us);
    steps.push_back(r);
    return steps.back();
  };
  bool generator_limited = false;
  if (rc == 0 && FLAGS_duration > 0) {
    if (FLAGS_search) {
      s.step_total = FLAGS_search_probes + 6 + FLAGS_search_refine;
      StepResult probe = run_step(0);
      for (int i = 1; i < FLAGS_search_probes && !g_interrupted; ++i) {
        const StepResult again = run_step(0);
        if (again.relayed_pps() > probe.relayed_pps()) probe = again;
      }
      // Anchor: what the open loop offered when nothing was lost, else what
      // the super peer relayed under that overload (the generator may offer
      // far more than it can take, e.g. over memif).
      const double anchor = std::max(
          100.0, Lossless(probe) ? probe.offered_pps() : probe.relayed_pps());
      std::vector<double> ladder = {1.0 / 8, 1.0 / 4, 1.0 / 2, 3.0 / 4};
      if (!Lossless(probe)) {
        ladder.push_back(1.0);
        if (1.5 * anchor < probe.offered_pps()) ladder.push_back(1.5);
      }
      for (double f : ladder) {
        if (g_interrupted) break;
        run_step(std::max(100.0, std::round(anchor * f)));
      }
      // Nothing lossless yet: halve below the lowest rate tried.
      for (int i = 0; i < 4 && !g_interrupted; ++i) {
        double lowest = 0;
        bool any = false;
        for (const StepResult& r : steps) {
          any = any || (Lossless(r) && Reached(r));
          if (lowest == 0 || RateOf(r) < lowest) lowest = RateOf(r);
        }
        if (any || lowest < 200) break;
        ++s.step_total;
        run_step(std::round(lowest / 2));
      }
      // Bisection between the highest rate that was offered in full without
      // loss and the lowest rate above it that lost messages or that the
      // generator could not offer in full.
      for (int i = 0; i < FLAGS_search_refine && !g_interrupted; ++i) {
        double good = 0, upper = 0;
        for (const StepResult& r : steps) {
          if (Lossless(r) && Reached(r)) good = std::max(good, RateOf(r));
        }
        for (const StepResult& r : steps) {
          const double at = RateOf(r);
          if (at > good && (!Lossless(r) || !Reached(r)) && (upper == 0 || at < upper)) upper = at;
        }
        if (good == 0 || upper == 0 || upper - good < 0.03 * upper) break;
        run_step(std::round((good + upper) / 2));
      }
    } else {
      s.step_total = static_cast<int>(rates.size());
      for (double rate : rates) {
        if (g_interrupted) break;
        run_step(rate);
      }
    }
  }
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

  const StepResult* best = nullptr;
  for (const StepResult& r : steps) {
    if (Lossless(r) && (best == nullptr || r.relayed_pps() > best->relayed_pps())) best = &r;
  }
  // The generator, not the super peer, set the limit when the best lossless
  // step was the open loop, or a faster step could not be offered in full
  // and lost nothing.
  if (best != nullptr) {
    for (const StepResult& r : steps) {
      if (!Lossless(r)) continue;
      if (r.target_pps == 0 && &r == best) generator_limited = true;
      if (!Reached(r) && RateOf(r) >= RateOf(*best)) generator_limited = true;
    }
  }
  if (best != nullptr) {
    std::fprintf(stderr,
                 "loadgen: highest lossless (< %.3g%%) rate: %.0f pps relayed = %.4f Mpps, %.3f "
                 "Gbit/s, p99 %.1f us%s\n",
                 FLAGS_loss_threshold_pct, best->relayed_pps(), best->relayed_pps() / 1e6,
                 best->relayed_bytes * 8 / best->seconds / 1e9, best->lat_p99_us,
                 generator_limited ? " (generator-limited: the generator could not offer more)"
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
    std::string out = absl::StrCat(
        "{\"tool\":\"drasyl-loadgen\",\"backend\":\"", (*io)->name(), "\",\"url\":\"", FLAGS_url,
        "\",\"nodes\":", n, ",\"sockets\":", s.k, ",\"active\":", active, ",\"pattern\":\"",
        FLAGS_pattern, "\",\"payload_bytes\":", FLAGS_payload, ",\"message_bytes\":", msg_len,
        ",\"arm\":", s.arm ? "true" : "false", ",\"difficulty\":", FLAGS_difficulty,
        ",\"hello_interval_ms\":", FLAGS_hello_interval_ms, ",\"hello_endpoints\":",
        FLAGS_hello_endpoints, ",\"loss_threshold_pct\":", Num(FLAGS_loss_threshold_pct),
        ",\"registration\":", PhaseJson(reg, "registered"),
        ",\"hello_flood\":", PhaseJson(flood, "acks"), ",\"hello_rtt_traffic_us\":{\"p50\":",
        Num(std::round(s.hello_rtt[kPhaseTraffic].Quantile(0.5) / 100) / 10), ",\"p99\":",
        Num(std::round(s.hello_rtt[kPhaseTraffic].Quantile(0.99) / 100) / 10), ",\"p999\":",
        Num(std::round(s.hello_rtt[kPhaseTraffic].Quantile(0.999) / 100) / 10), "},\"steps\":[");
    for (size_t i = 0; i < steps.size(); ++i) {
      absl::StrAppend(&out, i ? "," : "", StepJson(steps[i], msg_len));
    }
    absl::StrAppend(&out, "],\"max_lossless\":", best ? StepJson(*best, msg_len) : "null",
                    ",\"generator_limited\":", generator_limited ? "true" : "false",
                    ",\"acks_total\":", Get(s.acks), ",\"acks_bad\":", Get(s.acks_bad),
                    ",\"unites_total\":", Get(s.unites), ",\"foreign\":", Get(s.foreign),
                    ",\"tx_errors\":", (*io)->tx_errors(), ",\"sp_rss_kb\":{\"before\":", rss_before,
                    ",\"registered\":", rss_registered, ",\"end\":", rss_end,
                    "},\"bytes_per_peer\":", Num(std::round(bytes_per_peer)),
                    ",\"interrupted\":", g_interrupted ? "true" : "false", "}\n");
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }
  std::free(s.rx_flow_next);
  return rc;
}

}  // namespace
}  // namespace drasyl::loadgen

int main(int argc, char** argv) {
  // Keep common/config.cc (and with it the shared --dpdk_eal flag) linked.
  volatile auto keep_config = &drasyl::LoadConfig;
  (void)keep_config;
  gflags::SetUsageMessage(
      "drasyl-loadgen --url 'udp://127.0.0.1:22527?publicKey=<hex>&networkId=1' [flags]\n"
      "Plays --nodes simulated drasyl nodes against a super peer: registers them (HELLO/ACK),\n"
      "floods HELLOs, then relays APP traffic between node pairs and reports rates, loss,\n"
      "reordering and latency (README: Sizing your super peer); with --attack=KIND it\n"
      "attacks the super peer from an address of its own instead (bench/loadgen/attack.h).");
  gflags::SetVersionString("0.1.0");
  gflags::ParseCommandLineNonHelpFlags(&argc, &argv, true);
  if (FLAGS_help) {  // gflags' own --help exits 1 and lists every library's flags
    drasyl::PrintOwnFlagsHelp(argv[0], {"/bench/loadgen/"}, {"dpdk_eal"});
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
