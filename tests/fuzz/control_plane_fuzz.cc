// libFuzzer target: sequences of messages into the real control plane
// (ControlPlane::HandleToSelf), as attackers and nodes would send them:
// valid HELLOs of four identities at times the input chooses, from four
// sources (two sharing an address), replays of any earlier message from any
// source, forged tags, single-byte corruptions and garbage. A backend of the
// harness records what the control plane sends (ACKs) and the table updates
// it publishes to its one worker, and after every message checks:
//   - an ACK answers only a HELLO at least as new as the newest one accepted
//     from its peer before (never a replay), goes back where that HELLO came
//     from, and echoes its time;
//   - the relay path moves only with a strictly newer HELLO, to its source;
//   - the table holds at most MAX_PEERS peers, at most MAX_PEERS_PER_SOURCE
//     from one source.
#include <sodium.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/clock.h"
#include "common/identity.h"
#include "common/session_keys.h"
#include "common/wire.h"
#include "control/control_plane.h"
#include "dataplane/backend.h"
#include "dataplane/source_admission.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace drasyl;  // NOLINT

constexpr int kIdentities = 4;
constexpr uint32_t kMaxPeers = 3;
constexpr int64_t kMaxPeersPerSource = 2;

// Records sends; its one worker core only receives table updates.
class RecordingBackend : public Backend {
 public:
  struct Sent {
    PeerPath path;
    std::vector<uint8_t> bytes;
  };
  explicit RecordingBackend(const RelayConfig& cfg) : core_(cfg, -1, -1) {}
  const char* name() const override { return "fuzz"; }
  absl::Status Start() override { return absl::OkStatus(); }
  void Stop() override {}
  size_t num_workers() const override { return 1; }
  bool SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) override {
    sent.push_back({path, std::vector<uint8_t>(data, data + len)});
    return true;
  }
  std::vector<SocketAddress> udp_listeners() const override { return {}; }

  std::vector<Sent> sent;
  // The table updates the control plane published.
  UpdateRing& updates() { return core_.updates(); }

 private:
  WorkerCore& worker(size_t) override { return core_; }

  WorkerCore core_;
};

struct World {
  Identity super_peer;
  std::array<Identity, kIdentities> nodes;
  std::array<SessionKeys, kIdentities> keys;  // the nodes' side
  std::array<PeerPath, 4> sources;

  World() {
    if (sodium_init() < 0) __builtin_trap();
    super_peer = *GenerateIdentity(0);
    for (int i = 0; i < kIdentities; ++i) {
      nodes[i] = *GenerateIdentity(0);
      keys[i] = *KeyExchange::Create(nodes[i].secret_key)->Derive(super_peer.public_key);
    }
    // Two ports of one address (one source), another address and an IPv6
    // address. (TCP paths take the same code; their ACKs leave through the
    // TCP server, which this harness does not run.)
    sources = {PeerPath::Udp(*SocketAddress::Parse("192.0.2.1:1000"), 0),
               PeerPath::Udp(*SocketAddress::Parse("192.0.2.1:2000"), 0),
               PeerPath::Udp(*SocketAddress::Parse("192.0.2.2:1000"), 0),
               PeerPath::Udp(*SocketAddress::Parse("[2001:db8::1]:1000"), 0)};
  }

  std::vector<uint8_t> Hello(int node, uint64_t time, int endpoints) const {
    wire::HelloBody hello;
    hello.time = time;
    hello.child_time = 1;
    for (int e = 0; e < endpoints; ++e) {
      hello.endpoints.push_back(
          wire::Endpoint::From(SocketAddress::V4(0xc0000201 + e, static_cast<uint16_t>(e + 1))));
    }
    uint8_t body[wire::kMaxHelloBodyBytes];
    const size_t body_len = wire::WriteHelloBody(hello, body);
    wire::HeaderFields h;
    h.recipient = super_peer.public_key;
    h.sender = nodes[node].public_key;
    h.pow = nodes[node].pow;
    h.type = wire::MessageType::kHello;
    std::vector<uint8_t> out(wire::MessageBytes(body_len, true));
    wire::BuildMessage(h, body, body_len, &keys[node].tx, nullptr, out.data(), out.size());
    return out;
  }
};

const World& TheWorld() {
  static const World* world = new World();
  return *world;
}

// Reads the input front to back; zeros once it is used up.
struct Reader {
  const uint8_t* p;
  size_t n;
  bool done() const { return n == 0; }
  uint8_t Byte() {
    if (n == 0) return 0;
    --n;
    return *p++;
  }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
};

