// The authoritative peer table, owned by the control thread: everything the
// super peer knows about a peer. Workers hold only key -> path replicas.
#ifndef DRASYL_CONTROL_PEER_REGISTRY_H_
#define DRASYL_CONTROL_PEER_REGISTRY_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/types.h"
#include "common/wire.h"
#include "dataplane/peer_path.h"
#include "dataplane/peer_table.h"

namespace drasyl {

struct PeerRecord {
  SessionKeys keys{};           // when arming
  PeerPath path;                // transport kNone until the first valid HELLO
  uint64_t created_ms = 0;      // monotonic
  uint64_t last_hello_ms = 0;   // monotonic; 0 = none yet
  std::vector<wire::Endpoint> endpoints;  // from its last HELLO

  bool has_path() const { return path.transport != Transport::kNone; }
};

using PeerRegistry = absl::flat_hash_map<PublicKey, PeerRecord, PublicKeyHash>;

}  // namespace drasyl

#endif  // DRASYL_CONTROL_PEER_REGISTRY_H_
