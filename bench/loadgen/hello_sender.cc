#include "bench/loadgen/hello_sender.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/clock.h"

namespace drasyl::loadgen {

HelloSender::HelloSender(Shared* s, PacketIo* io, size_t batch, int hello_endpoints, Rng* rng)
    : s_(s), io_(io), batch_(std::min<size_t>(batch, kMaxBatch)), rng_(rng) {
  per_socket_ = (s_->n + s_->k - 1) / s_->k;
  endpoints_.resize(s_->k);
  for (size_t sock = 0; sock < s_->k; ++sock) {
    wire::EndpointList& l = endpoints_[sock];
    const SocketAddress local = io_->local_address(sock);
    int want = std::clamp(hello_endpoints, 0, 15);
    if (want > 0 && !local.IsWildcard()) {
      l.push_back(wire::Endpoint::From(local));
      --want;
    }
    for (int e = 0; e < want; ++e) {
      l.push_back(wire::Endpoint::From(
          SocketAddress::V4(0xc0000200u + 1 + e, static_cast<uint16_t>(20000 + sock % 40000))));
    }
  }
}

size_t HelloSender::SendHelloBatch(size_t* cursor, size_t max, bool want_acked, bool wrap) {
  max = std::min(max, batch_);
  TxPacket pkts[kMaxBatch];
  uint32_t nodes[kMaxBatch];
  size_t m = 0;
  size_t sock = SIZE_MAX;
  const size_t end = positions();
  size_t scanned = 0;
  while (m < max && scanned < end) {
    if (*cursor >= end) {
      if (!wrap) break;
      *cursor = 0;
      if (m > 0) break;
    }
    const size_t c = *cursor;
    const size_t cs = c / per_socket_;
    if (sock != SIZE_MAX && cs != sock) break;
    ++*cursor;
    ++scanned;
    const uint32_t node = NodeAt(c);
    if (node == UINT32_MAX || (s_->acked[node].load(std::memory_order_relaxed) != 0) != want_acked) {
      continue;
    }
    sock = cs;
    uint8_t* out = hello_bufs_[m];
    pkts[m] = {out, static_cast<uint32_t>(BuildHello(node, sock, out))};
    nodes[m] = node;
    ++m;
  }
  if (m == 0) return 0;
  const uint64_t now = MonoNs();
  for (size_t i = 0; i < m; ++i) s_->hello_sent_ns[nodes[i]].store(now, std::memory_order_relaxed);
  const int sent = io_->Send(sock, pkts, static_cast<int>(m));
  Add(s_->hellos_tx, sent > 0 ? sent : 0);
  return m;
}

size_t HelloSender::BuildHello(uint32_t node, size_t sock, uint8_t* out) {
  wire::HeaderFields h;
  h.network_id = s_->sp.network_id;
  h.recipient = s_->sp.pk;
  h.sender = s_->ids[node].public_key;
  h.pow = s_->ids[node].pow;
  h.type = wire::MessageType::kHello;
  wire::HelloBody hello;
  hello.time = UnixMicros();
  hello.child_time = 1;
  hello.endpoints = endpoints_[sock];
  uint8_t body[wire::kMaxHelloBodyBytes];
  const size_t body_len = wire::WriteHelloBody(hello, body);
  uint8_t random[wire::kArmRandomBytes];
  rng_->Fill(random, sizeof(random));
  return wire::BuildMessage(h, body, body_len, s_->arm ? &s_->keys[node].tx : nullptr, random,
                            out, kHelloBufBytes);
}

PhaseResult HelloSender::HelloPhase(bool register_mode, double seconds, size_t window) {
  PhaseResult r;
  r.nodes = s_->n;
  const uint64_t acks0 = Get(s_->acks);
  const uint64_t reg0 = Get(s_->registered);
  // Generous: the control thread pauses for housekeeping (a scan of the whole
  // table every 5 s), and resending early would overflow its queues.
  const uint64_t stall_ns = register_mode ? 1000000000ull : 500000000ull;
  uint64_t sent = 0;
  uint64_t lost = 0;
  size_t cursor = 0;
  bool lap_done = false;
  const uint64_t start = MonoNs();
  const uint64_t deadline = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t last_progress = start;
  uint64_t last_acks = 0;
  for (;;) {
    const uint64_t now = MonoNs();
    if (s_->interrupted->load() || now >= deadline) break;
    if (register_mode && Get(s_->registered) >= s_->n) break;
    const uint64_t acks = Get(s_->acks) - acks0;
    if (acks != last_acks) {
      last_acks = acks;
      last_progress = now;
    }
    const uint64_t in_flight = sent > acks + lost ? sent - acks - lost : 0;
    if (in_flight > 0 && now - last_progress > stall_ns) {
      lost = sent > acks ? sent - acks : 0;
      last_progress = now;
      continue;
    }
    if (lap_done) {
      if (in_flight == 0) {  // next lap: the nodes still unacknowledged
        cursor = 0;
        lap_done = false;
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
      continue;
    }
    if (in_flight >= window) {
      std::this_thread::sleep_for(std::chrono::microseconds(20));
      continue;
    }
    size_t m;
    if (register_mode) {
      m = SendHelloBatch(&cursor, window - in_flight, /*want_acked=*/false, /*wrap=*/false);
      if (cursor >= positions()) lap_done = true;
    } else {
      m = SendHelloBatch(&cursor, window - in_flight, /*want_acked=*/true, /*wrap=*/true);
      if (m == 0) break;  // nobody registered
    }
    sent += m;
  }
  const uint64_t stop = MonoNs();
  // Let the last answers arrive (they do not count for the rate).
  while (MonoNs() < stop + 200000000ull && Get(s_->acks) - acks0 < sent - lost) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  r.sent = sent;
  if (register_mode) {
    r.done = Get(s_->registered) - reg0;
    const uint64_t last = Get(s_->last_register_ns);
    r.seconds = (last > start ? last - start : stop - start) / 1e9;
  } else {
    r.done = Get(s_->acks) - acks0;
    r.seconds = (stop - start) / 1e9;
  }
  r.per_s = r.seconds > 0 ? r.done / r.seconds : 0;
  return r;
}

bool HelloSender::RefreshHellos(double hello_rate, uint64_t elapsed_ns, uint64_t* hello_sent) {
  if (hello_rate <= 0) return false;
  const double should = elapsed_ns * 1e-9 * hello_rate;
  if (should < *hello_sent + 1) return false;
  const size_t want = std::min<size_t>(static_cast<size_t>(should - *hello_sent), batch_);
  const size_t m = SendHelloBatch(&refresh_cursor_, want, /*want_acked=*/true, /*wrap=*/true);
  *hello_sent += m > 0 ? m : want;  // nobody registered: do not spin on it
  return true;
}

}  // namespace drasyl::loadgen
