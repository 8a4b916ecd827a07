#include "dataplane/dpdk/dpdk_fragments.h"

#include <rte_cycles.h>
#include <rte_ip.h>

#include <algorithm>
#include <cstring>

#include "common/byte_order.h"
#include "common/checksum.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"

// rte_ip_frag_table_del_expired_entries and the checksum helpers are still
// "experimental" in DPDK 22.11.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace drasyl::dpdk {

using namespace detail;

namespace {

constexpr uint8_t kProtoFragment = 44;  // IPv6 fragment header
constexpr size_t kFragHdrLen = 8;
constexpr uint16_t kIpv4MoreFragments = 0x2000;
constexpr uint16_t kIpv4OffsetMask = 0x1fff;
constexpr uint32_t kMaxIpv4Payload = 0xffff - kIpv4Len;

bool OurV4(const PacketConfig& cfg, const uint8_t* dst) {
  const uint32_t d = Load32(dst);
  for (uint8_t i = 0; i < cfg.n_v4; ++i) {
    if (cfg.v4_be[i] == d) return true;
  }
  return false;
}

bool OurV6(const PacketConfig& cfg, const uint8_t* dst) {
  for (uint8_t i = 0; i < cfg.n_v6; ++i) {
    if (std::memcmp(cfg.v6[i].data(), dst, 16) == 0) return true;
  }
  return false;
}

// The IPv4 header checksum of a 20-byte header (its checksum field zero).
uint16_t Ipv4HeaderChecksum(uint8_t* ip) {
  Store16(ip + 10, 0);
  return static_cast<uint16_t>(~csum::Fold(csum::SumWords(ip, kIpv4Len)));
}

}  // namespace

FragmentKind ClassifyFragment(rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id) {
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  const uint32_t pkt_len = rte_pktmbuf_pkt_len(m);
  if (len < kEthLen || port_id >= kMaxPorts || !MacEqual(p, cfg.port_mac[port_id])) {
    return FragmentKind::kNone;
  }
  size_t l2 = kEthLen;
  uint16_t type = Load16(p + 12);
  if (type == kEthVlan) {  // the parser has checked the VLAN
    if (len < kEthLen + kVlanLen) return FragmentKind::kNone;
    type = Load16(p + 16);
    l2 += kVlanLen;
  }
  const uint8_t* l3 = p + l2;
  if (type == kEthIpv4) {
    if (cfg.n_v4 == 0 || cfg.udp4_port_be == 0 || len < l2 + kIpv4Len) return FragmentKind::kNone;
    if (l3[0] != 0x45 || l3[9] != kProtoUdp) return FragmentKind::kNone;
    const uint16_t frag = LoadBe16(l3 + 6);
    const bool more = frag & kIpv4MoreFragments;
    const uint32_t offset = static_cast<uint32_t>(frag & kIpv4OffsetMask) * 8;
    if (!more && offset == 0) return FragmentKind::kNone;
    if (!OurV4(cfg, l3 + 16)) return FragmentKind::kNone;
    const uint16_t total = LoadBe16(l3 + 2);
    if (total <= kIpv4Len || l2 + total > pkt_len) return FragmentKind::kBad;
    const uint32_t data = total - kIpv4Len;
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
      return FragmentKind::kBad;
    }
    if ((m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
        csum::Fold(csum::SumWords(l3, kIpv4Len)) != 0xffff) {
      return FragmentKind::kBad;
    }
    if ((more && data % 8 != 0) || offset + data > kMaxIpv4Payload) return FragmentKind::kBad;
    if (offset == 0 && (data < kUdpLen || len < l2 + kIpv4Len + kUdpLen)) return FragmentKind::kBad;
    m->l2_len = l2;
    m->l3_len = kIpv4Len;
    return FragmentKind::kFragment;
  }
  if (type == kEthIpv6) {
    if (cfg.n_v6 == 0 || cfg.udp6_port_be == 0 || len < l2 + kIpv6Len + kFragHdrLen) {
      return FragmentKind::kNone;
    }
    if ((l3[0] >> 4) != 6 || l3[6] != kProtoFragment) return FragmentKind::kNone;
    const uint8_t* fh = l3 + kIpv6Len;
    if (fh[0] != kProtoUdp || !OurV6(cfg, l3 + 24)) return FragmentKind::kNone;
    const uint16_t plen = LoadBe16(l3 + 4);
    if (plen <= kFragHdrLen || l2 + kIpv6Len + plen > pkt_len) return FragmentKind::kBad;
    const uint32_t data = plen - kFragHdrLen;
    const uint16_t fo = LoadBe16(fh + 2);
    const bool more = fo & 1;
    const uint32_t offset = fo & 0xfff8;
    if (!more && offset == 0) return FragmentKind::kAtomic;
    if ((more && data % 8 != 0) || offset + data > 0xffff) return FragmentKind::kBad;
    if (offset == 0 && (data < kUdpLen || len < l2 + kIpv6Len + kFragHdrLen + kUdpLen)) {
      return FragmentKind::kBad;
    }
    m->l2_len = l2;
    m->l3_len = kIpv6Len + kFragHdrLen;
    return FragmentKind::kFragment;
  }
  return FragmentKind::kNone;
}

