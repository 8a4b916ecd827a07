// The frame layout the DPDK backend parses and writes: header lengths,
// EtherTypes, the TTL it sends with, how a path's VLAN tag is kept, and a
// frame's shape as the rewrite sees it.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_FRAME_LAYOUT_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_FRAME_LAYOUT_H_

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstddef>
#include <cstdint>

#include "dataplane/peer_path.h"

namespace drasyl::dpdk {

// IP TTL / hop limit of the frames the super peer sends (it is their origin).
inline constexpr uint8_t kTtl = 64;

namespace detail {

inline constexpr uint16_t kEthIpv4 = RTE_BE16(RTE_ETHER_TYPE_IPV4);
inline constexpr uint16_t kEthIpv6 = RTE_BE16(RTE_ETHER_TYPE_IPV6);
inline constexpr uint16_t kEthVlan = RTE_BE16(RTE_ETHER_TYPE_VLAN);
inline constexpr size_t kEthLen = sizeof(rte_ether_hdr);  // 14
inline constexpr size_t kVlanLen = sizeof(rte_vlan_hdr);  // 4
inline constexpr size_t kIpv4Len = sizeof(rte_ipv4_hdr);  // 20
inline constexpr size_t kIpv6Len = sizeof(rte_ipv6_hdr);  // 40
inline constexpr size_t kUdpLen = sizeof(rte_udp_hdr);    // 8
inline constexpr uint8_t kProtoUdp = 17;

}  // namespace detail

// PeerPath::vlan of a UDP path learned by the DPDK backend: the next hop's
// VLAN tag (0 = untagged).
inline constexpr uint32_t kVlanTagged = 0x10000;

// A frame's shape as the rewrite sees it: its IP version (4 or 6) and
// kShapeTagged for an inline VLAN tag; 0 when it cannot be rewritten in
// place (Ethernet padding after the datagram, or an IPv4 datagram without
// a UDP checksum to update). A frame whose shape is its next hop's
// (PathShape) keeps its headers' layout: only field values change.
inline constexpr uint8_t kShapeTagged = 0x80;
inline uint8_t PathShape(const PeerPath& path) {
  return static_cast<uint8_t>(path.family | ((path.vlan & kVlanTagged) ? kShapeTagged : 0));
}

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_FRAME_LAYOUT_H_
