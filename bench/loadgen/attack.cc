// drasyl-loadgen --attack: see attack.h. One thread attacks (from
// --attack_bind), the calling thread drives the honest nodes and measures.
#include "bench/loadgen/attack.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "bench/loadgen/attack_nodes.h"
#include "bench/loadgen/attack_traffic.h"
#include "bench/loadgen/identity_cache.h"
#include "bench/loadgen/packet_io.h"
#include "common/clock.h"
#include "common/wire.h"
#include "gflags/gflags.h"

DEFINE_string(attack, "",
              "Attack the super peer instead of measuring capacity: forged (HELLOs with random "
              "tags), sybil (valid HELLOs of many identities), replay (a node's captured "
              "HELLOs), garbage (malformed messages), tcp-idle (TCP connections that send "
              "nothing), none (the same measurement without an attack). See "
              "bench/loadgen/attack.h.");
DEFINE_string(attack_bind, "127.0.0.66", "The attacker's source address (its own; the honest "
                                         "nodes use --attack_nodes_bind).");
DEFINE_string(attack_nodes_bind, "auto",
              "Addresses of the honest nodes, one each: an IPv4 prefix a.b.c.d/len used in "
              "turn, one address for all, or 'auto' (127.101.0.0/16 for a loopback super "
              "peer, else the wildcard).");
DEFINE_uint64(attack_identities, 20000, "Identities with valid proof of work the attacker "
                                        "uses (forged, sybil), from --identities.");
DEFINE_uint64(attack_first_identity, 0,
              "Index in --identities of the first identity this run uses (honest nodes, then "
              "the attacker's): runs against one long-running super peer pick different "
              "ranges so that 'fresh' nodes are new to it.");
DEFINE_uint64(attack_fresh, 64, "Fresh nodes that register during the attack.");
DEFINE_uint64(attack_registered, 16, "Nodes registered before the attack that send a HELLO "
                                     "every 100 ms during it.");
DEFINE_double(attack_seconds, 5, "Duration of the attack (at least 2 s; the fresh nodes "
                                 "start within its first seconds - 1.5 s).");
DEFINE_int64(attack_warmup_ms, 500, "Attack time before the fresh nodes start.");
DEFINE_uint64(attack_connections, 9000, "tcp-idle: connections to hold open (capped by "
                                        "RLIMIT_NOFILE, which is raised to its hard limit).");
DEFINE_uint64(attack_abandon_ms, 0,
              "tcp-idle: give up a connection attempt not established within this many ms "
              "and open another (0: leave it to the kernel's SYN retransmission).");
DEFINE_uint64(attack_replays, 3, "replay: copies of each captured HELLO the attacker sends.");
DEFINE_uint64(attack_replay_apps, 20, "replay: APPs sent to the victim after each replay.");
DEFINE_bool(attack_replay_tcp, true, "replay: also replay over TCP when the URL has a tcpPort.");

DECLARE_string(identities);
DECLARE_int32(difficulty);
DECLARE_int32(threads);
DECLARE_bool(arm);
DECLARE_bool(json);

