// Frame parsing on DPDK mbufs: turns a received Ethernet frame into a
// PacketView over its UDP payload (or says it belongs to the kernel, or why
// it is dropped), and says where it came from. Inline where the worker's
// burst loop runs it; free of backend state, so unit-testable on plain mbufs.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_FRAME_PARSE_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_FRAME_PARSE_H_

#include <rte_mbuf.h>
#include <rte_prefetch.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/byte_order.h"
#include "dataplane/counters.h"
#include "dataplane/dpdk/dpdk_frame_layout.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/peer_path.h"
#include "dataplane/relay.h"

namespace drasyl::dpdk {

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
  static constexpr uint64_t kMask0 = WordOf64(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 0);
  // IPv4, words at 8, 16, 24, 32: EtherType, version and header length;
  // total length, fragment bits, protocol; destination address; its end,
  // destination port, UDP length.
  static constexpr uint64_t kMask4[4] = {
      WordOf64(0, 0, 0, 0, 0xff, 0xff, 0xff, 0),
      WordOf64(0xff, 0xff, 0, 0, 0x3f, 0xff, 0, 0xff),
      WordOf64(0, 0, 0, 0, 0, 0, 0xff, 0xff),
      WordOf64(0xff, 0xff, 0, 0, 0xff, 0xff, 0xff, 0xff)};
  // IPv6, words at 8, 16, 38, 46, 54: EtherType and version; payload length
  // and next header; destination address (two words, no mask); destination
  // port and UDP length.
  static constexpr uint64_t kMask6[5] = {
      WordOf64(0, 0, 0, 0, 0xff, 0xff, 0xf0, 0),
      WordOf64(0, 0, 0xff, 0xff, 0xff, 0, 0, 0), ~uint64_t{0}, ~uint64_t{0},
      WordOf64(0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0)};

  uint64_t w0;
  uint64_t v4[4];
  uint64_t v6[5];
  // What ParseCommon says of such a frame but its payload length and UDP
  // checksum (as the full checks fill it: FillOurs).
  ParsedFrame parsed4;
  ParsedFrame parsed6;
};

namespace detail {

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

inline uint8_t* PayloadOf(rte_mbuf* m, const ParsedFrame& f) {
  return rte_pktmbuf_mtod_offset(m, uint8_t*, f.payload_off);
}


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

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_FRAME_PARSE_H_
