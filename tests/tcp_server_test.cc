#include "control/tcp_server.h"
#include "control/tcp_syn_filter.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "gtest/gtest.h"
#include "tests/support/tcp_connect.h"

namespace drasyl {
namespace {

constexpr int kTimeoutMs = 5000;

SocketAddress Addr(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status();
  return a.value_or(SocketAddress());
}

// Empty when [::1] can be bound, else why not.
std::string Ipv6Unavailable() {
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::string("no IPv6 sockets: ") + strerror(errno);
  sockaddr_storage ss;
  socklen_t len = Addr("[::1]:0").ToSockaddr(&ss);
  std::string why;
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    why = std::string("cannot bind [::1]: ") + strerror(errno);
  }
  close(fd);
  return why;
}

std::string Frame(const std::string& msg) {
  std::string f;
  f.push_back(static_cast<char>(msg.size() >> 8));
  f.push_back(static_cast<char>(msg.size() & 0xff));
  return f + msg;
}

// A listener's address a client can connect to (wildcards → loopback).
SocketAddress Connectable(SocketAddress a) {
  if (!a.IsWildcard()) return a;
  SocketAddress lo = a.is_v4() ? Addr("127.0.0.1:0") : Addr("[::1]:0");
  lo.set_port(a.port());
  return lo;
}

// A connected, non-blocking client socket (the connect completes in the
// kernel's backlog, before the server accepts).
int Connect(const SocketAddress& to) {
  int fd = socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0) << strerror(errno);
  sockaddr_storage ss;
  socklen_t len = to.ToSockaddr(&ss);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0)
      << to.ToString() << ": " << strerror(errno);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

SocketAddress LocalAddress(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).value();
}

class TcpServerTest : public ::testing::Test {
 protected:
  ~TcpServerTest() override {
    server_.reset();
    for (int fd : client_fds_) close(fd);
  }

  void StartServer(TcpServerOptions options) {
    auto server = TcpServer::Create(
        options,
        [this](uint32_t id, uint8_t* msg, size_t len) {
          frames_.emplace_back(id, std::string(reinterpret_cast<char*>(msg), len));
          return on_frame_ ? on_frame_(id, msg, len) : true;
        },
        [this](uint32_t id) {
          ++closes_[id];
          if (on_close_) on_close_(id);
        });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_FALSE(server_->bound_listeners().empty());
    address_ = Connectable(server_->bound_listeners()[0]);
    ASSERT_NE(address_.port(), 0);
  }

  void StartServer(const std::string& listen = "127.0.0.1:0") {
    TcpServerOptions options;
    options.listeners = {Addr(listen)};
    StartServer(options);
  }

  int Client() {
    int fd = Connect(address_);
    client_fds_.push_back(fd);
    return fd;
  }

  // Connects and waits until the server has accepted; returns the client fd.
  int AcceptedClient() {
    uint64_t before = server_->counters().accepted;
    int fd = Client();
    EXPECT_TRUE(Pump([&] { return server_->counters().accepted > before; }));
    return fd;
  }

  // Drives the server (epoll_wait on its fd, then Poll) until pred holds.
  bool Pump(const std::function<bool()>& pred, int timeout_ms = kTimeoutMs) {
    uint64_t deadline = MonotonicMillis() + timeout_ms;
    for (;;) {
      if (pred()) return true;
      if (MonotonicMillis() > deadline) return false;
      epoll_event ev;
      epoll_wait(server_->epoll_fd(), &ev, 1, 10);
      server_->Poll();
    }
  }

