#include "bench/loadgen/traffic_step.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "bench/loadgen/receiver.h"

namespace drasyl::loadgen {
namespace {

void SleepUntilMono(uint64_t t_ns) {
  timespec ts{static_cast<time_t>(t_ns / 1000000000ull), static_cast<long>(t_ns % 1000000000ull)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
  }
}

}  // namespace

TrafficSender::TrafficSender(Shared* s, PacketIo* io, AppMessages* apps, HelloSender* hellos,
                             size_t active, size_t batch, int64_t drain_ms)
    : s_(s), io_(io), apps_(apps), hellos_(hellos), active_(active),
      batch_(std::min<size_t>(batch, kMaxBatch)), drain_ms_(drain_ms) {}

StepResult TrafficSender::Step(int id, double rate, double seconds, double hello_rate) {
  if (io_->poll_mode()) return StepPolled(id, rate, seconds, hello_rate);
  return StepPaced(id, rate, seconds, hello_rate);
}

StepResult TrafficSender::StepPaced(int id, double rate, double seconds, double hello_rate) {
  StepResult r{.id = id, .target_pps = rate};
  const size_t msg_len = apps_->length();
  const Baseline before = Snapshot();
  const uint64_t start = MonoNs();
  const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t app_sent = 0, hello_sent = 0, bytes = 0;
  // At a set rate, send in bursts of ~100 us worth of messages.
  const size_t min_batch =
      rate > 0 ? std::clamp<size_t>(static_cast<size_t>(rate / 10000), 1, batch_) : batch_;
  const size_t sockets_used = std::min(active_, s_->k);
  size_t sock = 0;
  uint64_t now = start;
  while (now < end && !s_->stopping()) {
    bool did = false;
    // APP messages due.
    size_t due = batch_;
    if (rate > 0) {
      const double should = (now - start) * 1e-9 * rate;
      due = should > app_sent ? static_cast<size_t>(should - app_sent) : 0;
      if (due < min_batch) due = 0;
      due = std::min(due, batch_);
    }
    if (due > 0) {
      const size_t m = apps_->Build(id, sock, due);
      const uint64_t ts = NowNs();
      for (size_t i = 0; i < m; ++i) std::memcpy(apps_->message(i) + kOffStamp, &ts, 8);
      TxPacket pkts[kMaxBatch];
      for (size_t i = 0; i < m; ++i) pkts[i] = {apps_->message(i), static_cast<uint32_t>(msg_len)};
      const int sent = io_->Send(sock, pkts, static_cast<int>(m));
      if (sent > 0) {
        app_sent += sent;
        bytes += static_cast<uint64_t>(sent) * msg_len;
        Add(s_->app_tx, sent);
      }
      // Messages the backend could not send are not offered (their
      // sequence numbers leave gaps, which do not count as reordering).
      sock = (sock + 1) % sockets_used;
      did = true;
    }
    if (hellos_->RefreshHellos(hello_rate, now - start, &hello_sent)) did = true;
    now = MonoNs();
    if (!did && rate > 0) {
      // Sleep until the next burst (or HELLO) is due.
      uint64_t next = start + static_cast<uint64_t>((app_sent + min_batch) / rate * 1e9);
      if (hello_rate > 0) {
        next = std::min(next, start + static_cast<uint64_t>((hello_sent + 1) / hello_rate * 1e9));
      }
      next = std::min(next, end);
      if (next > now + 20000) SleepUntilMono(next - 5000);
      now = MonoNs();
    }
  }
  r.seconds = (std::min(now, end) - start) / 1e9;
  if (r.seconds <= 0) r.seconds = (MonoNs() - start) / 1e9;
  r.offered = app_sent;
  r.offered_bytes = bytes;
  r.hellos = hello_sent;
  Drain(s_->steps[id], r.offered, MonoNs, SleepUntilMono);
  Collect(&r, before);
  return r;
}

StepResult TrafficSender::StepPolled(int id, double rate, double seconds, double hello_rate) {
  RxOwnership rx(s_);
  StepResult r{.id = id, .target_pps = rate};
  const size_t msg_len = apps_->length();
  const Baseline before = Snapshot();
  const uint16_t base_sum = apps_->StepBaseSum(id);
  const uint64_t start = io_->Now();
  const uint64_t end = start + static_cast<uint64_t>(seconds * 1e9);
  uint64_t app_sent = 0, hello_sent = 0, bytes = 0;
  // At a set rate, bursts of ~100 us worth of messages (at most --batch).
  const size_t min_batch =
      rate > 0 ? std::clamp<size_t>(static_cast<size_t>(rate / 10000), 1, batch_) : batch_;
  const size_t sockets_used = std::min(active_, s_->k);
  // Messages that fell due while this thread did not run (the hypervisor
  // or the kernel took the core; here up to milliseconds) are skipped
  // beyond 100 us worth: sent back to back, they would arrive as a burst
  // that no steady sender makes, and fill the super peer's ring.
  const uint64_t max_lag = std::max<uint64_t>(2 * batch_, static_cast<uint64_t>(rate * 1e-4));
  uint64_t skipped = 0;
  size_t sock = 0;
  uint64_t now = start;
  TxPacket pkts[kMaxBatch];
  uint16_t sums[kMaxBatch];
  while (now < end && !s_->stopping()) {
    PollRx();
    size_t due = batch_;
    if (rate > 0) {
      const double should = (now - start) * 1e-9 * rate - static_cast<double>(skipped);
      due = should > app_sent ? static_cast<size_t>(should - app_sent) : 0;
      if (due > max_lag) {
        skipped += due - batch_;
        due = batch_;
      }
      if (due < min_batch) due = 0;
      due = std::min(due, batch_);
    }
    if (due > 0) {
      const size_t m = apps_->Build(id, sock, due, base_sum, sums);
      for (size_t i = 0; i < m; ++i) {
        pkts[i] = {apps_->message(i), static_cast<uint32_t>(msg_len), sums[i], true};
      }
      // What the port refused (its ring to the super peer full) counts as
      // offered and lost: on a NIC the super peer's receive ring would
      // have overflowed. (Over memif the sender sees it, not the peer.)
      io_->SendStamped(sock, pkts, static_cast<int>(m), kOffStamp);
      app_sent += m;
      bytes += static_cast<uint64_t>(m) * msg_len;
      Add(s_->app_tx, m);
      sock = (sock + 1) % sockets_used;
    }
    hellos_->RefreshHellos(hello_rate, now - start, &hello_sent);
    now = io_->Now();
  }
  r.seconds = (std::min(now, end) - start) / 1e9;
  if (r.seconds <= 0) r.seconds = (io_->Now() - start) / 1e9;
  r.offered = app_sent;
  r.offered_bytes = bytes;
  r.hellos = hello_sent;
  r.skipped = skipped;
  Drain(
      s_->steps[id], r.offered, [this] { return io_->Now(); }, [this](uint64_t t) { PollUntil(t); });
  Collect(&r, before);
  return r;
}

void TrafficSender::PollRx() {
  const int got = io_->Receive(rx_pkts_, kRxBurst, 0);
  if (got > 0) HandleRx(s_, rx_pkts_, got);
}

void TrafficSender::PollUntil(uint64_t t) {
  while (io_->Now() < t) PollRx();
}

template <typename Now, typename WaitUntil>
void TrafficSender::Drain(const StepRx& st, uint64_t offered, Now now, WaitUntil wait_until) const {
  const uint64_t start = now();
  wait_until(start + static_cast<uint64_t>(drain_ms_) * 1000000ull);
  for (uint64_t before = Get(st.packets);;) {
    if (Get(st.packets) >= offered || now() - start > 5000000000ull) break;
    wait_until(now() + 100000000ull);
    const uint64_t after = Get(st.packets);
    if (after == before) break;
    before = after;
  }
}

TrafficSender::Baseline TrafficSender::Snapshot() const {
  return {Get(s_->acks), Get(s_->unites), io_->tx_errors()};
}

void TrafficSender::Collect(StepResult* out, const Baseline& before) {
  StepResult& r = *out;
  const StepRx& st = s_->steps[r.id];
  r.relayed = Get(st.packets);
  r.relayed_bytes = Get(st.bytes);
  r.reordered = Get(st.reordered);
  r.acks = Get(s_->acks) - before.acks;
  r.unites = Get(s_->unites) - before.unites;
  r.tx_errors = io_->tx_errors() - before.tx_errors;
  r.lat_p50_us = st.latency.Quantile(0.5) / 1e3;
  r.lat_p99_us = st.latency.Quantile(0.99) / 1e3;
  r.lat_p999_us = st.latency.Quantile(0.999) / 1e3;
  r.lat_max_us = st.latency.max() / 1e3;
}

}  // namespace drasyl::loadgen
