// Header parsing and rewriting on DPDK mbufs for the DPDK backend: turns a
// received Ethernet frame into a PacketView over its UDP payload (or says it
// belongs to the kernel), and rewrites a relayed frame in place for its next
// hop: MACs, VLAN tag, IP version and addresses, UDP ports and checksums.
//
// Kept free of backend state so that it is unit-testable on plain mbufs.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_PACKET_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_PACKET_H_

#include <rte_byteorder.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_prefetch.h>
#include <rte_udp.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/wire.h"
#include "dataplane/counters.h"
#include "dataplane/peer_path.h"
#include "dataplane/relay.h"

namespace drasyl::dpdk {

inline constexpr size_t kMaxLocalAddresses = 16;
inline constexpr size_t kMaxPorts = RTE_MAX_ETHPORTS;
// IP TTL / hop limit of the frames the super peer sends (it is their origin).
inline constexpr uint8_t kTtl = 64;

// Byte-level helpers (inline: the parser and the rewrite's fast path are
// inlined into the worker's burst loop).
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

inline uint16_t Load16(const uint8_t* p) {
  uint16_t v;
  std::memcpy(&v, p, 2);
  return v;
}
inline uint32_t Load32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}
inline uint64_t Load64(const uint8_t* p) {
  uint64_t v;
  std::memcpy(&v, p, 8);
  return v;
}
inline void Store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
// The 16-bit word that bytes a, b form in memory order, as a native load.
inline uint16_t WordOf(uint8_t a, uint8_t b) {
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
  return static_cast<uint16_t>(a | b << 8);
#else
  return static_cast<uint16_t>(a << 8 | b);
#endif
}
// The 32-bit word that bytes a, b, c, d form in memory order.
inline constexpr uint32_t WordOf32(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
  return uint32_t{a} | uint32_t{b} << 8 | uint32_t{c} << 16 | uint32_t{d} << 24;
#else
  return uint32_t{a} << 24 | uint32_t{b} << 16 | uint32_t{c} << 8 | uint32_t{d};
#endif
}

// The 64-bit word that bytes b0..b7 form in memory order.
inline constexpr uint64_t WordOf64(uint8_t b0, uint8_t b1, uint8_t b2, uint8_t b3, uint8_t b4,
                                   uint8_t b5, uint8_t b6, uint8_t b7) {
  const uint64_t lo = WordOf32(b0, b1, b2, b3), hi = WordOf32(b4, b5, b6, b7);
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
  return lo | hi << 32;
#else
  return lo << 32 | hi;
#endif
}
// The 64-bit word (as loaded) that has v in network order at bytes at, at + 1
// (at even, < 7) and zeros elsewhere.
inline uint64_t Be16At(unsigned at, uint16_t v) {
#if RTE_BYTE_ORDER == RTE_LITTLE_ENDIAN
  return uint64_t{__builtin_bswap16(v)} << (8 * at);
#else
  return uint64_t{v} << (8 * (6 - at));
#endif
}

// Ones' complement sum of n bytes (n a multiple of 4) as 32-bit words into a
// 64-bit accumulator; byte order is irrelevant as long as every term and
// the stored checksum are treated alike.
inline uint64_t SumWords(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i += 4) s += Load32(p + i);
  return s;
}
// Sum of the ones' complements of n bytes' 32-bit words (= minus their sum).
inline uint64_t SumComplement(const uint8_t* p, size_t n) {
  uint64_t s = 0;
  for (size_t i = 0; i < n; i += 4) s += uint32_t{~Load32(p + i)};
  return s;
}
// Ones' complement fold of a 64-bit sum to 16 bits. Adding a value to
// itself rotated by half its width leaves the end-around-carry sum of its
// halves in the upper half: two such steps, no carry loops.
inline uint16_t Fold(uint64_t s) {
  const uint32_t t = static_cast<uint32_t>((s + ((s << 32) | (s >> 32))) >> 32);
  return static_cast<uint16_t>((t + ((t << 16) | (t >> 16))) >> 16);
}

inline bool MacEqual(const uint8_t* a, const rte_ether_addr& b) {
  return Load32(a) == Load32(b.addr_bytes) && Load16(a + 4) == Load16(b.addr_bytes + 4);
}

