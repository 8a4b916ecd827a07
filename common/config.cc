#include "common/config.h"

#include <gflags/gflags.h>

#include <algorithm>
#include <cstdlib>
#include <initializer_list>
#include <limits>
#include <string_view>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

// Every setting is also read from DRASYL_<NAME> / NETSODY_<NAME>; a flag given
// on the command line wins over the environment.
DEFINE_string(identity_file, "drasyl.identity",
              "Path of the identity file (created if missing). "
              "Env: DRASYL_IDENTITY_FILE / NETSODY_IDENTITY_FILE.");
DEFINE_int32(network_id, 1,
             "Network id; peers of other networks are rejected. "
             "Env: DRASYL_NETWORK_ID / NETSODY_NETWORK_ID.");
DEFINE_string(udp4_listen, "0.0.0.0:22527",
              "UDP IPv4 listen address ip:port; empty disables. "
              "Env: DRASYL_UDP4_LISTEN / NETSODY_UDP4_LISTEN.");
DEFINE_string(udp6_listen, "[::]:22527",
              "UDP IPv6 listen address [ip]:port (dual-stack when [::]); empty disables. "
              "Env: DRASYL_UDP6_LISTEN / NETSODY_UDP6_LISTEN.");
DEFINE_string(tcp4_listen, "0.0.0.0:8443",
              "TCP fallback IPv4 listen address ip:port; empty disables. "
              "Env: DRASYL_TCP4_LISTEN / NETSODY_TCP4_LISTEN.");
DEFINE_string(tcp6_listen, "[::]:8443",
              "TCP fallback IPv6 listen address [ip]:port; empty disables. "
              "Env: DRASYL_TCP6_LISTEN / NETSODY_TCP6_LISTEN.");
DEFINE_bool(arm_messages, true,
            "Require armed (encrypted) HELLOs and arm ACK/UNITE. "
            "Env: DRASYL_ARM_MESSAGES / NETSODY_ARM_MESSAGES.");
DEFINE_bool(verify_senders, false,
            "Relay an APP only when its sender is a registered peer and the message comes "
            "from that peer's current path (the UDP address and port of its last HELLO, or "
            "its TCP connection); others are dropped and counted (unverified_sender). Off: "
            "any sender is relayed, as by the reference; on: a node whose NAT mapping "
            "changed is relayed again after its next HELLO. "
            "Env: DRASYL_VERIFY_SENDERS / NETSODY_VERIFY_SENDERS.");
DEFINE_int64(send_unites, 5000,
             "UNITE rate limit per peer pair in ms; -1 never, 0 always. "
             "Env: DRASYL_SEND_UNITES / NETSODY_SEND_UNITES.");
DEFINE_int64(max_peers, 8192,
             "Peer table capacity; 0 = no limit. Env: DRASYL_MAX_PEERS / NETSODY_MAX_PEERS.");
DEFINE_int32(min_pow_difficulty, 24,
             "Minimum proof-of-work difficulty (leading zero bits) of peer identities. "
             "Env: DRASYL_MIN_POW_DIFFICULTY / NETSODY_MIN_POW_DIFFICULTY.");
DEFINE_int64(hello_timeout, 30000,
             "ms without HELLO after which a peer is dropped. "
             "Env: DRASYL_HELLO_TIMEOUT / NETSODY_HELLO_TIMEOUT.");
DEFINE_int64(hello_max_age, 300000,
             "Maximum age in ms of a HELLO's timestamp. "
             "Env: DRASYL_HELLO_MAX_AGE / NETSODY_HELLO_MAX_AGE.");
DEFINE_int64(peers_print_interval, 5000,
             "Interval in ms of the periodic peer list; 0 disables. "
             "Env: DRASYL_PEERS_PRINT_INTERVAL / NETSODY_PEERS_PRINT_INTERVAL.");
DEFINE_string(prometheus_listen, "127.0.0.1:9898",
              "Prometheus /metrics listen address; empty disables. "
              "Env: DRASYL_PROMETHEUS_LISTEN / NETSODY_PROMETHEUS_LISTEN.");
