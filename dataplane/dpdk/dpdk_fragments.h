// IP fragments on the DPDK path, as a host's IP stack handles them for the
// socket backend: reassembly of fragmented UDP datagrams to our addresses
// (DPDK's librte_ip_frag, one bounded table per worker) and fragmentation
// of datagrams that exceed a port's MTU on the way out.
//
// Fragments never touch the relay fast path: ParseFrame sends them to the
// exception path (ParseCommon's masks and the full checks both reject the
// fragment bits / the IPv6 fragment header), where ClassifyFragment picks
// them out before the frame would go to the kernel.
//
// A reassembled datagram is a chain of mbufs; it is linearized into one
// mbuf of a pool of 64 KiB mbufs, so that the unchanged parser, relay
// decision, checksum verification and rewrite apply to it as to any frame
// (a scratch buffer would need a second copy of all of these). The copy
// costs little next to the reassembly, and such mbufs are held only while
// the worker handles the datagram: what leaves is copied into ordinary
// mbufs (FragmentDatagram), so no big mbuf waits in a TX ring.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_FRAGMENTS_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_FRAGMENTS_H_

#include <rte_ip_frag.h>
#include <rte_mbuf.h>

#include <cstddef>
#include <cstdint>
#include <memory>

#include "dataplane/counters.h"
#include "dataplane/dpdk/dpdk_frame_layout.h"
#include "dataplane/dpdk/dpdk_packet_config.h"

namespace drasyl::dpdk {

// Bounds of one worker's reassembly: datagrams in reassembly at once, how
// long their fragments wait, the fragments one datagram may have (the
// library's build-time limit; more: bad_fragment_set).
inline constexpr uint32_t kFragmentTableEntries = 256;
inline constexpr uint32_t kFragmentBucketEntries = 8;
inline constexpr uint64_t kFragmentTimeoutMs = 2000;
inline constexpr uint32_t kMaxFragmentsPerDatagram = RTE_LIBRTE_IP_FRAG_MAX_FRAG;
// Mbufs a worker's reassembly may hold at most (table and death row): what
// the mbuf pool must have on top of the rings, so that a fragment flood
// never starves the reception of whole frames.
inline constexpr uint32_t kFragmentMbufsPerWorker =
    kFragmentTableEntries * kMaxFragmentsPerDatagram + RTE_IP_FRAG_DEATH_ROW_MBUF_LEN;
// Port MTUs (IP bytes) the backend accepts: IPv6's minimum link MTU up.
inline constexpr uint16_t kMinMtu = 1280;
// Fragments one datagram is sent as at most (64 KiB at MTU 1280: 54).
inline constexpr size_t kMaxOutFragments = 64;
// Data room of the mbufs reassembled datagrams are linearized into (the
// most an mbuf can have): datagrams larger than that, less the headroom
// and the Ethernet header, are dropped as oversized.
inline constexpr uint16_t kLinearMbufDataRoom = 0xffff;

enum class FragmentKind : uint8_t {
  kNone,      // not a fragment we reassemble: the frame goes where it went
  kFragment,  // a fragment of a UDP datagram to one of our addresses
  kAtomic,    // IPv6 with a fragment header but no fragmentation (RFC 6946)
  kBad,       // such a fragment, malformed: drop it (bad_fragment)
};

// For a frame ParseFrame did not take as ours (kException): whether it is
// a fragment of a UDP datagram to one of our addresses (unicast to the
// port's MAC; IPv4 without options, IPv6 with the fragment header right
// after the fixed header), which the worker reassembles whatever the UDP
// port: only the first fragment says it. Checks what the kernel would
// (lengths, offsets, the IPv4 header checksum; a first fragment holds the
// UDP header; all but the last carry a multiple of 8 bytes). For kFragment
// sets m->l2_len and m->l3_len as the reassembly needs them.
FragmentKind ClassifyFragment(rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id);

// An atomic fragment without its fragment header (the IPv6 packet it
// stands for, in place): then a frame like any other.
void StripAtomicFragmentHeader(rte_mbuf* m);

// One worker's reassembly: a fixed table (kFragmentTableEntries datagrams
// of up to kMaxFragmentsPerDatagram fragments) and its death row, the
// fragments dropped since the last FreeDropped().
class Reassembler {
 public:
  // nullptr when DPDK cannot allocate the table (rte_errno).
  static std::unique_ptr<Reassembler> Create(int socket, uint32_t entries = kFragmentTableEntries,
                                             uint64_t timeout_ms = kFragmentTimeoutMs);
  ~Reassembler();
  Reassembler(const Reassembler&) = delete;
  Reassembler& operator=(const Reassembler&) = delete;

