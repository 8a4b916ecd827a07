// libFuzzer target: the DPDK backend's frame handling
// (dataplane/dpdk/dpdk_frame_parse.h, dpdk_frame_rewrite.h) on arbitrary
// frames, the parser every byte from the wire meets first.
//
// Input: 4 control bytes (RX offload flags, the port's TX offloads, the
// VLAN tag the port "stripped"), 24 bytes of a next hop (family, address,
// port, MAC, VLAN), then the frame. It sits in an mbuf of exactly its
// length (no tailroom, so ASan sees any read past it) built without a
// mempool. Besides not crashing:
// - ParseFrame's kOurs says where a UDP payload to one of our addresses
//   and the listener port lies, inside the frame;
// - SourcePath of such a frame is a UDP path of its family, never port 0;
// - RewriteForward (after the relay decision's hop count increment, for a
//   payload the decision would relay) leaves a frame that parses as a UDP
//   datagram to the next hop with the payload unchanged but for the hop
//   count, a valid IPv4 header checksum, and a UDP checksum that verifies
//   exactly when the received one did (the update is incremental);
// - PopVlanForKernel leaves an untagged frame, 4 bytes shorter if it was
//   tagged inline;
// - ParseFrame's shortcut for the common IPv4 and IPv6 frames takes only
//   frames the full checks call ours, and says of them exactly what those
//   say.
#include <cstddef>
#include <cstdint>

#ifdef DRASYL_HAVE_DPDK

#include <rte_ether.h>
#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#include "common/wire.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace drasyl;        // NOLINT
using namespace drasyl::dpdk;  // NOLINT

constexpr size_t kControlBytes = 4;
constexpr size_t kHopBytes = 24;
constexpr uint16_t kPort = 22527;
constexpr uint16_t kVlan = 100;
constexpr size_t kMaxFrame = 9000;

const PacketConfig& Config() {
  static const PacketConfig* cfg = [] {
    auto* c = new PacketConfig();
    c->udp4_port_be = rte_cpu_to_be_16(kPort);
    c->udp6_port_be = rte_cpu_to_be_16(kPort);
    c->port_mac[0] = {{0x02, 0, 0, 0, 0, 0x01}};
    LocalAddress a4, a6, v4;
    a4.family = 4;
    a4.ip = {10, 99, 0, 1};
    a6.family = 6;
    a6.ip = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    v4.family = 4;
    v4.ip = {10, 98, 0, 1};
    c->AddAddress(a4);
    c->AddAddress(a6);
    c->AddAddress(v4);
    c->AllowVlan(0, kVlan);
    return c;
  }();
  return *cfg;
}

// An mbuf over `room` bytes of headroom and the frame, without tailroom.
struct FakeMbuf {
  FakeMbuf(const uint8_t* frame, size_t len, size_t room)
      : buf(new uint8_t[std::max<size_t>(room + len, 1)]) {
    if (len > 0) std::memcpy(buf.get() + room, frame, len);
    m = static_cast<rte_mbuf*>(::operator new(sizeof(rte_mbuf), std::align_val_t{64}));
    std::memset(static_cast<void*>(m), 0, sizeof(rte_mbuf));
    m->buf_addr = buf.get();
    m->buf_len = static_cast<uint16_t>(room + len);
    m->data_off = static_cast<uint16_t>(room);
    m->data_len = static_cast<uint16_t>(len);
    m->pkt_len = static_cast<uint32_t>(len);
    m->nb_segs = 1;
    m->port = 0;
  }
  ~FakeMbuf() { ::operator delete(m, std::align_val_t{64}); }
  FakeMbuf(const FakeMbuf&) = delete;
  FakeMbuf& operator=(const FakeMbuf&) = delete;
  std::unique_ptr<uint8_t[]> buf;
  rte_mbuf* m;
};

uint16_t Be16(const uint8_t* p) { return static_cast<uint16_t>(p[0] << 8 | p[1]); }

