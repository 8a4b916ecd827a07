// Transmits a burst of relayed datagrams on one UDP socket with as few
// system calls and socket buffers as the kernel allows: one sendmmsg for the
// burst, and consecutive datagrams for the same peer with the same size
// (a bulk flow through the relay) travel as one UDP GSO message (UDP_SEGMENT),
// which the kernel splits into the original datagrams after routing them once.
#ifndef DRASYL_DATAPLANE_SOCKET_UDP_TX_BATCH_H_
#define DRASYL_DATAPLANE_SOCKET_UDP_TX_BATCH_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>

#include "dataplane/peer_path.h"
#include "dataplane/socket/udp_segment.h"

namespace drasyl {

class UdpTxBatch {
 public:
  static constexpr int kMaxDatagrams = 64;
  // The kernel's limit of segments in one UDP GSO message (UDP_MAX_SEGMENTS).
  static constexpr int kMaxSegments = 64;
  // Larger datagrams are sent alone: a GSO segment must fit the path MTU
  // (1500-byte Ethernet with IPv6 and UDP headers), which is not known here.
  static constexpr uint32_t kMaxSegmentBytes = 1452;
  static constexpr uint32_t kMaxGsoBytes = 65507;  // largest IPv4 UDP payload

  struct Result {
    uint64_t packets = 0;
    uint64_t bytes = 0;
    uint64_t dropped = 0;
    uint64_t messages = 0;  // messages handed to the kernel (a GSO one counts once)
  };

  // `v6_socket`: the socket is AF_INET6 (IPv4 peers as mapped addresses).
  explicit UdpTxBatch(bool v6_socket) : v6_socket_(v6_socket) {}

  // Queues a datagram for `path` (the same PeerPath object for the same peer
  // within a burst). At most kMaxDatagrams per Flush.
  void Add(const uint8_t* data, uint32_t len, const PeerPath* path);
  size_t size() const { return datagrams_; }

  // Sends what was queued (a full socket buffer drops the rest), then empties
  // the batch. GSO is switched off for good if the kernel refuses it.
  Result Flush(int fd);

  bool gso_enabled() const { return gso_enabled_; }
  void DisableGso() { gso_enabled_ = false; }

 private:
  // One message: datagrams [first_iov, first_iov + segments) to one peer.
  struct Message {
    const PeerPath* path;
    uint32_t first_iov;
    uint32_t segments;
    uint32_t segment_bytes;  // every segment's size but the last one's
    uint32_t total_bytes;
    bool closed;  // its last segment is shorter: nothing may follow
  };
  void Prepare(int m, bool gso);
  Result SendSplit(int fd, int m);

  bool v6_socket_;
  bool gso_enabled_ = true;
  size_t datagrams_ = 0;
  int messages_ = 0;
  std::array<Message, kMaxDatagrams> msg_{};
  std::array<iovec, kMaxDatagrams> iov_{};
  std::array<mmsghdr, kMaxDatagrams> hdr_{};
  std::array<sockaddr_storage, kMaxDatagrams> addr_{};
  std::array<UdpSegmentControl, kMaxDatagrams> cmsg_{};
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_SOCKET_UDP_TX_BATCH_H_
