#include "dataplane/dpdk/dpdk_frame_rewrite.h"

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

namespace drasyl::dpdk {

using namespace detail;

namespace {

// Writes Ethernet (+ VLAN) for `path` at p; returns its length.
inline size_t WriteL2(uint8_t* p, const PeerPath& path, const rte_ether_addr& src,
                      uint16_t ether_type_be) {
  std::memcpy(p, path.mac.data(), 6);
  std::memcpy(p + 6, src.addr_bytes, 6);
  if (path.vlan & kVlanTagged) {
    Store16(p + 12, kEthVlan);
    Store16(p + 14, rte_cpu_to_be_16(static_cast<uint16_t>(path.vlan)));
    Store16(p + 16, ether_type_be);
    return kEthLen + kVlanLen;
  }
  Store16(p + 12, ether_type_be);
  return kEthLen;
}

// Writes an IPv4 header with its checksum. The checksum is summed from the
// values, not read back from the frame (reading what was just written in
// pieces stalls store forwarding). Every term is a 16-bit word as it sits
// in memory, so the sum is the same on any byte order.
inline void WriteIpv4(uint8_t* ip, const uint8_t* src, const uint8_t* dst, uint16_t total,
                      uint16_t id_be, bool write_cksum) {
  const uint16_t w0 = RTE_BE16(0x4500);  // version 4, IHL 5, TOS 0
  const uint16_t total_be = rte_cpu_to_be_16(total);
  const uint16_t w3 = RTE_BE16(0x4000);  // DF
  const uint16_t w4 = RTE_BE16(static_cast<uint16_t>(kTtl << 8 | kProtoUdp));
  const uint32_t s = Load32(src), d = Load32(dst);
  uint16_t cksum = 0;
  if (write_cksum) {
    const uint64_t sum = uint64_t{w0} + total_be + id_be + w3 + w4 + s + d;
    cksum = static_cast<uint16_t>(~csum::Fold(sum));
  }
  Store16(ip, w0);
  Store16(ip + 2, total_be);
  Store16(ip + 4, id_be);
  Store16(ip + 6, w3);
  Store16(ip + 8, w4);
  Store16(ip + 10, cksum);
  std::memcpy(ip + 12, &s, 4);
  std::memcpy(ip + 16, &d, 4);
}

inline void WriteIpv6(uint8_t* ip, const uint8_t* src, const uint8_t* dst, uint16_t payload) {
  const uint32_t vtc = RTE_BE32(6u << 28);
  std::memcpy(ip, &vtc, 4);
  Store16(ip + 4, rte_cpu_to_be_16(payload));
  ip[6] = kProtoUdp;
  ip[7] = kTtl;
  std::memcpy(ip + 8, src, 16);
  std::memcpy(ip + 24, dst, 16);
}

}  // namespace

bool RewriteForwardGeneral(rte_mbuf* m, const ParsedFrame& f, const PeerPath& path,
                    const PacketConfig& cfg) {
  const int src_idx = cfg.SourceIndex(path);
  if (src_idx < 0 || path.listener >= kMaxPorts) return false;
  const LocalAddress& src = cfg.addrs[src_idx];
  const bool out_v4 = path.family == 4;
  const uint16_t sport_be = out_v4 ? cfg.udp4_port_be : cfg.udp6_port_be;
  const uint16_t dport_be = rte_cpu_to_be_16(path.port);
  const uint8_t offloads = cfg.port_tx_offloads[path.listener];

  // What the old UDP checksum covered and changes: the pseudo-header's
  // addresses, the ports and the hop count word (hop count || flags, at an
  // even offset of the checksummed data). Length and protocol stay.
  uint8_t* frame = rte_pktmbuf_mtod(m, uint8_t*);
  const uint8_t* old_l3 = frame + f.l2_len;
  const uint8_t* old_udp = old_l3 + f.l3_len;
  uint8_t* payload = frame + f.payload_off;
  const uint16_t old_id = f.family == 4 ? Load16(old_l3 + 4) : 0;
  const bool full_cksum = f.udp_cksum == 0;  // IPv4 without a UDP checksum
  // Old and new pseudo-header addresses. ~w == -w for 32-bit words in
  // ones' complement (0xffffffff == 0 mod 0xffff), so no extra fold is needed.
  const uint64_t new_addrs = PseudoAddrSum(out_v4, src.ip.data(), path.ip.data());
  const uint64_t minus_old_addrs = MinusPseudoAddrSum(f.family == 4, old_l3);
  const uint16_t udp_cksum =
      full_cksum ? 0
                 : RelayedUdpChecksum(f.udp_cksum, minus_old_addrs + new_addrs, old_udp, sport_be,
                                      dport_be, payload);

  // Drop Ethernet padding, resize the headers in front of the payload and
  // write them anew.
  const uint16_t new_l2 = (path.vlan & kVlanTagged) ? kEthLen + kVlanLen : kEthLen;
  const uint32_t frame_len = static_cast<uint32_t>(f.payload_off) + f.payload_len;
  if (rte_pktmbuf_pkt_len(m) > frame_len) rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - frame_len);
  const uint16_t new_l3 = out_v4 ? kIpv4Len : kIpv6Len;
  const uint16_t new_off = new_l2 + new_l3 + kUdpLen;
  if (new_off > f.payload_off) {
    if (rte_pktmbuf_prepend(m, new_off - f.payload_off) == nullptr) return false;
  } else if (new_off < f.payload_off) {
    rte_pktmbuf_adj(m, f.payload_off - new_off);
  }
  frame = rte_pktmbuf_mtod(m, uint8_t*);

