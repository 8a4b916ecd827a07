#include "tests/support/super_peer_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "tests/support/node_emulator.h"

extern char** environ;

namespace drasyl::testing {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kBannerHeader[] = "Super peer listening on:\n";

bool IsWildcardText(const std::string& v) {
  return absl::StartsWith(v, "0.0.0.0:") || absl::StartsWith(v, "[::]:");
}

std::string Tail(const std::string& s, size_t n) {
  return s.size() <= n ? s : "...\n" + s.substr(s.size() - n);
}

int DecodeStatus(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::vector<BannerUrl> ParseBanner(const std::string& text) {
  std::vector<BannerUrl> urls;
  size_t pos = text.find(kBannerHeader);
  if (pos == std::string::npos) return urls;
  pos += std::strlen(kBannerHeader);
  while (pos < text.size()) {
    size_t eol = text.find('\n', pos);
    if (eol == std::string::npos) break;  // incomplete line
    std::string line = text.substr(pos, eol - pos);
    pos = eol + 1;
    if (!absl::StartsWith(line, "  udp://")) continue;
    BannerUrl u;
    u.url = line.substr(2);
    std::string rest = line.substr(std::strlen("  udp://"));
    size_t q = rest.find('?');
    std::string addr = rest.substr(0, q);
    absl::StatusOr<SocketAddress> a = SocketAddress::Parse(addr);
    if (a.ok()) u.address = *a;
    if (q != std::string::npos) {
      for (absl::string_view kv : absl::StrSplit(rest.substr(q + 1), '&')) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        if (p.first == "publicKey") u.public_key_hex = p.second;
        if (p.first == "networkId") u.network_id = p.second;
        if (p.first == "tcpPort") {
          uint32_t port = 0;
          if (absl::SimpleAtoi(p.second, &port) && port <= 0xffff) {
            u.tcp_port = static_cast<uint16_t>(port);
          }
        }
      }
    }
    urls.push_back(std::move(u));
  }
  return urls;
}

SuperPeerProcess::SuperPeerProcess() : SuperPeerProcess(Options()) {}

SuperPeerProcess::SuperPeerProcess(Options options) : opts_(std::move(options)) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = absl::StrCat(tmp && *tmp ? tmp : "/tmp", "/drasyl-sp-test-XXXXXX");
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    std::fprintf(stderr, "mkdtemp(%s): %s\n", pattern.c_str(), strerror(errno));
    std::abort();
  }
  temp_dir_ = buf.data();
}

SuperPeerProcess::~SuperPeerProcess() {
  if (pid_ > 0 && !exit_code_) Stop();
  if (reader_.joinable()) reader_.join();
  if (::testing::Test::HasFailure() && pid_ > 0) {
    std::lock_guard<std::mutex> l(mu_);
    std::cerr << "---- super peer (pid " << pid_ << ") stdout ----\n"
              << Tail(out_, 4000) << "\n---- super peer stderr ----\n"
              << Tail(err_, 12000) << "\n---- end of super peer output ----" << std::endl;
  }
  std::error_code ec;
  std::filesystem::remove_all(temp_dir_, ec);
}

std::string SuperPeerProcess::identity_path() const {
  if (pid_ > 0) {  // what the process got
    if (auto v = Setting("IDENTITY_FILE")) return *v;
    return temp_dir_ + "/drasyl.identity";  // the default, relative to its cwd
  }
  // Before Start(): what it will get.
  for (const char* name : {"DRASYL_IDENTITY_FILE", "NETSODY_IDENTITY_FILE"}) {
    auto it = opts_.env.find(name);
    if (it != opts_.env.end()) return it->second;
  }
  const std::string full = opts_.prefix + "IDENTITY_FILE";
  for (const std::string& u : opts_.unset) {
    if (u == full) return temp_dir_ + "/drasyl.identity";
  }
  return temp_dir_ + "/sp.identity";
}

std::optional<std::string> SuperPeerProcess::Setting(const std::string& name) const {
  auto it = env_.find("DRASYL_" + name);
  if (it != env_.end()) return it->second;
  it = env_.find("NETSODY_" + name);
  if (it != env_.end()) return it->second;
  return std::nullopt;
}

