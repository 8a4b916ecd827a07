// One traffic step of the load generator: APP messages between node pairs
// at a rate (or open loop) for a while, re-HELLOs of the registered nodes
// meanwhile, then a drain and what came back.
//
// Kernel sockets: this thread sends, sleeping until the next burst is due;
// the receiver thread receives. Poll-mode backends (DPDK): the step runs to
// completion on this thread, polling the receive side between bursts and
// never sleeping, so that the receive time is when the burst was polled.
#ifndef DRASYL_BENCH_LOADGEN_TRAFFIC_STEP_H_
#define DRASYL_BENCH_LOADGEN_TRAFFIC_STEP_H_

#include <cstddef>
#include <cstdint>

#include "bench/loadgen/app_messages.h"
#include "bench/loadgen/hello_sender.h"
#include "bench/loadgen/packet_io.h"
#include "bench/loadgen/shared_state.h"
#include "bench/loadgen/step_result.h"

namespace drasyl::loadgen {

class TrafficSender {
 public:
  // `drain_ms`: wait at least this long after each step for messages still
  // in flight.
  TrafficSender(Shared* s, PacketIo* io, AppMessages* apps, HelloSender* hellos, size_t active,
                size_t batch, int64_t drain_ms);

  // One traffic step at `rate` pps (0: open loop) for `seconds`, with
  // `hello_rate` re-HELLOs/s.
  StepResult Step(int id, double rate, double seconds, double hello_rate);

 private:
  StepResult StepPaced(int id, double rate, double seconds, double hello_rate);
  StepResult StepPolled(int id, double rate, double seconds, double hello_rate);

  void PollRx();
  void PollUntil(uint64_t t);

  // After a step: wait drain_ms, then on while messages of the step still
  // come in (a saturated super peer may hold seconds of queue), at most 5 s.
  // now() and wait_until(t) are the step loop's clock and way of waiting
  // (sleeping, or polling the receive side).
  template <typename Now, typename WaitUntil>
  void Drain(const StepRx& st, uint64_t offered, Now now, WaitUntil wait_until) const;

  // The shared counters a step's results are differences of.
  struct Baseline {
    uint64_t acks, unites, tx_errors;
  };
  Baseline Snapshot() const;
  // The step's results once it is drained.
  void Collect(StepResult* out, const Baseline& before);

  Shared* s_;
  PacketIo* io_;
  AppMessages* apps_;
  HelloSender* hellos_;
  size_t active_;
  size_t batch_;
  int64_t drain_ms_;
  RxPacket rx_pkts_[kRxBurst];
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_TRAFFIC_STEP_H_
