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
  kRelayNotApp,
  kLoopback,
  kHopLimit,
  kUnknownRecipient,
  kUnverifiedSender,  // --verify_senders: sender not registered, or not from its path
  // Backend.
  kOversized,
  kControlRingFull,
  kTxFailed,
  kNotForUs,  // DPDK: a frame that is not ours and not for the kernel
  kUnknownVlan,  // DPDK: 802.1Q-tagged with a VLAN that has no address on that port
  kStackedVlan,  // DPDK: stacked tags (QinQ) or an 802.1ad S-tag: not supported
  // Control plane (messages to the super peer itself).
  kArmMismatch,
  kPeerTableFull,
  kPowInvalid,
  kInvalidKey,
  kNotHello,
  kBadTag,
  kBadHello,
  kHelloTooOld,
  kTcpOutputFull,
  // DPDK: IP fragments (dataplane/dpdk_fragments.h).
  kFragmentTableFull,  // no room in the worker's reassembly table: the fragment is dropped
  kFragmentTimeout,    // a datagram's fragments not complete in time: those held are dropped
  kBadFragment,        // a malformed fragment (lengths, offset, header checksum, tiny)
  kBadFragmentSet,     // fragments of one datagram that do not fit together (overlapping,
                       // duplicate, more than the table holds): all of them dropped
  kFragmentAllocFailed,  // no mbuf to copy a datagram into or to send it in fragments
  kTooBigToFragment,     // a datagram that does not fit into the fragments one can send
  kTruncatedFrame,       // shorter than its IP header says (net_af_packet: cut to its ring frame)
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