  // Writes everything from a non-blocking client while the server reads.
  bool WriteAll(int fd, const std::string& data) {
    size_t off = 0;
    return Pump([&] {
      while (off < data.size()) {
        ssize_t n = send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n <= 0) break;
        off += static_cast<size_t>(n);
      }
      return off == data.size();
    });
  }

  // Reads until `n` bytes arrived (false on EOF or timeout).
  bool ReadN(int fd, size_t n, std::string* out) {
    bool eof = false;
    bool ok = Pump([&] {
      char buf[65536];
      while (out->size() < n) {
        ssize_t r = recv(fd, buf, std::min(sizeof(buf), n - out->size()), MSG_DONTWAIT);
        if (r == 0) eof = true;
        if (r <= 0) break;
        out->append(buf, static_cast<size_t>(r));
      }
      return out->size() >= n || eof;
    });
    return ok && out->size() >= n;
  }

  // True once the client sees the server close: its FIN (recv returns 0),
  // or the reset of a connection refused or dropped unheard; data before it
  // is discarded.
  bool WaitEof(int fd) {
    return Pump([&] {
      char buf[65536];
      for (;;) {
        ssize_t r = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r == 0) return true;
        if (r < 0) return errno == ECONNRESET;  // refused or dropped unheard
      }
    });
  }

  // True when nothing (no data, no EOF) is readable on the client.
  static bool ClientOpen(int fd) {
    char c;
    ssize_t r = recv(fd, &c, 1, MSG_DONTWAIT | MSG_PEEK);
    return r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  std::unique_ptr<TcpServer> server_;
  SocketAddress address_;
  std::vector<int> client_fds_;
  std::vector<std::pair<uint32_t, std::string>> frames_;
  std::map<uint32_t, int> closes_;
  std::function<bool(uint32_t, uint8_t*, size_t)> on_frame_;
  std::function<void(uint32_t)> on_close_;
};

// The framing tests run on IPv4 and IPv6 loopback.
class TcpServerFamilyTest : public TcpServerTest,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (GetParam().front() == '[') {
      std::string why = Ipv6Unavailable();
      if (!why.empty()) {
        std::printf("skipping IPv6: %s\n", why.c_str());
        GTEST_SKIP() << why;
      }
    }
    StartServer(GetParam());
  }
};

INSTANTIATE_TEST_SUITE_P(Loopback, TcpServerFamilyTest, ::testing::Values("127.0.0.1:0", "[::1]:0"),
                         [](const auto& info) { return info.param[0] == '[' ? "V6" : "V4"; });

TEST_P(TcpServerFamilyTest, FrameInOneWrite) {
  int fd = AcceptedClient();
  ASSERT_TRUE(WriteAll(fd, Frame("hello")));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 1; }));
  EXPECT_EQ(frames_[0].first, 1u);
  EXPECT_EQ(frames_[0].second, "hello");
  EXPECT_EQ(server_->counters().frames_in, 1u);
  EXPECT_EQ(server_->counters().bytes_in, 7u);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_P(TcpServerFamilyTest, FramesSplitByteByByte) {
  int fd = AcceptedClient();
  // 300 bytes: both length bytes non-zero, so a split inside the prefix matters.
  std::string big(300, 'x');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  std::string stream = Frame("a") + Frame(big) + Frame("tail");
  for (size_t i = 0; i < stream.size(); ++i) {
    ASSERT_EQ(send(fd, &stream[i], 1, MSG_NOSIGNAL), 1);
    // Wait until the server has read this byte on its own.
    ASSERT_TRUE(Pump([&] { return server_->counters().bytes_in == i + 1; })) << i;
  }
  ASSERT_EQ(frames_.size(), 3u);
  EXPECT_EQ(frames_[0].second, "a");
  EXPECT_EQ(frames_[1].second, big);
  EXPECT_EQ(frames_[2].second, "tail");
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_P(TcpServerFamilyTest, SeveralFramesPerWrite) {
  int fd = AcceptedClient();
  // The last frame is split across the two writes.
  std::string stream = Frame("one") + Frame("two") + Frame("three") + Frame("four");
  size_t cut = stream.size() - 2;
  ASSERT_TRUE(WriteAll(fd, stream.substr(0, cut)));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 3; }));
  ASSERT_TRUE(WriteAll(fd, stream.substr(cut)));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 4; }));
  EXPECT_EQ(frames_[0].second, "one");
  EXPECT_EQ(frames_[1].second, "two");
  EXPECT_EQ(frames_[2].second, "three");
  EXPECT_EQ(frames_[3].second, "four");
}

