#include "config/dpdk_addr.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/ip_prefix.h"

namespace drasyl {
namespace {

// Digits only (no sign, no spaces), at most 4 of them.
bool SmallNumber(absl::string_view text, int* out) {
  bool ok = !text.empty() && text.size() <= 4;
  for (char c : text) ok = ok && c >= '0' && c <= '9';
  return ok && absl::SimpleAtoi(text, out);
}

}  // namespace

absl::StatusOr<DpdkAddress> ParseDpdkAddress(absl::string_view entry) {
  const std::vector<absl::string_view> parts = absl::StrSplit(entry, '@');
  int port = 0, vlan = 0;
  bool have_port = false, have_vlan = false;
  for (size_t i = 1; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    if (absl::ConsumePrefix(&p, "port") && !have_port) {
      // A port id (the listener byte of a path).
      if (!SmallNumber(p, &port) || port > 255) {
        return absl::InvalidArgumentError(
            absl::StrFormat("'%s': '@%s' is not @port<N> with N a DPDK port id", entry, parts[i]));
      }
      have_port = true;
    } else if (p = parts[i]; absl::ConsumePrefix(&p, "vlan") && !have_vlan) {
      if (!SmallNumber(p, &vlan) || vlan < 1 || vlan > 4094) {
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
  absl::StatusOr<IpPrefix> prefix = ParseIpPrefix(parts[0]);
  if (!prefix.ok()) return prefix.status();
  return DpdkAddress{prefix->addr, prefix->length, static_cast<uint16_t>(port),
                     static_cast<uint16_t>(vlan)};
}

absl::StatusOr<std::vector<DpdkAddress>> ParseDpdkAddressList(absl::string_view text) {
  std::vector<DpdkAddress> out;
  if (text.empty()) return out;
  for (absl::string_view piece : absl::StrSplit(text, ',')) {
    absl::StatusOr<DpdkAddress> a = ParseDpdkAddress(absl::StripAsciiWhitespace(piece));
    if (!a.ok()) return a.status();
    out.push_back(*a);
  }
  return out;
}

std::string FormatDpdkAddress(const DpdkAddress& a) {
  std::string out = IpPrefix{a.addr, a.prefix_len}.ToString();
  if (a.port != 0) absl::StrAppend(&out, "@port", a.port);
  if (a.vlan != 0) absl::StrAppend(&out, "@vlan", a.vlan);
  return out;
}

}  // namespace drasyl
