// The two control messages of UDP segmentation offload: UDP_SEGMENT on
// send (one GSO datagram the kernel splits into equal segments) and UDP_GRO
// on receive (the segment size of datagrams the kernel coalesced).
#ifndef DRASYL_DATAPLANE_SOCKET_UDP_SEGMENT_H_
#define DRASYL_DATAPLANE_SOCKET_UDP_SEGMENT_H_

#include <netinet/udp.h>
#include <sys/socket.h>

#include <cstdint>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace drasyl {

// Room for either control message, aligned as the kernel wants it.
union UdpSegmentControl {
  cmsghdr align;
  uint8_t buf[CMSG_SPACE(sizeof(int))];
};

// Makes `h` a GSO send of segments of `segment_bytes` (the last may be shorter).
inline void AttachUdpSegment(msghdr& h, UdpSegmentControl& control, uint16_t segment_bytes) {
  h.msg_control = control.buf;
  h.msg_controllen = CMSG_SPACE(sizeof(uint16_t));
  cmsghdr* c = CMSG_FIRSTHDR(&h);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  std::memcpy(CMSG_DATA(c), &segment_bytes, sizeof(segment_bytes));
}

// For a datagram received with UDP_GRO on: the size of the segments the
// kernel coalesced into it, or 0 when it is a single datagram.
inline uint32_t CoalescedSegmentBytes(msghdr& h) {
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c != nullptr; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
      int size;
      std::memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 ? static_cast<uint32_t>(size) : 0;
    }
  }
  return 0;
}

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_SOCKET_UDP_SEGMENT_H_