namespace drasyl::loadgen {
namespace {

constexpr double kGoalWithin1sPct = 99.0;
constexpr double kGoalRttP99Ms = 5.0;
constexpr uint64_t kFreshInterval = 250'000'000;  // ns: a node that retries
constexpr uint64_t kRegisteredInterval = 100'000'000;

enum class Kind { kNone, kForged, kSybil, kReplay, kGarbage, kTcpIdle };

bool ParseKind(const std::string& s, Kind* k) {
  if (s == "none") *k = Kind::kNone;
  else if (s == "forged") *k = Kind::kForged;
  else if (s == "sybil") *k = Kind::kSybil;
  else if (s == "replay") *k = Kind::kReplay;
  else if (s == "garbage") *k = Kind::kGarbage;
  else if (s == "tcp-idle") *k = Kind::kTcpIdle;
  else return false;
  return true;
}

// Local address of honest node i.
struct NodeAddresses {
  uint32_t base = 0, count = 0;  // IPv4 prefix: base + 1 + i % count
  SocketAddress single;
  SocketAddress At(size_t i) const {
    if (count > 0) return SocketAddress::V4(base + 1 + static_cast<uint32_t>(i % count), 0);
    return single;
  }
};

absl::StatusOr<NodeAddresses> ParseNodeAddresses(std::string text, const SocketAddress& sp) {
  const bool loopback_v4 = sp.is_v4() && sp.bytes()[0] == 127;
  if (text == "auto") text = loopback_v4 ? "127.101.0.0/16" : (sp.is_v4() ? "0.0.0.0" : "::");
  NodeAddresses out;
  const size_t slash = text.find('/');
  if (slash != std::string::npos) {
    in_addr a;
    int len = 0;
    if (inet_pton(AF_INET, text.substr(0, slash).c_str(), &a) != 1 ||
        std::sscanf(text.c_str() + slash + 1, "%d", &len) != 1 || len < 8 || len > 30) {
      return absl::InvalidArgumentError("--attack_nodes_bind: bad prefix " + text);
    }
    const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
    out.base = ntohl(a.s_addr) & mask;
    out.count = ~mask - 1;
    return out;
  }
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(
      text.find(':') != std::string::npos ? absl::StrCat("[", text, "]:0") : text + ":0");
  if (!a.ok()) return absl::InvalidArgumentError("--attack_nodes_bind: bad address " + text);
  out.single = *a;
  return out;
}

absl::StatusOr<SocketAddress> ParseHost(const std::string& text) {
  return SocketAddress::Parse(text.find(':') != std::string::npos ? absl::StrCat("[", text, "]:0")
                                                                 : text + ":0");
}

// ---------------------------------------------------------------- output

std::string Num(double v) {
  if (!std::isfinite(v)) return "null";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.6g", v);
}
std::string Opt(std::optional<double> v) {
  return v ? Num(std::round(*v * 1000) / 1000) : "null";
}
std::string OptText(std::optional<double> v, const char* never) {
  return v ? absl::StrFormat("%.2f ms", *v) : std::string(never);
}


// Sends `copies` of `bytes` from the attacker's socket.
void SendCopies(int fd, const std::string& bytes, uint64_t copies) {
  for (uint64_t i = 0; i < copies; ++i) ::send(fd, bytes.data(), bytes.size(), MSG_DONTWAIT);
}

struct ReplayCase {
  const char* name;
  const char* transport;
  uint64_t attacker_acks = 0, to_victim = 0, to_attacker = 0, sent = 0;
};

}  // namespace

bool AttackRequested() { return !FLAGS_attack.empty(); }

int RunAttack(const AttackTarget& target, const std::atomic<bool>* interrupted) {
  Kind kind;
  if (!ParseKind(FLAGS_attack, &kind)) {
    std::fprintf(stderr, "drasyl-loadgen: --attack must be forged, sybil, replay, garbage, "
                         "tcp-idle or none\n");
    return 2;
  }
  const bool tcp_nodes = kind == Kind::kTcpIdle;
  if (FLAGS_attack_seconds < 2) {
    std::fprintf(stderr, "drasyl-loadgen: --attack_seconds must be at least 2\n");
    return 2;
  }
  if (kind == Kind::kForged && !FLAGS_arm) {
    std::fprintf(stderr, "drasyl-loadgen: --attack=forged needs --arm (tags to forge)\n");
    return 2;
  }
  std::optional<SocketAddress> sp_tcp;
  if (target.tcp_port) {
    SocketAddress a = target.udp;
    a.set_port(*target.tcp_port);
    sp_tcp = a;
  }
  if (tcp_nodes && !sp_tcp) {
    std::fprintf(stderr, "drasyl-loadgen: --attack=tcp-idle needs the super peer's TCP port "
                         "(&tcpPort=N in --url, as its banner prints it)\n");
    return 2;
  }
  absl::StatusOr<SocketAddress> attacker = ParseHost(FLAGS_attack_bind);
  if (!attacker.ok() || attacker->family() != target.udp.family()) {
    std::fprintf(stderr, "drasyl-loadgen: --attack_bind must be an address of the super "
                         "peer's family\n");
    return 2;
  }
  absl::StatusOr<NodeAddresses> node_addr = ParseNodeAddresses(FLAGS_attack_nodes_bind, target.udp);
  if (!node_addr.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(node_addr.status().message()).c_str());
    return 2;
  }
  size_t n_registered = FLAGS_attack_registered;
  if (kind == Kind::kReplay) n_registered = std::max<size_t>(n_registered, 2);
  const size_t n_fresh = kind == Kind::kReplay ? 0 : FLAGS_attack_fresh;
  const size_t n_attack =
      kind == Kind::kForged || kind == Kind::kSybil || kind == Kind::kGarbage
          ? std::max<uint64_t>(1, FLAGS_attack_identities) : 0;
  const size_t first = FLAGS_attack_first_identity;
  const size_t honest = n_registered + n_fresh;
  const size_t total = first + honest + n_attack;
  RaiseFileLimit();

