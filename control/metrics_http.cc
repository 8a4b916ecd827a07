#include "control/metrics_http.h"

#include <errno.h>
#include <poll.h>
#include <sodium.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "glog/logging.h"

namespace drasyl {
namespace {

constexpr size_t kMaxHead = 8 * 1024;
constexpr uint64_t kReadTimeoutMs = 2000;   // whole request head
constexpr uint64_t kWriteTimeoutMs = 5000;  // whole response
constexpr uint64_t kDrainTimeoutMs = 500;   // wait for the client's FIN
constexpr size_t kMaxDrain = 64 * 1024;
constexpr int kTickMs = 200;  // longest poll(), so deadlines are noticed
constexpr size_t kMaxClients = 64;
constexpr char kContentType[] = "text/plain; version=0.0.4; charset=utf-8";

bool IsTokenChar(char c) {
  // RFC 9110 tchar.
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// Compares hashes so the time depends on neither the token nor its length.
bool ConstantTimeEquals(absl::string_view given, absl::string_view secret) {
  uint8_t a[crypto_generichash_BYTES];
  uint8_t b[crypto_generichash_BYTES];
  crypto_generichash(a, sizeof(a), reinterpret_cast<const uint8_t*>(given.data()), given.size(),
                     nullptr, 0);
  crypto_generichash(b, sizeof(b), reinterpret_cast<const uint8_t*>(secret.data()), secret.size(),
                     nullptr, 0);
  return sodium_memcmp(a, b, sizeof(a)) == 0;
}

HttpResponse MakeResponse(int status, absl::string_view extra_headers, absl::string_view body,
                          bool head_only = false) {
  const char* reason = "Error";
  switch (status) {
    case 200:
      reason = "OK";
      break;
    case 400:
      reason = "Bad Request";
      break;
    case 401:
      reason = "Unauthorized";
      break;
    case 404:
      reason = "Not Found";
      break;
    case 405:
      reason = "Method Not Allowed";
      break;
  }
  HttpResponse r;
  r.status = status;
  r.text = absl::StrFormat(
      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %u\r\n%sConnection: close\r\n\r\n",
      status, reason, status == 200 ? kContentType : "text/plain; charset=utf-8", body.size(),
      std::string(extra_headers));
  if (!head_only) absl::StrAppend(&r.text, body);
  return r;
}

// Splits off the next line (LF, with an optional CR before it).
absl::string_view NextLine(absl::string_view* rest) {
  size_t lf = rest->find('\n');
  absl::string_view line = rest->substr(0, lf);
  rest->remove_prefix(lf == absl::string_view::npos ? rest->size() : lf + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

// End of the request head (after the empty line), or npos.
size_t FindHeadEnd(absl::string_view buf, size_t* head_len) {
  for (size_t i = 0; i < buf.size(); ++i) {
    if (buf[i] != '\n') continue;
    if (i + 1 < buf.size() && buf[i + 1] == '\n') {
      *head_len = i;
      return i + 2;
    }
    if (i + 2 < buf.size() && buf[i + 1] == '\r' && buf[i + 2] == '\n') {
      *head_len = i;
      return i + 3;
    }
  }
  return absl::string_view::npos;
}

struct Client {
  enum class State { kReading, kWriting, kDraining };
  int fd = -1;
  State state = State::kReading;
  std::string in;
  std::string out;
  size_t out_off = 0;
  size_t drained = 0;
  uint64_t deadline_ms = 0;
};

}  // namespace

MetricsHttpServer::MetricsHttpServer(std::string bearer_token, Renderer renderer)
    : token_(std::move(bearer_token)), renderer_(std::move(renderer)) {}

MetricsHttpServer::~MetricsHttpServer() {
  Stop();
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

absl::StatusOr<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::Create(
    const SocketAddress& listen_addr, std::string bearer_token, Renderer renderer) {
  if (!renderer) return absl::InvalidArgumentError("MetricsHttpServer needs a Renderer");
  if (!listen_addr.is_v4() && !listen_addr.is_v6()) {
    return absl::InvalidArgumentError("metrics listen address is unset");
  }
  if (sodium_init() < 0) return absl::InternalError("sodium_init failed");
  std::unique_ptr<MetricsHttpServer> s(
      new MetricsHttpServer(std::move(bearer_token), std::move(renderer)));
  s->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (s->wake_fd_ < 0) return absl::ErrnoToStatus(errno, "eventfd");
  int fd = socket(listen_addr.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "metrics socket");
  s->listen_fd_ = fd;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (listen_addr.is_v6() && listen_addr.IsWildcard()) {
    int zero = 0;  // [::] serves IPv4 too, whatever net.ipv6.bindv6only says
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
  }
  sockaddr_storage ss;
  socklen_t len = listen_addr.ToSockaddr(&ss);
  if (bind(fd, reinterpret_cast<sockaddr*>(&ss), len) != 0) {
    return absl::ErrnoToStatus(errno, absl::StrFormat("metrics bind %s", listen_addr.ToString()));
  }
  if (listen(fd, 64) != 0) return absl::ErrnoToStatus(errno, "metrics listen");
  len = sizeof(ss);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  absl::StatusOr<SocketAddress> bound =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss), len, /*unmap_v4=*/false);
  if (!bound.ok()) return bound.status();
  s->bound_ = *bound;
  return s;
}

void MetricsHttpServer::Start() {
  if (thread_.joinable()) return;
  LOG(INFO) << "Metrics on http://" << bound_.ToString() << "/metrics"
            << (token_.empty() ? "" : " (bearer token required)");
  thread_ = std::thread([this] { Run(); });
}

void MetricsHttpServer::Stop() {
  if (!thread_.joinable()) return;
  uint64_t one = 1;
  ssize_t n;
  do {
    n = write(wake_fd_, &one, sizeof(one));
  } while (n < 0 && errno == EINTR);
  thread_.join();
}

HttpResponse MetricsHttpServer::Respond(absl::string_view head) const {
  absl::string_view rest = head;
  absl::string_view request_line = NextLine(&rest);
  // METHOD SP request-target SP HTTP-version, single spaces (RFC 9112 §3).
  size_t sp1 = request_line.find(' ');
  size_t sp2 = sp1 == absl::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == absl::string_view::npos) return MakeResponse(400, "", "bad request\n");
  absl::string_view method = request_line.substr(0, sp1);
  absl::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  absl::string_view version = request_line.substr(sp2 + 1);
  if (!IsToken(method) || target.empty() || target.find(' ') != absl::string_view::npos ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    return MakeResponse(400, "", "bad request\n");
  }
  absl::string_view authorization;
  bool have_authorization = false;
  while (!rest.empty()) {
    absl::string_view line = NextLine(&rest);
    if (line.empty()) break;
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos || !IsToken(line.substr(0, colon))) {
      return MakeResponse(400, "", "bad request\n");  // also obsolete line folding
    }
    if (absl::EqualsIgnoreCase(line.substr(0, colon), "authorization") && !have_authorization) {
      authorization = absl::StripAsciiWhitespace(line.substr(colon + 1));
      have_authorization = true;
    }
  }
  bool head_only = method == "HEAD";
  if (method != "GET" && !head_only) {
    return MakeResponse(405, "Allow: GET, HEAD\r\n", "method not allowed\n");
  }
  absl::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path != "/metrics") return MakeResponse(404, "", "not found\n", head_only);
  if (!token_.empty()) {
    bool ok = false;
    if (authorization.size() > 6 && absl::EqualsIgnoreCase(authorization.substr(0, 6), "bearer") &&
        (authorization[6] == ' ' || authorization[6] == '\t')) {
      ok = ConstantTimeEquals(absl::StripAsciiWhitespace(authorization.substr(7)), token_);
    }
    if (!ok) {
      return MakeResponse(401, "WWW-Authenticate: Bearer\r\n", "unauthorized\n", head_only);
    }
  }
  return MakeResponse(200, "", renderer_(), head_only);
}

