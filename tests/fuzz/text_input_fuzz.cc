// libFuzzer target: the text an operator or a client hands the super peer.
// The first input byte picks the parser, the rest is its text:
//   0  the identity file (ParseIdentityFile): what parses formats and
//      parses back to the same identity;
//   1  a listen address (SocketAddress::Parse): what parses prints and
//      parses back to the same address;
//   2  a --dpdk_addr list (ParseDpdkAddressList): each address is in
//      range and formats to an entry that parses back to it;
//   3  the environment (LoadConfigFrom): each line "<c><value>" sets the
//      variable that c picks (a setting of config/flags.cc with the
//      DRASYL_ or NETSODY_ prefix, or RUST_LOG);
//      an error names what it rejects, a configuration is in range;
//   4  an HTTP request head to /metrics (MetricsHttpServer::Respond,
//      bearer token "secret"): one of the documented statuses, the
//      metrics only for a GET or HEAD with the token.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/identity.h"
#include "common/socket_address.h"
#include "config/config.h"
#include "config/dpdk_addr.h"
#include "config/flags.h"
#include "control/metrics_http.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace drasyl;  // NOLINT

void FuzzIdentityFile(const std::string& text) {
  absl::StatusOr<Identity> id = ParseIdentityFile(text);
  if (!id.ok()) {
    CHECK_OR_TRAP(!id.status().message().empty());
    return;
  }
  absl::StatusOr<Identity> again = ParseIdentityFile(FormatIdentityFile(*id));
  CHECK_OR_TRAP(again.ok());
  CHECK_OR_TRAP(again->secret_key == id->secret_key && again->public_key == id->public_key &&
                again->pow == id->pow);
}

void FuzzSocketAddress(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  if (!a.ok()) {
    CHECK_OR_TRAP(!a.status().message().empty());
    return;
  }
  absl::StatusOr<SocketAddress> again = SocketAddress::Parse(a->ToString());
  CHECK_OR_TRAP(again.ok() && *again == *a);
}

// An address the list holds is one the configuration may hand the backend.
void CheckDpdkAddress(const DpdkAddress& a) {
  CHECK_OR_TRAP(a.addr.is_v4() || a.addr.is_v6());
  CHECK_OR_TRAP(a.addr.port() == 0);
  CHECK_OR_TRAP(a.prefix_len >= 0 && a.prefix_len <= (a.addr.is_v4() ? 32 : 128));
  CHECK_OR_TRAP(a.port <= 255);
  CHECK_OR_TRAP(a.vlan <= 4094);
}

void FuzzDpdkAddr(const std::string& text) {
  absl::StatusOr<std::vector<DpdkAddress>> list = ParseDpdkAddressList(text);
  if (!list.ok()) {
    CHECK_OR_TRAP(!list.status().message().empty());
    return;
  }
  for (const DpdkAddress& a : *list) {
    CheckDpdkAddress(a);
    absl::StatusOr<DpdkAddress> back = ParseDpdkAddress(FormatDpdkAddress(a));
    CHECK_OR_TRAP(back.ok() && *back == a);
  }
}

// The settings (docs/protocol.md §7 and ours), each a DRASYL_ / NETSODY_
// variable, in gflags' (name) order.
const std::vector<std::string>& Settings() {
  static const std::vector<std::string>* names = [] {
    auto* v = new std::vector<std::string>;
    for (const std::string& name : SettingNames()) v->push_back(absl::AsciiStrToUpper(name));
    CHECK_OR_TRAP(!v->empty());
    return v;
  }();
  return *names;
}

using Env = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> Lookup(const char* name, void* ctx) {
  for (const auto& [k, v] : *static_cast<const Env*>(ctx)) {
    if (k == name) return v;
  }
  return std::nullopt;
}

void FuzzEnvironment(const std::string& text) {
  Env env;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (line.empty()) continue;
    const std::vector<std::string>& settings = Settings();
    const size_t i = static_cast<uint8_t>(line[0]) % (2 * settings.size() + 1);
    const std::string name =
        i == 2 * settings.size()
            ? "RUST_LOG"
            : (i < settings.size() ? "DRASYL_" : "NETSODY_") + settings[i % settings.size()];
    env.emplace_back(std::move(name), std::string(line.substr(1)));
  }
  absl::StatusOr<Config> config = LoadConfigFrom(&Lookup, &env);
  if (!config.ok()) {
    CHECK_OR_TRAP(!config.status().message().empty());
    return;
  }
  CHECK_OR_TRAP(!config->identity_file.empty());
  CHECK_OR_TRAP(config->send_unites_ms >= -1);
  CHECK_OR_TRAP(config->min_pow_difficulty >= 0 && config->min_pow_difficulty <= 256);
  CHECK_OR_TRAP(config->hello_timeout_ms >= 1 && config->hello_max_age_ms >= 1);
  CHECK_OR_TRAP(config->peers_print_interval_ms >= 0);
  CHECK_OR_TRAP(config->workers >= 0 && config->workers <= 1024);
  CHECK_OR_TRAP(config->max_tcp_connections >= 0);
  CHECK_OR_TRAP(config->log_level >= 0 && config->log_level <= 3);
  CHECK_OR_TRAP(config->housekeeping_interval_ms >= 1);
  CHECK_OR_TRAP(config->kx_threads >= -1 && config->kx_threads <= 64);
  CHECK_OR_TRAP(config->dpdk_idle_sleep_us >= 0);
  CHECK_OR_TRAP(!config->dpdk_tap.empty() && config->dpdk_tap.size() <= 14);
  for (const DpdkAddress& a : config->dpdk_addr) CheckDpdkAddress(a);
}

constexpr char kMetrics[] = "drasyl_fuzz_metric 1\n";

const MetricsHttpServer& Server() {
  // Bound on loopback, never started: Respond needs no connection.
  static const MetricsHttpServer* server =
      MetricsHttpServer::Create(*SocketAddress::Parse("127.0.0.1:0"), "secret",
                                [] { return std::string(kMetrics); })
          ->release();
  return *server;
}

void FuzzHttpHead(const std::string& text) {
  const HttpResponse r = Server().Respond(text);
  CHECK_OR_TRAP(r.status == 200 || r.status == 400 || r.status == 401 || r.status == 404 ||
                r.status == 405);
  CHECK_OR_TRAP(absl::StartsWith(r.text, "HTTP/1.1 " + std::to_string(r.status) + " "));
  if (r.status == 200) {
    const std::string method = text.substr(0, text.find(' '));
    CHECK_OR_TRAP(method == "GET" || method == "HEAD");
    CHECK_OR_TRAP(absl::StrContains(text, "secret"));
  } else {
    CHECK_OR_TRAP(!absl::StrContains(r.text, kMetrics));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 5) {
    case 0: FuzzIdentityFile(text); break;
    case 1: FuzzSocketAddress(text); break;
    case 2: FuzzDpdkAddr(text); break;
    case 3: FuzzEnvironment(text); break;
    case 4: FuzzHttpHead(text); break;
  }
  return 0;
}
