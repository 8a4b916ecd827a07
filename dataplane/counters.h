// Drop reasons and per-worker counters. Each counter has one writer (its
// worker, or the control thread for its own); readers (metrics, peer
// listing) load them relaxed. Writers add with load+store, which compiles to
// a plain add: no locked instruction on the hot path.
#ifndef DRASYL_DATAPLANE_COUNTERS_H_
#define DRASYL_DATAPLANE_COUNTERS_H_

#include <array>
#include <atomic>
#include <cstdint>

namespace drasyl {

enum class DropReason : uint8_t {
  // Header (every plane).
  kTooShort = 0,
  kBadMagic,
  kBadType,
  kWrongNetwork,
  // Relay decision.
  kRelayNotApp,  // to another peer, but not an APP: only APPs are relayed
  kLoopback,
  kHopLimit,
  kUnknownRecipient,
  kUnverifiedSender,  // --verify_senders: sender not registered, or not from its path
  // Backend.
  kOversized,  // over the control ring's message size, or (DPDK) not in one mbuf segment
  kControlRingFull,
  kTxFailed,  // the TX queue was full, or the frame could not be rewritten / tagged
  kNotForUs,  // DPDK: a unicast frame to another MAC than the port's
  kUnknownVlan,  // DPDK: 802.1Q-tagged with a VLAN that has no address on that port
  kStackedVlan,  // DPDK: stacked tags (QinQ) or an 802.1ad S-tag: not supported
  kSourceRateLimited,  // to the control thread over its source's rate (CONTROL_RATE_PER_SOURCE)
  // Control plane (messages to the super peer itself).
  kArmMismatch,
  kPeerTableFull,
  kPowInvalid,
  kInvalidKey,
  kNotHello,
  kBadTag,
  kBadHello,
  kHelloTooOld,
  kReplayedHello,  // older than the newest HELLO accepted from that peer
  kSourcePeerLimit,  // its source holds MAX_PEERS_PER_SOURCE peers already
  kSourceKeyExchangeLimit,  // its source has its share of pending key exchanges
  kTcpOutputFull,
  // DPDK: a frame for us with a wrong IPv4 header or UDP checksum (the
  // kernel would have dropped it): flagged by the port, a zero one over
  // IPv6, or failing the check of what goes to the control thread (relayed
  // frames are not verified). Typically a local sender that leaves
  // checksums to an offload (the backend logs the first few per port).
  kBadChecksum,
  // DPDK: a frame for us whose headers contradict each other or the frame
  // (lengths, IP version) or that is too short for them.
  kMalformedFrame,
  // DPDK: a source no real sender has: group MAC, martian IP (0/8,
  // 127/8, multicast, ::, ::1) or UDP port 0.
  kBadSource,
  // DPDK: IP fragments (dataplane/dpdk/dpdk_fragments.h).
  kFragmentTableFull,  // no room in the worker's reassembly table: the fragment is dropped
  kFragmentTimeout,    // a datagram's fragments not complete in time: those held are dropped
  kBadFragment,        // a malformed fragment (lengths, offset, header checksum, tiny)
  kBadFragmentSet,     // fragments of one datagram that do not fit together (overlapping,
                       // duplicate, more than the table holds): all of them dropped
  kFragmentAllocFailed,  // no mbuf to copy a datagram into or to send it in fragments
  kTooBigToFragment,     // a datagram that does not fit into the fragments one can send
  kTruncatedFrame,       // shorter than its IP header says (net_af_packet: cut to its ring frame)
  // --af_xdp: a frame for the kernel that reached a worker, which has no
  // way to the kernel there (no TAP): a reassembled UDP datagram to another
  // port whose fragments came before their first one, or a frame our XDP
  // program let through that the workers do not serve.
  kNoKernelPath,
  kCount,
};

const char* DropReasonName(DropReason reason);

inline void CounterAdd(std::atomic<uint64_t>& c, uint64_t n = 1) {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}
inline uint64_t CounterGet(const std::atomic<uint64_t>& c) {
  return c.load(std::memory_order_relaxed);
}

struct alignas(64) WorkerCounters {
  std::atomic<uint64_t> rx_packets{0};
  std::atomic<uint64_t> rx_bytes{0};
  std::atomic<uint64_t> tx_packets{0};
  std::atomic<uint64_t> tx_bytes{0};
  std::atomic<uint64_t> relayed_packets{0};
  std::atomic<uint64_t> relayed_bytes{0};
  std::atomic<uint64_t> to_control{0};
  std::atomic<uint64_t> to_kernel{0};  // DPDK: frames handed to the TAP
  std::atomic<uint64_t> from_kernel{0};
  std::atomic<uint64_t> unite_events{0};
  std::atomic<uint64_t> table_updates{0};
  // DPDK under --af_xdp: idle waits on the worker's AF_XDP sockets, and
  // those a frame (or the control thread) ended before the timeout.
  std::atomic<uint64_t> idle_sleeps{0};
  std::atomic<uint64_t> idle_wakeups{0};
  std::array<std::atomic<uint64_t>, static_cast<size_t>(DropReason::kCount)> drops{};

  void Drop(DropReason r, uint64_t n = 1) { CounterAdd(drops[static_cast<size_t>(r)], n); }
  uint64_t drops_total() const {
    uint64_t sum = 0;
    for (const auto& d : drops) sum += CounterGet(d);
    return sum;
  }
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_COUNTERS_H_
