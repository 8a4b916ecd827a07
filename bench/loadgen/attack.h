// drasyl-loadgen --attack=KIND: the attacks of issue 16 against a super peer,
// from a source address of the attacker's own (--attack_bind), while a few
// honest nodes from other addresses measure what is left for them.
//
//   forged    HELLOs of --attack_identities valid-PoW identities with random
//             tags (each costs the super peer a key exchange), as fast as one
//             core sends;
//   sybil     valid armed HELLOs of those identities (fills the peer table);
//   garbage   random bytes and malformed headers;
//   tcp-idle  up to --attack_connections TCP connections that never send a
//             byte, reopened as soon as the super peer closes one;
//   replay    a registered node's HELLO, captured and resent unchanged from
//             the attacker's address: the newest one, and an older one after
//             the node sent newer ones; then APPs to the node show where its
//             path points;
//   none      the measurement without an attack (the baseline).
//
// Measured while the attack runs (all but replay):
//   fresh      --attack_fresh nodes (each from its own address) start
//              registering after --attack_warmup_ms, spread over the attack,
//              re-sending their HELLO every 250 ms until acknowledged:
//              fraction registered within 1 s of their first HELLO, median
//              and p99 registration time (not registered = infinite);
//   registered --attack_registered nodes, registered before the attack, each
//              send a HELLO every 100 ms during it: HELLO->ACK round trip
//              p50/p99 (unanswered = infinite).
// For tcp-idle both groups use TCP (the URL's tcpPort), else UDP.
#ifndef DRASYL_BENCH_LOADGEN_ATTACK_H_
#define DRASYL_BENCH_LOADGEN_ATTACK_H_

#include <atomic>
#include <cstdint>
#include <optional>

#include "common/socket_address.h"
#include "common/types.h"

namespace drasyl::loadgen {

struct AttackTarget {
  SocketAddress udp;                 // the super peer's UDP address
  std::optional<uint16_t> tcp_port;  // its TCP fallback port (same host), if any
  PublicKey pk{};
  int32_t network_id = 1;
};

// Whether --attack was given.
bool AttackRequested();

// Runs --attack against `target` (stops early when *interrupted); prints
// progress on stderr and, with --json, one JSON object on stdout. Returns
// the exit code: 0 when the measurement ran (whatever it found), 1 when it
// could not (no node registered before the attack, sockets), 2 for bad flags.
int RunAttack(const AttackTarget& target, const std::atomic<bool>* interrupted);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_ATTACK_H_
