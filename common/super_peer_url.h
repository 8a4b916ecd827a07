// The URL nodes are configured with to reach this super peer (docs/protocol.md §7).
#ifndef DRASYL_COMMON_SUPER_PEER_URL_H_
#define DRASYL_COMMON_SUPER_PEER_URL_H_

#include <cstdint>
#include <optional>
#include <string>

#include "common/socket_address.h"
#include "common/types.h"

namespace drasyl {

// "udp://192.0.2.1:22527?publicKey=<64 hex>&networkId=1&tcpPort=443"; IPv6 in
// brackets; "&tcpPort=" only when a TCP listener is configured.
std::string SuperPeerUrl(const SocketAddress& udp_addr, const PublicKey& pk, int32_t network_id,
                         std::optional<uint16_t> tcp_port);

}  // namespace drasyl

#endif  // DRASYL_COMMON_SUPER_PEER_URL_H_
