// The load generator's command-line values that need parsing: the super
// peer's URL and traffic rates.
#ifndef DRASYL_BENCH_LOADGEN_FLAG_VALUES_H_
#define DRASYL_BENCH_LOADGEN_FLAG_VALUES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/identity.h"
#include "common/socket_address.h"

namespace drasyl::loadgen {

struct Url {
  SocketAddress addr;
  PublicKey pk{};
  int32_t network_id = 1;
  std::optional<uint16_t> tcp_port;  // the TCP fallback's port (--attack=tcp-idle)
};

// udp://host:port?publicKey=<64 hex>&networkId=N[&tcpPort=P]
absl::StatusOr<Url> ParseUrl(const std::string& text);

// Messages per second, with an optional k/M suffix (>= 0; 0 = open loop).
absl::StatusOr<double> ParseRate(absl::string_view s);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_FLAG_VALUES_H_
