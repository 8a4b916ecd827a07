// Where a peer is reached: its current path, as learned from its last HELLO.
// 32 bytes so that a table slot (key + path) is one cache line.
#ifndef DRASYL_DATAPLANE_PEER_PATH_H_
#define DRASYL_DATAPLANE_PEER_PATH_H_

#include <array>
#include <cstdint>
#include <cstring>

#include "common/socket_address.h"

namespace drasyl {

enum class Transport : uint8_t { kNone = 0, kUdp = 1, kTcp = 2 };

struct PeerPath {
  // UDP: the peer's address (IPv4 in the first 4 bytes when family == 4).
  std::array<uint8_t, 16> ip{};
  uint16_t port = 0;  // host order
  Transport transport = Transport::kNone;
  uint8_t family = 0;       // 4 or 6
  uint8_t listener = 0;     // socket backend: listener index; DPDK: port id
  uint8_t local_addr = 0;   // DPDK: index of our address the HELLO was sent to
  std::array<uint8_t, 6> mac{};  // DPDK: next hop (source MAC of the HELLO frame)
  union {
    uint32_t tcp_conn = 0;  // TCP: connection id
    uint32_t vlan;          // DPDK UDP: VLAN tag of the next hop (see dpdk_frame_layout.h)
  };

  static PeerPath Udp(const SocketAddress& a, uint8_t listener) {
    PeerPath p;
    p.transport = Transport::kUdp;
    p.family = a.is_v4() ? 4 : 6;
    p.ip = a.bytes();
    p.port = a.port();
    p.listener = listener;
    return p;
  }
  static PeerPath Tcp(uint32_t conn) {
    PeerPath p;
    p.transport = Transport::kTcp;
    p.tcp_conn = conn;
    return p;
  }
  SocketAddress address() const {
    if (family == 4) {
      uint32_t v4;
      std::memcpy(&v4, ip.data(), 4);
      return SocketAddress::V4(__builtin_bswap32(v4), port);
    }
    return SocketAddress::V6(ip.data(), port);
  }
  friend bool operator==(const PeerPath& a, const PeerPath& b) {
    return std::memcmp(&a, &b, sizeof(PeerPath)) == 0;
  }
};
static_assert(sizeof(PeerPath) == 32, "PeerPath must stay 32 bytes without padding");

// Whether two paths reach the same endpoint: the same TCP connection, or the
// same UDP address and port (whatever the listener, next-hop MAC or VLAN).
inline bool SameEndpoint(const PeerPath& a, const PeerPath& b) {
  if (a.transport != b.transport) return false;
  switch (a.transport) {
    case Transport::kTcp:
      return a.tcp_conn == b.tcp_conn;
    case Transport::kUdp:
      // Constant lengths: the compares are inlined.
      return a.family == b.family && a.port == b.port &&
             (a.family == 4 ? std::memcmp(a.ip.data(), b.ip.data(), 4) == 0
                            : std::memcmp(a.ip.data(), b.ip.data(), 16) == 0);
    case Transport::kNone:
      break;
  }
  return false;
}

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_PEER_PATH_H_
