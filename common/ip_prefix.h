// IP addresses and prefixes as operators write them: "192.0.2.1",
// "2001:db8::1" (no brackets, no port), "192.0.2.1/24", "2001:db8::1/64".
#ifndef DRASYL_COMMON_IP_PREFIX_H_
#define DRASYL_COMMON_IP_PREFIX_H_

#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/statusor.h"
#include "common/socket_address.h"

namespace drasyl {

// An address with its prefix length (0-32 for IPv4, 0-128 for IPv6).
struct IpPrefix {
  SocketAddress addr;  // port 0
  int length = 0;

  std::string ToString() const;  // "192.0.2.1/24", "2001:db8::1/64"
};

// A bare IPv4 or IPv6 address (no port, IPv6 without brackets, no scope id),
// as a SocketAddress with port 0.
absl::StatusOr<SocketAddress> ParseIpAddress(absl::string_view text);

// "<address>/<length>", the length in decimal digits only. The error says
// what is wrong with `text` (it quotes it).
absl::StatusOr<IpPrefix> ParseIpPrefix(absl::string_view text);

}  // namespace drasyl

#endif  // DRASYL_COMMON_IP_PREFIX_H_