inline bool MartianV4(const uint8_t* src) {
  return src[0] == 0 || src[0] == 127 || src[0] >= 224;
}
inline bool MartianV6(const uint8_t* src) {
  if (src[0] == 0xff) return true;  // multicast
  const uint64_t hi = Load64(src), lo = Load64(src + 8);
  return hi == 0 && (lo == 0 || lo == rte_cpu_to_be_64(1));  // :: and ::1
}

}  // namespace detail

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
  uint64_t vlan_bits_[kMaxPorts][4096 / 64]{};
};

enum class FrameClass : uint8_t {
  kOurs,       // UDP to one of our addresses and the listener port
  kException,  // for the kernel (ARP, ND, ICMP, TCP, other UDP, ...): the TAP
  kDrop,       // not for us at all, or malformed; *drop says why
};

// Where a received frame's UDP payload is and where it came from.
struct ParsedFrame {
  uint16_t l2_len;       // Ethernet header (+ VLAN tag) as in the frame
  uint8_t l3_len;        // 20 or 40
  uint8_t shape;         // for the rewrite's fast path: see kShapeTagged
  uint16_t payload_off;  // offset of the UDP payload in the frame
  uint16_t payload_len;  // UDP length - 8
  uint8_t family;        // 4 or 6
  uint8_t local_addr;    // index into PacketConfig::addrs of the destination
  uint16_t udp_cksum;    // as received (raw, network order)
  uint32_t vlan;         // 0 untagged, else kVlanTagged | TCI
};

// The header bytes every common frame (detail::ParseCommon) to one port
// has, as the 64-bit words a frame's must equal under constant masks (the
// lengths, which vary, are added per frame). Built from the PacketConfig
// for each burst, so it is never stale; a family without an address or a
// listener gets a word no frame can match.
struct CommonFrame {
  CommonFrame(const PacketConfig& cfg, uint16_t port_id);

  // Bytes 0..7: destination MAC, the source MAC's group bit.
  static constexpr uint64_t kMask0 = detail::WordOf64(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0);
  // IPv4, words at 8, 16, 24, 32: EtherType, version and header length;
  // total length, fragment bits, protocol; destination address; its end,
  // destination port, UDP length.
  static constexpr uint64_t kMask4[4] = {
      detail::WordOf64(0, 0, 0, 0, 0xff, 0xff, 0xff, 0),
      detail::WordOf64(0xff, 0xff, 0, 0, 0x3f, 0xff, 0, 0xff),
      detail::WordOf64(0, 0, 0, 0, 0, 0, 0xff, 0xff),
      detail::WordOf64(0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff)};
  // IPv6, words at 8, 16, 38, 46, 54: EtherType and version; payload length
  // and next header; destination address (two words, no mask); destination
  // port and UDP length.
  static constexpr uint64_t kMask6[5] = {
      detail::WordOf64(0, 0, 0, 0, 0xff, 0xff, 0xf0, 0),
      detail::WordOf64(0, 0, 0xff, 0xff, 0xff, 0, 0, 0), ~uint64_t{0}, ~uint64_t{0},
      detail::WordOf64(0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0)};

  uint64_t w0;
  uint64_t v4[4];
  uint64_t v6[5];
  // What ParseCommon says of such a frame but its payload length and UDP
  // checksum (as the full checks fill it: FillOurs).
  ParsedFrame parsed4;
  ParsedFrame parsed6;
};

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

// "aa:bb:cc:dd:ee:ff", for logs.
inline std::string MacToString(const rte_ether_addr& a) {
  return absl::StrFormat("%02x:%02x:%02x:%02x:%02x:%02x", a.addr_bytes[0], a.addr_bytes[1],
                         a.addr_bytes[2], a.addr_bytes[3], a.addr_bytes[4], a.addr_bytes[5]);
}

