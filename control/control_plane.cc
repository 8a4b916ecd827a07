#include "control/control_plane.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/hex.h"
#include "control/metrics_render.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

// Largest ACK/UNITE we build: header + arming + UNITE with 16 endpoints.
constexpr size_t kMaxBuiltBytes =
    wire::kHeaderBytes + wire::kArmOverhead + wire::kUniteFixedBytes +
    wire::kMaxEndpoints * wire::kEndpointBytes;
// Items taken from one worker ring per loop turn, so TCP stays responsive.
constexpr size_t kMaxItemsPerRing = 4096;
constexpr int kLoopTimeoutMs = 100;
// The peer listing prints the table itself only while it is this small.
constexpr size_t kMaxListedPeers = 32;
// Session keys cached for senders whose first HELLO is not yet authenticated.
constexpr size_t kMaxPendingKeys = 4096;

std::array<uint8_t, 64> PairKey(const PublicKey& a, const PublicKey& b) {
  std::array<uint8_t, 64> k;
  const bool a_first = std::memcmp(a.data(), b.data(), kPublicKeyBytes) < 0;
  const PublicKey& lo = a_first ? a : b;
  const PublicKey& hi = a_first ? b : a;
  std::memcpy(k.data(), lo.data(), 32);
  std::memcpy(k.data() + 32, hi.data(), 32);
  return k;
}

std::string PathString(const PeerPath& p) {
  switch (p.transport) {
    case Transport::kUdp: return absl::StrCat("udp://", p.address().ToString());
    case Transport::kTcp: return absl::StrCat("tcp#", p.tcp_conn);
    case Transport::kNone: break;
  }
  return "-";
}

}  // namespace

