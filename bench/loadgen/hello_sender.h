// The load generator's HELLOs: armed HELLOs of the simulated nodes, sent in
// batches per socket; the registration and HELLO flood phases; and the
// re-HELLOs of registered nodes during traffic.
#ifndef DRASYL_BENCH_LOADGEN_HELLO_SENDER_H_
#define DRASYL_BENCH_LOADGEN_HELLO_SENDER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/loadgen/packet_io.h"
#include "bench/loadgen/rng.h"
#include "bench/loadgen/shared_state.h"
#include "bench/loadgen/step_result.h"
#include "common/wire.h"

namespace drasyl::loadgen {

class HelloSender {
 public:
  // `hello_endpoints`: endpoints in each HELLO (0..15): the socket's
  // address, then made-up ones. `rng` fills the arming randomness.
  HelloSender(Shared* s, PacketIo* io, size_t batch, int hello_endpoints, Rng* rng);

  // Windowed HELLO phase: at most `window` HELLOs unanswered. When nothing
  // comes back for a while, what is out counts as lost and sending resumes.
  // register_mode: every node not yet acknowledged, lap after lap, until all
  // are registered or `seconds` pass. Otherwise: acknowledged nodes in turn
  // for `seconds` (the HELLO/s a super peer sustains for known peers).
  PhaseResult HelloPhase(bool register_mode, double seconds, size_t window);

  // The HELLOs of registered nodes due `elapsed_ns` into a traffic step at
  // `hello_rate`/s (nodes keep re-sending them meanwhile, like real ones);
  // true when some were due.
  bool RefreshHellos(double hello_rate, uint64_t elapsed_ns, uint64_t* hello_sent);

 private:
  // Node at position c of the socket-grouped order (UINT32_MAX: a hole).
  uint32_t NodeAt(size_t c) const {
    const size_t sock = c / per_socket_;
    const size_t node = sock + (c % per_socket_) * s_->k;
    return node < s_->n ? static_cast<uint32_t>(node) : UINT32_MAX;
  }
  size_t positions() const { return per_socket_ * s_->k; }

  // Sends HELLOs for the nodes at positions *cursor, ... that are
  // acknowledged (want_acked) or not, at most `max`, all from one socket (a
  // batch stops at a socket boundary). With `wrap` the cursor starts over at
  // the end; at most one lap is scanned per call. Returns the number of
  // HELLOs built (unsent ones count as lost HELLOs).
  size_t SendHelloBatch(size_t* cursor, size_t max, bool want_acked, bool wrap);
  size_t BuildHello(uint32_t node, size_t sock, uint8_t* out);

  static constexpr size_t kHelloBufBytes =
      wire::kHeaderBytes + wire::kArmOverhead + wire::kMaxHelloBodyBytes;

  Shared* s_;
  PacketIo* io_;
  size_t batch_;
  Rng* rng_;
  size_t per_socket_ = 1;
  size_t refresh_cursor_ = 0;
  std::vector<wire::EndpointList> endpoints_;  // per socket
  uint8_t hello_bufs_[kMaxBatch][kHelloBufBytes];
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_HELLO_SENDER_H_
