// A UDP flood for fault and load tests: sends one datagram from a socket to
// a server as fast as a thread does (a short pause every 64 datagrams leaves
// the super peer a core), until stopped or a time limit passed.
#ifndef DRASYL_TESTS_SUPPORT_UDP_FLOOD_H_
#define DRASYL_TESTS_SUPPORT_UDP_FLOOD_H_

#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/socket_address.h"

namespace drasyl::testing {

class UdpFlood {
 public:
  // Takes `fd`, a UDP socket of to's family (made where the test needs it,
  // e.g. in a network namespace).
  UdpFlood(int fd, const SocketAddress& to, std::vector<uint8_t> msg,
           std::chrono::milliseconds max = std::chrono::milliseconds(20000));
  ~UdpFlood();
  UdpFlood(const UdpFlood&) = delete;
  UdpFlood& operator=(const UdpFlood&) = delete;

  void Stop();
  uint64_t sent() const { return sent_.load(); }

 private:
  std::vector<uint8_t> msg_;
  int fd_ = -1;
  sockaddr_storage to_{};
  socklen_t to_len_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0};
  std::thread thread_;
};

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_UDP_FLOOD_H_
