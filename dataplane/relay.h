// The relay decision (PROTOCOL.md §5), one function over a burst, shared by
// every backend and by the control thread for TCP frames. Backends turn
// their packets into PacketViews and act on the Decisions.
#ifndef DRASYL_DATAPLANE_RELAY_H_
#define DRASYL_DATAPLANE_RELAY_H_

#include <cstddef>
#include <cstdint>

#include "common/types.h"
#include "dataplane/counters.h"
#include "dataplane/peer_table.h"
#include "dataplane/unite_filter.h"

namespace drasyl {

struct RelayConfig {
  PublicKey self{};
  int32_t network_id = 1;
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

// Decides n packets. Lookups for the whole burst are prefetched before the
// first one is made, so a large table costs little more than a small one.
void DecideBurst(const RelayConfig& cfg, const PeerTable& table, UniteFilter* unites,
                 uint64_t now_ms, const PacketView* pkts, size_t n, Decision* out);

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_RELAY_H_