DEFINE_string(prometheus_token, "",
              "Bearer token required for /metrics; empty = no authentication. "
              "Env: DRASYL_PROMETHEUS_TOKEN / NETSODY_PROMETHEUS_TOKEN.");
DEFINE_int32(workers, 0,
             "Data plane worker threads; 0 = one per core. "
             "Env: DRASYL_WORKERS / NETSODY_WORKERS.");
DEFINE_int32(max_tcp_connections, 0,
             "Maximum concurrent TCP fallback connections; 0 = same as max_peers. "
             "Env: DRASYL_MAX_TCP_CONNECTIONS / NETSODY_MAX_TCP_CONNECTIONS.");
DEFINE_int64(max_peers_per_source, 256,
             "Peers one source (an IPv4 address, an IPv6 /64) may hold in the table; 0 = no "
             "limit. 256 leaves room for a carrier-grade NAT address shared by hundreds of "
             "subscribers while one host cannot fill the table. "
             "Env: DRASYL_MAX_PEERS_PER_SOURCE / NETSODY_MAX_PEERS_PER_SOURCE.");
DEFINE_int64(control_rate_per_source, 500,
             "Messages per second one source (an IPv4 address, an IPv6 /64) may send to the "
             "control thread (HELLOs), bursts of one second's worth; over it they are dropped "
             "by the workers (source_rate_limited); 0 = no limit. "
             "Env: DRASYL_CONTROL_RATE_PER_SOURCE / NETSODY_CONTROL_RATE_PER_SOURCE.");
DEFINE_int32(max_tcp_connections_per_source, 64,
             "TCP fallback connections one source (an IPv4 address, an IPv6 /64) may hold; "
             "0 = no limit. "
             "Env: DRASYL_MAX_TCP_CONNECTIONS_PER_SOURCE / NETSODY_MAX_TCP_CONNECTIONS_PER_SOURCE.");
DEFINE_int64(tcp_hello_timeout, 5000,
             "ms a TCP fallback connection has to present a valid HELLO before it is closed. "
             "Env: DRASYL_TCP_HELLO_TIMEOUT / NETSODY_TCP_HELLO_TIMEOUT.");
DEFINE_string(dpdk_eal, "",
              "DPDK EAL arguments (space separated); empty uses kernel sockets. "
              "Env: DRASYL_DPDK_EAL / NETSODY_DPDK_EAL.");
DEFINE_string(dpdk_addr, "",
              "Comma-separated addr/prefix CIDRs owned by the DPDK ports, each optionally "
              "followed by @port<N> (the DPDK port id whose link carries it; default 0) and/or "
              "@vlan<VID> (802.1Q VLAN 1-4094 on that port; default untagged), e.g. "
              "10.0.0.1/24,10.1.0.1/24@vlan100,10.2.0.1/24@port1. Tagged frames of VLANs "
              "without an address are dropped. "
              "Env: DRASYL_DPDK_ADDR / NETSODY_DPDK_ADDR.");
DEFINE_int32(dpdk_mtu, 0,
             "MTU (IP bytes) of every DPDK port, set on the port; 0 = the port's own (for "
             "net_af_packet its interface's). Larger datagrams are sent in IP fragments; "
             "jumbo frames where the port supports them; at least 1280. "
             "Env: DRASYL_DPDK_MTU / NETSODY_DPDK_MTU.");

DEFINE_string(af_xdp, "",
              "Comma-separated network interfaces the kernel keeps (a shared NIC) on whose "
              "AF_XDP sockets the DPDK workers relay: an XDP program of ours hands them only UDP "
              "to the listener ports on the interfaces' own addresses (the kernel's; when they change "
              "the super peer exits for a restart), "
              "everything else stays the kernel's. No TAP, no --dpdk_addr; --dpdk_eal optional "
              "(lcores, file prefix). Env: DRASYL_AF_XDP / NETSODY_AF_XDP.");