  // ---- identities and session keys (the attacker's too for sybil: valid HELLOs)
  absl::StatusOr<std::vector<Identity>> ids =
      LoadOrGenerateIdentities(FLAGS_identities, total, FLAGS_difficulty, FLAGS_threads);
  if (!ids.ok()) {
    std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(ids.status().message()).c_str());
    return 1;
  }
  std::vector<SessionKeys> keys;
  if (FLAGS_arm) {
    // Keys for all identities up to the last one used: the cache is a
    // prefix of the identity file.
    const size_t with_keys = kind == Kind::kSybil ? total : first + honest;
    std::vector<Identity> prefix(ids->begin(), ids->begin() + static_cast<ptrdiff_t>(with_keys));
    absl::StatusOr<std::vector<SessionKeys>> k =
        LoadOrDeriveSessionKeys(FLAGS_identities, prefix, target.pk, FLAGS_threads);
    if (!k.ok()) {
      std::fprintf(stderr, "drasyl-loadgen: %s\n", std::string(k.status().message()).c_str());
      return 1;
    }
    keys = std::move(*k);
    keys.resize(total);
  }

  // ---- honest nodes
  AttackNodes nodes(target.udp, sp_tcp, target.pk, target.network_id, FLAGS_arm, &*ids, &keys);
  std::vector<size_t> registered, fresh;
  for (size_t i = 0; i < honest; ++i) {
    absl::StatusOr<size_t> idx =
        nodes.Add(static_cast<uint32_t>(first + i), node_addr->At(i), tcp_nodes);
    if (!idx.ok()) {
      std::fprintf(stderr, "drasyl-loadgen: node %zu: %s\n", i,
                   std::string(idx.status().message()).c_str());
      return 1;
    }
    (i < n_registered ? registered : fresh).push_back(*idx);
  }
  std::fprintf(stderr,
               "attack: %s from %s against %s%s: %zu registered + %zu fresh honest nodes (%s, "
               "from %s), %zu attacker identities, %.1f s\n",
               FLAGS_attack.c_str(), attacker->HostString().c_str(),
               target.udp.ToString().c_str(),
               sp_tcp ? absl::StrCat(" (TCP ", sp_tcp->port(), ")").c_str() : "", n_registered,
               n_fresh, tcp_nodes ? "TCP" : "UDP", FLAGS_attack_nodes_bind.c_str(), n_attack,
               FLAGS_attack_seconds);

  // ---- registration before the attack
  {
    const uint64_t now = MonoNs();
    for (size_t i : registered) {
      AttackNode& n = nodes.node(i);
      n.next_hello_ns = now;
      n.interval_ns = kFreshInterval;
      n.stop_when_acked = true;
    }
    const uint64_t deadline = now + 10'000'000'000ull;
    for (;;) {
      size_t done = 0;
      for (size_t i : registered) done += nodes.node(i).acked_ns != 0;
      if (done == registered.size() || MonoNs() > deadline || interrupted->load()) break;
      nodes.Poll(5, nullptr);
    }
  }
  size_t reg_ok = 0;
  for (size_t i : registered) reg_ok += nodes.node(i).acked_ns != 0;
  std::fprintf(stderr, "attack: %zu/%zu nodes registered before the attack\n", reg_ok,
               registered.size());
  if (reg_ok == 0) {
    std::fprintf(stderr,
                 "drasyl-loadgen: no node registered before the attack. Check the URL, --arm, "
                 "--difficulty against MIN_POW_DIFFICULTY, and that the super peer is idle.\n");
    return 1;
  }

  AttackCounters ac;
  std::vector<uint64_t> fresh_ns, rtt_ns;
  uint64_t reg_hellos = 0, reg_closed = 0;
  std::vector<ReplayCase> replay;

  absl::StatusOr<int> attack_fd = absl::UnavailableError("unused");
  if (kind != Kind::kTcpIdle && kind != Kind::kNone) {
    attack_fd = OpenUdp(*attacker, target.udp, 8 << 20);
    if (!attack_fd.ok()) {
      std::fprintf(stderr, "drasyl-loadgen: attacker socket: %s (is %s a local address?)\n",
                   std::string(attack_fd.status().message()).c_str(),
                   FLAGS_attack_bind.c_str());
      return 1;
    }
  }

  if (kind == Kind::kReplay) {
    // ---- replay: B = registered[0] is the victim, C = registered[1] sends it APPs.
    if (reg_ok < 2 || nodes.node(registered[1]).acked_ns == 0) {
      std::fprintf(stderr, "drasyl-loadgen: replay needs two registered nodes\n");
      return 1;
    }
    (void)nodes.Watch(*attack_fd);
    const size_t b = registered[0], c = registered[1];
    for (size_t i : registered) nodes.node(i).interval_ns = 0;  // only what we send below
    auto hello_acked = [&](size_t i) {
      const uint64_t acks0 = nodes.node(i).acks;
      std::string bytes = nodes.SendHello(i, MonoNs());
      const uint64_t deadline = MonoNs() + 1'000'000'000ull;
      while (nodes.node(i).acks == acks0 && MonoNs() < deadline) nodes.Poll(5, nullptr);
      return bytes;
    };
    const std::string oldest = hello_acked(b);
    nodes.PollUntil(MonoNs() + 20'000'000, nullptr);
    hello_acked(b);
    nodes.PollUntil(MonoNs() + 20'000'000, nullptr);
    const std::string newest = hello_acked(b);
    std::optional<size_t> att_tcp;
    auto run_case = [&](const char* name, const char* transport, const std::string& bytes) {
      ReplayCase rc{name, transport};
      const bool tcp = std::strcmp(transport, "tcp") == 0;
      auto acks = [&] {
        return tcp ? nodes.node(*att_tcp).acks
                   : nodes.watched_by_type[static_cast<int>(wire::MessageType::kAck)];
      };
      auto apps = [&] {
        return tcp ? nodes.node(*att_tcp).apps
                   : nodes.watched_by_type[static_cast<int>(wire::MessageType::kApp)];
      };
      const uint64_t acks0 = acks(), apps_att0 = apps(), apps_b0 = nodes.node(b).apps;
      for (uint64_t k = 0; k < FLAGS_attack_replays; ++k) {
        if (tcp) nodes.SendRaw(*att_tcp, bytes);
        else SendCopies(*attack_fd, bytes, 1);
      }
      ac.sent.fetch_add(FLAGS_attack_replays);
      nodes.PollUntil(MonoNs() + 100'000'000, nullptr);  // the path change reaches the workers
      for (uint64_t k = 0; k < FLAGS_attack_replay_apps; ++k) {
        nodes.SendApp(c, b);
        nodes.PollUntil(MonoNs() + 1'000'000, nullptr);
      }
      nodes.PollUntil(MonoNs() + 300'000'000, nullptr);
      rc.sent = FLAGS_attack_replay_apps;
      rc.attacker_acks = acks() - acks0;
      rc.to_attacker = apps() - apps_att0;
      rc.to_victim = nodes.node(b).apps - apps_b0;
      std::fprintf(stderr,
                   "attack: replay of the %s HELLO over %s (%" PRIu64 " copies): attacker got %"
                   PRIu64 " ACKs; of %" PRIu64 " APPs to the victim %" PRIu64 " reached it, %"
                   PRIu64 " the attacker\n",
                   name, transport, FLAGS_attack_replays, rc.attacker_acks, rc.sent,
                   rc.to_victim, rc.to_attacker);
      replay.push_back(rc);
      // The victim moves on: a newer HELLO takes its path back.
      hello_acked(b);
      nodes.PollUntil(MonoNs() + 100'000'000, nullptr);
    };
    run_case("newest", "udp", newest);
    // The oldest HELLO, after the victim sent newer ones.
    run_case("older", "udp", oldest);
    // The attacker's TCP connection (when the super peer has TCP), opened
    // just before its replays (a super peer may give a connection only a
    // short time to present a HELLO): a node object with B's identity, so
    // that what reaches it is counted (the ACKs are decrypted with B's key,
    // which a real attacker lacks).
    if (sp_tcp && FLAGS_attack_replay_tcp) {
      absl::StatusOr<size_t> a = nodes.Add(nodes.node(b).id, *attacker, true);
      if (a.ok()) {
        att_tcp = *a;
        nodes.Open(*att_tcp);
        const uint64_t deadline = MonoNs() + 2'000'000'000ull;
        while (!nodes.node(*att_tcp).connected && MonoNs() < deadline) nodes.Poll(5, nullptr);
        if (!nodes.node(*att_tcp).connected) att_tcp.reset();
      }
      if (!att_tcp) std::fprintf(stderr, "attack: replay: no TCP connection; UDP only\n");
    }
    if (att_tcp) {
      const std::string newest_now = hello_acked(b);
      nodes.PollUntil(MonoNs() + 20'000'000, nullptr);
      run_case("newest", "tcp", newest_now);
      run_case("older", "tcp", oldest);
    }
    ac.seconds_ns.store(1);
  } else {
    // ---- the attack, with the measurement
    std::atomic<bool> stop{false};
    DatagramForge forge(kind == Kind::kSybil     ? DatagramKind::kSybil
                        : kind == Kind::kForged ? DatagramKind::kForged
                                                : DatagramKind::kGarbage,
                        target, *ids, first + honest, keys, FLAGS_arm, *attacker);
    std::thread attack_thread;
    if (kind == Kind::kTcpIdle) {
      const size_t limit = FileLimit();
      const size_t want = std::min<size_t>(FLAGS_attack_connections,
                                           limit > honest + 256 ? limit - honest - 256 : 0);
      if (want < FLAGS_attack_connections) {
        std::fprintf(stderr, "attack: RLIMIT_NOFILE %zu allows %zu connections, not %" PRIu64 "\n",
                     limit, want, FLAGS_attack_connections);
      }
      attack_thread = std::thread([&, want] {
        TcpIdleLoop(*attacker, *sp_tcp, want, FLAGS_attack_abandon_ms, &stop, &ac);
      });
    } else if (kind != Kind::kNone) {
      attack_thread = std::thread([&] { DatagramAttackLoop(*attack_fd, &forge, &stop, &ac); });
    }
    const uint64_t start = MonoNs();
    const uint64_t end = start + static_cast<uint64_t>(FLAGS_attack_seconds * 1e9);
    const uint64_t fresh_from = start + static_cast<uint64_t>(FLAGS_attack_warmup_ms) * 1000000ull;
    // The last fresh node starts 1.5 s before the end: its first second is
    // within the attack.
    const uint64_t fresh_to = std::max<uint64_t>(fresh_from, end - 1'500'000'000ull);
    for (size_t k = 0; k < fresh.size(); ++k) {
      AttackNode& n = nodes.node(fresh[k]);
      n.next_hello_ns = fresh_from + (fresh_to - fresh_from) * k / std::max<size_t>(1, fresh.size());
      n.interval_ns = kFreshInterval;
      n.stop_when_acked = true;
    }
    for (size_t k = 0; k < registered.size(); ++k) {
      AttackNode& n = nodes.node(registered[k]);
      if (n.acked_ns == 0) continue;
      n.pending.clear();
      n.next_hello_ns = fresh_from + kRegisteredInterval * k / registered.size();
      n.interval_ns = kRegisteredInterval;
      n.stop_when_acked = false;
      n.measure_rtt = true;
    }
    uint64_t hellos0 = 0;
    for (size_t i : registered) hellos0 += nodes.node(i).hellos;
    uint64_t next_progress = start + 1'000'000'000ull;
    while (MonoNs() < end && !interrupted->load()) {
      nodes.Poll(2, &rtt_ns);
      if (MonoNs() >= next_progress) {
        next_progress += 1'000'000'000ull;
        size_t reg = 0;
        for (size_t i : fresh) reg += nodes.node(i).acked_ns != 0;
        std::fprintf(stderr,
                     "attack: [%4.1fs] sent %" PRIu64 "%s, attacker got %" PRIu64
                     " ACKs; fresh registered %zu/%zu; %zu HELLO round trips\n",
                     (MonoNs() - start) / 1e9, ac.sent.load(),
                     kind == Kind::kTcpIdle ? absl::StrCat(" connects (", ac.open.load(), " open)").c_str()
                                            : "",
                     ac.rx_by_type[2].load(), reg, fresh.size(), rtt_ns.size());
      }
    }
    // Registered nodes stop here; their last answers may still come.
    for (size_t i : registered) nodes.node(i).interval_ns = 0;
    for (size_t i : fresh) nodes.node(i).interval_ns = 0;
    const uint64_t stopped = MonoNs();
    nodes.PollUntil(stopped + 200'000'000, &rtt_ns);
    stop = true;
    if (attack_thread.joinable()) attack_thread.join();
    for (size_t i : registered) {
      reg_hellos += nodes.node(i).hellos;
      reg_closed += nodes.node(i).closed_by_peer;
    }
    reg_hellos -= hellos0;
    // Unanswered HELLOs count as infinitely slow.
    uint64_t lost = 0;
    for (size_t i : registered) lost += nodes.node(i).pending.size();
    rtt_ns.insert(rtt_ns.end(), lost, UINT64_MAX);
    for (size_t i : fresh) {
      const AttackNode& n = nodes.node(i);
      // Registered only if acknowledged before the attack ended.
      fresh_ns.push_back(n.acked_ns != 0 && n.start_ns != 0 && n.acked_ns <= stopped
                             ? n.acked_ns - n.start_ns
                             : UINT64_MAX);
    }
    if (kind == Kind::kNone) ac.seconds_ns.store(stopped - start);
  }

  // ---- results
  const double seconds = ac.seconds_ns.load() / 1e9;
  const double rate = seconds > 0 && kind != Kind::kReplay ? ac.sent.load() / seconds : 0;
  size_t within = 0, fresh_reg = 0;
  for (uint64_t v : fresh_ns) {
    within += v <= 1'000'000'000ull;
    fresh_reg += v != UINT64_MAX;
  }
  std::optional<double> within_pct;
  if (!fresh_ns.empty()) within_pct = 100.0 * within / fresh_ns.size();
  const std::optional<double> f50 = QuantileMs(fresh_ns, 0.5), f99 = QuantileMs(fresh_ns, 0.99);
  const std::optional<double> r50 = QuantileMs(rtt_ns, 0.5), r99 = QuantileMs(rtt_ns, 0.99);
  uint64_t rtt_lost = 0;
  for (uint64_t v : rtt_ns) rtt_lost += v == UINT64_MAX;
  uint64_t attacker_acks = ac.rx_by_type[static_cast<int>(wire::MessageType::kAck)].load();
  uint64_t victim_to_victim = 0, victim_to_attacker = 0, victim_sent = 0;
  for (const ReplayCase& rc : replay) {
    attacker_acks += rc.attacker_acks;
    victim_to_victim += rc.to_victim;
    victim_to_attacker += rc.to_attacker;
    victim_sent += rc.sent;
  }
  const bool goal_fresh = within_pct && *within_pct >= kGoalWithin1sPct;
  const bool goal_rtt = r99 && *r99 <= kGoalRttP99Ms;

  if (kind != Kind::kReplay) {
    std::fprintf(stderr,
                 "attack: %s: %" PRIu64 " %s in %.2f s (%.0f/s)%s; the attacker got %" PRIu64
                 " ACKs\n",
                 FLAGS_attack.c_str(), ac.sent.load(),
                 kind == Kind::kTcpIdle ? "connection attempts" : "datagrams", seconds, rate,
                 kind == Kind::kTcpIdle
                     ? absl::StrFormat(", peak %" PRIu64 " open, %" PRIu64 " closed by the super peer",
                                       ac.open_peak.load(), ac.closed_by_peer.load()).c_str()
                     : "",
                 attacker_acks);
    std::fprintf(stderr,
                 "attack: fresh nodes: %zu/%zu registered, %.1f%% within 1 s (goal >= %.0f%%: "
                 "%s); registration p50 %s, p99 %s\n",
                 fresh_reg, fresh_ns.size(), within_pct.value_or(0), kGoalWithin1sPct,
                 goal_fresh ? "met" : "NOT met", OptText(f50, "never").c_str(),
                 OptText(f99, "never").c_str());
    std::fprintf(stderr,
                 "attack: registered nodes: %zu HELLO round trips, %" PRIu64 " unanswered; p50 "
                 "%s, p99 %s (goal <= %.0f ms: %s)%s\n",
                 rtt_ns.size(), rtt_lost, OptText(r50, "unanswered").c_str(),
                 OptText(r99, "unanswered").c_str(), kGoalRttP99Ms, goal_rtt ? "met" : "NOT met",
                 reg_closed ? absl::StrCat("; their connections were closed ", reg_closed,
                                           " times").c_str()
                            : "");
  } else {
    std::fprintf(stderr,
                 "attack: replay: %" PRIu64 " of %" PRIu64 " APPs to the victim reached it, %" PRIu64
                 " reached the attacker (goal: all to the victim, none to the attacker: %s)\n",
                 victim_to_victim, victim_sent, victim_to_attacker,
                 victim_to_attacker == 0 && victim_to_victim == victim_sent ? "met" : "NOT met");
  }

  if (FLAGS_json) {
    std::string out = absl::StrCat(
        "{\"tool\":\"drasyl-loadgen\",\"attack\":\"", FLAGS_attack, "\",\"attack_bind\":\"",
        attacker->HostString(), "\",\"transport\":\"", tcp_nodes ? "tcp" : "udp",
        "\",\"attack_identities\":", n_attack, ",\"difficulty\":", FLAGS_difficulty,
        ",\"seconds\":", Num(std::round(seconds * 1000) / 1000),
        ",\"attack_sent\":", ac.sent.load(), ",\"attack_rate_per_s\":", Num(std::round(rate)),
        ",\"attack_send_errors\":", ac.send_errors.load());
    if (kind == Kind::kTcpIdle) {
      absl::StrAppend(&out, ",\"attack_connections_wanted\":", FLAGS_attack_connections,
                      ",\"attack_connections_peak\":", ac.open_peak.load(),
                      ",\"attack_connections_closed_by_sp\":", ac.closed_by_peer.load(),
                      ",\"attack_connections_abandoned\":", ac.abandoned.load(),
                      ",\"attack_connect_errors\":", ac.connect_errors.load());
    }
    absl::StrAppend(
        &out, ",\"attacker_acks\":", attacker_acks, ",\"fresh_nodes\":", fresh_ns.size(),
        ",\"fresh_registered\":", fresh_reg,
        ",\"fresh_registered_within_1s_pct\":",
        within_pct ? Num(std::round(*within_pct * 100) / 100) : "null",
        ",\"fresh_registration_p50_ms\":", Opt(f50), ",\"fresh_registration_p99_ms\":", Opt(f99),
        ",\"registered_nodes\":", reg_ok, ",\"registered_hellos\":", reg_hellos,
        ",\"registered_hello_rtt_samples\":", rtt_ns.size(),
        ",\"registered_hellos_unanswered\":", rtt_lost,
        ",\"registered_hello_rtt_p50_ms\":", Opt(r50), ",\"registered_hello_rtt_p99_ms\":", Opt(r99),
        ",\"registered_connections_closed\":", reg_closed,
        ",\"goals\":{\"fresh_registered_within_1s_pct\":", Num(kGoalWithin1sPct),
        ",\"registered_hello_rtt_p99_ms\":", Num(kGoalRttP99Ms), "}");
    if (kind == Kind::kReplay) {
      absl::StrAppend(&out, ",\"victim_apps_sent\":", victim_sent,
                      ",\"victim_apps_to_victim\":", victim_to_victim,
                      ",\"victim_apps_to_attacker\":", victim_to_attacker, ",\"replay\":[");
      for (size_t i = 0; i < replay.size(); ++i) {
        const ReplayCase& rc = replay[i];
        absl::StrAppend(&out, i ? "," : "", "{\"hello\":\"", rc.name, "\",\"transport\":\"",
                        rc.transport, "\",\"copies\":",
                        FLAGS_attack_replays, ",\"attacker_acks\":", rc.attacker_acks,
                        ",\"apps_sent\":", rc.sent, ",\"apps_to_victim\":", rc.to_victim,
                        ",\"apps_to_attacker\":", rc.to_attacker, "}");
      }
      absl::StrAppend(&out, "]");
    } else {
      absl::StrAppend(&out, ",\"goals_met\":{\"fresh\":", goal_fresh ? "true" : "false",
                      ",\"registered_rtt\":", goal_rtt ? "true" : "false", "}");
    }
    absl::StrAppend(&out, ",\"interrupted\":", interrupted->load() ? "true" : "false", "}\n");
    std::fputs(out.c_str(), stdout);
    std::fflush(stdout);
  }
  if (attack_fd.ok()) ::close(*attack_fd);
  return 0;
}

}  // namespace drasyl::loadgen
