// The attacker's side of drasyl-loadgen --attack (attack.h): datagrams
// built as fast as one core sends them (forged, sybil, garbage) and TCP
// connections that never send a byte (tcp-idle). Each loop runs on one
// thread until *stop and counts into AttackCounters.
#ifndef DRASYL_BENCH_LOADGEN_ATTACK_TRAFFIC_H_
#define DRASYL_BENCH_LOADGEN_ATTACK_TRAFFIC_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/loadgen/attack.h"
#include "bench/loadgen/rng.h"
#include "common/identity.h"
#include "common/socket_address.h"
#include "common/types.h"
#include "common/wire.h"

namespace drasyl::loadgen {

enum class DatagramKind { kForged, kSybil, kGarbage };

struct AttackCounters {
  std::atomic<uint64_t> sent{0};          // datagrams, or TCP connection attempts
  std::atomic<uint64_t> send_errors{0};
  std::atomic<uint64_t> rx_by_type[4] = {};  // what came back to the attacker
  std::atomic<uint64_t> rx_other{0};
  std::atomic<uint64_t> open{0};           // tcp-idle: connections open now
  std::atomic<uint64_t> open_peak{0};
  std::atomic<uint64_t> closed_by_peer{0};  // tcp-idle
  std::atomic<uint64_t> abandoned{0};       // tcp-idle: attempts given up unestablished
  std::atomic<uint64_t> connect_errors{0};
  std::atomic<uint64_t> seconds_ns{0};     // how long the loop ran
};

// Builds the attacker's datagrams, cycling through the identities
// ids[first..]: forged (armed HELLOs whose random bytes, ciphertext and tag
// are random, so the super peer must derive the sender's key to find out),
// sybil (valid armed HELLOs, newest time: keys[id] needed), or garbage (in
// turn: random bytes, the magic then random bytes, unknown types, armed
// HELLOs cut short, other networks, wrong arming, APPs to nobody, ACKs to
// the super peer, failing proofs of work).
class DatagramForge {
 public:
  DatagramForge(DatagramKind kind, const AttackTarget& t, const std::vector<Identity>& ids,
                size_t first, const std::vector<SessionKeys>& keys, bool arm,
                const SocketAddress& attacker);
  // Writes one datagram into out (cap >= 1500); returns its length.
  size_t Build(uint8_t* out, size_t cap);

 private:
  uint32_t NextIdentity();
  wire::HeaderFields Header(uint32_t id, wire::MessageType type) const;
  size_t Forged(uint8_t* out);
  size_t Sybil(uint8_t* out, size_t cap);
  size_t Garbage(uint8_t* out, size_t cap);

  DatagramKind kind_;
  const AttackTarget& t_;
  const std::vector<Identity>& ids_;
  size_t first_;
  size_t n_ = 1;
  size_t cursor_ = 0;
  uint64_t variant_ = 0;
  const std::vector<SessionKeys>& keys_;
  bool arm_;
  Rng rng_;
  wire::EndpointList endpoint_;
};

// Sends datagrams from `fd` (connected to the super peer) as fast as it can
// until *stop, and counts what comes back.
void DatagramAttackLoop(int fd, DatagramForge* forge, const std::atomic<bool>* stop,
                        AttackCounters* c);

// Holds up to `want` TCP connections from `local` to `sp` that never send
// anything, opening a new one for each the super peer closes, until *stop.
// abandon_ms > 0: an attempt not established within it is closed and
// replaced (an attacker that does not wait for the SYN retransmission of an
// attempt the super peer's kernel dropped).
void TcpIdleLoop(const SocketAddress& local, const SocketAddress& sp, size_t want,
                 uint64_t abandon_ms, const std::atomic<bool>* stop, AttackCounters* c);

// RLIMIT_NOFILE: raised to the hard limit; the current one.
void RaiseFileLimit();
size_t FileLimit();

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_ATTACK_TRAFFIC_H_