absl::StatusOr<std::unique_ptr<ControlPlane>> ControlPlane::Create(const ControlOptions& opts) {
  absl::StatusOr<KeyExchange> kx = KeyExchange::Create(opts.identity.secret_key);
  if (!kx.ok()) return kx.status();
  std::unique_ptr<ControlPlane> cp(new ControlPlane(opts, *kx));
  cp->wakeup_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  cp->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (cp->wakeup_fd_ < 0 || cp->epoll_fd_ < 0) {
    return absl::InternalError(absl::StrCat("eventfd/epoll: ", strerror(errno)));
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = cp->wakeup_fd_;
  epoll_ctl(cp->epoll_fd_, EPOLL_CTL_ADD, cp->wakeup_fd_, &ev);
  return cp;
}

void ControlPlane::StartKeyDerivation(int threads, const cpu_set_t* cpus) {
  if (threads <= 0 || kx_pool_ != nullptr) return;
  kx_pool_ = std::make_unique<KeyDerivationPool>(kx_, threads, wakeup_fd_, cpus);
}

ControlPlane::ControlPlane(const ControlOptions& opts, KeyExchange kx)
    : opts_(opts), cfg_(opts_.config), kx_(kx) {
  relay_cfg_.self = opts_.identity.public_key;
  relay_cfg_.network_id = cfg_.network_id;
  relay_cfg_.verify_senders = cfg_.verify_senders;
  tcp_admission_.Configure(static_cast<uint32_t>(cfg_.control_rate_per_source), 0);
  counters_.peers_limit.store(cfg_.max_peers, std::memory_order_relaxed);
}

void ControlPlane::AttachBackend(Backend* backend) {
  backend_ = backend;
  if (backend_ != nullptr) backend_->SetAdmissionRate(cfg_.control_rate_per_source);
}

ControlPlane::~ControlPlane() {
  kx_pool_.reset();  // its threads signal wakeup_fd_
  tcp_.reset();
  if (wakeup_fd_ >= 0) close(wakeup_fd_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

RelayConfig ControlPlane::relay_config() const { return relay_cfg_; }

absl::Status ControlPlane::StartTcp() {
  TcpServerOptions topts;
  if (cfg_.tcp4_listen) topts.listeners.push_back(*cfg_.tcp4_listen);
  if (cfg_.tcp6_listen) topts.listeners.push_back(*cfg_.tcp6_listen);
  if (topts.listeners.empty()) return absl::OkStatus();
  // The reference limits connections to max_peers.
  topts.max_connections =
      cfg_.max_tcp_connections > 0 ? cfg_.max_tcp_connections : cfg_.max_peers;
  topts.max_connections_per_source = static_cast<size_t>(cfg_.max_tcp_connections_per_source);
  topts.auth_timeout_ms = static_cast<uint64_t>(cfg_.tcp_hello_timeout_ms);
  absl::StatusOr<std::unique_ptr<TcpServer>> tcp = TcpServer::Create(
      topts,
      [this](uint32_t conn, uint8_t* msg, size_t len) { return HandleTcpFrame(conn, msg, len); },
      [this](uint32_t conn) { HandleTcpClose(conn); });
  if (!tcp.ok()) return tcp.status();
  tcp_ = std::move(*tcp);
  counters_.tcp_connections_limit.store(topts.max_connections, std::memory_order_relaxed);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = tcp_->epoll_fd();
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, tcp_->epoll_fd(), &ev);
  return absl::OkStatus();
}

std::vector<SocketAddress> ControlPlane::tcp_listeners() const {
  return tcp_ ? tcp_->bound_listeners() : std::vector<SocketAddress>{};
}

void ControlPlane::Run(const std::atomic<bool>* stop) {
  stop_ = stop;
  uint64_t now = MonotonicMillis();
  uint64_t next_housekeeping = now + opts_.housekeeping_interval_ms;
  uint64_t next_print = cfg_.peers_print_interval_ms > 0 ? now + cfg_.peers_print_interval_ms : 0;
  uint64_t next_gauges = now;
  epoll_event events[8];
  while (!stop->load(std::memory_order_relaxed)) {
    int n = epoll_wait(epoll_fd_, events, 8, kLoopTimeoutMs);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.fd == wakeup_fd_) {
        uint64_t v;
        ssize_t r = read(wakeup_fd_, &v, sizeof(v));
        (void)r;
      }
    }
    now = MonotonicMillis();
    DrainWorkers(now);
    CollectDerivedKeys(now);
    if (tcp_) {
      tcp_->Poll();
      tcp_->ExpireUnauthenticated(now);
    }
    FlushEgress();
    now = MonotonicMillis();
    if (now >= next_housekeeping) {
      Housekeeping(now);
      next_housekeeping = now + opts_.housekeeping_interval_ms;
    }
    if (next_print && now >= next_print) {
      PrintPeers(now);
      next_print = now + cfg_.peers_print_interval_ms;
    }
    if (now >= next_gauges) {
      PublishGauges();
      next_gauges = now + 500;
    }
  }
}

void ControlPlane::DrainWorkers(uint64_t now_ms) {
  if (backend_ == nullptr) return;
  backend_->DrainToControl(kMaxItemsPerRing, [&](ControlItem& item) {
    switch (item.kind) {
      case ControlItem::Kind::kMessage:
        HandleToSelf(item.data, item.len, item.path, now_ms);
        break;
      case ControlItem::Kind::kRelayToTcp:
        if (!tcp_ || !tcp_->Send(item.path.tcp_conn, item.data, item.len)) {
          counters_.plane.Drop(DropReason::kTcpOutputFull);
        }
        break;
      case ControlItem::Kind::kRelayedPair:
        MaybeUnite(wire::KeyAt(item.data), wire::KeyAt(item.data + kPublicKeyBytes), now_ms);
        break;
    }
  });
}

void ControlPlane::HandleToSelf(uint8_t* msg, size_t len, const PeerPath& source,
                                uint64_t now_ms) {
  WorkerCounters& c = counters_.plane;
  wire::Header h;
  if (const wire::Error e = wire::ParseHeader(msg, len, &h); e != wire::Error::kOk) {
    return c.Drop(relay_internal::HeaderDropReason(e));  // workers checked; TCP too
  }
  CounterAdd(counters_.received_by_type[static_cast<size_t>(h.type)]);
  if (h.armed() != cfg_.arm_messages) return c.Drop(DropReason::kArmMismatch);
  if (h.type != wire::MessageType::kHello) return c.Drop(DropReason::kNotHello);
  // Only a DPDK frame with a wrong checksum has no path (the workers drop those).
  if (source.transport == Transport::kNone) return c.Drop(DropReason::kBadChecksum);
  HandleHello(h, msg, len, source, now_ms);
}

