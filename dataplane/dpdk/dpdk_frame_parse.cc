#include "dataplane/dpdk/dpdk_frame_parse.h"

#include <rte_ip.h>
#include <rte_udp.h>

#include <cstring>

#include "common/checksum.h"

// rte_ip{v4,v6}_udptcp_cksum_verify are still "experimental" in DPDK 22.11.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace drasyl::dpdk {

using namespace detail;

CommonFrame::CommonFrame(const PacketConfig& cfg, uint16_t port_id) {
  // The wanted bytes laid out as in a frame, then read as the words
  // ParseCommon loads (byte order is the same for both).
  uint8_t t[64] = {};
  const rte_ether_addr& mac = cfg.port_mac[port_id < kMaxPorts ? port_id : 0];
  std::memcpy(t, mac.addr_bytes, 6);
  // A group MAC is no port's: the full checks send such frames to the kernel.
  if (port_id >= kMaxPorts || (mac.addr_bytes[0] & 1)) t[7] = 1;
  w0 = Load64(t);
  const uint64_t kNever = WordOf64(1, 0, 0, 0, 0, 0, 0, 0);  // outside every mask

  std::memset(t, 0, sizeof(t));
  t[12] = 0x08, t[13] = 0x00, t[14] = 0x45;  // IPv4, no options
  t[23] = kProtoUdp;
  if (cfg.n_v4 > 0) std::memcpy(t + 30, &cfg.v4_be[0], 4);
  std::memcpy(t + 36, &cfg.udp4_port_be, 2);
  v4[0] = Load64(t + 8) | (cfg.n_v4 == 0 || cfg.udp4_port_be == 0 ? kNever : 0);
  v4[1] = Load64(t + 16);
  v4[2] = Load64(t + 24);
  v4[3] = Load64(t + 32);
  FillOurs(&parsed4, kEthLen, kIpv4Len, kUdpLen, 4, cfg.v4_index[0], t + 34, 0, 4);

  std::memset(t, 0, sizeof(t));
  t[12] = 0x86, t[13] = 0xdd, t[14] = 0x60;  // IPv6
  t[20] = kProtoUdp;                         // no extension header
  if (cfg.n_v6 > 0) std::memcpy(t + 38, cfg.v6[0].data(), 16);
  std::memcpy(t + 56, &cfg.udp6_port_be, 2);
  v6[0] = Load64(t + 8) | (cfg.n_v6 == 0 || cfg.udp6_port_be == 0 ? kNever : 0);
  v6[1] = Load64(t + 16);
  v6[2] = Load64(t + 38);
  v6[3] = Load64(t + 46);
  v6[4] = Load64(t + 54);
  FillOurs(&parsed6, kEthLen, kIpv6Len, kUdpLen, 6, cfg.v6_index[0], t + 54, 0, 6);
}

ChecksumFault CheckChecksums(const rte_mbuf* m, const ParsedFrame& f) {
  const uint8_t* l3 = rte_pktmbuf_mtod_offset(m, const uint8_t*, f.l2_len);
  const uint8_t* udp = l3 + f.l3_len;
  const uint64_t ip_ck = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
  if (f.family == 4 && ip_ck != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
      csum::Fold(csum::SumWords(l3, kIpv4Len)) != 0xffff) {
    return ChecksumFault::kIpv4Header;
  }
  const uint64_t l4_ck = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
  if (l4_ck == RTE_MBUF_F_RX_L4_CKSUM_BAD) return ChecksumFault::kUdp;
  if (l4_ck != RTE_MBUF_F_RX_L4_CKSUM_GOOD && !(f.family == 4 && f.udp_cksum == 0)) {
    const int bad = f.family == 4 ? rte_ipv4_udptcp_cksum_verify(
                                        reinterpret_cast<const rte_ipv4_hdr*>(l3), udp)
                                  : rte_ipv6_udptcp_cksum_verify(
                                        reinterpret_cast<const rte_ipv6_hdr*>(l3), udp);
    if (bad) return ChecksumFault::kUdp;
  }
  return ChecksumFault::kNone;
}

PeerPath SourcePath(const rte_mbuf* m, const ParsedFrame& f, uint16_t port_id) {
  // What the control thread learns a path from must be intact, as the
  // kernel would have checked.
  PeerPath path;
  if (CheckChecksums(m, f) != ChecksumFault::kNone) return path;
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  path = SourceEndpoint(m, f);
  path.listener = static_cast<uint8_t>(port_id);
  path.local_addr = f.local_addr;
  std::memcpy(path.mac.data(), p + 6, 6);
  path.vlan = f.vlan;
  return path;
}

}  // namespace drasyl::dpdk