namespace drasyl {
namespace {

// Durations are kept in ms; this bound keeps ms -> ns conversions in int64.
constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1'000'000;

// A setting's raw text and where it came from (for error messages).
struct RawValue {
  std::string text;
  std::string source;  // "--flag" or "DRASYL_NAME" / "NETSODY_NAME"
};

class Loader {
 public:
  Loader(EnvLookup env, void* ctx) : env_(env), ctx_(ctx) {}

  // Flag on the command line > DRASYL_/NETSODY_ variable > flag default.
  absl::StatusOr<RawValue> Get(const char* flag) const {
    gflags::CommandLineFlagInfo info = gflags::GetCommandLineFlagInfoOrDie(flag);
    if (!info.is_default) return RawValue{info.current_value, absl::StrCat("--", flag)};
    std::string upper = absl::AsciiStrToUpper(flag);
    std::string drasyl_name = "DRASYL_" + upper;
    std::string netsody_name = "NETSODY_" + upper;
    std::optional<std::string> d = env_(drasyl_name.c_str(), ctx_);
    std::optional<std::string> n = env_(netsody_name.c_str(), ctx_);
    if (d && n && *d != *n) {
      return absl::InvalidArgumentError(
          absl::StrFormat("conflicting values %s='%s' and %s='%s'; set only one", drasyl_name,
                          *d, netsody_name, *n));
    }
    if (d) return RawValue{*d, drasyl_name};
    if (n) return RawValue{*n, netsody_name};
    return RawValue{info.current_value, absl::StrCat("--", flag)};
  }

  std::optional<std::string> Env(const char* name) const { return env_(name, ctx_); }

