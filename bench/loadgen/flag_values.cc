#include "bench/loadgen/flag_values.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/types/span.h"
#include "common/hex.h"

namespace drasyl::loadgen {

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

}  // namespace drasyl::loadgen