namespace detail {

// Fills the ParsedFrame of a UDP datagram to one of our addresses.
inline void FillOurs(ParsedFrame* out, size_t l2, uint8_t l3_len, uint16_t ulen, uint8_t family,
                     int local, const uint8_t* udp, uint32_t vlan, uint8_t shape) {
  out->l2_len = static_cast<uint16_t>(l2);
  out->l3_len = l3_len;
  out->shape = shape;
  out->payload_off = static_cast<uint16_t>(l2 + l3_len + kUdpLen);
  out->payload_len = static_cast<uint16_t>(ulen - kUdpLen);
  out->family = family;
  out->local_addr = static_cast<uint8_t>(local);
  out->udp_cksum = Load16(udp + 6);
  out->vlan = vlan;
}
// The shape (see kShapeTagged) of a datagram of ulen bytes behind l2 + l3
// bytes of headers, as ParseFrame's full checks find it.
inline uint8_t FrameShape(const rte_mbuf* m, size_t l2, size_t l3, uint16_t ulen, uint8_t family,
                          const uint8_t* udp) {
  if (Load16(udp + 6) == 0 || rte_pktmbuf_pkt_len(m) != l2 + l3 + ulen) return 0;
  return static_cast<uint8_t>(family | (l2 == kEthLen + kVlanLen ? kShapeTagged : 0));
}

// The sum of a pseudo-header's addresses (src, dst: 4 or 16 bytes each),
// and minus that of the IP header at l3.
inline uint64_t PseudoAddrSum(bool v4, const uint8_t* src, const uint8_t* dst) {
  return v4 ? uint64_t{Load32(src)} + Load32(dst) : SumWords(src, 16) + SumWords(dst, 16);
}
inline uint64_t MinusPseudoAddrSum(bool v4, const uint8_t* l3) {
  return v4 ? uint64_t{~Load32(l3 + 12)} + uint32_t{~Load32(l3 + 16)} : SumComplement(l3 + 8, 32);
}

// What incrementing the hop count byte did to the checksummed word it
// starts (hop count || flags, at an even offset of the checksummed data),
// given the byte after the increment: +1 in the byte's place, or -255 when
// it wrapped from 255 to 0 (in ones' complement: + ~255). No flags bit
// changes, so nothing of the payload is read but the byte the relay
// decision has just written (a byte load: a wider one would stall store
// forwarding).
inline uint16_t HopStep(uint8_t hop_after) {
  return hop_after != 0 ? WordOf(1, 0) : WordOf(0, 0xff);
}

// The UDP checksum of a relayed datagram, updated (RFC 1624 eqn. 3:
// HC' = ~(~HC + ~m + m')) for what the relay changes under it: the
// pseudo-header's addresses (addr_delta: the new ones' sum plus the
// complements of the old ones), the ports (the old ones: the first 4 bytes
// at old_udp) and the hop count (HopStep). ~w == -w for 32-bit words too
// (0xffffffff == 0 mod 0xffff), and which half of a 32-bit term a word is in
// does not matter (2^16 == 1). old_cksum must not be 0 (no checksum).
inline uint16_t RelayedUdpChecksum(uint16_t old_cksum, uint64_t addr_delta, const uint8_t* old_udp,
                                   uint16_t sport_be, uint16_t dport_be, const uint8_t* payload) {
  const uint64_t acc = uint64_t{static_cast<uint16_t>(~old_cksum)} + addr_delta +
                       uint32_t{~Load32(old_udp)} + sport_be + (uint32_t{dport_be} << 16) +
                       HopStep(payload[wire::off::kHopCount]);
  const uint16_t cksum = static_cast<uint16_t>(~Fold(acc));
  return cksum == 0 ? 0xffff : cksum;
}

// *out for a common frame with ulen UDP bytes at udp: its family's
// template (CommonFrame::parsed4 / parsed6) with the frame's payload length
// and UDP checksum.
inline void FillCommon(ParsedFrame* out, const ParsedFrame& tmpl, uint16_t ulen,
                       const uint8_t* udp) {
  *out = tmpl;
  out->payload_len = static_cast<uint16_t>(ulen - kUdpLen);
  out->udp_cksum = Load16(udp + 6);
}

// The common frame, checked word by word against CommonFrame: untagged,
// IPv4 without options and not a fragment, or IPv6 without extension
// headers; UDP with a checksum from a unicast MAC to the port's MAC, our
// first address of the family and its listener port, in one segment, IP
// and UDP lengths exactly the frame's (no padding), source neither martian
// nor port 0. True when it is such a frame (*out filled exactly as
// ParseFrame's full checks would, *payload the view of its UDP payload);
// false says nothing: the full checks decide.
inline bool ParseCommon(rte_mbuf* m, const CommonFrame& common, ParsedFrame* out,
                        PacketView* payload) {
  constexpr size_t kHeaders4 = kEthLen + kIpv4Len + kUdpLen;
  constexpr size_t kHeaders6 = kEthLen + kIpv6Len + kUdpLen;
  uint8_t* const p = rte_pktmbuf_mtod(m, uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  // In one segment, no stripped tag, and not flagged bad (or "none") by the port.
  constexpr uint64_t kNotCommon = RTE_MBUF_F_RX_VLAN_STRIPPED | RTE_MBUF_F_RX_IP_CKSUM_BAD;
  if (len < kHeaders4 || rte_pktmbuf_pkt_len(m) != len || (m->ol_flags & kNotCommon)) return false;
  if ((Load64(p) & CommonFrame::kMask0) != common.w0) return false;
  // EtherType and IP version (with the IPv4 header length) in bytes 12..14.
  const uint64_t w8 = Load64(p + 8);
  if ((w8 & CommonFrame::kMask4[0]) == common.v4[0]) {
    // Total length, fragment bits, protocol; destination address and port;
    // UDP length: one difference for all (len >= kHeaders4: no underflow).
    const uint16_t ulen = static_cast<uint16_t>(len - kEthLen - kIpv4Len);
    const uint64_t diff =
        ((Load64(p + 16) & CommonFrame::kMask4[1]) ^ (common.v4[1] | Be16At(0, ulen + kIpv4Len))) |
        ((Load64(p + 24) & CommonFrame::kMask4[2]) ^ common.v4[2]) |
        ((Load64(p + 32) & CommonFrame::kMask4[3]) ^ (common.v4[3] | Be16At(6, ulen)));
    const uint8_t* udp = p + kEthLen + kIpv4Len;
    if (diff != 0 || Load16(udp) == 0 || Load16(udp + 6) == 0 || MartianV4(p + kEthLen + 12)) {
      return false;
    }
    FillCommon(out, common.parsed4, ulen, udp);
    *payload = {p + kHeaders4, static_cast<uint32_t>(ulen - kUdpLen)};
    return true;
  }
  if ((w8 & CommonFrame::kMask6[0]) == common.v6[0] && len >= kHeaders6) {
    // Payload length = UDP length = the rest of the frame.
    const uint16_t ulen = static_cast<uint16_t>(len - kEthLen - kIpv6Len);
    const uint64_t diff =
        ((Load64(p + 16) & CommonFrame::kMask6[1]) ^ (common.v6[1] | Be16At(2, ulen))) |
        (Load64(p + 38) ^ common.v6[2]) | (Load64(p + 46) ^ common.v6[3]) |
        ((Load64(p + 54) & CommonFrame::kMask6[4]) ^ (common.v6[4] | Be16At(4, ulen)));
    const uint8_t* udp = p + kEthLen + kIpv6Len;
    if (diff != 0 || Load16(udp) == 0 || Load16(udp + 6) == 0 || MartianV6(p + kEthLen + 8)) {
      return false;
    }
    FillCommon(out, common.parsed6, ulen, udp);
    *payload = {p + kHeaders6, static_cast<uint32_t>(ulen - kUdpLen)};
    return true;
  }
  return false;
}

// ParseFrame's checks one by one, for every kind of frame (ParseCommon
// is the shortcut for the common one).
inline FrameClass ParseFrameChecks(const rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id,
                                   ParsedFrame* out, DropReason* drop) {
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);  // the first segment's bytes
  const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
  *drop = DropReason::kMalformedFrame;  // unless said otherwise below
  if (len < kEthLen) return FrameClass::kDrop;
  if (p[6] & 1) {  // group source MAC: never a real sender
    *drop = DropReason::kBadSource;
    return FrameClass::kDrop;
  }
  if (p[0] & 1) return FrameClass::kException;  // broadcast / multicast: ARP, ND, ...
  if (!MacEqual(p, cfg.port_mac[port_id])) {  // someone else's
    *drop = DropReason::kNotForUs;
    return FrameClass::kDrop;
  }

  uint16_t type = Load16(p + 12);
  size_t l2 = kEthLen;
  uint32_t vlan = 0;
  if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
    vlan = kVlanTagged | m->vlan_tci;
    if (!cfg.VlanAllowed(port_id, m->vlan_tci)) {
      *drop = DropReason::kUnknownVlan;
      return FrameClass::kDrop;
    }
  }
  if (type == kEthVlan) {
    if (len < kEthLen + kVlanLen) return FrameClass::kDrop;
    const uint16_t tci = LoadBe16(p + 14);
    if (!cfg.VlanAllowed(port_id, tci)) {
      *drop = DropReason::kUnknownVlan;
      return FrameClass::kDrop;
    }
    vlan = kVlanTagged | tci;
    type = Load16(p + 16);
    l2 += kVlanLen;
  }