 private:
  EnvLookup env_;
  void* ctx_;
};

absl::Status InvalidValue(const RawValue& raw, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrFormat("invalid value '%s' for %s: %s", raw.text,
                                                    raw.source, std::string(why)));
}

// Strict decimal: optional '-', digits only (no spaces, no '+').
absl::StatusOr<int64_t> ParseInt(const RawValue& raw, int64_t min, int64_t max) {
  std::string_view s = raw.text;
  std::string_view digits = (!s.empty() && s.front() == '-') ? s.substr(1) : s;
  bool ok = !digits.empty();
  for (char c : digits) ok = ok && c >= '0' && c <= '9';
  int64_t value = 0;
  if (!ok || !absl::SimpleAtoi(raw.text, &value)) {
    return InvalidValue(raw, "not an integer");
  }
  if (value < min || value > max) {
    return InvalidValue(raw, absl::StrFormat("must be between %d and %d", min, max));
  }
  return value;
}

absl::StatusOr<bool> ParseBool(const RawValue& raw) {
  for (const char* t : {"true", "1", "yes"}) {
    if (absl::EqualsIgnoreCase(raw.text, t)) return true;
  }
  for (const char* f : {"false", "0", "no"}) {
    if (absl::EqualsIgnoreCase(raw.text, f)) return false;
  }
  return InvalidValue(raw, "expected true/false/1/0/yes/no");
}

enum class Family { kAny, kV4, kV6 };

// Empty text disables the listener.
absl::StatusOr<std::optional<SocketAddress>> ParseListen(const RawValue& raw, Family family) {
  if (raw.text.empty()) return std::optional<SocketAddress>();
  absl::StatusOr<SocketAddress> addr = SocketAddress::Parse(raw.text);
  if (!addr.ok()) return InvalidValue(raw, std::string(addr.status().message()));
  if (family == Family::kV4 && !addr->is_v4()) return InvalidValue(raw, "expected an IPv4 address");
  if (family == Family::kV6 && !addr->is_v6()) {
    return InvalidValue(raw, "expected an IPv6 address in brackets");
  }
  return std::optional<SocketAddress>(*addr);
}

// Syntax check only: "a.b.c.d/n" (n <= 32) or "v6/n" (n <= 128), each with
// an optional placement suffix (SplitDpdkAddr).
absl::StatusOr<std::vector<std::string>> ParseCidrs(const RawValue& raw) {
  std::vector<std::string> out;
  if (raw.text.empty()) return out;
  for (absl::string_view piece : absl::StrSplit(raw.text, ',')) {
    std::string entry(absl::StripAsciiWhitespace(piece));
    absl::StatusOr<std::pair<std::string, DpdkAddrPlacement>> split = SplitDpdkAddr(entry);
    if (!split.ok()) return InvalidValue(raw, std::string(split.status().message()));
    const std::string& cidr = split->first;
    size_t slash = cidr.find('/');
    if (slash == std::string::npos) {
      return InvalidValue(raw, absl::StrFormat("'%s' is not addr/prefix", cidr));
    }
    std::string host = cidr.substr(0, slash);
    std::string prefix = cidr.substr(slash + 1);
    bool v6 = host.find(':') != std::string::npos;
    // Reuse the socket address parser for the address part.
    absl::StatusOr<SocketAddress> addr =
        SocketAddress::Parse(v6 ? absl::StrCat("[", host, "]:0") : absl::StrCat(host, ":0"));
    if (!addr.ok() || host.find('%') != std::string::npos) {
      return InvalidValue(raw, absl::StrFormat("'%s' has an invalid address", cidr));
    }
    RawValue prefix_raw{prefix, raw.source};
    bool digits = !prefix.empty() && prefix.size() <= 3;
    for (char c : prefix) digits = digits && c >= '0' && c <= '9';
    int64_t bits = 0;
    if (!digits || !absl::SimpleAtoi(prefix, &bits) || bits > (v6 ? 128 : 32)) {
      return InvalidValue(raw, absl::StrFormat("'%s' has an invalid prefix length", cidr));
    }
    out.push_back(entry);
  }
  return out;
}

// RUST_LOG as the reference's systemd units set it: "info", or an
// EnvFilter-style list "info,netsody=debug" whose bare level wins. Without a
// bare level, the most verbose target directive is used (all targets are ours).
absl::Status ApplyRustLog(const std::string& value, Config* config) {
  // Verbosity rank: -1 debug/trace, then glog minloglevel 0 INFO .. 3 FATAL ("off").
  auto rank_of = [](std::string_view token) -> std::optional<int> {
    std::string t = absl::AsciiStrToLower(std::string(token));
    if (t == "debug" || t == "trace") return -1;
    if (t == "info") return 0;
    if (t == "warn") return 1;
    if (t == "error") return 2;
    if (t == "off") return 3;
    return std::nullopt;
  };
  auto invalid = [&](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrFormat("invalid value '%s' for RUST_LOG: %s", value, why));
  };
  std::optional<int> bare;
  std::optional<int> most_verbose;
  for (absl::string_view piece : absl::StrSplit(value, ',')) {
    std::string token(absl::StripAsciiWhitespace(piece));
    if (token.empty()) continue;
    size_t eq = token.find('=');
    std::optional<int> rank =
        rank_of(eq == std::string::npos ? std::string_view(token)
                                        : std::string_view(token).substr(eq + 1));
    if (!rank) return invalid(absl::StrFormat("unknown level in '%s'", token));
    if (eq == std::string::npos) {
      bare = rank;
    } else if (!most_verbose || *rank < *most_verbose) {
      most_verbose = rank;
    }
  }
  std::optional<int> chosen = bare ? bare : most_verbose;
  if (!chosen) return absl::OkStatus();
  config->verbose = *chosen < 0;
  config->log_level = *chosen < 0 ? 0 : *chosen;
  return absl::OkStatus();
}

std::optional<std::string> GetEnv(const char* name, void* /*ctx*/) {
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

}  // namespace