TEST_P(TcpServerFamilyTest, LargestFrameBothWays) {
  std::string msg(65535, '\0');
  std::mt19937 rng(42);
  for (char& c : msg) c = static_cast<char>(rng());
  on_frame_ = [this](uint32_t id, uint8_t* m, size_t len) {
    EXPECT_TRUE(server_->Send(id, m, len));
    return true;
  };
  int fd = AcceptedClient();
  ASSERT_TRUE(WriteAll(fd, Frame(msg) + Frame(msg)));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 2; }));
  EXPECT_EQ(frames_[0].second, msg);
  EXPECT_EQ(frames_[1].second, msg);
  std::string back;
  ASSERT_TRUE(ReadN(fd, 2 * (2 + msg.size()), &back));
  EXPECT_EQ(back, Frame(msg) + Frame(msg));
  EXPECT_EQ(server_->counters().frames_out, 2u);
  EXPECT_EQ(server_->counters().bytes_out, 2 * (2 + msg.size()));
}

TEST_P(TcpServerFamilyTest, ZeroLengthFrameCloses) {
  int fd = AcceptedClient();
  ASSERT_TRUE(WriteAll(fd, Frame("ok") + std::string("\0\0", 2) + Frame("never")));
  ASSERT_TRUE(WaitEof(fd));
  ASSERT_EQ(frames_.size(), 1u);
  EXPECT_EQ(frames_[0].second, "ok");
  EXPECT_EQ(server_->counters().closed_malformed, 1u);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_EQ(closes_[1], 1);
}

TEST_P(TcpServerFamilyTest, ZeroLengthPrefixSplitCloses) {
  int fd = AcceptedClient();
  ASSERT_EQ(send(fd, "\0", 1, MSG_NOSIGNAL), 1);
  ASSERT_TRUE(Pump([&] { return server_->counters().bytes_in == 1; }));
  EXPECT_EQ(server_->connection_count(), 1u);
  ASSERT_EQ(send(fd, "\0", 1, MSG_NOSIGNAL), 1);
  ASSERT_TRUE(WaitEof(fd));
  EXPECT_EQ(server_->counters().closed_malformed, 1u);
  EXPECT_TRUE(frames_.empty());
}

TEST_P(TcpServerFamilyTest, HandlerReturningFalseCloses) {
  on_frame_ = [](uint32_t, uint8_t* m, size_t len) {
    return std::string(reinterpret_cast<char*>(m), len) != "bad";
  };
  int fd = AcceptedClient();
  ASSERT_TRUE(WriteAll(fd, Frame("good") + Frame("bad") + Frame("after")));
  ASSERT_TRUE(WaitEof(fd));
  ASSERT_EQ(frames_.size(), 2u);  // nothing after the rejected frame
  EXPECT_EQ(frames_[1].second, "bad");
  EXPECT_EQ(server_->counters().closed_malformed, 1u);
  EXPECT_EQ(closes_.size(), 1u);
  EXPECT_EQ(closes_[1], 1);
}

TEST_P(TcpServerFamilyTest, SendFramingReadBack) {
  // The handler may modify the buffer; reply with it reversed.
  on_frame_ = [this](uint32_t id, uint8_t* m, size_t len) {
    std::reverse(m, m + len);
    return server_->Send(id, m, len);
  };
  int fd = AcceptedClient();
  ASSERT_TRUE(WriteAll(fd, Frame("abc") + Frame(std::string(258, 'z'))));
  std::string back;
  ASSERT_TRUE(ReadN(fd, 5 + 260, &back));
  EXPECT_EQ(back, Frame("cba") + Frame(std::string(258, 'z')));
  EXPECT_EQ(static_cast<uint8_t>(back[5]), 1);  // 258 = 0x0102, big-endian
  EXPECT_EQ(static_cast<uint8_t>(back[6]), 2);

  uint8_t byte = 1;
  std::string too_big(65536, 'x');
  EXPECT_FALSE(server_->Send(1, &byte, 0));
  EXPECT_FALSE(server_->Send(1, reinterpret_cast<const uint8_t*>(too_big.data()), 65536));
  EXPECT_FALSE(server_->Send(99, &byte, 1));
  EXPECT_EQ(server_->connection_count(), 1u);  // rejected sends do not close
}

TEST_P(TcpServerFamilyTest, PeerAddress) {
  int fd = AcceptedClient();
  std::optional<SocketAddress> peer = server_->peer_address(1);
  ASSERT_TRUE(peer.has_value());
  EXPECT_EQ(*peer, LocalAddress(fd));
  EXPECT_FALSE(server_->peer_address(2).has_value());
  EXPECT_EQ(server_->bound_listeners()[0].family(), address_.family());
}