void ControlPlane::HandleHello(const wire::Header& h, uint8_t* msg, size_t len,
                               const PeerPath& source, uint64_t now_ms) {
  WorkerCounters& c = counters_.plane;
  const PublicKey sender = wire::KeyAt(h.sender);
  const SourceKey from = SourceOf(source);
  PeerRecord* rec = peers_.Find(sender);
  SessionKeys keys{};
  if (rec != nullptr) {
    keys = rec->keys;
  } else {
    // A peer takes a table slot only once its HELLO is authenticated, fresh
    // and well formed, and only with a valid proof of work (the reference
    // stores every sender, which lets garbage fill the table), within its
    // source's share, checked before anything costly.
    if (!SourceHasRoom(from)) return c.Drop(DropReason::kSourcePeerLimit);
    if (!PowValid(sender, h.pow, cfg_.min_pow_difficulty)) return c.Drop(DropReason::kPowInvalid);
    if (cfg_.max_peers != 0 && peers_.size() >= cfg_.max_peers) {
      return c.Drop(DropReason::kPeerTableFull);
    }
    if (cfg_.arm_messages) {
      // Keys of senders not yet authenticated are cached, so that replaying
      // a forged HELLO does not cost a key exchange each time.
      auto p = pending_keys_.find(sender);
      if (p == pending_keys_.end() && kx_pool_ != nullptr) {
        return ParkHello(sender, msg, len, source, from);  // answered when the keys are there
      }
      if (p == pending_keys_.end()) {
        absl::StatusOr<SessionKeys> derived = kx_.Derive(sender);
        if (!derived.ok()) return c.Drop(DropReason::kInvalidKey);
        if (pending_keys_.size() >= kMaxPendingKeys) pending_keys_.clear();
        p = pending_keys_.emplace(sender, *derived).first;
      }
      keys = p->second;
    }
  }

  const uint8_t* body = msg + wire::kHeaderBytes;
  size_t body_len = len - wire::kHeaderBytes;
  if (cfg_.arm_messages) {
    uint8_t* plain;
    if (wire::Disarm(msg, len, keys.rx, &plain, &body_len) != wire::Error::kOk) {
      return c.Drop(DropReason::kBadTag);
    }
    body = plain;
  }
  wire::HelloBody hello;
  if (wire::ParseHelloBody(body, body_len, &hello) != wire::Error::kOk) {
    return c.Drop(DropReason::kBadHello);
  }
  const uint64_t now_us = UnixMicros();
  const uint64_t age_us = now_us > hello.time ? now_us - hello.time : 0;
  if (age_us > static_cast<uint64_t>(cfg_.hello_max_age_ms) * 1000) {
    return c.Drop(DropReason::kHelloTooOld);
  }

  // Anti-replay. A node sends each HELLO over all its paths, so copies with
  // the newest time are answered where they came from; only the first copy
  // of a newer time moves the relay path. Older ones are replays (or a node
  // whose clock stepped back: it is answered again once its clock passes
  // the newest time, or after HELLO_TIMEOUT forgot it).
  if (rec != nullptr && hello.time < rec->hello_time_us) {
    return c.Drop(DropReason::kReplayedHello);
  }
  const bool newest = rec == nullptr || hello.time > rec->hello_time_us;
  if (newest && rec != nullptr && from != rec->source && !SourceHasRoom(from)) {
    return c.Drop(DropReason::kSourcePeerLimit);  // may not move into a full source
  }
  if (rec == nullptr) {
    rec = &peers_.Insert(sender);
    rec->keys = keys;
    pending_keys_.erase(sender);
    CounterAdd(counters_.peers_registered);
    rec->source = from;
    peers_per_source_.Add(from);
  }
  if (newest) {
    rec->hello_time_us = hello.time;
    rec->last_hello_ms = now_ms;
    rec->SetEndpoints({hello.endpoints.begin(), hello.endpoints.size});
    MoveSource(*rec, from);
    if (!(rec->path == source)) SetPath(*rec, source);
  }
  if (source.transport == Transport::kTcp && tcp_) tcp_->MarkAuthenticated(source.tcp_conn);

  uint8_t ack_body[wire::kAckBodyBytes];
  wire::WriteAckBody(wire::AckBody{hello.time}, ack_body);
  uint8_t out[kMaxBuiltBytes];
  size_t n = Build(*rec, wire::MessageType::kAck, ack_body, sizeof(ack_body), out, sizeof(out));
  if (SendTo(source, out, n)) CounterAdd(counters_.acks_sent);
}