int SuperPeerProcess::ExpectedUrls() const {
  if (opts_.expected_urls > 0) return opts_.expected_urls;
  int n = 0;
  for (const char* name : {"UDP4_LISTEN", "UDP6_LISTEN"}) {
    std::optional<std::string> v = Setting(name);
    if (v && !v->empty() && !IsWildcardText(*v)) ++n;
  }
  return std::max(n, 1);
}

absl::Status SuperPeerProcess::Start() {
  if (pid_ > 0) return absl::FailedPreconditionError("already started");
  // The environment: inherited minus everything that configures a super peer.
  env_.clear();
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq == std::string::npos) continue;
    std::string name = kv.substr(0, eq);
    if (absl::StartsWith(name, "DRASYL_") || absl::StartsWith(name, "NETSODY_") ||
        name == "RUST_LOG" || absl::StartsWith(name, "GLOG_")) {
      continue;
    }
    env_[name] = kv.substr(eq + 1);
  }
  const std::map<std::string, std::string> defaults = {
      {"IDENTITY_FILE", temp_dir_ + "/sp.identity"},
      {"UDP4_LISTEN", "127.0.0.1:0"},
      {"UDP6_LISTEN", ""},
      {"TCP4_LISTEN", ""},
      {"TCP6_LISTEN", ""},
      {"PROMETHEUS_LISTEN", ""},
      {"WORKERS", "2"},
      {"PEERS_PRINT_INTERVAL", "0"},
  };
  for (const auto& [name, value] : defaults) {
    std::string full = opts_.prefix + name;
    bool skip = false;
    for (const std::string& u : opts_.unset) skip = skip || u == full;
    if (!skip) env_[full] = value;
  }
  for (const auto& [name, value] : opts_.env) env_[name] = value;

  if (opts_.write_identity) {
    const Identity id = opts_.identity ? *opts_.identity : IdentityA();
    if (absl::Status s = SaveIdentityFile(identity_path(), id); !s.ok()) return s;
  }

  const std::string binary = opts_.binary.empty() ? std::string(DRASYL_SP_BINARY) : opts_.binary;
  std::vector<std::string> argv_s = {binary};
  argv_s.insert(argv_s.end(), opts_.args.begin(), opts_.args.end());
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env_) env_s.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (std::string& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  for (std::string& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) return absl::InternalError("pipe2");
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return absl::InternalError("pipe2");
  }
  const pid_t parent = ::getpid();
  const char* dir = temp_dir_.c_str();
  pid_t pid = ::fork();
  if (pid < 0) return absl::InternalError(absl::StrCat("fork: ", strerror(errno)));
  if (pid == 0) {
    // Child: async-signal-safe calls only.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    if (::chdir(dir) != 0) ::_exit(125);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  pid_ = pid;
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  reader_ = std::thread([this, o = out_pipe[0], e = err_pipe[0]] { ReaderLoop(o, e); });

  if (!opts_.wait_for_banner) return absl::OkStatus();
  const Clock::time_point deadline = Clock::now() + opts_.banner_timeout;
  const bool header_only = opts_.expected_urls < 0;
  const size_t want = header_only ? 0 : static_cast<size_t>(ExpectedUrls());
  auto ready = [&] {
    if (header_only) return out_.find(kBannerHeader) != std::string::npos;
    return ParseBanner(out_).size() >= want;
  };
  while (true) {
    bool done;
    {
      std::unique_lock<std::mutex> l(mu_);
      done = ready() || (cv_.wait_for(l, std::chrono::milliseconds(20)), ready());
    }
    if (done) {
      if (header_only) std::this_thread::sleep_for(std::chrono::milliseconds(100));
      return absl::OkStatus();
    }
    Reap(false);
    if (exit_code_) {
      std::optional<int> code = exit_code_;
      WaitExit(std::chrono::milliseconds(1000));  // collect the rest of the output
      return absl::FailedPreconditionError(absl::StrCat(
          "super peer exited with ", *code, " before printing its banner; stderr:\n",
          Tail(stderr_text(), 4000)));
    }
    if (Clock::now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          "no banner with ", want, " URL(s) within ", opts_.banner_timeout.count(),
          " ms; stdout:\n", stdout_text(), "\nstderr:\n", Tail(stderr_text(), 4000)));
    }
  }
}