TEST_P(TcpServerFamilyTest, PeerCloseMidFrame) {
  int fd = AcceptedClient();
  ASSERT_TRUE(WriteAll(fd, Frame("whole") + Frame("partial").substr(0, 4)));
  ASSERT_TRUE(Pump([&] { return server_->counters().bytes_in == 11; }));
  shutdown(fd, SHUT_WR);
  ASSERT_TRUE(Pump([&] { return server_->connection_count() == 0; }));
  EXPECT_EQ(frames_.size(), 1u);
  EXPECT_EQ(server_->counters().closed_by_peer, 1u);
  EXPECT_EQ(closes_[1], 1);
}

TEST_F(TcpServerTest, SlowReaderIsClosed) {
  TcpServerOptions options;
  options.listeners = {Addr("127.0.0.1:0")};
  options.max_output_bytes = 100000;
  StartServer(options);
  int fd = Client();
  ASSERT_TRUE(Pump([&] { return server_->connection_count() == 1; }));
  std::string chunk(60000, 's');
  const uint8_t* p = reinterpret_cast<const uint8_t*>(chunk.data());
  int sent = 0;
  // Kernel buffers fill first, then our output buffer up to its limit.
  while (sent < 10000 && server_->Send(1, p, chunk.size())) {
    ++sent;
    server_->Poll();
  }
  ASSERT_LT(sent, 10000);
  EXPECT_EQ(server_->counters().closed_slow_reader, 1u);
  EXPECT_EQ(server_->connection_count(), 0u);
  EXPECT_EQ(closes_[1], 1);
  EXPECT_FALSE(server_->Send(1, p, 1));
  // What was written before the close is still delivered, then EOF.
  EXPECT_TRUE(WaitEof(fd));
}

TEST_F(TcpServerTest, QueuedOutputIsFlushedInOrder) {
  TcpServerOptions options;
  options.listeners = {Addr("127.0.0.1:0")};
  options.max_output_bytes = 8 << 20;
  StartServer(options);
  int fd = AcceptedClient();
  std::string chunk(50000, 'q');
  auto send_frame = [&](uint32_t index) {
    std::memcpy(chunk.data(), &index, sizeof(index));
    return server_->Send(1, reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size());
  };
  // Send until the kernel buffers are full and output queues in the server
  // (fewer bytes written than sent), then queue a few frames more.
  uint32_t frames = 0;
  while (server_->counters().bytes_out == frames * (2 + chunk.size())) {
    ASSERT_LT(frames, 5000u) << "kernel buffers never filled";
    ASSERT_TRUE(send_frame(frames++));
  }
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(send_frame(frames++));
  // The client reads everything while Poll() flushes on EPOLLOUT.
  std::string all;
  size_t expected = frames * (2 + chunk.size());
  ASSERT_TRUE(ReadN(fd, expected, &all));
  for (uint32_t i = 0; i < frames; ++i) {
    const char* f = all.data() + i * (2 + chunk.size());
    ASSERT_EQ(static_cast<uint8_t>(f[0]), chunk.size() >> 8);
    ASSERT_EQ(static_cast<uint8_t>(f[1]), chunk.size() & 0xff);
    uint32_t index;
    std::memcpy(&index, f + 2, sizeof(index));
    ASSERT_EQ(index, i);
  }
  EXPECT_EQ(server_->counters().bytes_out, expected);
  EXPECT_EQ(server_->counters().frames_out, frames);
  EXPECT_EQ(server_->counters().closed_slow_reader, 0u);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(TcpServerTest, MaxConnectionsRefusesNewOnesWhenAllAreAuthenticated) {
  TcpServerOptions options;
  options.listeners = {Addr("127.0.0.1:0")};
  options.max_connections = 2;
  StartServer(options);
  int a = AcceptedClient();
  int b = AcceptedClient();
  ASSERT_TRUE(WriteAll(a, Frame("hello a")));
  ASSERT_TRUE(WriteAll(b, Frame("hello b")));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 2; }));
  for (const auto& [id, frame] : frames_) server_->MarkAuthenticated(id);
  int c = Client();
  ASSERT_TRUE(Pump([&] { return server_->counters().rejected_over_limit == 1; }));
  EXPECT_TRUE(WaitEof(c));
  EXPECT_EQ(server_->connection_count(), 2u);
  EXPECT_EQ(server_->counters().accepted, 2u);
  EXPECT_EQ(server_->counters().evicted_unauthenticated, 0u);
  EXPECT_TRUE(closes_.empty());  // never registered, no CloseHandler
  EXPECT_TRUE(ClientOpen(a));
  EXPECT_TRUE(ClientOpen(b));
  // A freed slot is usable again.
  for (const auto& [id, frame] : frames_) {
    if (frame == "hello a") server_->Close(id);
  }
  EXPECT_TRUE(WaitEof(a));
  AcceptedClient();
  EXPECT_EQ(server_->connection_count(), 2u);
  EXPECT_EQ(server_->counters().accepted, 3u);
}