SourceKey ControlPlane::SourceOf(const PeerPath& path) const {
  if (path.transport == Transport::kUdp) return SourceKeyOf(path);
  if (path.transport == Transport::kTcp && tcp_) {
    if (std::optional<SocketAddress> peer = tcp_->peer_address(path.tcp_conn)) {
      return SourceKeyOf(*peer);
    }
  }
  return 0;
}

bool ControlPlane::SourceHasRoom(SourceKey from) const {
  return peers_per_source_.Below(from, static_cast<uint64_t>(cfg_.max_peers_per_source));
}

void ControlPlane::MoveSource(PeerRecord& rec, SourceKey to) {
  if (rec.source == to) return;
  peers_per_source_.Remove(rec.source);
  rec.source = to;
  peers_per_source_.Add(to);
}

void ControlPlane::ParkHello(const PublicKey& sender, const uint8_t* msg, size_t len,
                             const PeerPath& source, SourceKey from) {
  auto it = parked_.find(sender);
  if (it == parked_.end()) {
    // The node re-sends its HELLO in a few seconds.
    if (!parked_per_source_.Below(from, kMaxParkedPerSource)) {
      return counters_.plane.Drop(DropReason::kSourceKeyExchangeLimit);
    }
    if (parked_.size() >= KeyDerivationPool::kMaxInFlight || !kx_pool_->Submit(sender)) {
      CounterAdd(counters_.hellos_key_backlog_full);
      return;
    }
    parked_per_source_.Add(from);
    it = parked_.try_emplace(sender).first;
    it->second.from = from;
    CounterAdd(counters_.hellos_awaiting_keys);
  }
  // Each is answered, as without helpers; beyond a few, the newest replaces
  // the last one.
  std::vector<ParkedHello>& waiting = it->second.hellos;
  if (waiting.size() == kMaxParkedPerPeer) waiting.pop_back();
  waiting.push_back({std::vector<uint8_t>(msg, msg + len), source});
}

size_t ControlPlane::CollectDerivedKeys(uint64_t now_ms) {
  if (kx_pool_ == nullptr) return 0;
  return kx_pool_->Drain([&](const KeyDerivationPool::Result& r) {
    auto it = parked_.find(r.peer);
    if (it == parked_.end()) return;
    std::vector<ParkedHello> waiting = std::move(it->second.hellos);
    parked_per_source_.Remove(it->second.from);
    parked_.erase(it);
    if (!r.ok) return counters_.plane.Drop(DropReason::kInvalidKey, waiting.size());
    if (pending_keys_.size() >= kMaxPendingKeys) pending_keys_.clear();
    pending_keys_.insert_or_assign(r.peer, r.keys);
    for (ParkedHello& hello : waiting) {
      wire::Header h;  // checked when it was parked
      if (wire::ParseHeader(hello.data.data(), hello.data.size(), &h) != wire::Error::kOk) continue;
      HandleHello(h, hello.data.data(), hello.data.size(), hello.source, now_ms);
    }
  });
}

