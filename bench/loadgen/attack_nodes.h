// The honest nodes of drasyl-loadgen --attack: each with its own identity,
// socket and local address, sending real armed HELLOs over UDP or TCP (one
// framed connection each) and matching the ACKs by the HELLO time they
// echo. One thread drives them all (Poll sends what is due and reads what
// came), so nothing here is shared.
#ifndef DRASYL_BENCH_LOADGEN_ATTACK_NODES_H_
#define DRASYL_BENCH_LOADGEN_ATTACK_NODES_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "bench/loadgen/rng.h"
#include "common/identity.h"
#include "common/socket_address.h"
#include "common/types.h"

namespace drasyl::loadgen {

// A UDP socket bound to `local` (port 0: ephemeral) and connected to
// `remote`, non-blocking.
absl::StatusOr<int> OpenUdp(const SocketAddress& local, const SocketAddress& remote,
                            int buffer_bytes);
// A non-blocking TCP connect from `local` (port chosen at connect time) to
// `remote`; the connection completes later (EPOLLOUT).
absl::StatusOr<int> StartTcpConnect(const SocketAddress& local, const SocketAddress& remote);

struct AttackNode {
  uint32_t id = 0;  // index into the identities and keys
  bool tcp = false;
  SocketAddress local;
  int fd = -1;
  bool connected = false;   // TCP: the handshake completed
  std::vector<uint8_t> rx;  // TCP: bytes of an incomplete frame
  uint64_t last_time_us = 0;  // the newest HELLO time sent (kept increasing)
  // Schedule (MonoNs); 0 = not started.
  uint64_t start_ns = 0;       // first HELLO (fresh nodes: registration starts)
  uint64_t next_hello_ns = 0;
  uint64_t interval_ns = 0;    // 0: send no more
  bool stop_when_acked = false;
  bool measure_rtt = false;    // round trips of its ACKs go to Poll's rtt_sink
  uint64_t acked_ns = 0;       // first ACK
  // HELLOs awaiting their ACK: (time µs, sent MonoNs).
  std::vector<std::pair<uint64_t, uint64_t>> pending;
  uint64_t hellos = 0, acks = 0, apps = 0, reconnects = 0, closed_by_peer = 0;
};

class AttackNodes {
 public:
  AttackNodes(const SocketAddress& sp_udp, std::optional<SocketAddress> sp_tcp,
              const PublicKey& sp_pk, int32_t network_id, bool arm,
              const std::vector<Identity>* ids, const std::vector<SessionKeys>* keys);
  ~AttackNodes();

  // Adds a node with identity `id` from `local`; returns its index.
  absl::StatusOr<size_t> Add(uint32_t id, const SocketAddress& local, bool tcp);
  // Adds a socket whose arrivals are only counted (the attacker's, in replay).
  absl::Status Watch(int fd);

  AttackNode& node(size_t i) { return nodes_[i]; }
  size_t size() const { return nodes_.size(); }

  // Sends a HELLO of node i now (a fresh one, newest time); returns its bytes
  // (for replay). TCP nodes that are not connected yet skip it.
  std::string SendHello(size_t i, uint64_t now_ns);
  // Sends `bytes` as they are (TCP: framed), e.g. a captured HELLO.
  void SendRaw(size_t i, const std::string& bytes);
  // TCP: opens node i's connection now (Poll completes it).
  void Open(size_t i);
  // Sends an APP from node `from` to node `to` (relayed by the super peer).
  void SendApp(size_t from, size_t to);
  // Sends what is due, then waits up to timeout_ms for arrivals and handles
  // them. rtt_sink: where round trips of ACKs go (ns), when set.
  void Poll(int timeout_ms, std::vector<uint64_t>* rtt_sink);
  // Polls until `deadline_ns` (MonoNs).
  void PollUntil(uint64_t deadline_ns, std::vector<uint64_t>* rtt_sink);

  // Arrivals at watched sockets, by message type (0..3), and all others.
  uint64_t watched_by_type[4] = {0, 0, 0, 0};
  uint64_t watched_other = 0;
  uint64_t acks_bad = 0;

 private:
  void Connect(size_t i, uint64_t now_ns);
  void Close(size_t i);
  void HandleMessage(size_t i, uint8_t* data, size_t len, uint64_t now_ns,
                     std::vector<uint64_t>* rtt_sink);
  void ReadUdp(size_t i, std::vector<uint64_t>* rtt_sink);
  void ReadTcp(size_t i, std::vector<uint64_t>* rtt_sink);
  void ReadWatched(int fd);
  bool SendBytes(size_t i, const uint8_t* data, size_t len);

  SocketAddress sp_udp_;
  std::optional<SocketAddress> sp_tcp_;
  PublicKey sp_pk_;
  int32_t network_id_;
  bool arm_;
  const std::vector<Identity>* ids_;
  const std::vector<SessionKeys>* keys_;
  int epoll_fd_ = -1;
  std::vector<AttackNode> nodes_;
  std::vector<int> watched_;
  Rng rng_{0x5eed};
};

// Quantile q of samples where UINT64_MAX means "never" (lost, not
// registered); nullopt when it falls on such a sample or there are none.
std::optional<double> QuantileMs(std::vector<uint64_t> samples_ns, double q);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_ATTACK_NODES_H_