// RFC 1071 sum of n bytes, folded (not complemented).
uint16_t Sum(const uint8_t* p, size_t n, uint32_t s = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) s += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n & 1) s += static_cast<uint32_t>(p[n - 1] << 8);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

// Whether the UDP datagram at l3 (family 4/6) has a checksum that verifies
// as RFC 768 / 8200 define it: pseudo-header with the UDP length, over the
// UDP length's bytes (not the IP header's length, which may say more). An
// IPv4 datagram without a checksum counts as verified.
bool UdpVerifies(const uint8_t* l3, int family) {
  const uint8_t* udp = l3 + (family == 4 ? 20 : 40);
  const uint16_t ulen = Be16(udp + 4);
  if (family == 4 && udp[6] == 0 && udp[7] == 0) return true;
  uint32_t pseudo = 17u + ulen;
  pseudo += family == 4 ? Sum(l3 + 12, 8) : Sum(l3 + 8, 32);
  return Sum(udp, ulen, pseudo) == 0xffff;
}

PeerPath HopFrom(const uint8_t* h) {
  PeerPath p;
  p.transport = Transport::kUdp;
  p.family = (h[0] & 1) ? 6 : 4;
  std::memcpy(p.ip.data(), h + 1, 16);
  p.port = static_cast<uint16_t>(h[17] << 8 | h[18]);
  if (p.port == 0) p.port = 1;  // the control thread never learns port 0
  p.listener = 0;
  p.local_addr = static_cast<uint8_t>(h[0] >> 1 & 3);  // may name a wrong family or none
  std::memcpy(p.mac.data(), h + 19, 5);
  p.mac[5] = h[0];
  p.vlan = (h[23] & 1) ? (kVlanTagged | kVlan) : 0;
  return p;
}