bool ControlPlane::HandleTcpFrame(uint32_t conn, uint8_t* msg, size_t len) {
  WorkerCounters& c = counters_.plane;
  CounterAdd(c.rx_packets);
  CounterAdd(c.rx_bytes, len);
  PacketView view{msg, static_cast<uint32_t>(len)};
  Decision d;
  auto came_from = [conn](size_t, const PeerPath& from) {
    return SameEndpoint(PeerPath::Tcp(conn), from);
  };
  DecideBurst(relay_cfg_, RegistryRelayView(peers_), nullptr, 0, &view, 1, &d, came_from);
  const uint64_t now_ms = MonotonicMillis();
  switch (d.verdict) {
    case Verdict::kDrop:
      c.Drop(d.reason);
      // A frame that is not a message at all closes the connection, as in
      // the reference; policy drops (unknown recipient, ...) do not.
      return d.reason != DropReason::kTooShort && d.reason != DropReason::kBadMagic &&
             d.reason != DropReason::kBadType;
    case Verdict::kToControl:
      if (!tcp_admission_.Admit(SourceOf(PeerPath::Tcp(conn)), now_ms)) {
        c.Drop(DropReason::kSourceRateLimited);
        return true;
      }
      HandleToSelf(msg, len, PeerPath::Tcp(conn), now_ms);
      return true;
    case Verdict::kForward:
    case Verdict::kForwardTcp: {
      if (!SendTo(*d.path, msg, len)) {
        c.Drop(DropReason::kTxFailed);
        return true;
      }
      CounterAdd(c.relayed_packets);
      CounterAdd(c.relayed_bytes, len);
      MaybeUnite(wire::KeyAt(msg + wire::off::kSender), wire::KeyAt(msg + wire::off::kRecipient),
                 now_ms);
      return true;
    }
  }
  return true;
}

void ControlPlane::HandleTcpClose(uint32_t conn) {
  // HELLOs that came over it and wait for their keys are no longer answered.
  for (auto& [key, parked] : parked_) {
    std::erase_if(parked.hellos, [conn](const ParkedHello& p) {
      return p.source.transport == Transport::kTcp && p.source.tcp_conn == conn;
    });
  }
  // Peers whose current path was this connection have no path any more.
  auto c = tcp_peers_.find(conn);
  if (c == tcp_peers_.end()) return;
  for (const PublicKey& key : c->second) {
    PeerRecord* rec = peers_.Find(key);
    if (rec != nullptr && rec->path.transport == Transport::kTcp && rec->path.tcp_conn == conn) {
      ClearPath(*rec);
    }
  }
  tcp_peers_.erase(c);
}

void ControlPlane::MaybeUnite(const PublicKey& a, const PublicKey& b, uint64_t now_ms) {
  if (cfg_.send_unites_ms < 0) return;
  const PeerRecord* ra = peers_.Find(a);
  const PeerRecord* rb = peers_.Find(b);
  if (ra == nullptr || rb == nullptr || !ra->has_path() || !rb->has_path()) return;
  if (cfg_.send_unites_ms > 0) {
    auto [slot, inserted] = unite_sent_ms_.try_emplace(PairKey(a, b), now_ms);
    if (!inserted) {
      if (now_ms - slot->second < static_cast<uint64_t>(cfg_.send_unites_ms)) return;
      slot->second = now_ms;
    }
  }
  SendUnite(*ra, *rb);
  SendUnite(*rb, *ra);
}

void ControlPlane::SendUnite(const PeerRecord& to, const PeerRecord& about) {
  wire::UniteBody unite;
  unite.address = about.key;
  for (const wire::Endpoint& e : about.endpoints()) {
    if (unite.endpoints.size >= wire::kMaxHelloEndpoints) break;
    unite.endpoints.push_back(e);
  }
  // The observed source of its last HELLO: what NAT hole punching needs.
  if (about.path.transport == Transport::kUdp) {
    unite.endpoints.push_back(wire::Endpoint::From(about.path.address()));
  }
  uint8_t body[wire::kUniteFixedBytes + wire::kMaxEndpoints * wire::kEndpointBytes];
  size_t body_len = wire::WriteUniteBody(unite, body);
  uint8_t out[kMaxBuiltBytes];
  size_t n = Build(to, wire::MessageType::kUnite, body, body_len, out, sizeof(out));
  if (SendTo(to.path, out, n)) CounterAdd(counters_.unites_sent);
}

