#include "config/config.h"

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
#include "config/dpdk_addr.h"

namespace drasyl {
namespace {

// Durations are kept in ms; this bound keeps ms -> ns conversions in int64.
constexpr int64_t kMaxMillis = std::numeric_limits<int64_t>::max() / 1'000'000;

absl::Status InvalidValue(const RawSetting& raw, std::string_view why) {
  return absl::InvalidArgumentError(absl::StrFormat("invalid value '%s' for %s: %s", raw.text,
                                                    raw.source, std::string(why)));
}

// Strict decimal: optional '-', digits only (no spaces, no '+').
absl::StatusOr<int64_t> ParseInt(const RawSetting& raw, int64_t min, int64_t max) {
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

absl::StatusOr<bool> ParseBool(const RawSetting& raw) {
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
absl::StatusOr<std::optional<SocketAddress>> ParseListen(const RawSetting& raw, Family family) {
  if (raw.text.empty()) return std::optional<SocketAddress>();
  absl::StatusOr<SocketAddress> addr = SocketAddress::Parse(raw.text);
  if (!addr.ok()) return InvalidValue(raw, std::string(addr.status().message()));
  if (family == Family::kV4 && !addr->is_v4()) return InvalidValue(raw, "expected an IPv4 address");
  if (family == Family::kV6 && !addr->is_v6()) {
    return InvalidValue(raw, "expected an IPv6 address in brackets");
  }
  return std::optional<SocketAddress>(*addr);
}

absl::StatusOr<std::vector<DpdkAddress>> ParseDpdkAddr(const RawSetting& raw) {
  absl::StatusOr<std::vector<DpdkAddress>> list = ParseDpdkAddressList(raw.text);
  if (!list.ok()) return InvalidValue(raw, std::string(list.status().message()));
  return list;
}

// The stem of kernel interface names (see dev_valid_name): the TAPs are
// <name><N>[.<VID>], at most 15 characters (the backend checks the whole).
absl::Status CheckTapName(const RawSetting& raw) {
  if (raw.text.empty() || raw.text.size() > 14) {
    return InvalidValue(raw, "must be 1 to 14 characters (the TAPs are <name><N>[.<VID>])");
  }
  for (char c : raw.text) {
    if (c == '/' || c == ':' || c == '.' || c == '%' || absl::ascii_isspace(c) ||
        !absl::ascii_isprint(c)) {
      return InvalidValue(raw, "an interface name has no '/', ':', '.', '%' or white space");
    }
  }
  return absl::OkStatus();
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
  Config c;

  // Fetches a setting's raw value or returns its error from this function.
#define DRASYL_RAW(var, flag)                                      \
  absl::StatusOr<RawSetting> var##_or = ReadSetting(flag, env, ctx); \
  if (!var##_or.ok()) return var##_or.status();                      \
  const RawSetting& var = *var##_or

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
  int64_t dpdk_mtu = 0, kx_threads = 0, idle_sleep_us = 0;
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
           IntSetting{"housekeeping_interval_ms", 1, kMaxMillis, &c.housekeeping_interval_ms},
           IntSetting{"kx_threads", -1, 64, &kx_threads},
           IntSetting{"dpdk_idle_sleep_us", 0, 1'000'000, &idle_sleep_us},
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
  c.kx_threads = static_cast<int>(kx_threads);
  c.dpdk_idle_sleep_us = static_cast<int>(idle_sleep_us);
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
    absl::StatusOr<std::vector<DpdkAddress>> v = ParseDpdkAddr(raw);
    if (!v.ok()) return v.status();
    c.dpdk_addr = std::move(*v);
  }
  {
    DRASYL_RAW(raw, "dpdk_tap");
    if (absl::Status s = CheckTapName(raw); !s.ok()) return s;
    c.dpdk_tap = raw.text;
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

  if (std::optional<std::string> rust_log = env("RUST_LOG", ctx)) {
    absl::Status s = ApplyRustLog(*rust_log, &c);
    if (!s.ok()) return s;
  }
  return c;
}

absl::StatusOr<Config> LoadConfig() { return LoadConfigFrom(&GetEnv, nullptr); }

}  // namespace drasyl