  const uint8_t* l3 = p + l2;
  if (type == kEthIpv4) {
    if (cfg.n_v4 == 0 || cfg.udp4_port_be == 0) return FrameClass::kException;
    if (len < l2 + kIpv4Len) return FrameClass::kDrop;
    if (l3[0] != 0x45) return FrameClass::kException;  // options (or not IPv4): the kernel's
    const uint16_t total = LoadBe16(l3 + 2);
    if (total < kIpv4Len + kUdpLen || l2 + total > pkt_len) return FrameClass::kDrop;
    if (Load16(l3 + 6) & RTE_BE16(0x3fff)) return FrameClass::kException;  // fragment
    if (l3[9] != kProtoUdp) return FrameClass::kException;
    const uint32_t dst = Load32(l3 + 16);
    int local = -1;
    for (uint8_t i = 0; i < cfg.n_v4; ++i) {
      if (cfg.v4_be[i] == dst) {
        local = cfg.v4_index[i];
        break;
      }
    }
    if (local < 0) return FrameClass::kException;
    const uint8_t* udp = l3 + kIpv4Len;
    if (Load16(udp + 2) != cfg.udp4_port_be) return FrameClass::kException;
    // Checksums are not verified here: a relayed frame's UDP checksum is
    // updated incrementally, so corruption stays detectable at the
    // recipient; SourcePath verifies what goes to the control thread.
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
      *drop = DropReason::kBadChecksum;
      return FrameClass::kDrop;
    }
    const uint16_t ulen = LoadBe16(udp + 4);
    if (ulen < kUdpLen || ulen > total - kIpv4Len) return FrameClass::kDrop;
    if (MartianV4(l3 + 12) || Load16(udp) == 0) {
      *drop = DropReason::kBadSource;
      return FrameClass::kDrop;
    }
    if (l2 + kIpv4Len + ulen > len) {  // not contiguous in the first segment
      *drop = DropReason::kOversized;
      return FrameClass::kDrop;
    }
    FillOurs(out, l2, kIpv4Len, ulen, 4, local, udp, vlan,
             FrameShape(m, l2, kIpv4Len, ulen, 4, udp));
    return FrameClass::kOurs;
  }
  if (type == kEthIpv6) {
    if (cfg.n_v6 == 0 || cfg.udp6_port_be == 0) return FrameClass::kException;
    if (len < l2 + kIpv6Len) return FrameClass::kDrop;
    if ((l3[0] >> 4) != 6) return FrameClass::kDrop;
    const uint16_t plen = LoadBe16(l3 + 4);
    if (l2 + kIpv6Len + plen > pkt_len) return FrameClass::kDrop;
    if (l3[6] != kProtoUdp) return FrameClass::kException;  // ICMPv6, TCP, extension headers
    const uint64_t dst_hi = Load64(l3 + 24), dst_lo = Load64(l3 + 32);
    int local = -1;
    for (uint8_t i = 0; i < cfg.n_v6; ++i) {
      if (Load64(cfg.v6[i].data()) == dst_hi && Load64(cfg.v6[i].data() + 8) == dst_lo) {
        local = cfg.v6_index[i];
        break;
      }
    }
    if (local < 0) return FrameClass::kException;
    const uint8_t* udp = l3 + kIpv6Len;
    if (plen < kUdpLen) return FrameClass::kDrop;
    if (Load16(udp + 2) != cfg.udp6_port_be) return FrameClass::kException;
    const uint16_t ulen = LoadBe16(udp + 4);
    if (ulen < kUdpLen || ulen > plen) return FrameClass::kDrop;
    if (MartianV6(l3 + 8) || Load16(udp) == 0) {
      *drop = DropReason::kBadSource;
      return FrameClass::kDrop;
    }
    // Over IPv6 the UDP checksum is mandatory (RFC 8200 8.1): a zero one is
    // invalid, as the kernel would also say. (Relayed to an IPv4 peer it
    // would pass for "no checksum", hiding whatever it should catch.)
    if (Load16(udp + 6) == 0) {
      *drop = DropReason::kBadChecksum;
      return FrameClass::kDrop;
    }
    if (l2 + kIpv6Len + ulen > len) {
      *drop = DropReason::kOversized;
      return FrameClass::kDrop;
    }
    FillOurs(out, l2, kIpv6Len, ulen, 6, local, udp, vlan,
             FrameShape(m, l2, kIpv6Len, ulen, 6, udp));
    return FrameClass::kOurs;
  }
  return FrameClass::kException;  // ARP, LLDP, ...
}

}  // namespace detail

