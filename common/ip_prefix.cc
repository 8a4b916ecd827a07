#include "common/ip_prefix.h"

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace drasyl {

std::string IpPrefix::ToString() const { return absl::StrCat(addr.HostString(), "/", length); }

absl::StatusOr<SocketAddress> ParseIpAddress(absl::string_view text) {
  const bool v6 = text.find(':') != absl::string_view::npos;
  // A scope id (fe80::1%eth0) names an interface, not an address of ours.
  if (text.empty() || text.find_first_of("%[]") != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat("'%s' is not an IP address", text));
  }
  // The socket address parser, with port 0, for the address part.
  absl::StatusOr<SocketAddress> a =
      SocketAddress::Parse(v6 ? absl::StrCat("[", text, "]:0") : absl::StrCat(text, ":0"));
  if (!a.ok()) return absl::InvalidArgumentError(absl::StrFormat("'%s' is not an IP address", text));
  return *a;
}

absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text) {
  const size_t slash = text.find('/');
  if (slash == absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrFormat("'%s' is not addr/prefix", text));
  }
  absl::StatusOr<SocketAddress> addr = ParseIpAddress(text.substr(0, slash));
  if (!addr.ok()) {
    return absl::InvalidArgumentError(absl::StrFormat("'%s' has an invalid address", text));
  }
  const absl::string_view length = text.substr(slash + 1);
  bool digits = !length.empty() && length.size() <= 3;
  for (char c : length) digits = digits && c >= '0' && c <= '9';
  int bits = 0;
  if (!digits || !absl::SimpleAtoi(length, &bits) || bits > (addr->is_v6() ? 128 : 32)) {
    return absl::InvalidArgumentError(absl::StrFormat("'%s' has an invalid prefix length", text));
  }
  return IpPrefix{*addr, bits};
}

}  // namespace drasyl