int NodeOf(const World& w, const uint8_t* msg, size_t len) {
  if (len < wire::kHeaderBytes) return -1;
  for (int i = 0; i < kIdentities; ++i) {
    if (std::memcmp(msg + wire::off::kRecipient, w.nodes[i].public_key.data(), kPublicKeyBytes) == 0) {
      return i;
    }
  }
  return -1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const World& w = TheWorld();
  ControlOptions opts;
  opts.identity = w.super_peer;
  opts.config.min_pow_difficulty = 0;
  opts.config.max_peers = kMaxPeers;
  opts.config.max_peers_per_source = kMaxPeersPerSource;
  opts.config.tcp4_listen.reset();
  opts.config.tcp6_listen.reset();
  opts.config.send_unites_ms = -1;
  std::unique_ptr<ControlPlane> control = *ControlPlane::Create(opts);
  // One backend for all inputs (its rings are large); every input leaves it
  // drained.
  static RecordingBackend& backend = *new RecordingBackend(control->relay_config());
  control->AttachBackend(&backend);

  // The model: newest time each node had answered, and the replica's table.
  std::array<std::optional<uint64_t>, kIdentities> newest{};
  absl::flat_hash_map<PublicKey, PeerPath, PublicKeyHash, PublicKeyEq> table;
  std::vector<std::vector<uint8_t>> history;
  const uint64_t base = UnixMicros();

  Reader in{data, size};
  for (int step = 0; step < 64 && !in.done(); ++step) {
    const uint8_t op = in.Byte() % 5;
    const PeerPath& from = w.sources[in.Byte() % w.sources.size()];
    std::vector<uint8_t> msg;
    int hello_of = -1;   // whose valid HELLO this is, if it is one
    uint64_t time = 0;
    switch (op) {
      case 0: {  // a valid HELLO, up to ±32 s around now
        hello_of = in.Byte() % kIdentities;
        time = base + static_cast<int16_t>(in.U16()) * 1000;
        msg = w.Hello(hello_of, time, in.Byte() % 3);
        history.push_back(msg);
        break;
      }
      case 1: {  // a replay of an earlier message, from anywhere
        if (history.empty()) continue;
        msg = history[in.Byte() % history.size()];
        break;
      }
      case 2:    // an earlier message with one byte changed (a forged tag,
      case 3: {  // a corrupt header or body)
        if (history.empty()) continue;
        msg = history[in.Byte() % history.size()];
        const size_t at = in.U16() % msg.size();
        msg[at] ^= static_cast<uint8_t>(in.Byte() | 1);
        break;
      }
      case 4: {  // garbage, or a HELLO's header with garbage behind it
        const size_t len = in.Byte();
        if (in.Byte() & 1 && !history.empty()) {
          msg.assign(history[0].begin(), history[0].begin() + wire::kHeaderBytes);
        }
        for (size_t i = 0; i < len; ++i) msg.push_back(in.Byte());
        break;
      }
    }
    // A replayed or corrupted copy of a valid HELLO counts as that HELLO
    // (the model cannot tell it apart from the original, and need not).
    std::optional<uint64_t> before[kIdentities];
    for (int i = 0; i < kIdentities; ++i) before[i] = newest[i];

    backend.sent.clear();
    std::vector<uint8_t> buf = msg;  // disarmed in place
    control->HandleToSelf(buf.data(), buf.size(), from, MonotonicMillis());

    // ACKs: to the source, for a HELLO not older than the newest answered.
    std::optional<uint64_t> acked_time;
    int acked_node = -1;
    for (RecordingBackend::Sent& s : backend.sent) {
      CHECK_OR_TRAP(SameEndpoint(s.path, from));
      const int node = NodeOf(w, s.bytes.data(), s.bytes.size());
      CHECK_OR_TRAP(node >= 0);
      uint8_t* body;
      size_t body_len;
      CHECK_OR_TRAP(wire::Disarm(s.bytes.data(), s.bytes.size(), w.keys[node].rx, &body,
                                 &body_len) == wire::Error::kOk);
      wire::AckBody ack;
      CHECK_OR_TRAP(wire::ParseAckBody(body, body_len, &ack) == wire::Error::kOk);
      CHECK_OR_TRAP(!before[node] || ack.time >= *before[node]);
      CHECK_OR_TRAP(backend.sent.size() == 1);
      acked_time = ack.time;
      acked_node = node;
      if (!newest[node] || ack.time > *newest[node]) newest[node] = ack.time;
    }
    if (hello_of >= 0 && acked_node >= 0) CHECK_OR_TRAP(acked_node == hello_of && *acked_time == time);

    // Table updates: a path moves only with a strictly newer HELLO, to
    // where it came from.
    UpdateRing& updates = backend.updates();
    while (PeerUpdate* u = updates.Front()) {
      if (u->op == PeerUpdate::Op::kUpsert) {
        CHECK_OR_TRAP(acked_node >= 0);
        CHECK_OR_TRAP(PublicKeyEq{}(u->key, w.nodes[acked_node].public_key));
        CHECK_OR_TRAP(!before[acked_node] || *acked_time > *before[acked_node]);
        CHECK_OR_TRAP(u->path == from);
        table[u->key] = u->path;
      } else {
        table.erase(u->key);
      }
      updates.Pop();
    }
    CHECK_OR_TRAP(table.size() <= kMaxPeers);
    absl::flat_hash_map<SourceKey, int> per_source;
    for (const auto& [key, path] : table) {
      if (path.transport == Transport::kUdp) {
        CHECK_OR_TRAP(++per_source[SourceKeyOf(path)] <= kMaxPeersPerSource);
      }
    }
  }
  return 0;
}