// Classifies a frame received on `port_id`. A frame whose (unicast)
// destination MAC is not the port's is dropped (kNotForUs), as are
// malformed ones (kMalformedFrame), an IPv6 UDP datagram without a
// checksum or one the port flagged bad (kBadChecksum), martian sources and
// source port 0 (kBadSource), and a tagged one whose VLAN the port does not
// accept (kUnknownVlan; group-addressed frames are checked on the way to the
// kernel, PopVlanForKernel). Multi-segment frames are dropped
// (kOversized): the payload must be contiguous. Checksums are not verified
// (unless the port flagged them bad): a relayed frame keeps its UDP
// checksum valid or invalid end to end; SourcePath checks the rest.
// `common` is CommonFrame(cfg, port_id), which a burst loop builds once.
inline uint8_t* PayloadOf(rte_mbuf* m, const ParsedFrame& f) {
  return rte_pktmbuf_mtod_offset(m, uint8_t*, f.payload_off);
}

// *payload: the view of a kOurs frame's UDP payload for the relay
// decision (PayloadOf and payload_len, from what the parser has at hand).
inline FrameClass ParseFrame(rte_mbuf* m, const PacketConfig& cfg, const CommonFrame& common,
                             uint16_t port_id, ParsedFrame* out, PacketView* payload,
                             DropReason* drop) {
  if (detail::ParseCommon(m, common, out, payload)) return FrameClass::kOurs;
  const FrameClass c = detail::ParseFrameChecks(m, cfg, port_id, out, drop);
  if (c == FrameClass::kOurs) *payload = {PayloadOf(m, *out), out->payload_len};
  return c;
}
inline FrameClass ParseFrame(rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id,
                             ParsedFrame* out, DropReason* drop) {
  PacketView payload;
  return ParseFrame(m, cfg, CommonFrame(cfg, port_id), port_id, out, &payload, drop);
}

