#include "control/tcp_syn_filter.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdint>

#include "absl/strings/str_cat.h"

namespace drasyl {
namespace {

// When a TCP socket's filter runs, the packet's data starts at the TCP header;
// the IP header is reached through the network-header offset.
constexpr uint32_t kTcpFlags = 13;
constexpr uint32_t kSynAckMask = 0x12;
constexpr uint32_t kSynOnly = 0x02;
constexpr uint32_t Net(uint32_t offset) { return static_cast<uint32_t>(SKF_NET_OFF) + offset; }
constexpr uint32_t kIpVersionByte = Net(0);
constexpr uint32_t kIpv4Source = Net(12);
constexpr uint32_t kIpv6SourceHigh = Net(8);  // the /64 prefix: two words
constexpr uint32_t kIpv6SourceLow = Net(12);
constexpr uint32_t kPass = 0xffffffff;  // keep the whole packet
constexpr uint32_t kDrop = 0;

bool IsIpv4(SourceKey key) { return (key >> 32) == 0xffffffffu; }

sock_filter Stmt(uint16_t code, uint32_t k) { return BPF_STMT(code, k); }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return BPF_JUMP(code, k, jt, jf);
}

}  // namespace

std::vector<sock_filter> BuildSynFilter(absl::Span<const SourceKey> blocked) {
  if (blocked.empty()) return {Stmt(BPF_RET | BPF_K, kPass)};
  if (blocked.size() > kMaxSynFilterSources) blocked = blocked.subspan(0, kMaxSynFilterSources);
  std::vector<sock_filter> p = {
      // Anything but a connection attempt passes at once (this filter is
      // inherited by every accepted connection too).
      Stmt(BPF_LD | BPF_B | BPF_ABS, kTcpFlags),
      Stmt(BPF_ALU | BPF_AND | BPF_K, kSynAckMask),
      Jump(BPF_JMP | BPF_JEQ | BPF_K, kSynOnly, 1, 0),
      Stmt(BPF_RET | BPF_K, kPass),
  };
  p.push_back(Stmt(BPF_LD | BPF_B | BPF_ABS, kIpVersionByte));
  p.push_back(Stmt(BPF_ALU | BPF_AND | BPF_K, 0xf0));
  p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, 0x60, 1, 0));
  const size_t to_ipv4 = p.size();
  p.push_back(Stmt(BPF_JMP | BPF_JA, 0));  // patched below: IPv4 (or else) checks
  // IPv6: each blocked /64 as two words; a match falls through to the drop.
  for (SourceKey key : blocked) {
    if (IsIpv4(key)) continue;
    p.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kIpv6SourceHigh));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(key >> 32), 0, 3));
    p.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kIpv6SourceLow));
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(key), 0, 1));
    p.push_back(Stmt(BPF_RET | BPF_K, kDrop));
  }
  p.push_back(Stmt(BPF_RET | BPF_K, kPass));
  p[to_ipv4].k = static_cast<uint32_t>(p.size() - to_ipv4 - 1);
  p.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, kIpv4Source));
  for (SourceKey key : blocked) {
    if (!IsIpv4(key)) continue;
    p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, static_cast<uint32_t>(key), 0, 1));
    p.push_back(Stmt(BPF_RET | BPF_K, kDrop));
  }
  p.push_back(Stmt(BPF_RET | BPF_K, kPass));
  return p;
}

absl::Status AttachSynFilter(int fd, const std::vector<sock_filter>& program) {
  sock_fprog prog{};
  prog.len = static_cast<unsigned short>(program.size());
  prog.filter = const_cast<sock_filter*>(program.data());
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) {
    return absl::InternalError(absl::StrCat("SO_ATTACH_FILTER: ", strerror(errno)));
  }
  return absl::OkStatus();
}

}  // namespace drasyl
