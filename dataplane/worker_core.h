// The backend-independent part of a worker: its table replica, UNITE
// pre-filter, counters, the per-source admission in front of the control
// thread and the rings to and from it.
// A backend receives a burst, calls Process(), transmits the kForward
// decisions itself and calls EndBurst().
#ifndef DRASYL_DATAPLANE_WORKER_CORE_H_
#define DRASYL_DATAPLANE_WORKER_CORE_H_

#include <unistd.h>

#include <cstring>
#include <memory>

#include "common/wire.h"
#include "dataplane/control_channel.h"
#include "dataplane/counters.h"
#include "dataplane/relay.h"
#include "dataplane/source_admission.h"

namespace drasyl {

class WorkerCore {
 public:
  // control_wakeup: eventfd the control thread sleeps on (-1: none).
  WorkerCore(const RelayConfig& cfg, int64_t send_unites_ms, int control_wakeup)
      : cfg_(cfg),
        unites_(send_unites_ms),
        control_wakeup_(control_wakeup),
        updates_(std::make_unique<UpdateRing>(kUpdateRingSize)),
        to_control_(std::make_unique<ControlRing>(kControlRingSize)),
        to_control_priority_(std::make_unique<ControlRing>(kControlRingSize)) {}

  // Applies the table changes the control thread queued. Between bursts only.
  size_t ApplyUpdates() {
    size_t n = 0;
    while (PeerUpdate* u = updates_->Front()) {
      table_.Apply(*u);
      updates_->Pop();
      ++n;
    }
    if (n) CounterAdd(counters_.table_updates, n);
    return n;
  }

  // Decides a burst and queues everything the control thread must see.
  // source_of(i) returns the PeerPath a packet came from; it is called only
  // for packets that go to the control thread. came_from(i, path): whether
  // packet i came from `path` (its sender's), asked only when the relay
  // verifies senders.
  template <typename SourceFn, typename CameFromFn>
  void Process(const PacketView* pkts, size_t n, uint64_t now_ms, SourceFn&& source_of,
               CameFromFn&& came_from, Decision* out) {
    const BurstTally t = DecideBurst(cfg_, table_, unites_.enabled() ? &unites_ : nullptr, now_ms,
                                     pkts, n, out, came_from);
    CounterAdd(counters_.relayed_packets, t.relayed);
    CounterAdd(counters_.relayed_bytes, t.relayed_bytes);
    if (t.plain == n) return;  // all of them just go out: the common burst
    for (size_t i = 0; i < n; ++i) {
      Decision& d = out[i];
      switch (d.verdict) {
        case Verdict::kDrop:
          counters_.Drop(d.reason);
          continue;
        case Verdict::kToControl: {
          // No path: the DPDK backend found the frame's IPv4 header or UDP
          // checksum wrong (the kernel drops such datagrams before the
          // socket backend sees them).
          const PeerPath from = source_of(i);
          if (from.transport == Transport::kNone) {
            counters_.Drop(DropReason::kBadChecksum);
            continue;
          }
          ToControl(pkts[i], from, now_ms);
          continue;
        }
        case Verdict::kForwardTcp:
          Enqueue(*to_control_, ControlItem::Kind::kRelayToTcp, *d.path, pkts[i].data,
                  pkts[i].len);
          break;
        case Verdict::kForward:
          break;
      }
      if (d.report_unite) ReportPair(pkts[i].data);
    }
  }

  // Wakes the control thread once per burst when the burst queued anything.
  void EndBurst() {
    if (pending_wakeup_ && control_wakeup_ >= 0) {
      uint64_t one = 1;
      ssize_t r = ::write(control_wakeup_, &one, sizeof(one));
      (void)r;  // a full eventfd counter already means "wake up"
    }
    pending_wakeup_ = false;
  }

  PeerTable& table() { return table_; }
  UpdateRing& updates() { return *updates_; }
  // Messages to the control thread: HELLOs of registered peers from their
  // current path (served first), and everything else.
  ControlRing& to_control() { return *to_control_; }
  ControlRing& to_control_priority() { return *to_control_priority_; }
  // Messages/s (and burst) each source may send to the control thread
  // through this worker. Before Start(), or from the worker.
  SourceBuckets& admission() { return admission_; }
  WorkerCounters& counters() { return counters_; }
  const RelayConfig& config() const { return cfg_; }

 private:
  // A message to the super peer itself: admitted against its source's
  // bucket, then queued; a registered peer's from its current path jumps the
  // queue, so that floods of unknown senders cannot starve known peers.
  void ToControl(const PacketView& pkt, const PeerPath& source, uint64_t now_ms) {
    if (!admission_.Admit(SourceKeyOf(source), now_ms)) {
      counters_.Drop(DropReason::kSourceRateLimited);
      return;
    }
    const PeerPath* known = table_.Find(table_.Prefetch(pkt.data + wire::off::kSender));
    const bool current = known != nullptr && SameEndpoint(*known, source);
    Enqueue(current ? *to_control_priority_ : *to_control_, ControlItem::Kind::kMessage, source,
            pkt.data, pkt.len);
  }

  void Enqueue(ControlRing& ring, ControlItem::Kind kind, const PeerPath& path,
               const uint8_t* data, size_t len) {
    if (len > kMaxMessageBytes) {
      counters_.Drop(DropReason::kOversized);
      return;
    }
    ControlItem* item = ring.Reserve();
    if (item == nullptr) {
      counters_.Drop(DropReason::kControlRingFull);
      return;
    }
    item->kind = kind;
    item->path = path;
    item->len = static_cast<uint16_t>(len);
    std::memcpy(item->data, data, len);
    ring.Push();
    CounterAdd(counters_.to_control);
    pending_wakeup_ = true;
  }

  void ReportPair(const uint8_t* msg) {
    ControlItem* item = to_control_->Reserve();
    if (item == nullptr) return;  // best effort: the next relay reports again
    item->kind = ControlItem::Kind::kRelayedPair;
    item->len = 2 * kPublicKeyBytes;
    std::memcpy(item->data, msg + wire::off::kSender, kPublicKeyBytes);
    std::memcpy(item->data + kPublicKeyBytes, msg + wire::off::kRecipient, kPublicKeyBytes);
    to_control_->Push();
    CounterAdd(counters_.unite_events);
    pending_wakeup_ = true;
  }

  RelayConfig cfg_;
  PeerTable table_;
  UniteFilter unites_;
  WorkerCounters counters_;
  int control_wakeup_;
  bool pending_wakeup_ = false;
  std::unique_ptr<UpdateRing> updates_;
  std::unique_ptr<ControlRing> to_control_;
  std::unique_ptr<ControlRing> to_control_priority_;
  SourceBuckets admission_;
};

}  // namespace drasyl

#endif  // DRASYL_DATAPLANE_WORKER_CORE_H_
