#include "bench/loadgen/receiver.h"

#include <cstring>
#include <mutex>
#include <vector>

#include "common/byte_order.h"

namespace drasyl::loadgen {
namespace {

uint32_t NodeOf(const Shared& s, const uint8_t* key) {
  auto it = s.index.find(Load64(key));
  if (it == s.index.end()) return UINT32_MAX;
  if (std::memcmp(s.ids[it->second].public_key.data(), key, kPublicKeyBytes) != 0) return UINT32_MAX;
  return it->second;
}

}  // namespace

// Accounts for `got` received messages (whoever polled them).
void HandleRx(Shared* s, RxPacket* pkts, int got) {
  const size_t n = s->n;
  const size_t k = s->k;
  uint64_t mono = 0;  // for HELLO round trips, read once per call when needed
  for (int i = 0; i < got; ++i) {
    RxPacket& p = pkts[i];
    if (p.len < wire::kHeaderBytes || LoadBe32(p.data) != wire::kMagic) {
      Add(s->foreign);
      continue;
    }
    const uint8_t type = p.data[wire::off::kType];
    if (type == static_cast<uint8_t>(wire::MessageType::kApp)) {
      const uint8_t* pl = p.data + wire::kHeaderBytes;
      if (p.len < wire::kHeaderBytes + kPayloadHeader || Load32(pl) != kPayloadMagic) {
        Add(s->foreign);
        continue;
      }
      const uint32_t src = Load32(pl + 4), dst = Load32(pl + 8), step = Load32(pl + 12);
      const uint32_t seq = Load32(pl + 16);
      const uint64_t ts = Load64(pl + 24);
      if (src >= n || dst >= n || step > kMaxSteps ||
          Load64(p.data + wire::off::kRecipient) != s->key8[dst]) {
        Add(s->foreign);
        continue;
      }
      StepRx& st = s->steps[step];
      Add(st.packets);
      Add(st.bytes, p.wire_len);
      st.latency.Add(p.rx_ns > ts ? p.rx_ns - ts : 0);
      uint32_t& next = s->rx_flow_next[(src % k) * k + dst % k];
      if (seq + 1 <= next) {
        Add(st.reordered);
      } else {
        next = seq + 1;
      }
      Add(s->app_rx);
    } else if (type == static_cast<uint8_t>(wire::MessageType::kAck)) {
      const uint32_t node = NodeOf(*s, p.data + wire::off::kRecipient);
      if (node == UINT32_MAX ||
          std::memcmp(p.data + wire::off::kSender, s->sp.pk.data(), kPublicKeyBytes) != 0) {
        Add(s->foreign);
        continue;
      }
      const uint8_t* body = p.data + wire::kHeaderBytes;
      size_t body_len = p.len - wire::kHeaderBytes;
      if (s->arm) {
        uint8_t* plain;
        if (p.len != p.wire_len ||
            wire::Disarm(p.data, p.len, s->keys[node].rx, &plain, &body_len) != wire::Error::kOk) {
          Add(s->acks_bad);
          continue;
        }
        body = plain;
      }
      wire::AckBody ack;
      if (wire::ParseAckBody(body, body_len, &ack) != wire::Error::kOk) {
        Add(s->acks_bad);
        continue;
      }
      if (mono == 0) mono = MonoNs();
      const uint64_t sent = s->hello_sent_ns[node].load(std::memory_order_relaxed);
      const int phase = s->hello_phase.load(std::memory_order_relaxed);
      s->hello_rtt[phase].Add(mono > sent ? mono - sent : 0);
      Add(s->acks);
      if (s->acked[node].load(std::memory_order_relaxed) == 0) {
        s->acked[node].store(1, std::memory_order_relaxed);
        Add(s->registered);
        s->last_register_ns.store(mono, std::memory_order_relaxed);
      }
    } else if (type == static_cast<uint8_t>(wire::MessageType::kUnite)) {
      Add(s->unites);
    } else {
      Add(s->foreign);
    }
  }
}

// The receiver thread: polls whenever no run-to-completion step does.
void ReceiverLoop(Shared* s, PacketIo* io) {
  std::vector<RxPacket> pkts(kRxBurst);
  // A poll-mode backend's Receive returns within this when nothing comes,
  // and so hands the receive side over without delay.
  const int timeout_ms = io->poll_mode() ? 2 : 50;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(s->rx_mu);
      s->rx_cv.wait(lock, [&] { return !s->rx_inline || s->stop_rx.load(); });
      if (s->stop_rx.load()) break;
      s->rx_busy = true;
    }
    const int got = io->Receive(pkts.data(), kRxBurst, timeout_ms);
    if (got > 0) HandleRx(s, pkts.data(), got);
    {
      std::lock_guard<std::mutex> lock(s->rx_mu);
      s->rx_busy = false;
    }
    s->rx_cv.notify_all();
  }
}

}  // namespace drasyl::loadgen