TEST_F(TcpServerTest, AtTheLimitTheOldestUnauthenticatedConnectionMakesRoom) {
  TcpServerOptions options;
  options.listeners = {Addr("127.0.0.1:0")};
  options.max_connections = 3;
  StartServer(options);
  int authenticated = AcceptedClient();
  int idle_old = AcceptedClient();
  int idle_new = AcceptedClient();
  ASSERT_TRUE(WriteAll(authenticated, Frame("hello")));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 1; }));
  const uint32_t authenticated_id = frames_[0].first;
  server_->MarkAuthenticated(authenticated_id);

  int newcomer = AcceptedClient();
  EXPECT_TRUE(WaitEof(idle_old));
  EXPECT_EQ(server_->counters().evicted_unauthenticated, 1u);
  EXPECT_EQ(server_->counters().rejected_over_limit, 0u);
  EXPECT_EQ(server_->connection_count(), 3u);
  EXPECT_EQ(closes_.size(), 1u);
  EXPECT_FALSE(closes_.contains(authenticated_id));
  EXPECT_TRUE(ClientOpen(authenticated));
  EXPECT_TRUE(ClientOpen(idle_new));
  EXPECT_TRUE(ClientOpen(newcomer));
}

bool Established(int fd) {
  sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  return getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) == 0;
}

TEST_F(TcpServerTest, ConnectionsPerSourceAreCapped) {
  TcpServerOptions options;
  options.listeners = {Addr("127.0.0.1:0")};
  options.max_connections_per_source = 2;
  StartServer(options);
  // Three handshakes the kernel completes before the server accepts any: the
  // third is accepted and reset (the socket filter cannot have seen it).
  Client();
  Client();
  int third = Client();
  ASSERT_TRUE(Pump([&] { return server_->counters().rejected_per_source == 1; }));
  EXPECT_TRUE(WaitEof(third));
  EXPECT_EQ(server_->connection_count(), 2u);
  EXPECT_EQ(server_->sources_at_limit(), 1u);
  // Another source (127.0.0.2 is loopback too) is not affected.
  int other = testing::StartTcpConnect(address_, Addr("127.0.0.2:0"));
  ASSERT_GE(other, 0) << strerror(errno);
  client_fds_.push_back(other);
  ASSERT_TRUE(Pump([&] { return server_->counters().accepted == 3; }));
  EXPECT_EQ(server_->connection_count(), 3u);
  EXPECT_TRUE(ClientOpen(other));
}

// Once a source holds its cap, its further connection attempts are dropped
// by the listener's socket filter: no handshake, nothing to accept or reset.
// When one of its connections closes, the kernel's SYN retransmission gets
// the waiting attempt in.
TEST_P(TcpServerFamilyTest, AttemptsOverThePerSourceCapWaitInTheKernel) {
  TcpServerOptions options;
  options.listeners = {Addr(GetParam())};
  options.max_connections_per_source = 2;
  StartServer(options);
  const std::string any_port = address_.is_v4() ? "127.0.0.1:0" : "[::1]:0";
  int first = AcceptedClient();
  AcceptedClient();
  EXPECT_EQ(server_->sources_at_limit(), 1u);
  EXPECT_GE(server_->counters().syn_filter_updates, 1u);
  int waiting = testing::StartTcpConnect(address_, Addr(any_port));
  ASSERT_GE(waiting, 0) << strerror(errno);
  client_fds_.push_back(waiting);
  Pump([] { return false; }, 300);
  EXPECT_FALSE(Established(waiting));
  EXPECT_EQ(server_->counters().accepted, 2u);
  EXPECT_EQ(server_->counters().rejected_per_source, 0u);

  close(first);
  std::erase(client_fds_, first);
  ASSERT_TRUE(Pump([&] { return server_->connection_count() == 1; }));
  EXPECT_EQ(server_->sources_at_limit(), 0u);
  // The first SYN retransmission comes about 1 s after the attempt.
  ASSERT_TRUE(Pump([&] { return server_->counters().accepted == 3; }));
  EXPECT_TRUE(Established(waiting));
  EXPECT_TRUE(ClientOpen(waiting));
  EXPECT_EQ(server_->counters().rejected_per_source, 0u);
}