void StripAtomicFragmentHeader(rte_mbuf* m) {
  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  const size_t l2 = Load16(p + 12) == kEthVlan ? kEthLen + kVlanLen : kEthLen;
  uint8_t* l3 = p + l2;
  l3[6] = l3[kIpv6Len];  // the fragment header's next header
  StoreBe16(l3 + 4, static_cast<uint16_t>(LoadBe16(l3 + 4) - kFragHdrLen));
  std::memmove(p + kFragHdrLen, p, l2 + kIpv6Len);
  rte_pktmbuf_adj(m, kFragHdrLen);
}

DropReason RefineDropReason(const rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id,
                            DropReason reason) {
  if (reason != DropReason::kMalformedFrame || port_id >= kMaxPorts) return reason;
  const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
  const uint32_t len = rte_pktmbuf_data_len(m);
  if (len < kEthLen + kIpv6Len || !MacEqual(p, cfg.port_mac[port_id])) return reason;
  size_t l2 = kEthLen;
  uint16_t type = Load16(p + 12);
  if (type == kEthVlan) {
    type = Load16(p + 16);
    l2 += kVlanLen;
  }
  const uint8_t* l3 = p + l2;
  uint32_t ip_len = 0;
  if (type == kEthIpv4 && (l3[0] >> 4) == 4) ip_len = LoadBe16(l3 + 2);
  if (type == kEthIpv6 && (l3[0] >> 4) == 6) ip_len = kIpv6Len + LoadBe16(l3 + 4);
  return l2 + ip_len > rte_pktmbuf_pkt_len(m) ? DropReason::kTruncatedFrame : reason;
}

std::unique_ptr<Reassembler> Reassembler::Create(int socket, uint32_t entries,
                                                 uint64_t timeout_ms) {
  std::unique_ptr<Reassembler> r(new Reassembler());
  // Buckets of kFragmentBucketEntries, twice as many slots as entries: a
  // datagram rarely finds both of its buckets full before the table is.
  uint32_t buckets = 1;
  while (buckets * kFragmentBucketEntries < 2 * entries) buckets <<= 1;
  const uint64_t cycles = (rte_get_tsc_hz() + 999) / 1000 * timeout_ms;
  r->table_ = rte_ip_frag_table_create(buckets, kFragmentBucketEntries, entries, cycles, socket);
  if (r->table_ == nullptr) return nullptr;
  return r;
}

Reassembler::~Reassembler() {
  FreeDropped();
  if (table_ != nullptr) rte_ip_frag_table_destroy(table_);  // frees what it holds
}

