// Test frames "from a node" for the DPDK fragment tests and fuzz target:
// a frame the backend built for a path to us (BuildFrame) gets the node's
// source (the address ending in 2, port 4000) and checksums computed anew.
#ifndef DRASYL_TESTS_SUPPORT_DPDK_NODE_FRAME_H_
#define DRASYL_TESTS_SUPPORT_DPDK_NODE_FRAME_H_

#include <rte_ip.h>
#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

namespace drasyl::testing {

// m: an untagged Ethernet frame with an IPv4 (or, with v6, IPv6) UDP datagram.
inline void MakeFromNode(rte_mbuf* m, bool v6) {
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, 14);
  uint8_t* src_last = v6 ? ip + 8 + 15 : ip + 12 + 3;
  *src_last = 2;
  uint8_t* udp = ip + (v6 ? 40 : 20);
  udp[0] = 0x0f, udp[1] = 0xa0;  // source port 4000
  udp[6] = udp[7] = 0;
  const uint16_t ck = v6 ? rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(ip), udp)
                         : rte_ipv4_udptcp_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip), udp);
  std::memcpy(udp + 6, &ck, 2);
  if (!v6) {
    ip[10] = ip[11] = 0;
    const uint16_t hck = rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip));
    std::memcpy(ip + 10, &hck, 2);
  }
}

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_DPDK_NODE_FRAME_H_
