// The relay decision (docs/protocol.md §5), one function over a burst, shared by
// every backend and by the control thread for TCP frames. Backends turn
// their packets into PacketViews and act on the Decisions.
#ifndef DRASYL_DATAPLANE_RELAY_H_
#define DRASYL_DATAPLANE_RELAY_H_

#include <cstddef>
#include <cstdint>

#include <algorithm>
#include <cstring>

#include "common/types.h"
#include "common/wire.h"
#include "dataplane/counters.h"
#include "dataplane/peer_table.h"
#include "dataplane/unite_filter.h"

namespace drasyl {

struct RelayConfig {
  PublicKey self{};
  int32_t network_id = 1;
  // Relay an APP only when its sender is registered and it came from the
  // sender's path (Config::verify_senders).
  bool verify_senders = false;
};

// What a caller that does not verify senders passes as came_from.
struct AnySender {
  bool operator()(size_t, const PeerPath&) const { return true; }
};

enum class Verdict : uint8_t {
  kDrop,        // reason says why
  kForward,     // UDP to *path; hop count already incremented in place
  kForwardTcp,  // to the TCP connection path->tcp_conn; hop count incremented
  kToControl,   // addressed to the super peer itself
};

struct Decision {
  Verdict verdict;
  DropReason reason;
  bool report_unite;  // tell the control thread about this relayed pair
  const PeerPath* path;
};

struct PacketView {
  uint8_t* data;
  uint32_t len;
};

// What a burst's decisions add up to, so that a caller walks the decisions
// only when some packet needs more than its transmit.
struct BurstTally {
  uint32_t relayed = 0;        // kForward and kForwardTcp
  uint64_t relayed_bytes = 0;  // their messages' bytes
  uint32_t plain = 0;          // kForward without a UNITE report: nothing else to do
};

namespace relay_internal {

inline DropReason HeaderDropReason(wire::Error e) {
  switch (e) {
    case wire::Error::kTooShort: return DropReason::kTooShort;
    case wire::Error::kBadMagic: return DropReason::kBadMagic;
    default: return DropReason::kBadType;
  }
}

// Lookups prefetched ahead at most this many packets (a typical burst).
inline constexpr size_t kRelayChunk = 64;

// Two keys are the same. Keys are uniformly distributed, so different ones
// almost always differ in their first word: one compare, as a rule.
inline bool SameKey(const uint8_t* a, const uint8_t* b) {
  uint64_t x, y;
  std::memcpy(&x, a, 8);
  std::memcpy(&y, b, 8);
  return x == y && std::memcmp(a, b, kPublicKeyBytes) == 0;
}

inline void SetDrop(Decision* d, DropReason r) {
  d->verdict = Verdict::kDrop;
  d->reason = r;
  d->report_unite = false;
  d->path = nullptr;
}

// DecideBurst for at most kRelayChunk packets, which are packets base.. of
// the burst (for came_from); kVerify: cfg.verify_senders, decided at compile
// time (without it, no sender lookup and no question asked).
template <bool kVerify, typename Table, typename CameFrom>
BurstTally DecideChunk(const RelayConfig& cfg, const Table& table, UniteFilter* unites,
                       uint64_t now_ms, const PacketView* pkts, size_t n, Decision* out,
                       CameFrom& came_from, size_t base) {
  BurstTally tally;
  const uint64_t unite_window = unites != nullptr ? unites->WindowAt(now_ms) : 0;
  // Pass 1: validate headers, settle everything that needs no lookup, and
  // prefetch the recipients' (and senders') table slots.
  KeyRef recipients[kRelayChunk];
  KeyRef senders[kRelayChunk];
  for (size_t i = 0; i < n; ++i) {
    Decision* d = &out[i];
    wire::Header h;
    const wire::Error e = wire::ParseHeader(pkts[i].data, pkts[i].len, &h);
    if (e != wire::Error::kOk) {
      SetDrop(d, HeaderDropReason(e));
      continue;
    }
    if (h.network_id != cfg.network_id) {
      SetDrop(d, DropReason::kWrongNetwork);
      continue;
    }
    if (SameKey(h.recipient, cfg.self.data())) {
      d->verdict = Verdict::kToControl;
      d->reason = DropReason::kCount;
      d->report_unite = false;
      d->path = nullptr;
      continue;
    }
    if (h.type != wire::MessageType::kApp) {
      SetDrop(d, DropReason::kRelayNotApp);
      continue;
    }
    if (SameKey(h.recipient, h.sender)) {
      SetDrop(d, DropReason::kLoopback);
      continue;
    }
    if (h.hop_count > wire::kMaxHopCount) {
      SetDrop(d, DropReason::kHopLimit);
      continue;
    }
    recipients[i] = table.Prefetch(h.recipient);
    if (kVerify) senders[i] = table.Prefetch(h.sender);
    d->verdict = Verdict::kForward;  // provisional, pending the lookup
  }
  // Pass 2: look up, bump the hop count, tally.
  for (size_t i = 0; i < n; ++i) {
    Decision* d = &out[i];
    if (d->verdict != Verdict::kForward) continue;
    const PeerPath* path = table.Find(recipients[i]);
    if (path == nullptr) {
      SetDrop(d, DropReason::kUnknownRecipient);
      continue;
    }
    if (kVerify) {
      const PeerPath* from = table.Find(senders[i]);
      if (from == nullptr || !came_from(base + i, *from)) {
        SetDrop(d, DropReason::kUnverifiedSender);
        continue;
      }
    }
    uint8_t* data = pkts[i].data;
    data[wire::off::kHopCount]++;
    const bool tcp = path->transport == Transport::kTcp;
    const bool report =
        unites != nullptr && unites->ShouldReportIn(unite_window, data + wire::off::kSender,
                                                    data + wire::off::kRecipient);
    d->verdict = tcp ? Verdict::kForwardTcp : Verdict::kForward;
    d->reason = DropReason::kCount;
    d->path = path;
    d->report_unite = report;
    tally.relayed++;
    tally.relayed_bytes += pkts[i].len;
    tally.plain += !tcp & !report;
  }
  return tally;
}

}  // namespace relay_internal

// Decides n packets. Lookups are prefetched a chunk (a typical burst) at a
// time before the first one is made, so a large table costs little more
// than a small one. Table: a PeerTable replica, or anything with the same
// Prefetch/Find (the control thread's authoritative registry). unites:
// nullptr when UNITEs are off. With cfg.verify_senders, came_from(i, path)
// says whether packet i came from `path`, its sender's registered one (the
// sender must be registered); without, it is not called.
template <typename Table, typename CameFrom = AnySender>
BurstTally DecideBurst(const RelayConfig& cfg, const Table& table, UniteFilter* unites,
                       uint64_t now_ms, const PacketView* pkts, size_t n, Decision* out,
                       CameFrom&& came_from = {}) {
  using relay_internal::kRelayChunk;
  BurstTally tally;
  for (size_t done = 0; done < n; done += kRelayChunk) {
    const size_t m = std::min(kRelayChunk, n - done);
    const BurstTally t =
        cfg.verify_senders
            ? relay_internal::DecideChunk<true>(cfg, table, unites, now_ms, pkts + done, m,
                                                out + done, came_from, done)
            : relay_internal::DecideChunk<false>(cfg, table, unites, now_ms, pkts + done, m,
                                                 out + done, came_from, done);
    tally.relayed += t.relayed;
    tally.relayed_bytes += t.relayed_bytes;
    tally.plain += t.plain;
  }
  return tally;
}

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_RELAY_H_
