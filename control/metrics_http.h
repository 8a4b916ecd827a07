// Prometheus metrics endpoint (docs/protocol.md §7): a minimal HTTP/1.1 server on
// a thread of its own, one request per connection, `GET /metrics` with an
// optional bearer token.
#ifndef DRASYL_CONTROL_METRICS_HTTP_H_
#define DRASYL_CONTROL_METRICS_HTTP_H_

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "common/socket_address.h"

namespace drasyl {

// What the server answers to one request head (exposed for tests).
struct HttpResponse {
  int status = 0;
  std::string text;  // the whole response: status line, headers and body
};

class MetricsHttpServer {
 public:
  // Prometheus text exposition; called on the HTTP thread (the caller makes
  // it thread-safe).
  using Renderer = std::function<std::string()>;

  // Binds and listens (port 0 = ephemeral); serving starts with Start().
  // An empty bearer_token disables authentication.
  static absl::StatusOr<std::unique_ptr<MetricsHttpServer>> Create(const SocketAddress& listen,
                                                                   std::string bearer_token,
                                                                   Renderer renderer);
  ~MetricsHttpServer();  // stops

  MetricsHttpServer(const MetricsHttpServer&) = delete;
  MetricsHttpServer& operator=(const MetricsHttpServer&) = delete;

  void Start();  // starts the thread (once)
  void Stop();   // wakes and joins the thread, closes open client connections
  SocketAddress bound_address() const { return bound_; }

  // Answers a complete request head (request line and headers, without the
  // terminating empty line). Malformed → 400; not GET/HEAD → 405; a path
  // other than /metrics → 404; wrong or missing token → 401.
  HttpResponse Respond(absl::string_view head) const;

 private:
  MetricsHttpServer(std::string bearer_token, Renderer renderer);
  void Run();

  std::string token_;
  Renderer renderer_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;  // eventfd: Stop() wakes the thread at once
  SocketAddress bound_;
  std::thread thread_;
};

}  // namespace drasyl

#endif  // DRASYL_CONTROL_METRICS_HTTP_H_