size_t ControlPlane::Build(const PeerRecord& to, wire::MessageType type, const uint8_t* body,
                           size_t body_len, uint8_t* out, size_t cap) {
  wire::HeaderFields h;
  h.network_id = cfg_.network_id;
  h.recipient = to.key;
  h.sender = opts_.identity.public_key;
  h.pow = opts_.identity.pow;
  h.type = type;
  return wire::BuildMessage(h, body, body_len, cfg_.arm_messages ? &to.keys.tx : nullptr,
                            nullptr, out, cap);
}

bool ControlPlane::SendTo(const PeerPath& path, const uint8_t* msg, size_t len) {
  bool ok = false;
  if (len == 0) {
    ok = false;
  } else if (path.transport == Transport::kUdp) {
    ok = backend_ != nullptr && backend_->SendFromControl(path, msg, len);
  } else if (path.transport == Transport::kTcp) {
    ok = tcp_ && tcp_->Send(path.tcp_conn, msg, len);
  }
  if (!ok) CounterAdd(counters_.send_failures);
  return ok;
}

void ControlPlane::FlushEgress() {
  if (backend_ == nullptr) return;
  if (const uint64_t lost = backend_->FlushFromControl()) CounterAdd(counters_.send_failures, lost);
}

void ControlPlane::CountPath(const PeerPath& path, int delta) {
  if (path.transport == Transport::kUdp) peers_udp_ += delta;
  if (path.transport == Transport::kTcp) peers_tcp_ += delta;
}

void ControlPlane::SetPath(PeerRecord& rec, const PeerPath& path) {
  CountPath(rec.path, -1);
  CountPath(path, +1);
  rec.path = path;
  if (path.transport == Transport::kTcp) {
    std::vector<PublicKey>& keys = tcp_peers_[path.tcp_conn];
    if (std::find(keys.begin(), keys.end(), rec.key) == keys.end()) keys.push_back(rec.key);
  }
  PeerUpdate u;
  u.op = PeerUpdate::Op::kUpsert;
  u.key = rec.key;
  u.path = path;
  PushUpdate(u);
}

void ControlPlane::ClearPath(PeerRecord& rec) {
  if (!rec.has_path()) return;
  CountPath(rec.path, -1);
  rec.path = PeerPath{};
  PeerUpdate u;
  u.op = PeerUpdate::Op::kErase;
  u.key = rec.key;
  PushUpdate(u);
}

void ControlPlane::PushUpdate(const PeerUpdate& u) {
  if (backend_ != nullptr) backend_->PublishUpdate(u, stop_);
}

void ControlPlane::Housekeeping(uint64_t now_ms) {
  const uint64_t timeout = static_cast<uint64_t>(cfg_.hello_timeout_ms);
  size_t expired = 0;
  peers_.ForEach([&](PeerRecord& rec) {
    if (now_ms - rec.last_hello_ms > timeout) {
      ClearPath(rec);
      peers_per_source_.Remove(rec.source);
      peers_.Erase(rec);
      ++expired;
    }
  });
  if (expired) {
    CounterAdd(counters_.peers_expired, expired);
    VLOG(1) << "housekeeping: expired " << expired << " peers";
  }
  pending_keys_.clear();
  if (cfg_.send_unites_ms > 0) {
    absl::erase_if(unite_sent_ms_, [&](const auto& e) {
      return now_ms - e.second >= static_cast<uint64_t>(cfg_.send_unites_ms);
    });
  } else {
    unite_sent_ms_.clear();
  }
  if (tcp_) {
    size_t closed = tcp_->CloseIdle(now_ms, timeout);
    if (closed) VLOG(1) << "housekeeping: closed " << closed << " idle TCP connections";
  }
  PublishGauges();
}

