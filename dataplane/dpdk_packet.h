// Header parsing and rewriting on DPDK mbufs for the DPDK backend: turns a
// received Ethernet frame into a PacketView over its UDP payload (or says it
// belongs to the kernel), and rewrites a relayed frame in place for its next
// hop: MACs, VLAN tag, IP version and addresses, UDP ports and checksums.
//
// Kept free of backend state so that it is unit-testable on plain mbufs.
#ifndef DRASYL_DATAPLANE_DPDK_PACKET_H_
#define DRASYL_DATAPLANE_DPDK_PACKET_H_

#include <rte_ether.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <array>
#include <cstdint>

#include "dataplane/counters.h"
#include "dataplane/peer_path.h"

namespace drasyl::dpdk {

inline constexpr size_t kMaxLocalAddresses = 16;
inline constexpr size_t kMaxPorts = RTE_MAX_ETHPORTS;
// IP TTL / hop limit of the frames the super peer sends (it is their origin).
inline constexpr uint8_t kTtl = 64;

// One of the super peer's own addresses (--dpdk_addr).
struct LocalAddress {
  uint8_t family = 0;  // 4 or 6
  uint8_t prefix_len = 0;
  std::array<uint8_t, 16> ip{};  // IPv4 in the first 4 bytes
};

// Per-port transmit offloads the rewrite may use.
enum TxOffload : uint8_t {
  kTxIpv4Cksum = 1,  // RTE_ETH_TX_OFFLOAD_IPV4_CKSUM
  kTxUdpCksum = 2,   // RTE_ETH_TX_OFFLOAD_UDP_CKSUM
};

// What parsing and rewriting need to know; read-only on the workers.
struct PacketConfig {
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
  // Index of the source address to use for a path: path.local_addr when it
  // has the path's family, else the first address of that family; -1 if none.
  int SourceIndex(const PeerPath& path) const {
    if (path.local_addr < n_addrs && addrs[path.local_addr].family == path.family) {
      return path.local_addr;
    }
    return first_of_family_[path.family == 4 ? 0 : 1];
  }

  // Fast matching of destination addresses.
  uint32_t v4_be[kMaxLocalAddresses]{};
  uint8_t v4_index[kMaxLocalAddresses]{};
  uint8_t n_v4 = 0;
  std::array<uint8_t, 16> v6[kMaxLocalAddresses]{};
  uint8_t v6_index[kMaxLocalAddresses]{};
  uint8_t n_v6 = 0;
  int8_t first_of_family_[2] = {-1, -1};
};

enum class FrameClass : uint8_t {
  kOurs,       // UDP to one of our addresses and the listener port
  kException,  // for the kernel (ARP, ND, ICMP, TCP, other UDP, ...): the TAP
  kDrop,       // not for us at all, or malformed; *drop says why
};

// Where a received frame's UDP payload is and where it came from.
struct ParsedFrame {
  uint16_t l2_len;       // Ethernet header (+ VLAN tag) as in the frame
  uint16_t l3_len;       // 20 or 40
  uint16_t payload_off;  // offset of the UDP payload in the frame
  uint16_t payload_len;  // UDP length - 8
  uint8_t family;        // 4 or 6
  uint8_t local_addr;    // index into PacketConfig::addrs of the destination
  uint16_t udp_cksum;    // as received (raw, network order)
  uint32_t vlan;         // 0 untagged, else kVlanTagged | TCI
};

// PeerPath::tcp_conn is unused for UDP paths; the DPDK backend keeps the
// next hop's VLAN tag there (0 = untagged).
inline constexpr uint32_t kVlanTagged = 0x10000;

// Classifies a frame received on `port_id`. A frame whose (unicast)
// destination MAC is not the port's is dropped (kNotForUs), as are
// malformed ones and martian sources. Multi-segment frames are dropped
// (kOversized): the payload must be contiguous. Checksums are not verified
// (unless the port flagged them bad): a relayed frame keeps its UDP
// checksum valid or invalid end to end; SourcePath checks the rest.
FrameClass ParseFrame(const rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id,
                      ParsedFrame* out, DropReason* drop);

// Prefetches what parsing and the relay decision read of a frame: its
// first two cache lines (headers, hop count, recipient, sender, type).
inline void PrefetchFrame(const rte_mbuf* m) {
  const char* p = rte_pktmbuf_mtod(m, const char*);
  rte_prefetch0(p);
  rte_prefetch0(p + RTE_CACHE_LINE_SIZE);
}
// How far ahead of the frame being parsed to prefetch.
inline constexpr uint16_t kPrefetchAhead = 4;

inline uint8_t* PayloadOf(rte_mbuf* m, const ParsedFrame& f) {
  return rte_pktmbuf_mtod_offset(m, uint8_t*, f.payload_off);
}

// The path a frame came from (for messages to the control thread): UDP,
// its source address and port, source MAC as next hop, the index of our
// address it was sent to, the port id as listener, its VLAN tag. A frame
// whose IPv4 header or UDP checksum is wrong gets an empty path
// (Transport::kNone), which the control thread drops.
PeerPath SourcePath(const rte_mbuf* m, const ParsedFrame& f, uint16_t port_id);

// Rewrites a parsed frame in place to go out on port path.listener to
// `path`: MACs (port MAC -> path.mac), VLAN tag (path's), IP header (our
// address path.local_addr -> path.ip; resized when the families differ),
// UDP ports (listener -> path.port) and checksums. The UDP payload is left
// as is; the relay decision has already incremented its hop count by one,
// which the checksum update accounts for. The UDP checksum is updated incrementally (RFC 1624),
// so the payload is never read; the IPv4 header checksum and a UDP checksum
// that must be computed from scratch (an IPv4 datagram without one going
// out as IPv6) use the port's TX offloads when it has them.
// m->l2_len / l3_len are set only when a TX offload is requested (they sit
// in the mbuf's second cache line). Returns false (frame unusable: drop
// it) when there is no source address of the path's family or no headroom.
bool RewriteForward(rte_mbuf* m, const ParsedFrame& f, const PeerPath& path,
                    const PacketConfig& cfg);

// Builds a complete frame (Ethernet, IP, UDP, data) for the control thread's
// egress into a freshly allocated mbuf, to go out on port path.listener.
// Checksums are computed in software. False when the data does not fit or
// there is no source address of the path's family.
bool BuildFrame(rte_mbuf* m, const PeerPath& path, const PacketConfig& cfg, const uint8_t* data,
                size_t len);

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_PACKET_H_
