// Runs the real super peer binary (DRASYL_SP_BINARY) as a child process for
// integration tests: a private temporary directory with the identity file,
// an explicit environment (inherited DRASYL_* / NETSODY_* / RUST_LOG are
// cleared), captured stdout (the startup banner) and stderr (the log), and
// a clean SIGTERM shutdown.
//
// Default environment (every value overridable through Options::env, a name
// removed with Options::unset):
//   <P>IDENTITY_FILE=<tmp>/sp.identity   <P>UDP4_LISTEN=127.0.0.1:0
//   <P>UDP6_LISTEN=""                     <P>TCP4_LISTEN=""   <P>TCP6_LISTEN=""
//   <P>PROMETHEUS_LISTEN=""               <P>WORKERS=2
//   <P>PEERS_PRINT_INTERVAL=0
// with <P> = Options::prefix ("DRASYL_" or "NETSODY_").
#ifndef DRASYL_TESTS_SUPPORT_SUPER_PEER_PROCESS_H_
#define DRASYL_TESTS_SUPPORT_SUPER_PEER_PROCESS_H_

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <iostream>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "common/identity.h"
#include "common/socket_address.h"
#include "common/types.h"

namespace drasyl::testing {

// One URL line of the startup banner.
struct BannerUrl {
  std::string url;  // udp://...
  SocketAddress address;
  std::string public_key_hex;
  std::string network_id;  // as printed
  std::optional<uint16_t> tcp_port;
};

// Parses "Super peer listening on:\n  udp://...\n..." (the URL lines that
// follow the header; other lines are ignored). Empty when no header.
std::vector<BannerUrl> ParseBanner(const std::string& stdout_text);

class SuperPeerProcess {
 public:
  struct Options {
    // With write_identity, `identity` (IdentityA() when unset) is written to
    // the identity file before the start, so the key is known and startup is
    // instant; without, no file is written (the super peer generates one,
    // at its MIN_POW_DIFFICULTY: set it low).
    std::optional<Identity> identity;
    bool write_identity = true;
    // Environment variable prefix of the defaults.
    std::string prefix = "DRASYL_";
    // Extra / overriding variables (full names, e.g. "DRASYL_MAX_PEERS"); an
    // empty value sets the variable to the empty string.
    std::map<std::string, std::string> env;
    // Default variables not to set at all (full names).
    std::vector<std::string> unset;
    // Command-line arguments after the binary.
    std::vector<std::string> args;
    // Wait in Start() for the banner (and the expected number of URL lines);
    // false for processes that are expected to fail or print no banner.
    bool wait_for_banner = true;
    std::chrono::milliseconds banner_timeout{20000};
    // URL lines to wait for; 0 = one per UDP listener configured with a
    // specific (non-wildcard) address, at least 1; -1 = the header line only
    // (wildcard listeners on a host without announceable addresses print no
    // URL), then a 100 ms grace period for the rest of the banner.
    int expected_urls = 0;
    // Binary to run (default DRASYL_SP_BINARY).
    std::string binary;
  };

  SuperPeerProcess();
  explicit SuperPeerProcess(Options options);
  // Stops the process (SIGTERM, then SIGKILL) and removes the temp dir. When
  // the current test failed, prints the captured stderr for diagnosis.
  ~SuperPeerProcess();

  SuperPeerProcess(const SuperPeerProcess&) = delete;
  SuperPeerProcess& operator=(const SuperPeerProcess&) = delete;

  Options& options() { return opts_; }

  // Writes the identity file (when configured), forks and execs the binary;
  // with wait_for_banner, waits for the banner (fails with the stderr
  // captured so far when it does not come or the process exits).
  absl::Status Start();

