// What parsing and rewriting frames need to know of the super peer: its
// addresses, UDP listener ports, and per port its MAC, usable TX offloads
// and accepted VLANs. Built by the backend at startup; read-only on the
// workers.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_PACKET_CONFIG_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_PACKET_CONFIG_H_

#include <rte_ether.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "dataplane/peer_path.h"

namespace drasyl::dpdk {

inline constexpr size_t kMaxLocalAddresses = 16;
inline constexpr size_t kMaxPorts = RTE_MAX_ETHPORTS;

// One of the super peer's own addresses (--dpdk_addr, or under --af_xdp
// the kernel's).
struct LocalAddress {
  uint8_t family = 0;  // 4 or 6; 0: an empty slot of the table
  uint8_t prefix_len = 0;
  std::array<uint8_t, 16> ip{};  // IPv4 in the first 4 bytes
  friend bool operator==(const LocalAddress&, const LocalAddress&) = default;
};

// Per-port transmit offloads the rewrite may use.
enum TxOffload : uint8_t {
  kTxIpv4Cksum = 1,  // RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
  kTxUdpCksum = 2,   // RTE_ETH_TX_OFFLOAD_UDP_CKSUM
};

// What parsing and rewriting need to know; read-only on the workers.
struct PacketConfig {
  PacketConfig() {
    for (auto& bits : vlan_bits_) bits[0] = 1;  // VLAN 0: priority tag only, always accepted
  }
  // Our addresses; PeerPath::local_addr indexes this array.
  LocalAddress addrs[kMaxLocalAddresses];
  uint8_t n_addrs = 0;
  // UDP listener ports in network byte order; 0 = no listener of that family.
  uint16_t udp4_port_be = 0;
  uint16_t udp6_port_be = 0;
  // Per port id: its MAC and usable TX offloads.
  rte_ether_addr port_mac[kMaxPorts]{};
  uint8_t port_tx_offloads[kMaxPorts]{};

  // Adds an address; false when the table is full or the family is unknown.
  bool AddAddress(const LocalAddress& a);
  // The table becomes `wanted` (--af_xdp: the kernel's addresses changed).
  // A kept address keeps its index, which peers' paths hold; a new one takes
  // an index never used before, or, when none is left, one freed earliest
  // by a removed address. Returns what found no slot (beyond
  // kMaxLocalAddresses), or had no known family.
  std::vector<LocalAddress> ReplaceAddresses(const std::vector<LocalAddress>& wanted);
  // The fast-matching arrays below, from addrs.
  void IndexAddresses();
  // Index of the source address to use for a path: path.local_addr when it
  // has the path's family, else the first address of that family; -1 if none.
  int SourceIndex(const PeerPath& path) const {
    if (path.local_addr < n_addrs && addrs[path.local_addr].family == path.family) {
      return path.local_addr;
    }
    return first_of_family_[path.family == 4 ? 0 : 1];
  }

  // VLANs whose tagged frames port `port` accepts (those with an address:
  // the operator's --dpdk_addr ...@vlan<VID>); VLAN 0 always.
  void AllowVlan(uint16_t port, uint16_t vid) {
    if (port < kMaxPorts && vid < 4095) vlan_bits_[port][vid >> 6] |= uint64_t{1} << (vid & 63);
  }
  // For tagged frames only (untagged ones never pay for it): one bit test.
  bool VlanAllowed(uint16_t port, uint16_t tci) const {
    const uint16_t vid = tci & 0xfff;
    return (vlan_bits_[port][vid >> 6] >> (vid & 63)) & 1;
  }

  // Fast matching of destination addresses.
  uint32_t v4_be[kMaxLocalAddresses]{};
  uint8_t v4_index[kMaxLocalAddresses]{};
  uint8_t n_v4 = 0;
  std::array<uint8_t, 16> v6[kMaxLocalAddresses]{};
  uint8_t v6_index[kMaxLocalAddresses]{};
  uint8_t n_v6 = 0;
  int8_t first_of_family_[2] = {-1, -1};
  // Indexes freed by removed addresses, oldest first (ReplaceAddresses).
  uint8_t freed_[kMaxLocalAddresses]{};
  uint8_t n_freed_ = 0;
  uint64_t vlan_bits_[kMaxPorts][4096 / 64]{};
};

// "aa:bb:cc:dd:ee:ff", for logs.
inline std::string MacToString(const rte_ether_addr& a) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", a.addr_bytes[0], a.addr_bytes[1],
                         a.addr_bytes[2], a.addr_bytes[3], a.addr_bytes[4], a.addr_bytes[5]);
}

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_PACKET_CONFIG_H_
