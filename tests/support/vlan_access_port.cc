#include "tests/support/vlan_access_port.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"

namespace drasyl::testing {
namespace {

constexpr uint16_t kTpidVlan = 0x8100;

// A packet socket bound to `ifname` (all protocols), non-blocking.
absl::StatusOr<std::pair<int, int>> OpenPacketSocket(const std::string& ifname, bool auxdata) {
  const int ifindex = static_cast<int>(if_nametoindex(ifname.c_str()));
  if (ifindex == 0) return absl::NotFoundError(absl::StrCat("no interface ", ifname));
  // Protocol 0 until bound: no frames of other interfaces slip in before.
  int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("AF_PACKET socket: ", strerror(errno)));
  // Room for bursts (a relayed burst comes with a UNITE per message).
  int buf_bytes = 8 << 20;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf_bytes, sizeof(buf_bytes)) != 0) {
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf_bytes, sizeof(buf_bytes));
  }
  int one = 1;
  if (auxdata && setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("PACKET_AUXDATA: ", strerror(errno)));
  }
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof(sll)) != 0) {
    ::close(fd);
    return absl::InternalError(absl::StrCat("bind to ", ifname, ": ", strerror(errno)));
  }
  return std::make_pair(fd, ifindex);
}

bool IsUdp(const uint8_t* frame, size_t len) {
  if (len < 14) return false;
  const uint16_t type = static_cast<uint16_t>(frame[12] << 8 | frame[13]);
  if (type == 0x0800) return len >= 14 + 20 && frame[14 + 9] == 17;
  if (type == 0x86dd) return len >= 14 + 40 && frame[14 + 6] == 17;
  return false;
}

}  // namespace

absl::StatusOr<std::unique_ptr<VlanAccessPort>> VlanAccessPort::Start(
    const std::string& netns, const std::string& access_if, const std::string& trunk_if,
    uint16_t vid) {
  std::unique_ptr<VlanAccessPort> port(new VlanAccessPort());
  port->vid_ = vid;
  // Sockets stay in the namespace they were created in: open them on a
  // thread that joined it.
  absl::Status status;
  std::thread opener([&] {
    const std::string path = "/var/run/netns/" + netns;
    int nsfd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (nsfd < 0 || ::setns(nsfd, CLONE_NEWNET) != 0) {
      status = absl::InternalError(absl::StrCat("cannot enter ", netns, ": ", strerror(errno)));
      if (nsfd >= 0) ::close(nsfd);
      return;
    }
    ::close(nsfd);
    absl::StatusOr<std::pair<int, int>> a = OpenPacketSocket(access_if, false);
    if (!a.ok()) {
      status = a.status();
      return;
    }
    port->access_fd_ = a->first;
    port->access_ifindex_ = a->second;
    absl::StatusOr<std::pair<int, int>> t = OpenPacketSocket(trunk_if, true);
    if (!t.ok()) {
      status = t.status();
      return;
    }
    port->trunk_fd_ = t->first;
    port->trunk_ifindex_ = t->second;
  });
  opener.join();
  if (!status.ok()) return status;  // the destructor closes what was opened
  VlanAccessPort* raw = port.get();
  port->thread_ = std::thread([raw] { raw->Run(); });
  return port;
}

VlanAccessPort::~VlanAccessPort() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (access_fd_ >= 0) ::close(access_fd_);
  if (trunk_fd_ >= 0) ::close(trunk_fd_);
}

VlanAccessPort::Stats VlanAccessPort::stats() const {
  Stats s;
  s.to_trunk = to_trunk_.load();
  s.to_access = to_access_.load();
  s.udp_to_access = udp_to_access_.load();
  s.untagged_ignored = untagged_ignored_.load();
  s.other_vlan_ignored = other_vlan_ignored_.load();
  return s;
}

bool VlanAccessPort::InjectIntoTrunk(const std::vector<uint8_t>& frame) {
  return ::send(trunk_fd_, frame.data(), frame.size(), 0) == static_cast<ssize_t>(frame.size());
}

void VlanAccessPort::Run() {
  std::vector<uint8_t> buf(65536 + 4);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(tpacket_auxdata))];
  while (!stop_.load()) {
    pollfd p[2] = {{access_fd_, POLLIN, 0}, {trunk_fd_, POLLIN, 0}};
    if (::poll(p, 2, 50) <= 0) continue;
    for (int side = 0; side < 2; ++side) {
      if (!(p[side].revents & POLLIN)) continue;
      for (;;) {
        // Received frames land at offset 4: room to insert a tag in place.
        uint8_t* frame = buf.data() + 4;
        sockaddr_ll from{};
        iovec iov{frame, buf.size() - 4};
        msghdr msg{};
        msg.msg_name = &from;
        msg.msg_namelen = sizeof(from);
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        const ssize_t n = ::recvmsg(p[side].fd, &msg, 0);
        if (n < 0) break;  // EAGAIN: drained
        if (from.sll_pkttype == PACKET_OUTGOING || n < 14) continue;  // our own sends
        size_t len = static_cast<size_t>(n);
        if (side == 0) {
          // Access -> trunk: insert the tag after the MACs.
          std::memmove(frame - 4, frame, 12);
          frame -= 4;
          frame[12] = kTpidVlan >> 8;
          frame[13] = kTpidVlan & 0xff;
          frame[14] = static_cast<uint8_t>(vid_ >> 8);
          frame[15] = static_cast<uint8_t>(vid_);
          if (::send(trunk_fd_, frame, len + 4, 0) == static_cast<ssize_t>(len + 4)) ++to_trunk_;
          continue;
        }
        // Trunk -> access: the kernel hands the tag over as metadata (it
        // untags on receive); an inline one is stripped here.
        std::optional<uint16_t> tci;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
          if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
          tpacket_auxdata aux;
          std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
          if (aux.tp_status & TP_STATUS_VLAN_VALID) tci = aux.tp_vlan_tci;
        }
        if (!tci && len >= 18 && frame[12] == (kTpidVlan >> 8) && frame[13] == (kTpidVlan & 0xff)) {
          tci = static_cast<uint16_t>(frame[14] << 8 | frame[15]);
          std::memmove(frame + 4, frame, 12);
          frame += 4;
          len -= 4;
        }
        if (!tci) {
          ++untagged_ignored_;
          continue;
        }
        if ((*tci & 0xfff) != vid_) {
          ++other_vlan_ignored_;
          continue;
        }
        if (::send(access_fd_, frame, len, 0) == static_cast<ssize_t>(len)) {
          ++to_access_;
          if (IsUdp(frame, len)) ++udp_to_access_;
        }
      }
    }
  }
}

}  // namespace drasyl::testing