  // Takes fragment m (ClassifyFragment said kFragment). Returns the whole
  // datagram, a chain that starts with its first fragment's Ethernet
  // header, when m completed one; else nullptr: m is held, or dropped
  // with what it made useless (counted in ctr by reason). tsc: rte_rdtsc().
  rte_mbuf* Add(rte_mbuf* m, uint64_t tsc, WorkerCounters& ctr);
  // Drops (fragment_timeout) the fragments of datagrams older than the
  // timeout, oldest first.
  void Expire(uint64_t tsc, WorkerCounters& ctr);
  // Frees the dropped fragments (after each burst that added any).
  void FreeDropped();
  bool has_dropped() const { return death_row_.cnt > 0; }

 private:
  Reassembler() = default;

  rte_ip_frag_tbl* table_ = nullptr;
  rte_ip_frag_death_row death_row_{};
};

// Copies a reassembled datagram (a chain) into one mbuf from `pool`
// (kLinearMbufDataRoom) and frees the chain. Keeps the VLAN tag the port
// stripped; the IPv4 header checksum (which the reassembly clears) is
// computed anew. nullptr (*why: kOversized, kFragmentAllocFailed) when it
// does not fit or there is no mbuf.
rte_mbuf* Linearize(rte_mbuf* chain, rte_mempool* pool, DropReason* why);

// Sends an IP datagram as frames that fit `mtu` IP bytes. `frame`: len
// bytes, an Ethernet header (and tag) of l2_len bytes, then an IPv4 header
// without options or an IPv6 header without extension headers, then the
// UDP header and payload, checksums final. A datagram that fits is copied
// into one mbuf; a larger one becomes IPv4 fragments (DF cleared, ID
// `id`) or IPv6 fragments with a fragment header (identification `id`),
// as a sending host makes them. Writes the mbufs (from `pool`, no offload
// flags) to out and returns how many; 0 when the datagram cannot go (*why:
// kTooBigToFragment, kFragmentAllocFailed), nothing allocated then.
size_t FragmentDatagram(const uint8_t* frame, size_t len, size_t l2_len, uint16_t mtu, uint32_t id,
                        rte_mempool* pool, rte_mbuf** out, size_t max_out, DropReason* why);

// For a frame ParseFrame dropped with `reason` (kMalformedFrame, as it says
// of every length that contradicts the frame): kTruncatedFrame when it is
// an IPv4 or IPv6 packet to the port's MAC whose IP length says more than
// the frame holds (net_af_packet: the kernel reassembled an IPv4 datagram,
// PACKET_FANOUT_FLAG_DEFRAG, and the PMD's ring frame cut it, see
// AfPacketFrameSize), else `reason`.
DropReason RefineDropReason(const rte_mbuf* m, const PacketConfig& cfg, uint16_t port_id,
                            DropReason reason);

// The IP bytes of a frame (its length less the Ethernet header and tag).
inline uint32_t IpBytes(const rte_mbuf* m, bool tagged) {
  return rte_pktmbuf_pkt_len(m) - (tagged ? detail::kEthLen + detail::kVlanLen : detail::kEthLen);
}

// Before a rewritten frame is copied or split by FragmentDatagram: the
// checksums it left to the port's offloads (m->ol_flags) are computed in
// software, since the copies carry no offload request and no port computes
// a UDP checksum over fragments.
void FinishChecksumsInSoftware(rte_mbuf* m, size_t l2_len);

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_FRAGMENTS_H_