// Prefetches what parsing and the relay decision read of a frame: its
// first two cache lines (headers, hop count, recipient, sender, type).
inline void PrefetchFrame(const rte_mbuf* m) {
  const char* p = rte_pktmbuf_mtod(m, const char*);
  rte_prefetch0(p);
  rte_prefetch0(p + RTE_CACHE_LINE_SIZE);
}
// How far ahead of the frame being parsed to prefetch.
inline constexpr uint16_t kPrefetchAhead = 4;

// Which checksum of a parsed frame is wrong, as the kernel would check
// them (the port's RX checksum flags where it set them): the IPv4 header's
// (checked first), the UDP one (none over IPv4 is fine), or neither.
enum class ChecksumFault : uint8_t { kNone, kIpv4Header, kUdp };
ChecksumFault CheckChecksums(const rte_mbuf* m, const ParsedFrame& f);

// The path a frame came from (for messages to the control thread): UDP,
// its source address and port, source MAC as next hop, the index of our
// address it was sent to, the port id as listener, its VLAN tag. A frame
// with a ChecksumFault gets an empty path (Transport::kNone), which the
// worker drops and counts (DropReason::kBadChecksum).
PeerPath SourcePath(const rte_mbuf* m, const ParsedFrame& f, uint16_t port_id);

// The endpoint a parsed frame came from: UDP, its IP version, source
// address and port (the rest of the path empty). Nothing is verified.
inline PeerPath SourceEndpoint(const rte_mbuf* m, const ParsedFrame& f) {
  const uint8_t* l3 = rte_pktmbuf_mtod_offset(m, const uint8_t*, f.l2_len);
  PeerPath path;
  path.transport = Transport::kUdp;
  path.family = f.family;
  if (f.family == 4) {
    std::memcpy(path.ip.data(), l3 + 12, 4);
  } else {
    std::memcpy(path.ip.data(), l3 + 8, 16);
  }
  path.port = LoadBe16(l3 + f.l3_len);
  return path;
}