void SuperPeerProcess::ReaderLoop(int out_fd, int err_fd) {
  pollfd fds[2] = {{out_fd, POLLIN, 0}, {err_fd, POLLIN, 0}};
  int open_fds = 2;
  char buf[65536];
  while (open_fds > 0) {
    int r = ::poll(fds, 2, 200);
    if (r < 0 && errno != EINTR) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof(buf));
      if (n > 0) {
        std::lock_guard<std::mutex> l(mu_);
        (i == 0 ? out_ : err_).append(buf, static_cast<size_t>(n));
        cv_.notify_all();
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (pollfd& p : fds) {
    if (p.fd >= 0) ::close(p.fd);
  }
  std::lock_guard<std::mutex> l(mu_);
  eof_ = true;
  cv_.notify_all();
}

void SuperPeerProcess::Reap(bool block) {
  if (pid_ <= 0 || exit_code_) return;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_) exit_code_ = DecodeStatus(status);
}

bool SuperPeerProcess::running() {
  Reap(false);
  return pid_ > 0 && !exit_code_;
}

void SuperPeerProcess::Signal(int sig) {
  if (running()) ::kill(pid_, sig);
}

std::optional<int> SuperPeerProcess::WaitExit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    Reap(false);
    if (exit_code_) break;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // The pipes reach EOF once the process is gone: collect all output.
  bool eof;
  {
    std::unique_lock<std::mutex> l(mu_);
    eof = cv_.wait_for(l, std::chrono::seconds(2), [this] { return eof_; });
  }
  if (eof && reader_.joinable()) reader_.join();
  return exit_code_;
}

int SuperPeerProcess::Stop(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  if (exit_code_) return *exit_code_;
  ::kill(pid_, SIGTERM);
  if (std::optional<int> code = WaitExit(timeout)) return *code;
  std::fprintf(stderr, "super peer pid %d ignored SIGTERM for %lld ms: SIGKILL\n", pid_,
               static_cast<long long>(timeout.count()));
  ::kill(pid_, SIGKILL);
  Reap(true);
  WaitExit(std::chrono::milliseconds(2000));
  return exit_code_ ? *exit_code_ : -1;
}

std::string SuperPeerProcess::stdout_text() {
  std::lock_guard<std::mutex> l(mu_);
  return out_;
}

std::string SuperPeerProcess::stderr_text() {
  std::lock_guard<std::mutex> l(mu_);
  return err_;
}

bool SuperPeerProcess::WaitForText(const std::string& text, const std::string& needle,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> l(mu_);
  return cv_.wait_for(l, timeout,
                      [&] { return text.find(needle) != std::string::npos || eof_; }) &&
         text.find(needle) != std::string::npos;
}

bool SuperPeerProcess::WaitForStderr(const std::string& needle,
                                     std::chrono::milliseconds timeout) {
  return WaitForText(err_, needle, timeout);
}

bool SuperPeerProcess::WaitForStdout(const std::string& needle,
                                     std::chrono::milliseconds timeout) {
  return WaitForText(out_, needle, timeout);
}

std::string SuperPeerProcess::OutputTail(size_t max) {
  std::lock_guard<std::mutex> l(mu_);
  return absl::StrCat("---- super peer stdout ----\n", Tail(out_, max),
                      "\n---- super peer stderr ----\n", Tail(err_, max),
                      "\n---- end of super peer output ----\n");
}

std::unique_ptr<SuperPeerProcess> LaunchSuperPeer(const std::map<std::string, std::string>& env,
                                                  const std::vector<std::string>& args,
                                                  std::string* error) {
  SuperPeerProcess::Options o;
  o.env = env;
  o.args = args;
  auto sp = std::make_unique<SuperPeerProcess>(o);
  absl::Status s = sp->Start();
  if (!s.ok()) {
    if (error != nullptr) *error = std::string(s.message());
    return nullptr;
  }
  return sp;
}