void CheckRewrite(const uint8_t* frame, size_t len, const ParsedFrame& f, const PeerPath& hop,
                  uint8_t tx_offloads, uint64_t rx_flags) {
  // The received datagram as the decision sees it.
  const uint8_t* in_ip = frame + f.l2_len;
  const bool udp_valid_before = UdpVerifies(in_ip, f.family);
  const bool ip_valid_before = f.family == 4 && Sum(in_ip, 20) == 0xffff;
  FakeMbuf fm(frame, len, RTE_PKTMBUF_HEADROOM);
  fm.m->ol_flags = rx_flags;
  uint8_t* payload = rte_pktmbuf_mtod_offset(fm.m, uint8_t*, f.payload_off);
  std::vector<uint8_t> want(payload, payload + f.payload_len);
  payload[wire::off::kHopCount]++;  // what DecideBurst does before the rewrite
  want[wire::off::kHopCount]++;

  PacketConfig cfg = Config();
  cfg.port_tx_offloads[0] = tx_offloads;
  // There is a source address of either family and headroom for any header
  // growth: the rewrite cannot fail here.
  CHECK_OR_TRAP(RewriteForward(fm.m, f, hop, cfg));
  const uint8_t* out = rte_pktmbuf_mtod(fm.m, const uint8_t*);
  const size_t out_len = rte_pktmbuf_data_len(fm.m);
  CHECK_OR_TRAP(out_len == rte_pktmbuf_pkt_len(fm.m));
  const bool tagged = hop.vlan & kVlanTagged;
  const size_t l2 = tagged ? 18 : 14;
  const size_t l3_len = hop.family == 4 ? 20 : 40;
  CHECK_OR_TRAP(out_len == l2 + l3_len + 8 + f.payload_len);
  CHECK_OR_TRAP(std::memcmp(out, hop.mac.data(), 6) == 0);
  CHECK_OR_TRAP(std::memcmp(out + 6, cfg.port_mac[0].addr_bytes, 6) == 0);
  if (tagged) {
    CHECK_OR_TRAP(Be16(out + 12) == RTE_ETHER_TYPE_VLAN);
    CHECK_OR_TRAP((Be16(out + 14) & 0xfff) == kVlan);
  }
  CHECK_OR_TRAP(Be16(out + l2 - 2) == (hop.family == 4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6));
  const uint8_t* ip = out + l2;
  const uint8_t* udp = ip + l3_len;
  const LocalAddress& src = cfg.addrs[cfg.SourceIndex(hop)];
  bool udp_offloaded = false;
  if (hop.family == 4) {
    CHECK_OR_TRAP(ip[0] == 0x45 && ip[9] == 17);
    CHECK_OR_TRAP(Be16(ip + 2) == 20 + 8 + f.payload_len);
    CHECK_OR_TRAP(std::memcmp(ip + 12, src.ip.data(), 4) == 0);
    CHECK_OR_TRAP(std::memcmp(ip + 16, hop.ip.data(), 4) == 0);
    if (tx_offloads & kTxIpv4Cksum) {
      CHECK_OR_TRAP(ip[10] == 0 && ip[11] == 0);  // the port fills it in
    } else {
      // Fresh or updated from a valid one: valid. (An IPv4 header that
      // came in broken may stay broken; the next hop drops it.)
      CHECK_OR_TRAP(Sum(ip, 20) == 0xffff || (f.family == 4 && !ip_valid_before));
    }
  } else {
    CHECK_OR_TRAP((ip[0] >> 4) == 6 && ip[6] == 17);
    CHECK_OR_TRAP(Be16(ip + 4) == 8 + f.payload_len);
    CHECK_OR_TRAP(std::memcmp(ip + 8, src.ip.data(), 16) == 0);
    CHECK_OR_TRAP(std::memcmp(ip + 24, hop.ip.data(), 16) == 0);
    // A datagram without a checksum (IPv4) gets one, from the port when it can.
    udp_offloaded = f.udp_cksum == 0 && (tx_offloads & kTxUdpCksum);
  }
  CHECK_OR_TRAP(Be16(udp) == kPort && Be16(udp + 2) == hop.port);
  CHECK_OR_TRAP(Be16(udp + 4) == 8 + f.payload_len);
  CHECK_OR_TRAP(std::memcmp(udp + 8, want.data(), want.size()) == 0);
  if (!udp_offloaded) {
    // Updated incrementally: valid exactly when it was; computed afresh
    // (no checksum going out as IPv6): valid.
    const bool from_scratch = f.udp_cksum == 0 && hop.family == 6;
    CHECK_OR_TRAP(UdpVerifies(ip, hop.family) == (udp_valid_before || from_scratch));
  }
}

void CheckOurs(const uint8_t* frame, size_t len, const rte_mbuf* m, const ParsedFrame& f,
               const uint8_t* hop_bytes, uint8_t tx_offloads) {
  const PacketConfig& cfg = Config();
  CHECK_OR_TRAP(f.family == 4 || f.family == 6);
  CHECK_OR_TRAP(f.l3_len == (f.family == 4 ? 20 : 40));
  CHECK_OR_TRAP(f.l2_len == 14 || f.l2_len == 18);
  CHECK_OR_TRAP(f.payload_off == f.l2_len + f.l3_len + 8);
  CHECK_OR_TRAP(size_t{f.payload_off} + f.payload_len <= len);
  CHECK_OR_TRAP(f.local_addr < cfg.n_addrs && cfg.addrs[f.local_addr].family == f.family);
  const PeerPath src = SourcePath(m, f, 0);
  if (src.transport != Transport::kNone) {
    CHECK_OR_TRAP(src.transport == Transport::kUdp && src.family == f.family && src.port != 0);
    CHECK_OR_TRAP(std::memcmp(src.mac.data(), frame + 6, 6) == 0);
  }
  // The relay rewrites only what the decision relays: a whole header.
  if (f.payload_len >= wire::kHeaderBytes) {
    CheckRewrite(frame, len, f, HopFrom(hop_bytes), tx_offloads, m->ol_flags);
  }
}

