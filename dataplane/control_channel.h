// What travels between a worker and the control thread: table updates one
// way, packets and relay events the other (each over its own SPSC ring).
#ifndef DRASYL_DATAPLANE_CONTROL_CHANNEL_H_
#define DRASYL_DATAPLANE_CONTROL_CHANNEL_H_

#include <cstdint>

#include "dataplane/peer_path.h"
#include "dataplane/peer_table.h"
#include "dataplane/spsc_ring.h"

namespace drasyl {

// Largest message the super peer handles. Larger datagrams are dropped and
// counted (`oversized`); real nodes stay well below a 1500-byte MTU.
inline constexpr size_t kMaxMessageBytes = 4096 - 64;

struct ControlItem {
  enum class Kind : uint8_t {
    kMessage,      // a message addressed to the super peer; path = its source
    kRelayToTcp,   // relayed message for the TCP connection path.tcp_conn
    kRelayedPair,  // data = sender(32) || recipient(32): consider a UNITE
  };
  Kind kind = Kind::kMessage;
  uint16_t len = 0;
  PeerPath path;
  uint8_t data[kMaxMessageBytes];
};

using UpdateRing = SpscRing<PeerUpdate>;
using ControlRing = SpscRing<ControlItem>;

inline constexpr size_t kUpdateRingSize = 1 << 16;
inline constexpr size_t kControlRingSize = 1024;

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_CONTROL_CHANNEL_H_
