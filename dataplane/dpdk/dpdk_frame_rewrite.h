// Frame writing on DPDK mbufs: rewrites a relayed frame in place for its
// next hop (MACs, VLAN tag, IP version and addresses, UDP ports and
// checksums), pops the tag of a frame for the kernel, and builds the control
// thread's frames. The relay's fast path is inline (the worker's burst loop
// runs it); free of backend state, so unit-testable on plain mbufs.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_FRAME_REWRITE_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_FRAME_REWRITE_H_

#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/byte_order.h"
#include "common/checksum.h"
#include "common/wire.h"
#include "dataplane/counters.h"
#include "dataplane/dpdk/dpdk_frame_layout.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/peer_path.h"

namespace drasyl::dpdk {

// Sets a frame's offload flags to the TX requests `ol` (0: none), keeping
// only the flags that describe its buffer (indirect, external): RX flags
// must not reach a PMD's transmit. The header lengths sit in the mbuf's
// second cache line, which nothing else on the relay path touches: written
// only when an offload needs them.
inline void SetTxOffloads(rte_mbuf* m, uint64_t ol, uint16_t l2_len = 0, uint16_t l3_len = 0) {
  m->ol_flags = (m->ol_flags & (RTE_MBUF_F_INDIRECT | RTE_MBUF_F_EXTERNAL)) | ol;
  if (ol != 0) {
    m->l2_len = l2_len;
    m->l3_len = l3_len;
  }
}

namespace detail {

// The sum of a pseudo-header's addresses (src, dst: 4 or 16 bytes each),
// and minus that of the IP header at l3.
inline uint64_t PseudoAddrSum(bool v4, const uint8_t* src, const uint8_t* dst) {
  return v4 ? uint64_t{Load32(src)} + Load32(dst)
            : csum::SumWords(src, 16) + csum::SumWords(dst, 16);
}
inline uint64_t MinusPseudoAddrSum(bool v4, const uint8_t* l3) {
  return v4 ? uint64_t{~Load32(l3 + 12)} + uint32_t{~Load32(l3 + 16)}
            : csum::SumComplement(l3 + 8, 32);
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
  const uint16_t cksum = static_cast<uint16_t>(~csum::Fold(acc));
  return cksum == 0 ? 0xffff : cksum;
}

}  // namespace detail

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
    addr_delta =
        csum::SumWords(path.ip.data(), addr_len) + csum::SumComplement(ip_src, addr_len);
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
      Store16(ip + 10, static_cast<uint16_t>(~csum::Fold(hacc)));
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
  if (ol != 0) SetTxOffloads(m, ol, l2_len, kV4 ? kIpv4Len : kIpv6Len);
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

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_FRAME_REWRITE_H_
