// The load generator's receive side: accounts for what comes back (ACKs and
// their round trips, relayed APPs with their latency and order, UNITEs).
#ifndef DRASYL_BENCH_LOADGEN_RECEIVER_H_
#define DRASYL_BENCH_LOADGEN_RECEIVER_H_

#include "bench/loadgen/packet_io.h"
#include "bench/loadgen/shared_state.h"

namespace drasyl::loadgen {

// Accounts for `got` received messages (whoever polled them).
void HandleRx(Shared* s, RxPacket* pkts, int got);

// The receiver thread: polls whenever no run-to-completion step does, until
// s->stop_rx.
void ReceiverLoop(Shared* s, PacketIo* io);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_RECEIVER_H_