// Whether a parsed frame came from `path`'s endpoint (SameEndpoint).
inline bool CameFrom(const rte_mbuf* m, const ParsedFrame& f, const PeerPath& path) {
  return SameEndpoint(SourceEndpoint(m, f), path);
}

// Rewrites a parsed frame in place to go out on port path.listener to
// `path`: MACs (port MAC -> path.mac), VLAN tag (path's), IP header (our
// address path.local_addr -> path.ip, TTL / hop limit 64; resized when the
// families differ), UDP ports (listener -> path.port) and checksums. The
// UDP payload is left as is; the relay decision has already incremented its
// hop count by one, which the checksum update accounts for.
//
// The UDP checksum is updated incrementally (RFC 1624), so the payload is
// never read and a corrupted datagram stays detectably corrupted. The fast
// path (the frame has its next hop's shape, see kShapeTagged: the common
// case, inline) changes only the fields that differ, keeping e.g. DSCP/ECN
// and the IPv4 ID, and updates the IPv4 header checksum incrementally too.
// The general path writes fresh headers. The IPv4 header checksum and a UDP
// checksum that must be computed from scratch (an IPv4 datagram without one
// going out as IPv6) use the port's TX offloads when it has them;
// m->l2_len / l3_len are set only then (they sit in the mbuf's second cache
// line). Returns false (frame unusable: drop it) when there is no source
// address of the path's family or no headroom.
bool RewriteForwardGeneral(rte_mbuf* m, const ParsedFrame& f, const PeerPath& path,
                           const PacketConfig& cfg);

namespace detail {

// RewriteForward's fast path for one shape (IP version and inline tag, so
// that offsets and choices are made at compile time): the frame keeps its
// layout, and only what differs is written. kReplySource: the new source
// address is the frame's destination (the path's local_addr is the address
// the frame came to, as a rule), so it moves within the header and cancels
// out of both checksums' updates; else src is the new source.
template <bool kV4, bool kTagged, bool kReplySource>
inline void RewriteSameShape(rte_mbuf* m, const PeerPath& path, const PacketConfig& cfg,
                             const LocalAddress* src) {
  constexpr uint16_t l2_len = kTagged ? kEthLen + kVlanLen : kEthLen;
  constexpr size_t addr_len = kV4 ? 4 : 16;
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  uint8_t* ip = frame + l2_len;
  uint8_t* udp = ip + (kV4 ? kIpv4Len : kIpv6Len);
  uint8_t* const ip_src = ip + (kV4 ? 12 : 8);
  uint8_t* const ip_dst = ip_src + addr_len;
  // What changes under both checksums (the IPv4 header's and the UDP
  // pseudo-header's): the addresses. Moving the destination to the source
  // changes no sum: only the old source goes and the path's address comes.
  uint64_t addr_delta;
  if (kReplySource) {
    addr_delta = SumWords(path.ip.data(), addr_len) + SumComplement(ip_src, addr_len);
  } else {
    addr_delta = PseudoAddrSum(kV4, src->ip.data(), path.ip.data()) + MinusPseudoAddrSum(kV4, ip);
  }
  // The checksums are computed and stored in turn: fewer values live at once.
  uint64_t ol = 0;
  if (kV4) {
    // TTL and addresses change; the header checksum follows them
    // incrementally (or the port computes it).
    const uint16_t ttl_new = RTE_BE16(static_cast<uint16_t>(kTtl << 8 | kProtoUdp));
    if (cfg.port_tx_offloads[path.listener] & kTxIpv4Cksum) {
      Store16(ip + 10, 0);
      ol = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    } else {
      const uint64_t hacc = uint64_t{static_cast<uint16_t>(~Load16(ip + 10))} +
                            static_cast<uint16_t>(~Load16(ip + 8)) + ttl_new + addr_delta;
      Store16(ip + 10, static_cast<uint16_t>(~Fold(hacc)));
    }
    Store16(ip + 8, ttl_new);
  } else {
    ip[7] = kTtl;
  }
  std::memcpy(ip_src, kReplySource ? ip_dst : src->ip.data(), addr_len);
  std::memcpy(ip_dst, path.ip.data(), addr_len);
  const uint16_t sport_be = kV4 ? cfg.udp4_port_be : cfg.udp6_port_be;
  // As common/byte_order.h does; rte_cpu_to_be_16 of a variable is an asm
  // statement the compiler cannot fold into the checksum sum.
  const uint16_t dport_be = __builtin_bswap16(path.port);
  Store16(udp + 6,
          RelayedUdpChecksum(Load16(udp + 6), addr_delta, udp, sport_be, dport_be, udp + kUdpLen));
  Store16(udp, sport_be);
  Store16(udp + 2, dport_be);

  // The next hop's MAC as 8 bytes (the path's next 2 follow it), the
  // source MAC over the 2 extra ones: one load and store fewer.
  static_assert(offsetof(PeerPath, mac) + 8 <= sizeof(PeerPath));
  std::memcpy(frame, reinterpret_cast<const uint8_t*>(&path) + offsetof(PeerPath, mac), 8);
  std::memcpy(frame + 6, cfg.port_mac[path.listener].addr_bytes, 6);
  if (kTagged) StoreBe16(frame + 14, static_cast<uint16_t>(path.vlan));
  // Without offloads, the flags stay as RX set them: RX flags are not TX
  // flags (no PMD's transmit reads them), and a received mbuf has no TX
  // flag set. The lengths sit in the mbuf's second cache line: only when
  // needed too.
  if (ol != 0) {
    m->ol_flags = (m->ol_flags & (RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL)) | ol;
    m->l2_len = l2_len;
    m->l3_len = kV4 ? kIpv4Len : kIpv6Len;
  }
}

// RewriteSameShape for a frame of shape f.shape (== PathShape(path)).
template <bool kReplySource>
inline void RewriteShape(rte_mbuf* m, const ParsedFrame& f, const PeerPath& path,
                         const PacketConfig& cfg, const LocalAddress* src) {
  if (f.shape == 4) {  // the most common first
    RewriteSameShape<true, false, kReplySource>(m, path, cfg, src);
  } else if (f.shape == 6) {
    RewriteSameShape<false, false, kReplySource>(m, path, cfg, src);
  } else if (f.shape == (4 | kShapeTagged)) {
    RewriteSameShape<true, true, kReplySource>(m, path, cfg, src);
  } else {
    RewriteSameShape<false, true, kReplySource>(m, path, cfg, src);
  }
}

}  // namespace detail