void CheckException(const uint8_t* frame, size_t len, uint64_t rx_flags, uint16_t tci) {
  FakeMbuf fm(frame, len, 0);
  fm.m->ol_flags = rx_flags;
  fm.m->vlan_tci = tci;
  DropReason why;
  const bool inline_tag = !(rx_flags & RTE_MBUF_F_RX_VLAN_STRIPPED) && len >= 14 &&
                          Be16(frame + 12) == RTE_ETHER_TYPE_VLAN;
  const int vid = PopVlanForKernel(fm.m, Config(), 0, &why);
  if (vid < 0) return;
  CHECK_OR_TRAP(vid <= 0xfff);
  const uint8_t* out = rte_pktmbuf_mtod(fm.m, const uint8_t*);
  const size_t out_len = rte_pktmbuf_data_len(fm.m);
  CHECK_OR_TRAP(out_len == len - (inline_tag ? 4 : 0));
  CHECK_OR_TRAP(std::memcmp(out, frame, 12) == 0);  // the MACs moved, unchanged
  const uint16_t type = Be16(out + 12);
  CHECK_OR_TRAP(type != RTE_ETHER_TYPE_VLAN && type != RTE_ETHER_TYPE_QINQ);
}

void CheckShortcut(rte_mbuf* m) {
  ParsedFrame fast, full;
  PacketView view;
  if (!detail::ParseCommon(m, CommonFrame(Config(), 0), &fast, &view)) return;
  DropReason why;
  CHECK_OR_TRAP(detail::ParseFrameChecks(m, Config(), 0, &full, &why) == FrameClass::kOurs);
  CHECK_OR_TRAP(fast.l2_len == full.l2_len && fast.l3_len == full.l3_len &&
                fast.payload_off == full.payload_off && fast.payload_len == full.payload_len &&
                fast.family == full.family && fast.local_addr == full.local_addr &&
                fast.udp_cksum == full.udp_cksum && fast.vlan == full.vlan &&
                fast.shape == full.shape);
  CHECK_OR_TRAP(view.data == rte_pktmbuf_mtod_offset(m, const uint8_t*, full.payload_off) &&
                view.len == full.payload_len);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < kControlBytes + kHopBytes) return 0;
  const uint8_t c0 = data[0];
  uint64_t rx_flags = 0;
  if (c0 & 1) rx_flags |= RTE_MBUF_F_RX_VLAN_STRIPPED;
  switch (c0 >> 1 & 3) {
    case 1: rx_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD; break;
    case 2: rx_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD; break;
    default: break;
  }
  switch (c0 >> 3 & 3) {
    case 1: rx_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD; break;
    case 2: rx_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD; break;
    default: break;
  }
  const uint8_t tx_offloads = data[1] & (kTxIpv4Cksum | kTxUdpCksum);
  const uint16_t tci = static_cast<uint16_t>(data[2] << 8 | data[3]);
  const uint8_t* hop = data + kControlBytes;
  const uint8_t* frame = data + kControlBytes + kHopBytes;
  const size_t len = std::min(size - kControlBytes - kHopBytes, kMaxFrame);

  FakeMbuf fm(frame, len, 0);
  fm.m->ol_flags = rx_flags;
  fm.m->vlan_tci = tci;
  CheckShortcut(fm.m);
  ParsedFrame f;
  DropReason why;
  switch (ParseFrame(fm.m, Config(), 0, &f, &why)) {
    case FrameClass::kOurs:
      CheckOurs(frame, len, fm.m, f, hop, tx_offloads);
      break;
    case FrameClass::kException:
      CheckException(frame, len, rx_flags, tci);
      break;
    case FrameClass::kDrop:
      CHECK_OR_TRAP(static_cast<size_t>(why) < static_cast<size_t>(DropReason::kCount));
      break;
  }
  return 0;
}

#else  // DRASYL_HAVE_DPDK

extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) {
  __builtin_trap();  // built without DPDK: scripts/fuzz.sh does not run this target
}

#endif  // DRASYL_HAVE_DPDK