  WriteL2(frame, path, cfg.port_mac[path.listener], out_v4 ? kEthIpv4 : kEthIpv6);
  uint8_t* ip = frame + new_l2;
  uint8_t* udp = ip + new_l3;
  const uint16_t ulen = f.payload_len + kUdpLen;
  Store16(udp, sport_be);
  Store16(udp + 2, dport_be);
  Store16(udp + 4, rte_cpu_to_be_16(ulen));
  Store16(udp + 6, udp_cksum);

  uint64_t ol = 0;
  if (out_v4) {
    const bool hw = offloads & kTxIpv4Cksum;
    WriteIpv4(ip, src.ip.data(), path.ip.data(), new_l3 + ulen, old_id, !hw);
    if (hw) ol |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM;
    // An IPv4 datagram without a checksum stays without one (allowed).
  } else {
    WriteIpv6(ip, src.ip.data(), path.ip.data(), ulen);
    if (full_cksum) {  // mandatory for IPv6
      if (offloads & kTxUdpCksum) {
        ol |= RTE_MBUF_F_TX_IPV6 | RTE_MBUF_F_TX_UDP_CKSUM;
        Store16(udp + 6, rte_ipv6_phdr_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), ol));
      } else {
        Store16(udp + 6, rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), udp));
      }
    }
  }
  SetTxOffloads(m, ol, new_l2, new_l3);
  return true;
}

int PopVlanForKernel(rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id, DropReason* drop) {
  constexpr uint16_t kEthQinq = RTE_BE16(RTE_ETHER_TYPE_QINQ);  // 802.1ad S-tag
  *drop = DropReason::kTooShort;
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (rte_pktmbuf_data_len(m) < kEthLen) return -1;
  int vid = 0;
  uint16_t type = Load16(p + 12);
  if (m->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) {
    vid = m->vlan_tci & 0xfff;
    if (!cfg.VlanAllowed(port_id, m->vlan_tci)) {
      *drop = DropReason::kUnknownVlan;
      return -1;
    }
  } else if (type == kEthVlan) {
    if (rte_pktmbuf_data_len(m) < kEthLen + kVlanLen) return -1;
    const uint16_t tci = rte_be_to_cpu_16(Load16(p + 14));
    if (!cfg.VlanAllowed(port_id, tci)) {
      *drop = DropReason::kUnknownVlan;
      return -1;
    }
    vid = tci & 0xfff;
    // The MACs move up over the tag.
    std::memmove(p + kVlanLen, p, 12);
    rte_pktmbuf_adj(m, kVlanLen);
    p += kVlanLen;
    type = Load16(p + 12);
  }
  if (type == kEthVlan || type == kEthQinq) {
    *drop = DropReason::kStackedVlan;
    return -1;
  }
  return vid;
}

bool BuildFrame(rte_mbuf* m, const PeerPath& path, const PacketConfig& cfg, const uint8_t* data,
                size_t len) {
  const int src_idx = cfg.SourceIndex(path);
  if (src_idx < 0 || path.listener >= kMaxPorts || path.transport != Transport::kUdp) return false;
  const bool v4 = path.family == 4;
  const size_t l2 = (path.vlan & kVlanTagged) ? kEthLen + kVlanLen : kEthLen;
  const size_t l3 = v4 ? kIpv4Len : kIpv6Len;
  const size_t total = l2 + l3 + kUdpLen + len;
  if (len > 0xffff - kIpv6Len - kUdpLen) return false;
  uint8_t* frame = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, total));
  if (frame == nullptr) return false;
  WriteL2(frame, path, cfg.port_mac[path.listener], v4 ? kEthIpv4 : kEthIpv6);
  uint8_t* ip = frame + l2;
  uint8_t* udp = ip + l3;
  const uint16_t ulen = static_cast<uint16_t>(kUdpLen + len);
  Store16(udp, v4 ? cfg.udp4_port_be : cfg.udp6_port_be);
  Store16(udp + 2, rte_cpu_to_be_16(path.port));
  Store16(udp + 4, rte_cpu_to_be_16(ulen));
  Store16(udp + 6, 0);
  std::memcpy(udp + kUdpLen, data, len);
  const LocalAddress& src = cfg.addrs[src_idx];
  if (v4) {
    WriteIpv4(ip, src.ip.data(), path.ip.data(), static_cast<uint16_t>(l3 + ulen), 0, true);
    Store16(udp + 6, rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), udp));
  } else {
    WriteIpv6(ip, src.ip.data(), path.ip.data(), ulen);
    Store16(udp + 6, rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), udp));
  }
  m->l2_len = l2;
  m->l3_len = l3;
  return true;
}

}  // namespace drasyl::dpdk