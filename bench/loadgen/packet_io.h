// The load generator's I/O interface: a set of "ports" (distinct source
// addresses the super peer sees; with kernel sockets one UDP socket each)
// from which drasyl messages are sent to the super peer, and one receive
// queue for everything that comes back. One sender thread calls Send, one
// receiver thread calls Receive; nothing else is shared.
//
// Backends: kernel UDP sockets (socket_io.cc, sendmmsg/recvmmsg), and DPDK
// when built with it (dpdk_io.cc).
#ifndef DRASYL_BENCH_LOADGEN_PACKET_IO_H_
#define DRASYL_BENCH_LOADGEN_PACKET_IO_H_

#include <time.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/socket_address.h"

namespace drasyl::loadgen {

// The clock of every latency timestamp (sender stamps and receive times):
// CLOCK_REALTIME in ns, because the kernel's SO_TIMESTAMPNS receive stamps
// use it. Sender and receiver run on the same host.
inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

inline uint64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

struct TxPacket {
  const uint8_t* data;
  uint32_t len;
};

struct RxPacket {
  uint8_t* data;      // the first `len` bytes of the message (may be truncated)
  uint32_t len;       // bytes available at data
  uint32_t wire_len;  // full message length
  uint64_t rx_ns;     // receive time (NowNs clock); kernel stamp when available
  uint32_t port;      // which port received it
};

class PacketIo {
 public:
  virtual ~PacketIo() = default;
  virtual const char* name() const = 0;
  virtual size_t num_ports() const = 0;
  // The address the super peer sees for a port (used as the HELLO endpoint).
  virtual SocketAddress local_address(size_t port) const = 0;
  // Sender thread: sends n messages from `port` to the super peer. Returns
  // how many were handed to the network (the rest were not sent).
  virtual int Send(size_t port, const TxPacket* pkts, int n) = 0;
  // Receiver thread: up to `max` messages from any port; waits at most
  // timeout_ms when none is ready. Data stays valid until the next call.
  // Bytes beyond `snap` of each message may be cut off (len < wire_len).
  virtual int Receive(RxPacket* out, int max, int timeout_ms) = 0;
  // Packets the backend knows it dropped on send (full queues etc.).
  virtual uint64_t tx_errors() const = 0;
};

struct SocketIoOptions {
  SocketAddress super_peer;
  size_t sockets = 64;
  // Where to bind: a single address for every socket, or an IPv4 prefix
  // ("127.100.0.0/16") whose addresses are used in turn. Ports are ephemeral.
  std::string bind = "auto";
  size_t snap = 512;        // bytes of each received message kept
  int rcvbuf_bytes = 0;     // 0: automatic
  bool kernel_timestamps = true;
};

absl::StatusOr<std::unique_ptr<PacketIo>> CreateSocketIo(const SocketIoOptions& opts);

struct DpdkIoOptions {
  std::string eal;          // EAL arguments, space separated
  SocketAddress super_peer;
  std::string local_ip;     // our source IPv4 (ports vary per simulated socket)
  std::string peer_mac;     // destination MAC (the super peer's port); empty: broadcast
  size_t ports = 64;        // distinct source UDP ports
  size_t snap = 512;
};

// Fails with Unimplemented when the binary was built without DPDK.
absl::StatusOr<std::unique_ptr<PacketIo>> CreateDpdkIo(const DpdkIoOptions& opts);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_PACKET_IO_H_
