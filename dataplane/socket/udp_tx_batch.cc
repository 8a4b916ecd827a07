#include "dataplane/socket/udp_tx_batch.h"

#include <errno.h>

#include <cstring>

#include "glog/logging.h"

namespace drasyl {

void UdpTxBatch::Add(const uint8_t* data, uint32_t len, const PeerPath* path) {
  DCHECK_LT(datagrams_, static_cast<size_t>(kMaxDatagrams));
  if (messages_ > 0) {
    Message& last = msg_[messages_ - 1];
    if (gso_enabled_ && last.path == path && !last.closed && last.segments < kMaxSegments &&
        len <= last.segment_bytes && last.segment_bytes <= kMaxSegmentBytes &&
        last.total_bytes + len <= kMaxGsoBytes) {
      ++last.segments;
      last.total_bytes += len;
      last.closed = len < last.segment_bytes;  // only the last segment may be short
      iov_[datagrams_++] = {const_cast<uint8_t*>(data), len};
      return;
    }
  }
  Message& m = msg_[messages_];
  m = Message{path, static_cast<uint32_t>(datagrams_), 1, len, len, false};
  std::memset(&hdr_[messages_].msg_hdr, 0, sizeof(msghdr));
  hdr_[messages_].msg_hdr.msg_namelen = path->address().ToSockaddr(&addr_[messages_], v6_socket_);
  ++messages_;
  iov_[datagrams_++] = {const_cast<uint8_t*>(data), len};
}

void UdpTxBatch::Prepare(int m, bool gso) {
  const Message& g = msg_[m];
  msghdr& h = hdr_[m].msg_hdr;
  h.msg_name = &addr_[m];
  h.msg_iov = &iov_[g.first_iov];
  h.msg_iovlen = g.segments;
  h.msg_control = nullptr;
  h.msg_controllen = 0;
  if (gso && g.segments > 1) AttachUdpSegment(h, cmsg_[m], static_cast<uint16_t>(g.segment_bytes));
}

UdpTxBatch::Result UdpTxBatch::Flush(int fd) {
  Result res;
  for (int m = 0; m < messages_; ++m) Prepare(m, gso_enabled_);
  int sent = 0;
  while (sent < messages_) {
    const int r = ::sendmmsg(fd, hdr_.data() + sent, messages_ - sent, MSG_DONTWAIT);
    if (r > 0) {
      res.messages += r;
      for (int k = sent; k < sent + r; ++k) {
        res.packets += msg_[k].segments;
        res.bytes += msg_[k].total_bytes;
      }
      sent += r;
      continue;
    }
    const int err = errno;
    if (r < 0 && err == EINTR) continue;
    if (r < 0 && (err == EAGAIN || err == EWOULDBLOCK)) {
      // The socket buffer is full: drop the rest of the burst.
      for (int k = sent; k < messages_; ++k) res.dropped += msg_[k].segments;
      break;
    }
    if (msg_[sent].segments > 1 && (err == EIO || err == EINVAL || err == EOPNOTSUPP ||
                                     err == ENOPROTOOPT)) {
      // EINVAL: a segment larger than the route's MTU allows; the others:
      // this kernel or device cannot segment UDP (no checksum offload).
      if (err != EINVAL) {
        LOG(WARNING) << "UDP GSO refused (" << strerror(err) << "); sending datagrams one by one";
        gso_enabled_ = false;
      }
      Result split = SendSplit(fd, sent);
      res.packets += split.packets;
      res.messages += split.messages;
      res.bytes += split.bytes;
      res.dropped += split.dropped;
    } else {
      res.dropped += msg_[sent].segments;  // an error about this message only
    }
    ++sent;
  }
  datagrams_ = 0;
  messages_ = 0;
  return res;
}

UdpTxBatch::Result UdpTxBatch::SendSplit(int fd, int m) {
  Result res;
  const Message& g = msg_[m];
  std::array<mmsghdr, kMaxSegments> one{};
  for (uint32_t s = 0; s < g.segments; ++s) {
    msghdr& h = one[s].msg_hdr;
    h.msg_name = &addr_[m];
    h.msg_namelen = hdr_[m].msg_hdr.msg_namelen;
    h.msg_iov = &iov_[g.first_iov + s];
    h.msg_iovlen = 1;
  }
  uint32_t sent = 0;
  while (sent < g.segments) {
    const int r = ::sendmmsg(fd, one.data() + sent, g.segments - sent, MSG_DONTWAIT);
    if (r > 0) {
      for (uint32_t k = sent; k < sent + r; ++k) res.bytes += iov_[g.first_iov + k].iov_len;
      res.packets += r;
      res.messages += r;
      sent += r;
    } else if (r < 0 && errno == EINTR) {
      continue;
    } else {
      res.dropped += g.segments - sent;
      break;
    }
  }
  return res;
}

}  // namespace drasyl
