// Relayed packets per second through the kernel-socket backend on loopback,
// with 1 and 2 workers, 64/1024-byte payloads and the workers' UDP GSO and
// GRO off and on. On loopback a GSO datagram the workers send is split into
// messages on the recipient's side, on the worker's CPU, as the kernel would
// split it in software for a NIC without UDP segmentation offload;
// sink_gro:1 (recipient with UDP_GRO: no split) stands in for a NIC with it.
// A sender thread offers APP messages from 8 flows as fast as it can; a
// receiver thread counts what the super peer relays. Loopback shares the 2
// cores with sender and receiver, so the relayed rate is a floor;
// relayed_per_worker_cpu_s says what one fully used worker core relays
// (packets per CPU-second of the worker threads).
//   build/bench/socket_relay_bench
//
// On loopback the recipient's receive path runs on the worker's CPU and is
// counted as the worker's. With SOCKET_RELAY_BENCH_REMOTE=NETNS,SP_IP,RCPT_IP
// the super peer listens on SP_IP and the recipient's socket is in network
// namespace NETNS (a path such as /var/run/netns/x) at RCPT_IP, behind a
// veth whose receive runs in a kernel thread of its own: a recipient on
// another host. scripts/socket-relay-remote.sh sets that up and runs this.
#include <benchmark/benchmark.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/wire.h"
#include "dataplane/socket/socket_backend.h"
#include "dataplane/socket/udp_segment.h"

namespace drasyl {
namespace {

constexpr int kFlows = 8;
constexpr int kBatch = 64;
constexpr auto kRunTime = std::chrono::seconds(2);

// A UDP socket bound to IPv4 address ip on an ephemeral port; -1 on failure.
int BoundSocket(uint32_t ip, uint16_t* port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) return -1;
  int size = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(ip);
  socklen_t len = sizeof(a);
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    close(fd);
    return -1;
  }
  *port = ntohs(a.sin_port);
  return fd;
}
int BoundLoopbackSocket(uint16_t* port) { return BoundSocket(INADDR_LOOPBACK, port); }

// SOCKET_RELAY_BENCH_REMOTE, parsed: where the recipient is when it is not
// on loopback.
struct Remote {
  std::string netns;  // path of the recipient's network namespace
  uint32_t sp_ip = 0, recipient_ip = 0;
};
std::optional<Remote> RemoteFromEnv(std::string* error) {
  const char* v = std::getenv("SOCKET_RELAY_BENCH_REMOTE");
  if (v == nullptr || *v == 0) return std::nullopt;
  const std::vector<std::string> parts = absl::StrSplit(v, ',');
  Remote r;
  in_addr sp{}, recipient{};
  if (parts.size() != 3 || inet_pton(AF_INET, parts[1].c_str(), &sp) != 1 ||
      inet_pton(AF_INET, parts[2].c_str(), &recipient) != 1) {
    *error = absl::StrCat("SOCKET_RELAY_BENCH_REMOTE: want NETNS,SP_IPV4,RECIPIENT_IPV4, got ", v);
    return std::nullopt;
  }
  r.netns = parts[0];
  r.sp_ip = ntohl(sp.s_addr);
  r.recipient_ip = ntohl(recipient.s_addr);
  return r;
}

// BoundSocket in the network namespace at `netns` (a thread enters it, opens
// the socket and leaves; the socket stays in that namespace).
int BoundSocketIn(const std::string& netns, uint32_t ip, uint16_t* port, std::string* error) {
  int fd = -1;
  std::thread([&] {
    const int ns = open(netns.c_str(), O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) != 0) {
      *error = absl::StrCat(netns, ": ", std::strerror(errno));
    } else if ((fd = BoundSocket(ip, port)) < 0) {
      *error = absl::StrCat("bind in ", netns, ": ", std::strerror(errno));
    }
    if (ns >= 0) close(ns);
  }).join();
  return fd;
}

// CPU seconds (user + system) used so far by this process's threads whose
// name starts with `prefix`, from /proc/self/task/*/stat.
double ThreadCpuSeconds(const std::string& prefix) {
  double ticks = 0;
  DIR* dir = opendir("/proc/self/task");
  if (dir == nullptr) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    const std::string base = std::string("/proc/self/task/") + e->d_name;
    std::ifstream comm(base + "/comm");
    std::string name;
    std::getline(comm, name);
    if (name.rfind(prefix, 0) != 0) continue;
    std::ifstream stat(base + "/stat");
    std::string line;
    std::getline(stat, line);
    // Fields after the parenthesised name: state is field 3, utime 14, stime 15.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::string field;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14 || i == 15) ticks += std::stod(field);
    }
  }
  closedir(dir);
  return ticks / sysconf(_SC_CLK_TCK);
}