void MetricsHttpServer::Run() {
  std::vector<Client> clients;
  std::vector<pollfd> fds;
  char buf[4096];
  auto start_response = [&](Client& c, const HttpResponse& r) {
    c.out = r.text;
    c.out_off = 0;
    c.state = Client::State::kWriting;
    c.deadline_ms = MonotonicMillis() + kWriteTimeoutMs;
  };
  for (;;) {
    uint64_t now = MonotonicMillis();
    int timeout = kTickMs;
    fds.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    fds.push_back({listen_fd_, POLLIN, 0});
    for (const Client& c : clients) {
      fds.push_back(
          {c.fd, static_cast<short>(c.state == Client::State::kWriting ? POLLOUT : POLLIN), 0});
      int left = c.deadline_ms > now ? static_cast<int>(c.deadline_ms - now) : 0;
      timeout = std::min(timeout, left);
    }
    int n = poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      PLOG(ERROR) << "metrics poll";
      break;
    }
    if (n > 0 && (fds[0].revents & POLLIN)) {
      uint64_t value;
      while (read(wake_fd_, &value, sizeof(value)) > 0) {
      }
      break;  // Stop()
    }
    now = MonotonicMillis();
    // Clients: handle readiness, then deadlines; closed ones get fd -1.
    for (size_t i = 0; i < clients.size(); ++i) {
      Client& c = clients[i];
      short revents = n > 0 ? fds[i + 2].revents : 0;
      if (revents != 0 && c.state == Client::State::kReading) {
        ssize_t r = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          size_t head_len = 0;
          if (FindHeadEnd(c.in, &head_len) != absl::string_view::npos && head_len <= kMaxHead) {
            start_response(c, Respond(absl::string_view(c.in).substr(0, head_len)));
          } else if (c.in.size() > kMaxHead) {
            start_response(c, MakeResponse(400, "", "request head too large\n"));
          }
        } else if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          close(c.fd);
          c.fd = -1;
          continue;
        }
      }
      if (c.state == Client::State::kWriting && (revents != 0 || c.out_off == 0)) {
        while (c.out_off < c.out.size()) {
          ssize_t w = send(c.fd, c.out.data() + c.out_off, c.out.size() - c.out_off,
                           MSG_NOSIGNAL | MSG_DONTWAIT);
          if (w > 0) {
            c.out_off += static_cast<size_t>(w);
          } else if (w < 0 && errno == EINTR) {
            continue;
          } else {
            break;
          }
        }
        if (c.out_off == c.out.size()) {
          // Half-close and wait for the client's FIN: closing with unread
          // input would reset the connection and could lose the response.
          shutdown(c.fd, SHUT_WR);
          std::string().swap(c.out);
          c.state = Client::State::kDraining;
          c.deadline_ms = now + kDrainTimeoutMs;
        } else if (errno != EAGAIN && errno != EWOULDBLOCK) {
          close(c.fd);
          c.fd = -1;
          continue;
        }
      } else if (revents != 0 && c.state == Client::State::kDraining) {
        ssize_t r = recv(c.fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (r > 0) c.drained += static_cast<size_t>(r);
        if (r == 0 || c.drained > kMaxDrain ||
            (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
          close(c.fd);
          c.fd = -1;
          continue;
        }
      }
      if (now >= c.deadline_ms) {
        close(c.fd);  // too slow to send its head, take the response or go
        c.fd = -1;
      }
    }
    clients.erase(
        std::remove_if(clients.begin(), clients.end(), [](const Client& c) { return c.fd < 0; }),
        clients.end());
    if (n > 0 && (fds[1].revents & POLLIN)) {
      for (;;) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
          if (errno == EINTR || errno == ECONNABORTED) continue;
          if (errno != EAGAIN && errno != EWOULDBLOCK) {
            LOG_EVERY_N(WARNING, 100) << "metrics accept: " << strerror(errno);
          }
          break;
        }
        if (clients.size() >= kMaxClients) {
          close(fd);
          continue;
        }
        Client c;
        c.fd = fd;
        c.deadline_ms = now + kReadTimeoutMs;
        clients.push_back(std::move(c));
      }
    }
  }
  for (Client& c : clients) close(c.fd);
}

}  // namespace drasyl
