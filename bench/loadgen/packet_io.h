// The load generator's I/O interface: a set of "ports" (distinct source
// addresses the super peer sees; with kernel sockets one UDP socket each)
// from which drasyl messages are sent to the super peer, and one receive
// queue for everything that comes back. One sender thread calls Send, one
// receiver thread calls Receive; nothing else is shared. A poll-mode
// backend (poll_mode()) also lets one thread do both in turn: the traffic
// loop then runs to completion on one core, polling between bursts.
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
  // When has_sum: the Internet checksum sum of data (common/checksum.h,
  // from an even offset), so that a backend checksumming in software need
  // not read the message again. SendStamped: with the stamp field zero.
  uint16_t sum = 0;
  bool has_sum = false;
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
  // The end of a message may be cut off (len < wire_len): beyond `snap`
  // with sockets, beyond the first mbuf segment with DPDK.
  virtual int Receive(RxPacket* out, int max, int timeout_ms) = 0;
  // Packets the backend knows it dropped on send (full queues etc.).
  virtual uint64_t tx_errors() const = 0;

  // Poll-mode backends (DPDK): Receive with timeout_ms 0 is one
  // non-blocking poll, and one thread may call Send, SendStamped and
  // Receive in turn (not at the same time as another thread).
  virtual bool poll_mode() const { return false; }
  // The clock of send stamps and receive times, in NowNs() units (a
  // poll-mode backend reads the TSC).
  virtual uint64_t Now() const { return NowNs(); }
  // Poll-mode backends: like Send, and writes the send time (Now(), 8 bytes
  // little-endian) at stamp_off into every message of the burst just before
  // handing it to the network, so that latency starts there. The messages'
  // stamp fields are zero (their sums too when has_sum). Others: 0.
  virtual int SendStamped(size_t port, const TxPacket* pkts, int n, uint32_t stamp_off) {
    return 0;
  }
  // Binds the calling thread (the one that runs the traffic loop) to the
  // CPU(s) the backend was given, if any (DPDK: the EAL main lcore's when
  // the EAL arguments name cores: -l, -c, --lcores).
  virtual void PinCallingThread() {}
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
  // Also take our own frames back as if relayed (source our address and
  // port, destination the super peer's): a reflector that forwards frames
  // unchanged (dpdk-testpmd io) is then measured as the super peer is.
  bool accept_reflected = false;
};

// Fails with Unimplemented when the binary was built without DPDK.
absl::StatusOr<std::unique_ptr<PacketIo>> CreateDpdkIo(const DpdkIoOptions& opts);

}  // namespace drasyl::loadgen

#endif  // DRASYL_BENCH_LOADGEN_PACKET_IO_H_
