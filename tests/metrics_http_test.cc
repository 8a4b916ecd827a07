#include "control/metrics_http.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "gtest/gtest.h"

namespace drasyl {
namespace {

constexpr char kBody[] = "# TYPE drasyl_up gauge\ndrasyl_up 1\n";

SocketAddress Addr(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text << ": " << a.status();
  return a.value_or(SocketAddress());
}

// A blocking client with a 5 s receive timeout, so a broken server fails the
// test instead of hanging it.
int Connect(const SocketAddress& to) {
  int fd = socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_storage ss;
  socklen_t len = to.ToSockaddr(&ss);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&ss), len), 0) << strerror(errno);
  return fd;
}

// Everything the server sends until it closes; `reset` tells whether the
// connection ended with an error instead of EOF.
std::string ReadAll(int fd, bool* reset = nullptr) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t r = recv(fd, buf, sizeof(buf), 0);
    if (r > 0) {
      out.append(buf, static_cast<size_t>(r));
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (reset != nullptr) *reset = r < 0;
    return out;
  }
}

class MetricsHttpTest : public ::testing::Test {
 protected:
  void Start(const std::string& token, const std::string& listen = "127.0.0.1:0") {
    auto server = MetricsHttpServer::Create(Addr(listen), token, [this] {
      ++renders_;
      return std::string(kBody);
    });
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = std::move(*server);
    ASSERT_NE(server_->bound_address().port(), 0);
    server_->Start();
  }

