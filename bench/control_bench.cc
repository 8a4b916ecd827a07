// The control thread's HELLO handling: HELLO/s for registered peers (PoW
// already checked, keys cached: disarm + parse + ACK build + batched send) and for
// new peers (adds PoW check, X25519 key derivation, table insert).
//   build/bench/control_bench
#include <benchmark/benchmark.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/identity.h"
#include "common/session_keys.h"
#include "common/wire.h"
#include "control/control_plane.h"
#include "dataplane/socket/socket_backend.h"

namespace drasyl {
namespace {

struct Node {
  SecretKey sk;
  PublicKey pk;
  std::vector<uint8_t> hello;  // armed HELLO to the super peer
};

// A super peer (control plane + an unstarted socket backend for the ACK
// sendto) and `n` nodes with prebuilt armed HELLOs. Difficulty 0 so that
// thousands of node identities cost nothing to make.
struct Fixture {
  std::unique_ptr<ControlPlane> control;
  std::unique_ptr<SocketBackend> backend;
  std::vector<Node> nodes;
  PeerPath source;
  int sink = -1;

  explicit Fixture(size_t n, uint32_t max_peers, int kx_threads = 0) {
    if (sodium_init() < 0) abort();
    Identity sp = *GenerateIdentity(0);
    ControlOptions opts;
    opts.identity = sp;
    opts.config.min_pow_difficulty = 0;
    opts.config.max_peers = max_peers;
    opts.config.max_peers_per_source = 0;  // every node comes from one address here
    opts.config.tcp4_listen.reset();
    opts.config.tcp6_listen.reset();
    control = *ControlPlane::Create(opts);
    control->StartKeyDerivation(kx_threads);
    SocketBackendOptions bopts;
    bopts.listeners = {*SocketAddress::Parse("127.0.0.1:0")};
    bopts.relay = control->relay_config();
    backend = *SocketBackend::Create(bopts);
    control->AttachBackend(backend.get());
    // ACKs go to a bound socket nobody reads: the kernel drops them once its
    // buffer is full, as it would for a slow node.
    sink = socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(0x7f000001);
    bind(sink, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    socklen_t len = sizeof(a);
    getsockname(sink, reinterpret_cast<sockaddr*>(&a), &len);
    source = PeerPath::Udp(SocketAddress::V4(0x7f000001, ntohs(a.sin_port)), 0);

    nodes.resize(n);
    for (Node& node : nodes) {
      crypto_sign_keypair(node.pk.data(), node.sk.data());
      SessionKeys keys = *KeyExchange::Create(node.sk)->Derive(sp.public_key);
      wire::HelloBody hello;
      hello.time = UnixMicros();
      hello.child_time = 1;
      hello.endpoints.push_back(wire::Endpoint::From(*SocketAddress::Parse("192.168.1.2:22527")));
      uint8_t body[wire::kMaxHelloBodyBytes];
      size_t body_len = wire::WriteHelloBody(hello, body);
      wire::HeaderFields h;
      h.recipient = sp.public_key;
      h.sender = node.pk;
      h.type = wire::MessageType::kHello;
      node.hello.resize(wire::MessageBytes(body_len, true));
      wire::BuildMessage(h, body, body_len, &keys.tx, nullptr, node.hello.data(),
                         node.hello.size());
    }
  }
  ~Fixture() { close(sink); }

  void Hello(const Node& node) {
    uint8_t buf[512];
    std::memcpy(buf, node.hello.data(), node.hello.size());  // disarming is in place
    control->HandleToSelf(buf, node.hello.size(), source, MonotonicMillis());
  }
};

void BM_HelloKnownPeer(benchmark::State& state) {
  Fixture f(1024, 0);
  for (const Node& n : f.nodes) f.Hello(n);  // register them all
  const uint64_t acks_before = CounterGet(f.control->counters().acks_sent);
  size_t i = 0;
  for (auto _ : state) f.Hello(f.nodes[i++ & 1023]);
  f.control->FlushEgress();
  const uint64_t acks = CounterGet(f.control->counters().acks_sent) - acks_before;
  if (acks != static_cast<uint64_t>(state.iterations())) state.SkipWithError("a HELLO was not answered");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HelloKnownPeer)->UseRealTime();

constexpr size_t kNewPeerIterations = 15000;

// New registrations per second with the key exchanges on the control thread
// (kx_threads 0) or on helper threads, as in a registration storm: the
// control thread checks PoW and parks the HELLO, and answers it when the
// helper hands the keys back.
void BM_HelloNewPeer(benchmark::State& state) {
  const int kx_threads = static_cast<int>(state.range(0));
  Fixture f(kNewPeerIterations, 0, kx_threads);
  const ControlCounters& c = f.control->counters();
  size_t i = 0;
  for (auto _ : state) {
    f.Hello(f.nodes[i++]);  // each node once: a new registration
    // Like the control loop: collect finished key exchanges as they come,
    // and never park more HELLOs than the helpers may have in flight.
    while (kx_threads > 0 && CounterGet(c.hellos_awaiting_keys) >=
                                 CounterGet(c.peers_registered) + KeyDerivationPool::kMaxInFlight - 1) {
      f.control->CollectDerivedKeys(MonotonicMillis());
    }
    if ((i & 63) == 0) f.control->CollectDerivedKeys(MonotonicMillis());
  }
  while (kx_threads > 0 && CounterGet(c.peers_registered) < CounterGet(c.hellos_awaiting_keys)) {
    f.control->CollectDerivedKeys(MonotonicMillis());
  }
  f.control->FlushEgress();
  if (CounterGet(c.peers_registered) != static_cast<uint64_t>(state.iterations()) ||
      CounterGet(c.hellos_key_backlog_full) != 0) {
    state.SkipWithError("a new peer was not registered");
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_HelloNewPeer)
    ->ArgName("kx_threads")
    ->Arg(0)
    ->Arg(1)
    ->Arg(2)
    ->UseRealTime()
    ->Iterations(kNewPeerIterations);

}  // namespace
}  // namespace drasyl
