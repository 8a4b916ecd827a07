// The control thread (docs/architecture.md): answers HELLOs with ACKs, owns the
// authoritative peer table and feeds the workers' replicas, decides and
// builds UNITEs, runs the TCP fallback and housekeeping. All crypto happens
// here, never on a worker.
#ifndef DRASYL_CONTROL_CONTROL_PLANE_H_
#define DRASYL_CONTROL_CONTROL_PLANE_H_

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/identity.h"
#include "common/session_keys.h"
#include "config/config.h"
#include "control/control_counters.h"
#include "control/key_derivation_pool.h"
#include "control/peer_registry.h"
#include "control/tcp_server.h"
#include "dataplane/backend.h"
#include "dataplane/relay.h"

namespace drasyl {

struct ControlOptions {
  Config config;
  Identity identity;
  uint64_t housekeeping_interval_ms = 5000;
};

class ControlPlane {
 public:
  static absl::StatusOr<std::unique_ptr<ControlPlane>> Create(const ControlOptions& opts);
  ~ControlPlane();

  // eventfd the workers signal after queueing items.
  int wakeup_fd() const { return wakeup_fd_; }
  RelayConfig relay_config() const;

  // Binds the TCP listeners (none configured: no TCP). Before Run().
  absl::Status StartTcp();
  // The workers and egress; sets each worker's share of the per-source
  // message rate. Before the backend starts and before Run().
  void AttachBackend(Backend* backend);
  // Starts `threads` helper threads for new peers' key exchanges (bound to
  // `cpus` when given); without (or 0), the control thread does them. Once,
  // before Run().
  void StartKeyDerivation(int threads, const cpu_set_t* cpus = nullptr);

  // The control thread's loop; returns when *stop becomes true.
  void Run(const std::atomic<bool>* stop);

  // Handles one message addressed to the super peer (a HELLO) that came
  // from `source`. Called for worker items and TCP frames; public for the
  // control-plane benchmark.
  void HandleToSelf(uint8_t* msg, size_t len, const PeerPath& source, uint64_t now_ms);
  // Sends the UDP messages the backend queued (ACKs, UNITEs, TCP relays).
  void FlushEgress();
  // Answers the HELLOs whose key exchange finished on a helper thread;
  // returns how many finished. Part of Run(); public for the benchmark.
  size_t CollectDerivedKeys(uint64_t now_ms);

  const ControlCounters& counters() const { return counters_; }
  std::vector<SocketAddress> tcp_listeners() const;
  // Prometheus text of every counter (thread-safe).
  std::string RenderMetrics() const;

 private:
  explicit ControlPlane(const ControlOptions& opts, KeyExchange kx);

  void DrainWorkers(uint64_t now_ms);
  bool HandleTcpFrame(uint32_t conn, uint8_t* msg, size_t len);
  void HandleTcpClose(uint32_t conn);
  // A HELLO whose header passed the checks of HandleToSelf.
  void HandleHello(const wire::Header& h, uint8_t* msg, size_t len, const PeerPath& source,
                   uint64_t now_ms);
  // Keeps the HELLO of a new peer until a helper derived its keys.
  void ParkHello(const PublicKey& sender, const uint8_t* msg, size_t len, const PeerPath& source,
                 SourceKey from);
  // The source a path counts against: its UDP address, or its TCP
  // connection's peer address (0 when the connection is gone).
  SourceKey SourceOf(const PeerPath& path) const;
  // Whether `from` may take one more peer-table slot.
  bool SourceHasRoom(SourceKey from) const;
  void MoveSource(PeerRecord& rec, SourceKey to);
  void MaybeUnite(const PublicKey& a, const PublicKey& b, uint64_t now_ms);
  void SendUnite(const PeerRecord& to, const PeerRecord& about);
  bool SendTo(const PeerPath& path, const uint8_t* msg, size_t len);
  // Builds a message for a peer, armed with its tx key when arming.
  size_t Build(const PeerRecord& to, wire::MessageType type, const uint8_t* body, size_t body_len, uint8_t* out, size_t cap);
  void SetPath(PeerRecord& rec, const PeerPath& path);
  void ClearPath(PeerRecord& rec);
  void CountPath(const PeerPath& path, int delta);
  void PushUpdate(const PeerUpdate& u);
  void Housekeeping(uint64_t now_ms);
  void PrintPeers(uint64_t now_ms);
  void PublishGauges();

  ControlOptions opts_;
  Config& cfg_;
  KeyExchange kx_;
  RelayConfig relay_cfg_;
  Backend* backend_ = nullptr;
  std::unique_ptr<TcpServer> tcp_;
  int wakeup_fd_ = -1;
  int epoll_fd_ = -1;
  const std::atomic<bool>* stop_ = nullptr;

  PeerRegistry peers_;
  // Last UNITE per unordered pair (lower key || higher key).
  absl::flat_hash_map<std::array<uint8_t, 64>, uint64_t> unite_sent_ms_;
  ControlCounters counters_;
  // Peers whose current path is (or was) a TCP connection, to clear on close.
  absl::flat_hash_map<uint32_t, std::vector<PublicKey>> tcp_peers_;
  // Keys derived for senders whose HELLO did not authenticate yet.
  absl::flat_hash_map<PublicKey, SessionKeys, PublicKeyHash, PublicKeyEq> pending_keys_;
  // With helper threads: the HELLOs of each peer whose keys are being
  // derived (at most KeyDerivationPool::kMaxInFlight peers), answered in
  // order when the keys arrive.
  struct ParkedHello {
    std::vector<uint8_t> data;
    PeerPath source;
  };
  struct ParkedPeer {
    SourceKey from = 0;  // charged for the key exchange
    std::vector<ParkedHello> hellos;
  };
  static constexpr size_t kMaxParkedPerPeer = 4;
  // Key exchanges one source may have waiting: a sixteenth of the backlog,
  // so that one host cannot keep others' first HELLOs out of it.
  static constexpr size_t kMaxParkedPerSource = KeyDerivationPool::kMaxInFlight / 16;
  std::unique_ptr<KeyDerivationPool> kx_pool_;
  absl::flat_hash_map<PublicKey, ParkedPeer, PublicKeyHash, PublicKeyEq> parked_;
  SourceCounts parked_per_source_;
  // Peers counted against each source (PeerRecord::source).
  SourceCounts peers_per_source_;
  // Messages/s per source over TCP (the workers rate UDP sources).
  SourceBuckets tcp_admission_;
  uint64_t peers_udp_ = 0;
  uint64_t peers_tcp_ = 0;

  // Peer listing deltas.
  uint64_t last_print_relayed_packets_ = 0;
  uint64_t last_print_relayed_bytes_ = 0;
};

}  // namespace drasyl

#endif  // DRASYL_CONTROL_CONTROL_PLANE_H_
