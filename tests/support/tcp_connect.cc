#include "tests/support/tcp_connect.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

namespace drasyl::testing {

int StartTcpConnect(const SocketAddress& to, const SocketAddress& bind) {
  const int fd = ::socket(to.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_storage ss;
  socklen_t len = bind.ToSockaddr(&ss);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    ::close(fd);
    return -1;
  }
  len = to.ToSockaddr(&ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace drasyl::testing