rte_mbuf* Reassembler::Add(rte_mbuf* m, uint64_t tsc, WorkerCounters& ctr) {
  // The library adds to the death row unchecked: at most a datagram's
  // fragments, a stale one's and m per call.
  if (death_row_.cnt + 2 * (kMaxFragmentsPerDatagram + 1) > RTE_IP_FRAG_DEATH_ROW_MBUF_LEN) {
    FreeDropped();
  }
  const uint32_t before = death_row_.cnt;
  uint8_t* l3 = rte_pktmbuf_mtod_offset(m, uint8_t*, m->l2_len);
  rte_mbuf* whole;
  if (m->l3_len == kIpv4Len) {
    whole = rte_ipv4_frag_reassemble_packet(table_, &death_row_, m, tsc,
                                            reinterpret_cast<rte_ipv4_hdr*>(l3));
  } else {
    whole = rte_ipv6_frag_reassemble_packet(
        table_, &death_row_, m, tsc, reinterpret_cast<rte_ipv6_hdr*>(l3),
        reinterpret_cast<rte_ipv6_fragment_ext*>(l3 + kIpv6Len));
  }
  const uint32_t added = death_row_.cnt - before;
  if (added > 0) {
    // Which of the library's outcomes it was, from what it dropped: only
    // a stale datagram's fragments (its slot reused for m: a timeout); m
    // alone (no slot for its datagram: the table is full); or m with
    // those of its datagram (they do not fit together).
    bool m_dropped = false;
    for (uint32_t i = before; i < death_row_.cnt; ++i) m_dropped |= death_row_.row[i] == m;
    if (!m_dropped) {
      ctr.Drop(DropReason::kFragmentTimeout, added);
    } else if (added == 1) {
      ctr.Drop(DropReason::kFragmentTableFull);
    } else {
      ctr.Drop(DropReason::kBadFragmentSet, added);
    }
  }
  return whole;
}

void Reassembler::Expire(uint64_t tsc, WorkerCounters& ctr) {
  const uint32_t before = death_row_.cnt;
  rte_ip_frag_table_del_expired_entries(table_, &death_row_, tsc);
  if (death_row_.cnt > before) ctr.Drop(DropReason::kFragmentTimeout, death_row_.cnt - before);
  FreeDropped();
}

void Reassembler::FreeDropped() {
  if (death_row_.cnt > 0) rte_ip_frag_free_death_row(&death_row_, 3);
}

rte_mbuf* Linearize(rte_mbuf* chain, rte_mempool* pool, DropReason* why) {
  const uint32_t len = rte_pktmbuf_pkt_len(chain);
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    *why = DropReason::kFragmentAllocFailed;
    rte_pktmbuf_free(chain);
    return nullptr;
  }
  uint8_t* dst = len <= rte_pktmbuf_tailroom(m)
                     ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)))
                     : nullptr;
  if (dst == nullptr) {
    *why = DropReason::kOversized;
    rte_pktmbuf_free(m);
    rte_pktmbuf_free(chain);
    return nullptr;
  }
  for (const rte_mbuf* s = chain; s != nullptr; s = s->next) {
    std::memcpy(dst, rte_pktmbuf_mtod(s, const uint8_t*), rte_pktmbuf_data_len(s));
    dst += rte_pktmbuf_data_len(s);
  }
  // The tag the port stripped stays; the first fragment's checksum flags
  // said nothing about the whole datagram.
  m->ol_flags = chain->ol_flags & RTE_MBUF_F_RX_VLAN_STRIPPED;
  m->vlan_tci = chain->vlan_tci;
  m->port = chain->port;
  if (chain->l3_len == kIpv4Len) {
    uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, chain->l2_len);
    Store16(ip + 10, Ipv4HeaderChecksum(ip));
  }
  rte_pktmbuf_free(chain);
  return m;
}