void ControlPlane::PublishGauges() {
  counters_.peers.store(peers_.size(), std::memory_order_relaxed);
  counters_.peers_udp.store(peers_udp_, std::memory_order_relaxed);
  counters_.peers_tcp.store(peers_tcp_, std::memory_order_relaxed);
  counters_.unite_entries.store(unite_sent_ms_.size(), std::memory_order_relaxed);
  if (tcp_) {
    const TcpServerCounters& t = tcp_->counters();
    counters_.tcp_connections.store(tcp_->connection_count(), std::memory_order_relaxed);
    counters_.tcp_sources_at_limit.store(tcp_->sources_at_limit(), std::memory_order_relaxed);
    counters_.tcp_syn_filter_updates.store(t.syn_filter_updates, std::memory_order_relaxed);
    counters_.tcp_accepted.store(t.accepted, std::memory_order_relaxed);
    counters_.tcp_rejected_over_limit.store(t.rejected_over_limit, std::memory_order_relaxed);
    counters_.tcp_rejected_per_source.store(t.rejected_per_source, std::memory_order_relaxed);
    counters_.tcp_evicted_unauthenticated.store(t.evicted_unauthenticated,
                                                std::memory_order_relaxed);
    counters_.tcp_closed_unauthenticated.store(t.closed_unauthenticated,
                                               std::memory_order_relaxed);
    counters_.tcp_closed_malformed.store(t.closed_malformed, std::memory_order_relaxed);
    counters_.tcp_closed_idle.store(t.closed_idle, std::memory_order_relaxed);
    counters_.tcp_closed_slow_reader.store(t.closed_slow_reader, std::memory_order_relaxed);
    counters_.tcp_closed_by_peer.store(t.closed_by_peer, std::memory_order_relaxed);
    counters_.tcp_closed_by_server.store(t.closed_by_server, std::memory_order_relaxed);
    counters_.tcp_bytes_in.store(t.bytes_in, std::memory_order_relaxed);
    counters_.tcp_bytes_out.store(t.bytes_out, std::memory_order_relaxed);
    counters_.tcp_frames_in.store(t.frames_in, std::memory_order_relaxed);
    counters_.tcp_frames_out.store(t.frames_out, std::memory_order_relaxed);
  }
}

void ControlPlane::PrintPeers(uint64_t now_ms) {
  PublishGauges();
  uint64_t relayed = CounterGet(counters_.plane.relayed_packets);
  uint64_t relayed_bytes = CounterGet(counters_.plane.relayed_bytes);
  if (backend_ != nullptr) {
    for (const WorkerCounters* w : backend_->WorkerCounterViews()) {
      relayed += CounterGet(w->relayed_packets);
      relayed_bytes += CounterGet(w->relayed_bytes);
    }
  }
  std::string out = absl::StrFormat(
      "peers: %d (udp %d, tcp %d, no path %d); relayed %d packets, %d bytes since last listing",
      peers_.size(), CounterGet(counters_.peers_udp), CounterGet(counters_.peers_tcp),
      peers_.size() - CounterGet(counters_.peers_udp) - CounterGet(counters_.peers_tcp),
      relayed - last_print_relayed_packets_, relayed_bytes - last_print_relayed_bytes_);
  last_print_relayed_packets_ = relayed;
  last_print_relayed_bytes_ = relayed_bytes;
  if (!peers_.empty() && peers_.size() <= kMaxListedPeers) {
    absl::StrAppendFormat(&out, "\n  %-64s  %-48s  %9s  %s", "public key", "path",
                          "hello age", "endpoints");
    peers_.ForEach([&](const PeerRecord& rec) {
      absl::StrAppendFormat(&out, "\n  %-64s  %-48s  %7dms  %d", HexEncode(rec.key),
                            PathString(rec.path), now_ms - rec.last_hello_ms,
                            rec.endpoints().size());
    });
  }
  LOG(INFO) << out;
}

std::string ControlPlane::RenderMetrics() const {
  std::vector<const WorkerCounters*> workers;
  if (backend_ != nullptr) workers = backend_->WorkerCounterViews();
  std::string out = RenderPrometheus(counters_, workers, backend_ ? backend_->name() : "none");
  if (backend_ != nullptr) out += backend_->ExtraMetrics();
  return out;
}

}  // namespace drasyl