  // SIGTERM, wait up to `timeout`, then SIGKILL. Returns the exit code, or
  // 128 + signal when killed by a signal; -1 when not running / not started.
  int Stop(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // Sends a signal (no wait).
  void Signal(int sig);
  // Waits for the process to exit by itself; its exit code (or 128+signal),
  // nullopt on timeout.
  std::optional<int> WaitExit(std::chrono::milliseconds timeout);
  bool running();
  pid_t pid() const { return pid_; }
  std::optional<int> exit_code() const { return exit_code_; }

  // Captured output so far (complete once the process has exited).
  std::string stdout_text();
  std::string stderr_text();
  // Waits until stderr (stdout) contains `needle`.
  bool WaitForStderr(const std::string& needle, std::chrono::milliseconds timeout);
  bool WaitForStdout(const std::string& needle, std::chrono::milliseconds timeout);

  // The last `max` bytes of stdout and stderr, labelled (for failure output).
  std::string OutputTail(size_t max = 8000);

  // The banner's URL lines.
  std::vector<BannerUrl> banner();
  // The super peer's public key, from the banner.
  PublicKey public_key();
  // The first IPv4 / IPv6 URL's address.
  std::optional<SocketAddress> udp4();
  std::optional<SocketAddress> udp6();
  // The banner's tcpPort.
  std::optional<uint16_t> tcp_port();
  // Where to connect for TCP: the TCP6 listener's address (loopback when
  // wildcard) when configured, else TCP4's, with the banner's tcpPort.
  std::optional<SocketAddress> tcp_address();
  // The metrics port from the log line "metrics on http://<addr>/metrics".
  std::optional<uint16_t> metrics_port(
      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

  const std::string& temp_dir() const { return temp_dir_; }
  std::string identity_path() const;
  // The environment the process got (name -> value), for debugging.
  const std::map<std::string, std::string>& env() const { return env_; }

 private:
  void ReaderLoop(int out_fd, int err_fd);
  // The value of a setting (prefix-agnostic), nullopt when not set.
  std::optional<std::string> Setting(const std::string& name) const;
  int ExpectedUrls() const;
  void Reap(bool block);
  // Waits until `text` (err_ or out_) contains `needle`; false when the
  // output ends or `timeout` passes first.
  bool WaitForText(const std::string& text, const std::string& needle,
                   std::chrono::milliseconds timeout);

  Options opts_;
  std::string temp_dir_;
  std::map<std::string, std::string> env_;
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::thread reader_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::string out_;
  std::string err_;
  bool eof_ = false;
};

// Starts a super peer with the default environment plus `env` and extra
// `args`; nullptr on failure, with the reason in *error.
std::unique_ptr<SuperPeerProcess> LaunchSuperPeer(const std::map<std::string, std::string>& env,
                                                  const std::vector<std::string>& args = {},
                                                  std::string* error = nullptr);

// A blocking HTTP/1.0-style GET over loopback: returns the status code and
// the whole response (status line, headers, body); status -1 on a socket
// error.
struct HttpResult {
  int status = -1;
  std::string response;
  std::string body() const;
};
HttpResult HttpGet(const SocketAddress& server, const std::string& path,
                   const std::vector<std::string>& headers = {},
                   std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));

// A test suite sharing one super peer: Config provides
//   static std::map<std::string, std::string> Env();  // on top of the defaults
//   static std::vector<std::string> Args();
// The process starts before the suite's first test and stops after its last
// (the exit code of that SIGTERM must be 0). When a test fails, its log tail
// is printed.
template <typename Config>
class SharedSuperPeerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    error_.clear();
    sp_ = LaunchSuperPeer(Config::Env(), Config::Args(), &error_);
  }
  static void TearDownTestSuite() {
    if (sp_) {
      const int code = sp_->Stop();
      EXPECT_EQ(code, 0) << "super peer did not exit cleanly on SIGTERM\n" << sp_->OutputTail();
    }
    sp_.reset();
  }
  void SetUp() override {
    ASSERT_NE(sp_, nullptr) << "super peer did not start: " << error_;
    ASSERT_TRUE(sp_->running()) << "super peer died\n" << sp_->OutputTail();
  }
  void TearDown() override {
    if (HasFailure() && sp_) std::cerr << sp_->OutputTail(6000);
  }

  static inline std::unique_ptr<SuperPeerProcess> sp_;
  static inline std::string error_;
};

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_SUPER_PEER_PROCESS_H_
