// Startup banner: the super peer URLs nodes are configured with, one per host
// address a UDP listener covers (docs/protocol.md §7).
#ifndef DRASYL_CONTROL_BANNER_H_
#define DRASYL_CONTROL_BANNER_H_

#include <string>
#include <vector>

#include "common/socket_address.h"
#include "common/types.h"
#include "config/config.h"

namespace drasyl {

// True for private or global unicast addresses; false for unspecified,
// loopback, link-local, multicast, broadcast/reserved and documentation ranges.
bool IsAnnounceable(const SocketAddress& addr);

// Announceable addresses of the host's up interfaces (getifaddrs), port 0,
// de-duplicated, in interface order.
std::vector<SocketAddress> HostAddresses();

// The addresses (with the listener's port) that the UDP listeners cover: a
// specific address as is; 0.0.0.0 every IPv4 host address; [::] every IPv6
// and every IPv4 host address (dual stack). IPv4 listener first, no duplicates.
std::vector<SocketAddress> AnnouncedAddresses(const Config& config,
                                              const std::vector<SocketAddress>& host_addresses);

// "Super peer listening on:\n" followed by "  <url>\n" per announced address.
std::string StartupBanner(const Config& config, const PublicKey& pk,
                          const std::vector<SocketAddress>& host_addresses);

}  // namespace drasyl

#endif  // DRASYL_CONTROL_BANNER_H_
