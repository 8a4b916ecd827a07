#include "bench/loadgen/app_messages.h"

#include <cstring>

#include "common/byte_order.h"
#include "common/checksum.h"
#include "common/wire.h"

namespace drasyl::loadgen {

AppMessages::AppMessages(const Shared* s, Pattern pattern, size_t active, size_t payload,
                         bool with_sums, Rng* rng)
    : s_(s), pattern_(pattern), active_(active), rng_(rng) {
  msg_len_ = wire::kHeaderBytes + payload;
  stride_ = (msg_len_ + 63) & ~size_t{63};  // whole cache lines, densely packed
  bufs_.assign(kMaxBatch * stride_, 0);
  tx_flow_seq_.assign(s_->k * s_->k, 0);
  all_offset_.assign(pattern_ == Pattern::kAll ? active_ : 0, 0);
  socket_cursor_.assign(s_->k, 0);
  // Header template of every APP buffer.
  for (int b = 0; b < kMaxBatch; ++b) {
    uint8_t* m = message(b);
    StoreBe32(m, wire::kMagic);
    m[wire::off::kHopCount] = 0;
    m[wire::off::kFlags] = s_->arm ? wire::kFlagArmed : 0;  // looks like a real, armed APP
    StoreBe32(m + wire::off::kNetworkId, static_cast<uint32_t>(s_->sp.network_id));
    m[wire::off::kType] = static_cast<uint8_t>(wire::MessageType::kApp);
  }
  if (with_sums) {
    tx_sum_.resize(s_->n);
    rx_sum_.resize(s_->n);
    for (size_t node = 0; node < s_->n; ++node) {
      const uint8_t* key = s_->ids[node].public_key.data();
      uint8_t pow[4];
      StoreBe32(pow, static_cast<uint32_t>(s_->ids[node].pow));
      const uint16_t key_sum = csum::Sum(key, kPublicKeyBytes);
      const uint16_t id_sum = csum::OfU32(static_cast<uint32_t>(node));
      tx_sum_[node] = csum::Fold(uint64_t{csum::At(wire::off::kSender, key_sum)} +
                                 csum::At(wire::off::kPow, csum::Sum(pow, 4)) +
                                 csum::At(kOffSrc, id_sum));
      rx_sum_[node] = csum::Fold(uint64_t{csum::At(wire::off::kRecipient, key_sum)} +
                                 csum::At(kOffDst, id_sum));
    }
  }
}

uint16_t AppMessages::StepBaseSum(int step) const {
  std::vector<uint8_t> m(bufs_.begin(), bufs_.begin() + msg_len_);
  if (m.size() < wire::kHeaderBytes + kPayloadHeader) return 0;  // (--payload is checked)
  std::memset(m.data() + wire::off::kRecipient, 0, 2 * kPublicKeyBytes + 4);
  std::memset(m.data() + wire::kHeaderBytes, 0, kPayloadHeader);
  const uint32_t fields[4] = {kPayloadMagic, 0, 0, static_cast<uint32_t>(step)};
  std::memcpy(m.data() + wire::kHeaderBytes, fields, sizeof(fields));
  return csum::Sum(m.data(), m.size());
}

size_t AppMessages::Build(int step, size_t sock, size_t want, uint16_t base_sum, uint16_t* sums) {
  const size_t k = s_->k;
  const size_t a = active_;
  // Active nodes on this socket: sock, sock + k, ... < a.
  const size_t on_sock = sock < a ? (a - 1 - sock) / k + 1 : 0;
  if (on_sock == 0) return 0;
  size_t m = 0;
  for (; m < want; ++m) {
    uint32_t src, dst;
    switch (pattern_) {
      case Pattern::kPair:
        src = static_cast<uint32_t>(sock == 0 ? 0 : 1);
        if (k == 1) src = static_cast<uint32_t>(pair_flip_++ & 1);
        dst = 1 - src;
        break;
      case Pattern::kAll: {
        size_t& j = socket_cursor_[sock];
        src = static_cast<uint32_t>(sock + j * k);
        j = (j + 1) % on_sock;
        uint32_t& off = all_offset_[src];
        dst = static_cast<uint32_t>((src + 1 + off) % a);
        off = static_cast<uint32_t>((off + 1) % (a - 1));
        break;
      }
      case Pattern::kRandom:
      default:
        src = static_cast<uint32_t>(sock + rng_->Below(on_sock) * k);
        dst = static_cast<uint32_t>(rng_->Below(a - 1));
        if (dst >= src) ++dst;
        break;
    }
    uint8_t* msg = message(m);
    std::memcpy(msg + wire::off::kRecipient, s_->ids[dst].public_key.data(), kPublicKeyBytes);
    std::memcpy(msg + wire::off::kSender, s_->ids[src].public_key.data(), kPublicKeyBytes);
    StoreBe32(msg + wire::off::kPow, static_cast<uint32_t>(s_->ids[src].pow));
    uint8_t* pl = msg + wire::kHeaderBytes;
    const uint32_t seq = tx_flow_seq_[(src % k) * k + dst % k]++;
    const uint32_t fields[5] = {kPayloadMagic, src, dst, static_cast<uint32_t>(step), seq};
    std::memcpy(pl, fields, sizeof(fields));
    if (sums != nullptr) {
      sums[m] = csum::Fold(uint64_t{base_sum} + tx_sum_[src] + rx_sum_[dst] +
                           csum::At(kOffSeq, csum::OfU32(seq)));
    }
  }
  return m;
}

}  // namespace drasyl::loadgen
