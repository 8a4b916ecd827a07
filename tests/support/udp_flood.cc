#include "tests/support/udp_flood.h"

#include <unistd.h>

namespace drasyl::testing {

UdpFlood::UdpFlood(int fd, const SocketAddress& to, std::vector<uint8_t> msg,
                   std::chrono::milliseconds max)
    : msg_(std::move(msg)), fd_(fd) {
  to_len_ = to.ToSockaddr(&to_);
  thread_ = std::thread([this, max] {
    const auto end = std::chrono::steady_clock::now() + max;
    while (!stop_.load() && std::chrono::steady_clock::now() < end) {
      for (int i = 0; i < 64; ++i) {
        if (::sendto(fd_, msg_.data(), msg_.size(), MSG_DONTWAIT,
                     reinterpret_cast<sockaddr*>(&to_), to_len_) > 0) {
          sent_.fetch_add(1);
        }
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
}

UdpFlood::~UdpFlood() {
  Stop();
  if (fd_ >= 0) ::close(fd_);
}

void UdpFlood::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

}  // namespace drasyl::testing
