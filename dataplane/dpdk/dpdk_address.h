// One of the super peer's own addresses on the DPDK ports (--dpdk_addr, as
// config/dpdk_addr.h parses it). No DPDK includes: the configuration and the
// backend factory include it anywhere.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_ADDRESS_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_ADDRESS_H_

#include <cstdint>

#include "common/socket_address.h"

namespace drasyl {

// The address with its prefix length and where it lives: on the link of
// DPDK port `port`, untagged or in 802.1Q VLAN `vlan`.
struct DpdkAddress {
  SocketAddress addr;  // port ignored
  int prefix_len = 0;  // 0-32 (IPv4), 0-128 (IPv6)
  uint16_t port = 0;   // DPDK port id of an ethernet port, 0-255
  uint16_t vlan = 0;   // 0: untagged, else the VLAN id (1-4094)

  friend bool operator==(const DpdkAddress&, const DpdkAddress&) = default;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_ADDRESS_H_
