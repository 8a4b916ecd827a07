// libFuzzer target: the DPDK backend's IP reassembly input
// (dataplane/dpdk/dpdk_fragments.h): ClassifyFragment, the per-worker
// Reassembler (librte_ip_frag), Linearize and FragmentDatagram, fed
// sequences of fragments a sender could make of one UDP datagram, mangled,
// repeated, interleaved with other datagrams and raw frames, while time
// passes.
//
// Input: 3 control bytes (bit 0: IPv6; bits 1-2: the MTU the datagram is
// cut for; then the payload length), then operations of 2 bytes each (what,
// argument); operation 7 takes the rest of the input as a raw frame.
// Besides not crashing:
// - a datagram completed from unmangled fragments of its own is the one
//   that was cut: same addresses, UDP header and payload;
// - every drop is counted under a fragment reason, never more than were fed;
// - nothing is lost or leaked: once the table is gone every mbuf is back in
//   its pool (the bound a flood of incomplete datagrams cannot exceed).
#include <cstddef>
#include <cstdint>

#ifdef DRASYL_HAVE_DPDK

#include <rte_cycles.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dataplane/counters.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_fragments.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/support/dpdk_node_frame.h"

namespace {

using namespace drasyl;        // NOLINT
using namespace drasyl::dpdk;  // NOLINT

constexpr uint16_t kPort = 22527;
constexpr unsigned kPoolSize = 4095;
constexpr uint32_t kTableEntries = 8;  // small: the fuzzer fills it

struct Env {
  rte_mempool* pool = nullptr;
  rte_mempool* linear = nullptr;
  PacketConfig cfg;
};

Env* Setup() {
  static Env* env = [] {
    auto args = BuildEalArgs("-l 0 --no-pci --no-huge -m 128 --log-level=lib.eal:error "
                             "--log-level=lib.*:error",
                             HugepageInfo{});
    if (!args.ok() || !InitEal(args->argv).ok()) return static_cast<Env*>(nullptr);
    auto* e = new Env();
    e->pool = CreateMbufPool("fuzz_pool", kPoolSize, 0, SOCKET_ID_ANY);
    e->linear = CreateMbufPool("fuzz_linear", 7, 0, SOCKET_ID_ANY, kLinearMbufDataRoom);
    if (e->pool == nullptr || e->linear == nullptr) return static_cast<Env*>(nullptr);
    e->cfg.udp4_port_be = rte_cpu_to_be_16(kPort);
    e->cfg.udp6_port_be = rte_cpu_to_be_16(kPort);
    e->cfg.port_mac[0] = {{0x02, 0, 0, 0, 0, 0x01}};
    LocalAddress a4, a6;
    a4.family = 4;
    a4.ip = {10, 99, 0, 1};
    a6.family = 6;
    a6.ip = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    e->cfg.AddAddress(a4);
    e->cfg.AddAddress(a6);
    return e;
  }();
  return env;
}

// The frame a node would send us: UDP from 10.99.0.2 / fd99::2 port 4000
// to our address and listener (BuildFrame builds ours; the addresses are
// swapped after).
rte_mbuf* BuildDatagram(Env& env, bool v6, size_t payload_len, uint8_t seed) {
  PeerPath to_us;
  to_us.transport = Transport::kUdp;
  to_us.family = v6 ? 6 : 4;
  to_us.listener = 0;
  to_us.port = kPort;
  to_us.mac = {0x02, 0, 0, 0, 0, 0x01};
  if (v6) {
    to_us.ip = {0xfd, 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    to_us.local_addr = 1;
  } else {
    to_us.ip = {10, 99, 0, 1};
  }
  std::vector<uint8_t> payload(payload_len);
  for (size_t i = 0; i < payload_len; ++i) payload[i] = static_cast<uint8_t>(seed + i * 7);
  rte_mbuf* m = rte_pktmbuf_alloc(env.linear);
  if (m == nullptr) return nullptr;
  if (!BuildFrame(m, to_us, env.cfg, payload.data(), payload.size())) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  drasyl::testing::MakeFromNode(m, v6);  // the node's source, checksums anew
  return m;
}

rte_mbuf* Copy(Env& env, const rte_mbuf* m, size_t cut) {
  rte_mbuf* c = rte_pktmbuf_alloc(env.pool);
  if (c == nullptr) return nullptr;
  const size_t len = rte_pktmbuf_pkt_len(m) > cut ? rte_pktmbuf_pkt_len(m) - cut : 0;
  uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(c, static_cast<uint16_t>(len)));
  if (d == nullptr) {
    rte_pktmbuf_free(c);
    return nullptr;
  }
  std::memcpy(d, rte_pktmbuf_mtod(m, const uint8_t*), len);
  return c;
}

uint64_t FragmentDrops(const WorkerCounters& c) {
  uint64_t n = 0;
  for (DropReason r : {DropReason::kFragmentTableFull, DropReason::kFragmentTimeout,
                       DropReason::kBadFragment, DropReason::kBadFragmentSet,
                       DropReason::kOversized, DropReason::kFragmentAllocFailed}) {
    n += CounterGet(c.drops[static_cast<size_t>(r)]);
  }
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env* env = Setup();
  if (env == nullptr || size < 3) return 0;
  const bool v6 = data[0] & 1;
  static constexpr uint16_t kMtus[] = {1280, 1400, 1500, 2000};
  const uint16_t mtu = kMtus[(data[0] >> 1) & 3];
  const size_t payload_len = 8 + ((size_t{data[1]} << 8 | data[2]) % 12000);
  data += 3;
  size -= 3;

  rte_mbuf* original = BuildDatagram(*env, v6, payload_len, static_cast<uint8_t>(size));
  CHECK_OR_TRAP(original != nullptr);
  rte_mbuf* frags[kMaxOutFragments];
  DropReason why;
  const size_t nfrags =
      FragmentDatagram(rte_pktmbuf_mtod(original, const uint8_t*), rte_pktmbuf_pkt_len(original),
                       14, mtu, 0x1234, env->pool, frags, kMaxOutFragments, &why);
  CHECK_OR_TRAP(nfrags > 0);
  for (size_t i = 0; i < nfrags; ++i) {
    CHECK_OR_TRAP(rte_pktmbuf_pkt_len(frags[i]) - 14 <= mtu);
  }

  auto reassembler = Reassembler::Create(SOCKET_ID_ANY, kTableEntries, 1000);
  CHECK_OR_TRAP(reassembler != nullptr);
  WorkerCounters ctr;
  const uint64_t ms = rte_get_tsc_hz() / 1000 + 1;
  uint64_t tsc = 1000 * ms;
  uint64_t fed = 0;
  bool mangled = false;
  for (size_t at = 0; at + 2 <= size; at += 2) {
    const uint8_t what = data[at] & 7, arg = data[at + 1];
    rte_mbuf* m = nullptr;
    switch (what) {
      case 0:
      case 1:  // an unmangled fragment (again)
        m = Copy(*env, frags[arg % nfrags], 0);
        break;
      case 2:  // truncated
        m = Copy(*env, frags[arg % nfrags], 1 + arg % 64);
        mangled = true;
        break;
      case 3: {  // one byte of its IP or fragment header changed
        m = Copy(*env, frags[arg % nfrags], 0);
        if (m == nullptr) break;
        const size_t span = v6 ? 48 : 20;
        const size_t pos = 14 + (at * 31 + arg) % span;
        if (pos < rte_pktmbuf_data_len(m)) rte_pktmbuf_mtod(m, uint8_t*)[pos] ^= arg | 1;
        if (!v6) {  // a valid header checksum for the new header
          uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, 14);
          ip[10] = ip[11] = 0;
          const uint16_t hck = rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip));
          std::memcpy(ip + 10, &hck, 2);
        }
        mangled = true;
        break;
      }
      case 4: {  // a fragment of another datagram (another ID)
        m = Copy(*env, frags[arg % nfrags], 0);
        if (m == nullptr) break;
        uint8_t* ip = rte_pktmbuf_mtod_offset(m, uint8_t*, 14);
        if (v6) {
          ip[40 + 7] ^= arg | 1;
        } else {
          ip[5] ^= arg | 1;
          ip[10] = ip[11] = 0;
          const uint16_t hck = rte_ipv4_cksum(reinterpret_cast<rte_ipv4_hdr*>(ip));
          std::memcpy(ip + 10, &hck, 2);
        }
        break;
      }
      case 5:  // time passes
        tsc += uint64_t{arg} * 20 * ms;
        if (arg & 1) reassembler->Expire(tsc, ctr);
        continue;
      case 6:  // the dropped fragments are freed (end of a burst)
        reassembler->FreeDropped();
        continue;
      case 7: {  // the rest: a raw frame
        m = rte_pktmbuf_alloc(env->pool);
        if (m == nullptr) break;
        const size_t len = std::min<size_t>(size - at - 1, 2000);
        uint8_t* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
        if (d != nullptr && len > 0) std::memcpy(d, data + at + 1, len);
        at = size;
        mangled = true;
        break;
      }
    }
    if (m == nullptr) continue;
    const FragmentKind kind = ClassifyFragment(m, env->cfg, 0);
    if (kind != FragmentKind::kFragment) {
      if (kind == FragmentKind::kAtomic) {
        StripAtomicFragmentHeader(m);
        ParsedFrame parsed;
        DropReason r;
        (void)ParseFrame(m, env->cfg, 0, &parsed, &r);
      }
      rte_pktmbuf_free(m);
      continue;
    }
    ++fed;
    rte_mbuf* whole = reassembler->Add(m, tsc, ctr);
    if (whole == nullptr) continue;
    DropReason lw;
    rte_mbuf* flat = Linearize(whole, env->linear, &lw);
    if (flat == nullptr) {
      ctr.Drop(lw);
      continue;
    }
    if (!mangled) {
      // The datagram that was cut: from the addresses on (the IP header's
      // own fields, length and fragment bits, are the reassembly's).
      CHECK_OR_TRAP(rte_pktmbuf_pkt_len(flat) == rte_pktmbuf_pkt_len(original));
      const uint8_t* a = rte_pktmbuf_mtod(flat, const uint8_t*);
      const uint8_t* b = rte_pktmbuf_mtod(original, const uint8_t*);
      const size_t from = 14 + (v6 ? 8 : 12);
      CHECK_OR_TRAP(std::memcmp(a + from, b + from, rte_pktmbuf_pkt_len(flat) - from) == 0);
      CHECK_OR_TRAP(a[14 + (v6 ? 6 : 9)] == 17);
      ParsedFrame parsed;
      DropReason r;
      CHECK_OR_TRAP(ParseFrame(flat, env->cfg, 0, &parsed, &r) == FrameClass::kOurs);
      CHECK_OR_TRAP(parsed.payload_len == payload_len);
      CHECK_OR_TRAP(SourcePath(flat, parsed, 0).transport == Transport::kUdp);
    }
    rte_pktmbuf_free(flat);
  }
  CHECK_OR_TRAP(FragmentDrops(ctr) <= fed);
  reassembler.reset();  // frees what it holds
  for (size_t i = 0; i < nfrags; ++i) rte_pktmbuf_free(frags[i]);
  rte_pktmbuf_free(original);
  CHECK_OR_TRAP(rte_mempool_avail_count(env->pool) == kPoolSize);
  CHECK_OR_TRAP(rte_mempool_avail_count(env->linear) == 7);
  return 0;
}

#else

extern "C" int LLVMFuzzerTestOneInput(const uint8_t*, size_t) { return 0; }

#endif  // DRASYL_HAVE_DPDK