  // Sends one raw request and returns the whole response.
  std::string Exchange(const std::string& request) {
    int fd = Connect(server_->bound_address());
    EXPECT_EQ(send(fd, request.data(), request.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(request.size()));
    std::string response = ReadAll(fd);
    close(fd);
    return response;
  }

  std::string Get(const std::string& path, const std::string& extra_headers = "") {
    return Exchange("GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra_headers + "\r\n");
  }

  static std::string StatusLine(const std::string& response) {
    return response.substr(0, response.find("\r\n"));
  }
  static std::string Body(const std::string& response) {
    size_t end = response.find("\r\n\r\n");
    return end == std::string::npos ? "" : response.substr(end + 4);
  }

  std::atomic<int> renders_{0};
  std::unique_ptr<MetricsHttpServer> server_;
};

TEST_F(MetricsHttpTest, ServesMetrics) {
  Start("");
  std::string r = Get("/metrics");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 200 OK");
  EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"), std::string::npos)
      << r;
  EXPECT_NE(r.find("Content-Length: " + std::to_string(std::strlen(kBody)) + "\r\n"),
            std::string::npos)
      << r;
  EXPECT_NE(r.find("Connection: close\r\n"), std::string::npos);
  EXPECT_EQ(Body(r), kBody);
  EXPECT_EQ(renders_.load(), 1);
  // The query string is ignored.
  EXPECT_EQ(StatusLine(Get("/metrics?name[]=drasyl_up")), "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpTest, HeadHasNoBody) {
  Start("");
  std::string r = Exchange("HEAD /metrics HTTP/1.1\r\n\r\n");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 200 OK");
  EXPECT_EQ(Body(r), "");
}

TEST_F(MetricsHttpTest, BearerToken) {
  Start("s3cret-token");
  std::string none = Get("/metrics");
  EXPECT_EQ(StatusLine(none), "HTTP/1.1 401 Unauthorized");
  EXPECT_NE(none.find("WWW-Authenticate: Bearer\r\n"), std::string::npos) << none;
  EXPECT_EQ(StatusLine(Get("/metrics", "Authorization: Bearer wrong\r\n")),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(StatusLine(Get("/metrics", "Authorization: Bearer s3cret-toke\r\n")),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(StatusLine(Get("/metrics", "Authorization: Bearer s3cret-token2\r\n")),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(StatusLine(Get("/metrics", "Authorization: Basic s3cret-token\r\n")),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(StatusLine(Get("/metrics", "Authorization: s3cret-token\r\n")),
            "HTTP/1.1 401 Unauthorized");
  EXPECT_EQ(renders_.load(), 0);  // nothing rendered for the unauthorized

  std::string ok = Get("/metrics", "Authorization: Bearer s3cret-token\r\n");
  EXPECT_EQ(StatusLine(ok), "HTTP/1.1 200 OK");
  EXPECT_EQ(Body(ok), kBody);
  // Header name and scheme are case-insensitive.
  EXPECT_EQ(StatusLine(Get("/metrics", "authorization: bearer  s3cret-token \r\n")),
            "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpTest, UnknownPathIs404) {
  Start("");
  EXPECT_EQ(StatusLine(Get("/")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(StatusLine(Get("/metricsx")), "HTTP/1.1 404 Not Found");
  EXPECT_EQ(StatusLine(Get("/metrics/")), "HTTP/1.1 404 Not Found");
}

TEST_F(MetricsHttpTest, OtherMethodIs405) {
  Start("");
  std::string r = Exchange("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
  EXPECT_EQ(StatusLine(r), "HTTP/1.1 405 Method Not Allowed");
  EXPECT_NE(r.find("Allow: GET, HEAD\r\n"), std::string::npos);
  EXPECT_EQ(StatusLine(Exchange("DELETE /metrics HTTP/1.1\r\n\r\n")),
            "HTTP/1.1 405 Method Not Allowed");
}

TEST_F(MetricsHttpTest, MalformedIs400) {
  Start("");
  EXPECT_EQ(StatusLine(Exchange("garbage\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange("GET /metrics\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange("GET /metrics HTTP/2.0\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange("GET  /metrics HTTP/1.1\r\n\r\n")), "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange("GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n")),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(StatusLine(Exchange(std::string("\0\1\2\3\r\n\r\n", 8))), "HTTP/1.1 400 Bad Request");
}

TEST_F(MetricsHttpTest, OversizedHeadIsRejected) {
  Start("");
  int fd = Connect(server_->bound_address());
  std::string head = "GET /metrics HTTP/1.1\r\nX-Pad: " + std::string(9000, 'a');
  // The server may answer and close before it has read all of it.
  send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  bool reset = false;
  std::string r = ReadAll(fd, &reset);
  close(fd);
  if (!r.empty()) {
    EXPECT_EQ(StatusLine(r), "HTTP/1.1 400 Bad Request");
  }
  EXPECT_TRUE(!r.empty() || reset);
  EXPECT_EQ(renders_.load(), 0);
  // Still serving afterwards.
  EXPECT_EQ(StatusLine(Get("/metrics")), "HTTP/1.1 200 OK");
}

TEST_F(MetricsHttpTest, IdleClientDoesNotBlockOthers) {
  Start("");
  int idle = Connect(server_->bound_address());
  EXPECT_EQ(StatusLine(Get("/metrics")), "HTTP/1.1 200 OK");
  close(idle);
}

TEST_F(MetricsHttpTest, SlowHeadTimesOut) {
  Start("");
  int fd = Connect(server_->bound_address());
  std::string partial = "GET /metrics HTTP/1.1\r\n";
  send(fd, partial.data(), partial.size(), MSG_NOSIGNAL);
  auto start = std::chrono::steady_clock::now();
  bool reset = false;
  std::string r = ReadAll(fd, &reset);  // server closes after its 2 s limit
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  close(fd);
  EXPECT_TRUE(r.empty());
  EXPECT_GE(waited, 1.5);
  EXPECT_LT(waited, 4.5);
}

TEST_F(MetricsHttpTest, StopWhileClientHoldsConnection) {
  Start("");
  int fd = Connect(server_->bound_address());
  // Make sure the server has accepted it: a complete exchange on another one.
  EXPECT_EQ(StatusLine(Get("/metrics")), "HTTP/1.1 200 OK");
  auto start = std::chrono::steady_clock::now();
  server_->Stop();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(took, 1.0);
  // The held connection was closed by Stop.
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(poll(&p, 1, 2000), 1);
  char c;
  EXPECT_LE(recv(fd, &c, 1, MSG_DONTWAIT), 0);
  close(fd);
  server_->Stop();  // idempotent
  server_.reset();  // destructor after Stop
}

TEST_F(MetricsHttpTest, DestructorStops) {
  Start("");
  int fd = Connect(server_->bound_address());
  auto start = std::chrono::steady_clock::now();
  server_.reset();
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 1.0);
  close(fd);
}

TEST_F(MetricsHttpTest, ServesIpv6) {
  int probe = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_storage ss;
  socklen_t len = Addr("[::1]:0").ToSockaddr(&ss);
  bool v6 = probe >= 0 && bind(probe, reinterpret_cast<sockaddr*>(&ss), len) == 0;
  std::string why = v6 ? "" : strerror(errno);
  if (probe >= 0) close(probe);
  if (!v6) {
    std::printf("skipping IPv6: cannot bind [::1]: %s\n", why.c_str());
    GTEST_SKIP() << "cannot bind [::1]: " << why;
  }
  Start("", "[::1]:0");
  EXPECT_TRUE(server_->bound_address().is_v6());
  EXPECT_EQ(Body(Get("/metrics")), kBody);
}

// Respond() directly, without sockets.
TEST(MetricsHttpRespondTest, StatusCodes) {
  auto server =
      MetricsHttpServer::Create(Addr("127.0.0.1:0"), "tok", [] { return std::string("x 1\n"); });
  ASSERT_TRUE(server.ok());
  const MetricsHttpServer& s = **server;
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.0\nAuthorization: Bearer tok").status, 200);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1\r\nAuthorization: Bearer tok\r").status, 200);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1\r\nAuthorization: Bearer").status, 401);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1\r\nAuthorization: Bearer ").status, 401);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1\r\nAuthorization: Bearertok").status, 401);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1").status, 401);
  EXPECT_EQ(s.Respond("GET /nope HTTP/1.1").status, 404);
  EXPECT_EQ(s.Respond("PUT /metrics HTTP/1.1").status, 405);
  EXPECT_EQ(s.Respond("").status, 400);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1\r\n folded").status, 400);
  EXPECT_EQ(s.Respond("G(T /metrics HTTP/1.1").status, 400);
  EXPECT_EQ(s.Respond("GET /metrics HTTP/1.1 extra").status, 400);
}

}  // namespace
}  // namespace drasyl