void BM_SocketRelay(benchmark::State& state) {
  const int workers = state.range(0);
  const size_t payload = state.range(1);
  const bool gso = state.range(2) != 0;
  const bool gro = state.range(3) != 0;
  const bool sink_gro = state.range(4) != 0;
  std::string error;
  const std::optional<Remote> remote = RemoteFromEnv(&error);
  if (!error.empty()) return state.SkipWithError(error.c_str());
  RelayConfig relay;
  relay.self.fill(0xee);
  SocketBackendOptions opts;
  opts.listeners = {SocketAddress::V4(remote ? remote->sp_ip : INADDR_LOOPBACK, 0)};
  opts.workers = workers;
  opts.relay = relay;
  opts.send_unites_ms = -1;
  opts.udp_gso = gso;
  opts.udp_gro = gro;
  auto backend_or = SocketBackend::Create(opts);
  if (!backend_or.ok()) return state.SkipWithError(backend_or.status().ToString().c_str());
  auto backend = std::move(*backend_or);
  const SocketAddress sp = backend->udp_listeners()[0];

  // The recipient: a registered peer whose path is our receive socket.
  uint16_t rx_port = 0;
  const int rx = remote ? BoundSocketIn(remote->netns, remote->recipient_ip, &rx_port, &error)
                        : BoundLoopbackSocket(&rx_port);
  if (rx < 0) {
    return state.SkipWithError(
        absl::StrCat("recipient socket: ", remote ? error : std::strerror(errno)).c_str());
  }
  PeerUpdate u;
  u.key.fill(0x11);
  u.path =
      PeerPath::Udp(SocketAddress::V4(remote ? remote->recipient_ip : INADDR_LOOPBACK, rx_port), 0);
  backend->PublishUpdate(u, nullptr);
  if (!backend->Start().ok()) return state.SkipWithError("start failed");

  wire::HeaderFields h;
  h.recipient = u.key;
  h.sender.fill(0x22);
  std::vector<uint8_t> body(payload, 0x5a);
  std::vector<uint8_t> msg(wire::MessageBytes(payload, false));
  wire::BuildMessage(h, body.data(), body.size(), nullptr, nullptr, msg.data(), msg.size());

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> received{0};
  if (sink_gro) {
    int one = 1;
    setsockopt(rx, SOL_UDP, UDP_GRO, &one, sizeof(one));
  }
  std::thread receiver([&] {
    // Room for a coalesced datagram per entry with sink_gro.
    const size_t slot = sink_gro ? 65536 : 2048;
    std::vector<uint8_t> buf(kBatch * slot);
    mmsghdr mm[kBatch];
    iovec iov[kBatch];
    timeval tv{0, 100000};
    setsockopt(rx, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    while (!stop.load(std::memory_order_relaxed)) {
      for (int i = 0; i < kBatch; ++i) {
        iov[i] = {buf.data() + i * slot, slot};
        std::memset(&mm[i], 0, sizeof(mm[i]));
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
      }
      int n = recvmmsg(rx, mm, kBatch, MSG_WAITFORONE, nullptr);
      uint64_t messages = 0;
      for (int i = 0; i < n; ++i) messages += (mm[i].msg_len + msg.size() - 1) / msg.size();
      if (n > 0) received.fetch_add(messages, std::memory_order_relaxed);
    }
  });

  std::vector<int> flows;
  for (int f = 0; f < kFlows; ++f) {
    uint16_t port;
    flows.push_back(BoundLoopbackSocket(&port));
  }
  sockaddr_storage dst;
  socklen_t dst_len = sp.ToSockaddr(&dst);
  // The sender hands the kernel 64 messages at a time as one UDP GSO
  // datagram, which costs it a fraction of sending them one by one, so that
  // the workers, not the sender, are what gives out. With gro:0 the super
  // peer's sockets still receive them one by one, as separate datagrams from
  // a NIC; with gro:1 (UDP_GRO, the default) coalesced, as NIC GRO hands a
  // flow's back-to-back datagrams to such a socket.
  const int segments = std::min<int>(kBatch, 65507 / msg.size());
  std::vector<uint8_t> train(segments * msg.size());
  for (int i = 0; i < segments; ++i) std::memcpy(&train[i * msg.size()], msg.data(), msg.size());
  iovec train_iov = {train.data(), train.size()};
  UdpSegmentControl control{};
  msghdr mh{};
  mh.msg_name = &dst;
  mh.msg_namelen = dst_len;
  mh.msg_iov = &train_iov;
  mh.msg_iovlen = 1;
  AttachUdpSegment(mh, control, static_cast<uint16_t>(msg.size()));

  uint64_t offered = 0;
  double seconds = 0;
  double worker_cpu = 0;
  for (auto _ : state) {
    const double cpu_before = ThreadCpuSeconds("drasyl-w");
    const uint64_t before = received.load();
    const auto start = std::chrono::steady_clock::now();
    int f = 0;
    while (std::chrono::steady_clock::now() - start < kRunTime) {
      if (sendmsg(flows[f], &mh, 0) > 0) offered += segments;
      f = (f + 1) % kFlows;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // drain
    worker_cpu = ThreadCpuSeconds("drasyl-w") - cpu_before;
    seconds = std::chrono::duration<double>(kRunTime).count();
    state.counters["relayed_pps"] = (received.load() - before) / seconds;
    state.counters["offered_pps"] = offered / seconds;
    state.counters["loss_pct"] = offered ? 100.0 * (offered - (received.load() - before)) / offered : 0;
  }
  stop = true;
  receiver.join();
  backend->Stop();
  uint64_t relayed = 0;
  for (const WorkerCounters* c : backend->WorkerCounterViews()) {
    relayed += CounterGet(c->relayed_packets);
  }
  state.counters["relayed_by_workers_pps"] = relayed / seconds;
  // What a fully used worker core would relay: packets per CPU-second of the
  // worker threads (the sender and receiver share the cores on loopback).
  state.counters["relayed_per_worker_cpu_s"] = worker_cpu > 0 ? relayed / worker_cpu : 0;
  state.counters["worker_cpu_s"] = worker_cpu;
  state.SetLabel(remote ? "recipient in " + remote->netns : "loopback");
  for (int fd : flows) close(fd);
  close(rx);
}
BENCHMARK(BM_SocketRelay)
    ->ArgsProduct({{1, 2}, {64, 1024}, {0, 1}, {0, 1}, {0}})
    ->Args({1, 64, 1, 1, 1})
    ->Args({1, 1024, 1, 1, 1})
    ->Args({2, 64, 1, 1, 1})
    ->Args({2, 1024, 1, 1, 1})
    ->ArgNames({"workers", "payload", "gso", "gro", "sink_gro"})
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace drasyl