inline bool RewriteForward(rte_mbuf* m, const ParsedFrame& f, const PeerPath& path,
                           const PacketConfig& cfg) {
  using namespace detail;
  // Fast path, inline: the frame has its next hop's shape (same IP version
  // and L2 header length, no padding, a UDP checksum to update): change
  // only what differs, in place.
  if (f.shape != PathShape(path) || path.listener >= kMaxPorts) {
    return RewriteForwardGeneral(m, f, path, cfg);
  }
  // Our address the peer sent its HELLO to is, as a rule, the one this
  // frame came to: an address of the frame's (= the path's) family, so
  // what SourceIndex would say.
  if (path.local_addr == f.local_addr) {
    RewriteShape<true>(m, f, path, cfg, nullptr);
    return true;
  }
  const int src_idx = cfg.SourceIndex(path);
  if (src_idx < 0) return RewriteForwardGeneral(m, f, path, cfg);
  RewriteShape<false>(m, f, path, cfg, &cfg.addrs[src_idx]);
  return true;
}

// For a frame on its way to the kernel (kException): pops its 802.1Q tag
// (inline, or the one the port stripped into m->vlan_tci), since the kernel
// sees each VLAN untagged on a TAP of its own, and returns the VLAN id: 0
// for an untagged or priority-tagged frame. -1: the frame cannot go to the
// kernel (*drop says why): a VLAN the port does not accept, stacked tags
// (QinQ) or an 802.1ad S-tag, or too short.
int PopVlanForKernel(rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id, DropReason* drop);

// Builds a complete frame (Ethernet, IP, UDP, data) for the control thread's
// egress into a freshly allocated mbuf, to go out on port path.listener.
// Checksums are computed in software. False when the data does not fit or
// there is no source address of the path's family.
bool BuildFrame(rte_mbuf* m, const PeerPath& path, const PacketConfig& cfg, const uint8_t* data,
                size_t len);

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_PACKET_H_