TEST_F(TcpServerTest, UnauthenticatedConnectionsAreClosedAfterTheDeadline) {
  TcpServerOptions options;
  options.listeners = {Addr("127.0.0.1:0")};
  options.auth_timeout_ms = 50;
  StartServer(options);
  int authenticated = AcceptedClient();
  int idle = AcceptedClient();
  ASSERT_TRUE(WriteAll(authenticated, Frame("hello")));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 1; }));
  server_->MarkAuthenticated(frames_[0].first);
  EXPECT_EQ(server_->ExpireUnauthenticated(MonotonicMillis()), 0u) << "not yet";
  EXPECT_EQ(server_->ExpireUnauthenticated(MonotonicMillis() + 1000), 1u);
  EXPECT_TRUE(WaitEof(idle));
  EXPECT_TRUE(ClientOpen(authenticated));
  EXPECT_EQ(server_->counters().closed_unauthenticated, 1u);
  EXPECT_EQ(server_->connection_count(), 1u);
}

TEST_F(TcpServerTest, CloseIdle) {
  StartServer();
  int quiet = AcceptedClient();   // id 1
  int active = AcceptedClient();  // id 2
  uint64_t accepted_by = MonotonicMillis();
  // Let the clock move on (not an assertion: CloseIdle gets explicit times).
  while (MonotonicMillis() < accepted_by + 50) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  uint64_t frame_after = MonotonicMillis();
  ASSERT_TRUE(WriteAll(active, Frame("ping")));
  ASSERT_TRUE(Pump([&] { return frames_.size() == 1; }));

  EXPECT_EQ(server_->CloseIdle(accepted_by, 1000), 0u);
  EXPECT_EQ(server_->CloseIdle(0, 0), 0u);  // a time before accept is not idle
  // quiet: idle >= 80 ms; active: idle <= 30 ms.
  EXPECT_EQ(server_->CloseIdle(frame_after + 30, 40), 1u);
  EXPECT_EQ(server_->counters().closed_idle, 1u);
  EXPECT_EQ(closes_.size(), 1u);
  EXPECT_EQ(closes_[1], 1);
  EXPECT_FALSE(server_->peer_address(1).has_value());
  EXPECT_TRUE(server_->peer_address(2).has_value());
  EXPECT_TRUE(WaitEof(quiet));
  EXPECT_TRUE(ClientOpen(active));
  EXPECT_EQ(server_->CloseIdle(frame_after + 1000, 40), 1u);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(TcpServerTest, CloseHandlerOncePerConnection) {
  on_frame_ = [](uint32_t, uint8_t* m, size_t len) {
    return std::string(reinterpret_cast<char*>(m), len) != "bad";
  };
  StartServer();
  int by_peer = AcceptedClient();    // 1: client closes
  int malformed = AcceptedClient();  // 2: zero-length frame
  int rejected = AcceptedClient();   // 3: handler says no
  AcceptedClient();                  // 4: Close(), twice
  AcceptedClient();                  // 5: Close()
  close(by_peer);
  client_fds_[0] = -1;
  ASSERT_TRUE(WriteAll(malformed, std::string("\0\0", 2)));
  ASSERT_TRUE(WriteAll(rejected, Frame("bad")));
  ASSERT_TRUE(Pump([&] { return server_->connection_count() == 2; }));
  server_->Close(4);
  server_->Close(4);
  server_->Close(5);
  EXPECT_EQ(server_->connection_count(), 0u);
  // More events for the closed connections must not call it again.
  Pump([] { return false; }, 100);
  ASSERT_EQ(closes_.size(), 5u);
  for (const auto& [id, count] : closes_) EXPECT_EQ(count, 1) << id;
  const TcpServerCounters& k = server_->counters();
  EXPECT_EQ(k.closed_by_peer, 1u);
  EXPECT_EQ(k.closed_malformed, 2u);
  EXPECT_EQ(k.closed_by_server, 2u);
  EXPECT_EQ(k.accepted, 5u);
}

TEST_F(TcpServerTest, ClosingFromHandlersIsSafe) {
  // Frames that close their own connection (Close(), then Send() to it), or
  // another connection whose events are in the same batch.
  on_frame_ = [this](uint32_t id, uint8_t* m, size_t len) {
    std::string s(reinterpret_cast<char*>(m), len);
    if (s == "close-self") {
      server_->Close(id);
      EXPECT_FALSE(server_->Send(id, m, len));
      return true;
    }
    if (s.rfind("close-", 0) == 0) server_->Close(static_cast<uint32_t>(std::stoul(s.substr(6))));
    return true;
  };
  on_close_ = [this](uint32_t id) {
    // A CloseHandler may call back into the server too.
    server_->Close(id);
    uint8_t b = 0;
    EXPECT_FALSE(server_->Send(id, &b, 1));
  };
  StartServer();
  int a = AcceptedClient();  // 1
  int b = AcceptedClient();  // 2
  // Both written before the server looks, so their events share a batch.
  std::string to_b = Frame("hi");
  std::string to_a = Frame("close-2") + Frame("close-self") + Frame("more");
  ASSERT_EQ(send(b, to_b.data(), to_b.size(), MSG_NOSIGNAL), static_cast<ssize_t>(to_b.size()));
  ASSERT_EQ(send(a, to_a.data(), to_a.size(), MSG_NOSIGNAL), static_cast<ssize_t>(to_a.size()));
  ASSERT_TRUE(WaitEof(a));
  ASSERT_TRUE(WaitEof(b));
  EXPECT_EQ(closes_[1], 1);
  EXPECT_EQ(closes_[2], 1);
  for (const auto& f : frames_) EXPECT_NE(f.second, "more");

  // Split delivery: the closing frame sits in the reassembly buffer.
  int c = AcceptedClient();  // 3
  std::string stream = Frame("close-self");
  uint64_t before = server_->counters().bytes_in;
  ASSERT_TRUE(WriteAll(c, stream.substr(0, 3)));
  ASSERT_TRUE(Pump([&] { return server_->counters().bytes_in == before + 3; }));
  ASSERT_TRUE(WriteAll(c, stream.substr(3) + Frame("more")));
  ASSERT_TRUE(WaitEof(c));
  EXPECT_EQ(closes_[3], 1);
  EXPECT_EQ(server_->connection_count(), 0u);
}

TEST_F(TcpServerTest, ConnectionIdsCountUpAndAreNotReused) {
  StartServer();
  std::vector<uint32_t> ids;
  on_frame_ = [&](uint32_t id, uint8_t*, size_t) {
    ids.push_back(id);
    server_->Close(id);
    return true;
  };
  for (int i = 0; i < 5; ++i) {
    int fd = AcceptedClient();
    ASSERT_TRUE(WriteAll(fd, Frame("x")));
    ASSERT_TRUE(WaitEof(fd));
  }
  EXPECT_EQ(ids, (std::vector<uint32_t>{1, 2, 3, 4, 5}));
}

TEST_F(TcpServerTest, GarbageNeverCrashes) {
  StartServer();
  std::mt19937 rng(7);
  for (int round = 0; round < 20; ++round) {
    int fd = AcceptedClient();
    std::string junk(2 + rng() % 5000, '\0');
    for (char& ch : junk) ch = static_cast<char>(rng());
    if (round % 2 == 0) junk[0] = junk[1] = 0;  // some start malformed
    // A few KiB fit the socket buffers: sent before the server can close.
    ASSERT_TRUE(WriteAll(fd, junk));
    shutdown(fd, SHUT_WR);
    ASSERT_TRUE(Pump([&] { return server_->connection_count() == 0; }));
  }
  EXPECT_EQ(closes_.size(), 20u);
  const TcpServerCounters& k = server_->counters();
  EXPECT_EQ(k.closed_by_peer + k.closed_malformed, 20u);
}

TEST_F(TcpServerTest, DualStackWildcard) {
  std::string why = Ipv6Unavailable();
  if (!why.empty()) {
    std::printf("skipping IPv6: %s\n", why.c_str());
    GTEST_SKIP() << why;
  }
  StartServer("[::]:0");
  // An IPv4 client reaches [::] and is reported as plain IPv4.
  SocketAddress v4 = Addr("127.0.0.1:0");
  v4.set_port(address_.port());
  int fd = Connect(v4);
  client_fds_.push_back(fd);
  ASSERT_TRUE(Pump([&] { return server_->connection_count() == 1; }));
  std::optional<SocketAddress> peer = server_->peer_address(1);
  ASSERT_TRUE(peer.has_value());
  EXPECT_TRUE(peer->is_v4());
  EXPECT_EQ(*peer, LocalAddress(fd));
  EXPECT_TRUE(server_->bound_listeners()[0].is_v6());
}

TEST_F(TcpServerTest, V4AndV6WildcardsShareAPort) {
  std::string why = Ipv6Unavailable();
  if (!why.empty()) {
    std::printf("skipping IPv6: %s\n", why.c_str());
    GTEST_SKIP() << why;
  }
  // Find a free port, then bind both wildcards to it: [::] must be v6-only.
  uint16_t port;
  {
    TcpServerOptions probe;
    probe.listeners = {Addr("0.0.0.0:0")};
    auto s = TcpServer::Create(
        probe, [](uint32_t, uint8_t*, size_t) { return true; }, nullptr);
    ASSERT_TRUE(s.ok()) << s.status();
    port = (*s)->bound_listeners()[0].port();
  }
  TcpServerOptions options;
  SocketAddress v4 = Addr("0.0.0.0:0");
  SocketAddress v6 = Addr("[::]:0");
  v4.set_port(port);
  v6.set_port(port);
  options.listeners = {v6, v4};  // IPv6 first: a dual-stack bind would take the v4 side
  StartServer(options);
  std::vector<SocketAddress> bound = server_->bound_listeners();
  ASSERT_EQ(bound.size(), 2u);
  EXPECT_EQ(bound[0].port(), port);
  EXPECT_EQ(bound[1].port(), port);
  address_ = Connectable(bound[1]);
  AcceptedClient();
  address_ = Connectable(bound[0]);
  AcceptedClient();
  EXPECT_TRUE(server_->peer_address(1)->is_v4());
  EXPECT_TRUE(server_->peer_address(2)->is_v6());
}

TEST(TcpServerCreateTest, FailsOnPortInUse) {
  TcpServerOptions first;
  first.listeners = {Addr("127.0.0.1:0")};
  auto a = TcpServer::Create(
      first, [](uint32_t, uint8_t*, size_t) { return true; }, nullptr);
  ASSERT_TRUE(a.ok());
  TcpServerOptions second;
  second.listeners = {(*a)->bound_listeners()[0]};
  auto b = TcpServer::Create(
      second, [](uint32_t, uint8_t*, size_t) { return true; }, nullptr);
  EXPECT_FALSE(b.ok());
}

// The largest program the server builds (IPv4 and IPv6 sources beyond the
// limit) is accepted by the kernel on a real socket, and its size is bounded.
TEST(TcpSynFilter, LargestProgramAttaches) {
  std::vector<SourceKey> blocked;
  for (uint32_t i = 0; i < 2 * kMaxSynFilterSources; ++i) {
    blocked.push_back(i % 2 ? SourceKeyOf(SocketAddress::V4(0x0a000000 + i, 0))
                            : (uint64_t{0x20010db8} << 32) | i);
  }
  const std::vector<sock_filter> program = BuildSynFilter(blocked);
  EXPECT_LE(program.size(), 5 * kMaxSynFilterSources + 12);
  EXPECT_GT(program.size(), 2 * kMaxSynFilterSources);
  int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(AttachSynFilter(fd, program).ok());
  EXPECT_TRUE(AttachSynFilter(fd, BuildSynFilter({})).ok());
  EXPECT_EQ(BuildSynFilter({}).size(), 1u);
  close(fd);
}

}  // namespace
}  // namespace drasyl
