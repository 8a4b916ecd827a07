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
  PeerPath path;                // kNone once its TCP connection closed
  uint64_t last_hello_ms = 0;   // monotonic
  std::vector<wire::Endpoint> endpoints;  // from its last HELLO

  bool has_path() const { return path.transport != Transport::kNone; }
};

using PeerRegistry = absl::flat_hash_map<PublicKey, PeerRecord, PublicKeyHash>;

// The registry seen as a relay table (Find/Prefetch of PeerTable), so the
// control thread relays TCP frames with the workers' decision code without
// keeping a replica of its own.
class RegistryRelayView {
 public:
  explicit RegistryRelayView(const PeerRegistry& registry) : registry_(registry) {}
  const PeerPath* Find(const PublicKey& key) const {
    auto it = registry_.find(key);
    return it == registry_.end() || !it->second.has_path() ? nullptr : &it->second.path;
  }
  void Prefetch(const PublicKey& key) const { registry_.prefetch(key); }

 private:
  const PeerRegistry& registry_;
};

}  // namespace drasyl

#endif  // DRASYL_CONTROL_PEER_REGISTRY_H_
