// The load generator's APP messages: a batch of buffers with the header
// template filled in, per message the pair of nodes (--pattern), keys,
// payload fields and sequence number; for poll-mode backends each message's
// checksum sum, from per-node sums precomputed once.
#ifndef DRASYL_BENCH_LOADGEN_APP_MESSAGES_H_
#define DRASYL_BENCH_LOADGEN_APP_MESSAGES_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "bench/loadgen/rng.h"
#include "bench/loadgen/shared_state.h"

namespace drasyl::loadgen {

class AppMessages {
 public:
  // `active`: the nodes taking part (0..active-1); `with_sums`: precompute
  // what Build's checksum sums need (poll-mode backends).
  AppMessages(const Shared* s, Pattern pattern, size_t active, size_t payload, bool with_sums,
              Rng* rng);

  // Fills up to `want` (<= kMaxBatch) APP messages from nodes on socket
  // `sock`; returns how many. With `sums`: each message's checksum sum
  // (base_sum: StepBaseSum).
  size_t Build(int step, size_t sock, size_t want, uint16_t base_sum = 0, uint16_t* sums = nullptr);

  // The checksum sum of an APP message of `step` with the per-message
  // fields (keys, proof of work, source, recipient, sequence number, stamp)
  // zero.
  uint16_t StepBaseSum(int step) const;

  uint8_t* message(size_t i) { return bufs_.data() + i * stride_; }
  size_t length() const { return msg_len_; }

 private:
  const Shared* s_;
  Pattern pattern_;
  size_t active_;
  Rng* rng_;
  size_t msg_len_ = 0;
  size_t stride_ = 0;
  std::vector<uint8_t> bufs_;
  std::vector<uint32_t> tx_flow_seq_;
  std::vector<uint32_t> all_offset_;
  std::vector<size_t> socket_cursor_;
  // Per node the checksum sums of its part of an APP message as sender
  // (key, proof of work, source field) and as recipient (key, recipient
  // field).
  std::vector<uint16_t> tx_sum_;
  std::vector<uint16_t> rx_sum_;
  uint64_t pair_flip_ = 0;
};

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_APP_MESSAGES_H_