std::vector<BannerUrl> SuperPeerProcess::banner() { return ParseBanner(stdout_text()); }

PublicKey SuperPeerProcess::public_key() {
  std::vector<BannerUrl> b = banner();
  if (b.empty() || b[0].public_key_hex.size() != 64) return PublicKey{};
  return KeyFromHex(b[0].public_key_hex);
}

std::optional<SocketAddress> SuperPeerProcess::udp4() {
  for (const BannerUrl& u : banner()) {
    if (u.address.is_v4()) return u.address;
  }
  return std::nullopt;
}

std::optional<SocketAddress> SuperPeerProcess::udp6() {
  for (const BannerUrl& u : banner()) {
    if (u.address.is_v6()) return u.address;
  }
  return std::nullopt;
}

std::optional<uint16_t> SuperPeerProcess::tcp_port() {
  std::vector<BannerUrl> b = banner();
  if (b.empty()) return std::nullopt;
  return b[0].tcp_port;
}

std::optional<SocketAddress> SuperPeerProcess::tcp_address() {
  std::optional<uint16_t> port = tcp_port();
  if (!port) return std::nullopt;
  std::optional<std::string> v6 = Setting("TCP6_LISTEN");
  std::optional<std::string> v4 = Setting("TCP4_LISTEN");
  std::string text;
  if (v6 && !v6->empty()) {
    text = absl::StartsWith(*v6, "[::]:") ? std::string("[::1]:0") : *v6;
  } else if (v4 && !v4->empty()) {
    text = absl::StartsWith(*v4, "0.0.0.0:") ? std::string("127.0.0.1:0") : *v4;
  } else {
    text = "127.0.0.1:0";
  }
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  if (!a.ok()) return std::nullopt;
  a->set_port(*port);
  return *a;
}

std::optional<uint16_t> SuperPeerProcess::metrics_port(std::chrono::milliseconds timeout) {
  // "metrics on http://127.0.0.1:<port>/metrics" (either case of the "m").
  static constexpr char kMarker[] = "etrics on http://";
  if (!WaitForStderr(kMarker, timeout)) return std::nullopt;
  WaitForStderr("/metrics", std::chrono::milliseconds(1000));
  std::string err = stderr_text();
  size_t pos = err.find(kMarker);
  if (pos == std::string::npos) return std::nullopt;
  pos += std::strlen(kMarker);
  size_t end = err.find("/metrics", pos);
  if (end == std::string::npos) return std::nullopt;
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(err.substr(pos, end - pos));
  if (!a.ok()) return std::nullopt;
  return a->port();
}

std::string HttpResult::body() const {
  size_t pos = response.find("\r\n\r\n");
  return pos == std::string::npos ? std::string() : response.substr(pos + 4);
}

HttpResult HttpGet(const SocketAddress& server, const std::string& path,
                   const std::vector<std::string>& headers, std::chrono::milliseconds timeout) {
  HttpResult result;
  int fd = ::socket(server.family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return result;
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  sockaddr_storage ss;
  socklen_t sl = server.ToSockaddr(&ss);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
    ::close(fd);
    return result;
  }
  std::string req = absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: ", server.ToString(),
                                 "\r\nConnection: close\r\n");
  for (const std::string& h : headers) absl::StrAppend(&req, h, "\r\n");
  req += "\r\n";
  size_t off = 0;
  while (off < req.size()) {
    ssize_t n = ::send(fd, req.data() + off, req.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      return result;
    }
    off += static_cast<size_t>(n);
  }
  char buf[16384];
  while (true) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n > 0) {
      result.response.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    break;  // EOF, timeout or error: keep what came
  }
  ::close(fd);
  // "HTTP/1.x NNN ..."
  if (absl::StartsWith(result.response, "HTTP/") && result.response.size() >= 12) {
    int code = 0;
    if (absl::SimpleAtoi(result.response.substr(9, 3), &code)) result.status = code;
  }
  return result;
}

}  // namespace drasyl::testing
