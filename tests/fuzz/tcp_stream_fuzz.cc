// libFuzzer target: the TCP fallback's frame reassembly (control/tcp_server.h)
// on a real loopback connection. The first input byte seeds how the rest,
// the byte stream a client sends, is cut into writes; the server reads
// each write before the next is sent, so frames and their length prefixes
// are split across reads at every position. Checked against a reference
// split of the whole stream (length u16 BE || message):
//   - exactly the complete frames up to the first malformed one arrive, in
//     order and intact;
//   - a zero length, or a frame the handler refuses (first byte 0xff here),
//     closes the connection as malformed, and nothing after it arrives;
//   - otherwise the connection stays open until the client closes it.
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "common/byte_order.h"
#include "common/socket_address.h"
#include "control/tcp_server.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace drasyl;  // NOLINT

struct Observed {
  std::vector<std::vector<uint8_t>> frames;
  int closes = 0;
};
Observed g_seen;

TcpServer& Server() {
  static TcpServer* server = [] {
    TcpServerOptions o;
    o.listeners = {*SocketAddress::Parse("127.0.0.1:0")};
    auto s = TcpServer::Create(
        o,
        [](uint32_t, uint8_t* msg, size_t len) {
          g_seen.frames.emplace_back(msg, msg + len);
          return msg[0] != 0xff;
        },
        [](uint32_t) { ++g_seen.closes; });
    CHECK_OR_TRAP(s.ok());
    return s->release();
  }();
  return *server;
}

// Polls the server until done() or about 10 s have passed (a stuck server).
template <typename Done>
void PollUntil(TcpServer& server, Done done) {
  for (int i = 0; i < 1000 && !done(); ++i) {
    epoll_event ev;
    epoll_wait(server.epoll_fd(), &ev, 1, 10);
    server.Poll();
  }
  CHECK_OR_TRAP(done());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  TcpServer& server = Server();
  uint32_t cut_state = data[0] * 2654435761u + 1;
  const uint8_t* stream = data + 1;
  const size_t len = size - 1;

  // The reference split.
  std::vector<std::vector<uint8_t>> want;
  bool malformed = false;
  for (size_t off = 0; off + 2 <= len;) {
    const size_t frame = LoadBe16(stream + off);
    if (frame == 0) {
      malformed = true;
      break;
    }
    if (off + 2 + frame > len) break;
    want.emplace_back(stream + off + 2, stream + off + 2 + frame);
    off += 2 + frame;
    if (stream[off - frame] == 0xff) {
      malformed = true;
      break;
    }
  }

  g_seen = {};
  const uint64_t malformed_before = server.counters().closed_malformed;
  const uint64_t bytes_before = server.counters().bytes_in;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  CHECK_OR_TRAP(fd >= 0);
  sockaddr_storage ss;
  const socklen_t ss_len = server.bound_listeners()[0].ToSockaddr(&ss);
  // Closed with a reset: no TIME_WAIT per run (the data is read by then).
  const linger reset{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
  CHECK_OR_TRAP(connect(fd, reinterpret_cast<sockaddr*>(&ss), ss_len) == 0);
  PollUntil(server, [&] { return server.connection_count() == 1; });

  size_t sent = 0;
  while (sent < len && g_seen.closes == 0) {
    cut_state = cut_state * 1103515245u + 12345u;
    // Half of the writes short (cuts inside a length prefix or a frame
    // everywhere), half up to 4 KiB (a long stream in a few writes).
    const size_t piece = (cut_state >> 16) % 2 == 0 ? 1 + (cut_state >> 4) % 4096
                                                     : 1 + (cut_state >> 20) % 5;
    const size_t n = piece < len - sent ? piece : len - sent;
    const ssize_t w = send(fd, stream + sent, n, MSG_NOSIGNAL);
    if (w <= 0) break;  // the server closed the connection
    sent += static_cast<size_t>(w);
    PollUntil(server, [&] {
      return g_seen.closes > 0 || server.counters().bytes_in - bytes_before == sent;
    });
  }
  close(fd);
  PollUntil(server, [&] { return g_seen.closes == 1; });

  CHECK_OR_TRAP(g_seen.frames == want);
  CHECK_OR_TRAP(server.counters().closed_malformed - malformed_before == (malformed ? 1u : 0u));
  CHECK_OR_TRAP(server.connection_count() == 0);
  return 0;
}