absl::StatusOr<Config> LoadConfigFrom(EnvLookup env, void* ctx) {
  Loader loader(env, ctx);
  Config c;

  // Fetches a setting's raw value or returns its error from this function.
#define DRASYL_RAW(var, flag)                         \
  absl::StatusOr<RawValue> var##_or = loader.Get(flag); \
  if (!var##_or.ok()) return var##_or.status();         \
  const RawValue& var = *var##_or

  {
    DRASYL_RAW(raw, "identity_file");
    if (raw.text.empty()) return InvalidValue(raw, "must not be empty");
    c.identity_file = raw.text;
  }
  {
    DRASYL_RAW(raw, "network_id");
    absl::StatusOr<int64_t> v = ParseInt(raw, std::numeric_limits<int32_t>::min(),
                                         std::numeric_limits<int32_t>::max());
    if (!v.ok()) return v.status();
    c.network_id = static_cast<int32_t>(*v);
  }
  struct ListenSetting {
    const char* flag;
    Family family;
    std::optional<SocketAddress>* out;
  };
  for (const ListenSetting& s : {ListenSetting{"udp4_listen", Family::kV4, &c.udp4_listen},
                                 ListenSetting{"udp6_listen", Family::kV6, &c.udp6_listen},
                                 ListenSetting{"tcp4_listen", Family::kV4, &c.tcp4_listen},
                                 ListenSetting{"tcp6_listen", Family::kV6, &c.tcp6_listen},
                                 ListenSetting{"prometheus_listen", Family::kAny,
                                               &c.prometheus_listen}}) {
    DRASYL_RAW(raw, s.flag);
    absl::StatusOr<std::optional<SocketAddress>> v = ParseListen(raw, s.family);
    if (!v.ok()) return v.status();
    *s.out = *v;
  }
  {
    DRASYL_RAW(raw, "arm_messages");
    absl::StatusOr<bool> v = ParseBool(raw);
    if (!v.ok()) return v.status();
    c.arm_messages = *v;
  }
  {
    DRASYL_RAW(raw, "verify_senders");
    absl::StatusOr<bool> v = ParseBool(raw);
    if (!v.ok()) return v.status();
    c.verify_senders = *v;
  }
  struct IntSetting {
    const char* flag;
    int64_t min;
    int64_t max;
    int64_t* out;
  };
  int64_t max_peers = 0, min_pow = 0, workers = 0, max_tcp = 0, max_tcp_per_source = 0;
  int64_t dpdk_mtu = 0;
  for (const IntSetting& s : {
           IntSetting{"send_unites", -1, kMaxMillis, &c.send_unites_ms},
           IntSetting{"max_peers", 0, std::numeric_limits<uint32_t>::max(), &max_peers},
           IntSetting{"min_pow_difficulty", 0, 256, &min_pow},
           IntSetting{"hello_timeout", 1, kMaxMillis, &c.hello_timeout_ms},
           IntSetting{"hello_max_age", 1, kMaxMillis, &c.hello_max_age_ms},
           IntSetting{"peers_print_interval", 0, kMaxMillis, &c.peers_print_interval_ms},
           IntSetting{"workers", 0, 1024, &workers},
           IntSetting{"max_tcp_connections", 0, std::numeric_limits<int32_t>::max(), &max_tcp},
           IntSetting{"max_peers_per_source", 0, std::numeric_limits<uint32_t>::max(),
                      &c.max_peers_per_source},
           IntSetting{"control_rate_per_source", 0, 1'000'000'000, &c.control_rate_per_source},
           IntSetting{"max_tcp_connections_per_source", 0, std::numeric_limits<int32_t>::max(),
                      &max_tcp_per_source},
           IntSetting{"tcp_hello_timeout", 1, kMaxMillis, &c.tcp_hello_timeout_ms},
           IntSetting{"dpdk_mtu", 0, 65535, &dpdk_mtu},
       }) {
    DRASYL_RAW(raw, s.flag);
    absl::StatusOr<int64_t> v = ParseInt(raw, s.min, s.max);
    if (!v.ok()) return v.status();
    *s.out = *v;
  }
  c.max_peers = static_cast<uint32_t>(max_peers);
  c.min_pow_difficulty = static_cast<int>(min_pow);
  c.workers = static_cast<int>(workers);
  c.max_tcp_connections = static_cast<int>(max_tcp);
  c.max_tcp_connections_per_source = static_cast<int>(max_tcp_per_source);
  if (dpdk_mtu > 0 && dpdk_mtu < 1280) {
    DRASYL_RAW(raw, "dpdk_mtu");
    return InvalidValue(raw, "must be 0 (the port's MTU) or at least 1280 (IPv6's minimum)");
  }
  c.dpdk_mtu = static_cast<int>(dpdk_mtu);
  {
    DRASYL_RAW(raw, "prometheus_token");
    c.prometheus_token = raw.text;
  }
  {
    DRASYL_RAW(raw, "dpdk_eal");
    c.dpdk_eal = raw.text;
  }
  {
    DRASYL_RAW(raw, "dpdk_addr");
    absl::StatusOr<std::vector<std::string>> v = ParseCidrs(raw);
    if (!v.ok()) return v.status();
    c.dpdk_addr = std::move(*v);
  }
  {
    DRASYL_RAW(raw, "af_xdp");
    for (absl::string_view piece : absl::StrSplit(raw.text, ',', absl::SkipWhitespace())) {
      std::string name(absl::StripAsciiWhitespace(piece));
      bool ok = !name.empty() && name.size() < 16 && name != "." && name != "..";
      for (char ch : name) ok = ok && ch > ' ' && ch != '/' && ch != ':' && ch < 127;
      if (!ok) return InvalidValue(raw, absl::StrFormat("'%s' is not an interface name", name));
      if (std::find(c.af_xdp.begin(), c.af_xdp.end(), name) != c.af_xdp.end()) {
        return InvalidValue(raw, absl::StrFormat("'%s' is given twice", name));
      }
      c.af_xdp.push_back(std::move(name));
    }
  }
#undef DRASYL_RAW

  if (std::optional<std::string> rust_log = loader.Env("RUST_LOG")) {
    absl::Status s = ApplyRustLog(*rust_log, &c);
    if (!s.ok()) return s;
  }
  return c;
}

absl::StatusOr<Config> LoadConfig() { return LoadConfigFrom(&GetEnv, nullptr); }

absl::StatusOr<std::pair<std::string, DpdkAddrPlacement>> SplitDpdkAddr(const std::string& entry) {
  std::vector<std::string> parts = absl::StrSplit(entry, '@');
  DpdkAddrPlacement where;
  bool have_port = false, have_vlan = false;
  // Digits only (no sign, no spaces), at most 4 of them.
  auto number = [](absl::string_view text, int* out) {
    bool ok = !text.empty() && text.size() <= 4;
    for (char c : text) ok = ok && c >= '0' && c <= '9';
    return ok && absl::SimpleAtoi(text, out);
  };
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    if (absl::ConsumePrefix(&p, "port") && !have_port) {
      // A port id (listener byte of a path); whether it exists is the backend's check.
      if (!number(p, &where.port) || where.port > 255) {
        return absl::InvalidArgumentError(
            absl::StrFormat("'%s': '@%s' is not @port<N> with N a DPDK port id", entry, parts[i]));
      }
      have_port = true;
    } else if (p = parts[i]; absl::ConsumePrefix(&p, "vlan") && !have_vlan) {
      if (!number(p, &where.vlan) || where.vlan < 1 || where.vlan > 4094) {
        return absl::InvalidArgumentError(
            absl::StrFormat("'%s': '@%s' is not @vlan<VID> with VID 1-4094", entry, parts[i]));
      }
      have_vlan = true;
    } else {
      return absl::InvalidArgumentError(absl::StrFormat(
          "'%s': unknown or repeated suffix '@%s' (expected @port<N> and/or @vlan<VID>)", entry,
          parts[i]));
    }
  }
  return std::make_pair(parts[0], where);
}

}  // namespace drasyl