size_t FragmentDatagram(const uint8_t* frame, size_t len, size_t l2_len, uint16_t mtu, uint32_t id,
                        rte_mempool* pool, rte_mbuf** out, size_t max_out, DropReason* why) {
  const bool v4 = Load16(frame + l2_len - 2) == kEthIpv4;
  const size_t hdr = v4 ? kIpv4Len : kIpv6Len;
  if (len < l2_len + hdr || max_out == 0) {
    *why = DropReason::kTooShort;
    return 0;
  }
  // Fits: one copy as it is.
  if (len - l2_len <= mtu) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    uint8_t* dst = m != nullptr && len <= rte_pktmbuf_tailroom(m)
                       ? reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)))
                       : nullptr;
    if (dst == nullptr) {
      rte_pktmbuf_free(m);
      *why = DropReason::kFragmentAllocFailed;
      return 0;
    }
    std::memcpy(dst, frame, len);
    out[0] = m;
    return 1;
  }
  const uint8_t* ip = frame + l2_len;
  const uint8_t* data = ip + hdr;  // what is fragmented: UDP header and payload
  const size_t data_len = len - l2_len - hdr;
  const size_t frag_hdr = v4 ? 0 : kFragHdrLen;
  const size_t chunk = (mtu - hdr - frag_hdr) & ~size_t{7};
  const size_t n = (data_len + chunk - 1) / chunk;
  if (n > max_out || (v4 && data_len > kMaxIpv4Payload)) {
    *why = DropReason::kTooBigToFragment;
    return 0;
  }
  for (size_t i = 0; i < n; ++i) {
    const size_t offset = i * chunk;
    const size_t size = std::min(chunk, data_len - offset);
    const bool last = i + 1 == n;
    const size_t frame_len = l2_len + hdr + frag_hdr + size;
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    uint8_t* f = m != nullptr && frame_len <= rte_pktmbuf_tailroom(m)
                     ? reinterpret_cast<uint8_t*>(
                           rte_pktmbuf_append(m, static_cast<uint16_t>(frame_len)))
                     : nullptr;
    if (f == nullptr) {
      rte_pktmbuf_free(m);
      for (size_t j = 0; j < i; ++j) rte_pktmbuf_free(out[j]);
      *why = DropReason::kFragmentAllocFailed;
      return 0;
    }
    std::memcpy(f, frame, l2_len + hdr);
    uint8_t* fip = f + l2_len;
    if (v4) {
      StoreBe16(fip + 2, static_cast<uint16_t>(kIpv4Len + size));
      StoreBe16(fip + 4, static_cast<uint16_t>(id));
      // DF cleared: the sender (we) fragments.
      StoreBe16(fip + 6, static_cast<uint16_t>((offset / 8) | (last ? 0 : kIpv4MoreFragments)));
      Store16(fip + 10, Ipv4HeaderChecksum(fip));
    } else {
      StoreBe16(fip + 4, static_cast<uint16_t>(kFragHdrLen + size));
      uint8_t* fh = fip + kIpv6Len;
      fh[0] = ip[6];  // what follows: UDP
      fip[6] = kProtoFragment;
      fh[1] = 0;
      StoreBe16(fh + 2, static_cast<uint16_t>(offset | (last ? 0 : 1)));
      StoreBe32(fh + 4, id);
    }
    std::memcpy(fip + hdr + frag_hdr, data + offset, size);
    out[i] = m;
  }
  return n;
}

void FinishChecksumsInSoftware(rte_mbuf* m, size_t l2_len) {
  const uint64_t ol = m->ol_flags;
  if (!(ol & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM))) return;
  uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, l2_len);
  const bool v4 = Load16(ip - 2) == kEthIpv4;
  if (v4 && (ol & RTE_MBUF_F_TX_IP_CKSUM)) Store16(ip + 10, Ipv4HeaderChecksum(ip));
  if (ol & RTE_MBUF_F_TX_UDP_CKSUM) {
    uint8_t* udp = ip + (v4 ? kIpv4Len : kIpv6Len);
    Store16(udp + 6, 0);
    Store16(udp + 6, v4 ? rte_ipv4_udptcp_cksum(reinterpret_cast<const rte_ipv4_hdr*>(ip), udp)
                        : rte_ipv6_udptcp_cksum(reinterpret_cast<const rte_ipv6_hdr*>(ip), udp));
  }
  m->ol_flags &= ~(RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM | RTE_MBUF_F_TX_IPV4 |
                   RTE_MBUF_F_TX_IPV6);
}

}  // namespace drasyl::dpdk
