#include "tests/support/node_emulator.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/byte_order.h"
#include "common/clock.h"
#include "common/hex.h"

namespace drasyl::testing {
namespace {

using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "node_emulator: %s\n", what.c_str());
  std::abort();
}

Identity FixedIdentity(const char* sk_hex, int32_t pow) {
  Identity id;
  if (!HexDecodeInto(sk_hex, absl::MakeSpan(id.secret_key)).ok()) Die("bad fixed secret key");
  absl::StatusOr<PublicKey> pk = PublicKeyOf(id.secret_key);
  if (!pk.ok()) Die(std::string(pk.status().message()));
  id.public_key = *pk;
  id.pow = pow;
  return id;
}

SocketAddress LoopbackOf(int family) {
  if (family == AF_INET6) {
    uint8_t lo[16] = {};
    lo[15] = 1;
    return SocketAddress::V6(lo, 0);
  }
  return SocketAddress::V4(INADDR_LOOPBACK, 0);
}

int RemainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return 0;
  return static_cast<int>(std::min<int64_t>(left.count() + 1, 1 << 30));
}

}  // namespace

const Identity& IdentityA() {
  static const Identity id = FixedIdentity(kSkA, kPowA);
  return id;
}
const Identity& IdentityB() {
  static const Identity id = FixedIdentity(kSkB, kPowB);
  return id;
}
const Identity& IdentityC() {
  static const Identity id = FixedIdentity(kSkC, kPowC);
  return id;
}

Identity GenerateTestIdentity(int difficulty) {
  absl::StatusOr<Identity> id = GenerateIdentity(difficulty, difficulty > 16 ? 0 : 1);
  if (!id.ok()) Die(std::string(id.status().message()));
  return *id;
}

Identity GenerateIdentityWithInvalidPow(int difficulty) {
  Identity id = GenerateTestIdentity(0);
  int32_t pow = 0;
  while (PowValid(id.public_key, pow, difficulty)) ++pow;
  id.pow = pow;
  return id;
}

std::string KeyHex(const PublicKey& key) { return HexEncode(key); }

PublicKey KeyFromHex(const std::string& hex) {
  PublicKey k{};
  if (!HexDecodeInto(hex, absl::MakeSpan(k)).ok()) Die("bad key hex: " + hex);
  return k;
}

std::vector<uint8_t> RandomBytes(size_t n) {
  if (sodium_init() < 0) Die("sodium_init");
  std::vector<uint8_t> v(n);
  if (n) randombytes_buf(v.data(), n);
  return v;
}

std::vector<SocketAddress> ReceivedMessage::unite_endpoints() const {
  std::vector<SocketAddress> out;
  if (!unite) return out;
  for (const wire::Endpoint& e : unite->endpoints) out.push_back(e.ToSocketAddress());
  return out;
}

std::string DescribeMessage(const ReceivedMessage& m) {
  if (!m.valid) return absl::StrFormat("<invalid %d bytes>", m.raw.size());
  std::string s = absl::StrFormat("%s hop=%d flags=0x%02x net=%d sender=%s.. recipient=%s.. len=%d",
                                  wire::MessageTypeName(m.type), m.hop_count, m.flags,
                                  m.network_id, KeyHex(m.sender).substr(0, 8),
                                  KeyHex(m.recipient).substr(0, 8), m.raw.size());
  if (m.disarm_failed) s += " (disarm failed)";
  if (m.ack) absl::StrAppend(&s, " ack.time=", m.ack->time);
  if (m.unite) {
    absl::StrAppend(&s, " unite.address=", KeyHex(m.unite->address).substr(0, 8), ".. [");
    for (const wire::Endpoint& e : m.unite->endpoints) {
      absl::StrAppend(&s, " ", e.ToSocketAddress().ToString());
    }
    s += " ]";
  }
  return s;
}

NodeOptions UdpNodeOptions(const Identity& id, const PublicKey& super_peer,
                           const SocketAddress& server, bool armed, int32_t network_id) {
  NodeOptions o;
  o.identity = id;
  o.super_peer = super_peer;
  o.server = server;
  o.transport = NodeTransport::kUdp;
  o.armed = armed;
  o.network_id = network_id;
  return o;
}

NodeOptions TcpNodeOptions(const Identity& id, const PublicKey& super_peer,
                           const SocketAddress& server, bool armed, int32_t network_id) {
  NodeOptions o = UdpNodeOptions(id, super_peer, server, armed, network_id);
  o.transport = NodeTransport::kTcp;
  return o;
}

absl::StatusOr<std::unique_ptr<Node>> Node::Create(const NodeOptions& options) {
  std::unique_ptr<Node> node(new Node(options));
  if (absl::Status s = node->Init(); !s.ok()) return s;
  return node;
}

Node::~Node() { Close(); }

void Node::Close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  closed_ = true;
}

absl::Status Node::Init() {
  if (sodium_init() < 0) return absl::InternalError("sodium_init failed");
  absl::StatusOr<KeyExchange> kx = KeyExchange::Create(opts_.identity.secret_key);
  if (!kx.ok()) return kx.status();
  absl::StatusOr<SessionKeys> keys = kx->Derive(opts_.super_peer);
  if (keys.ok()) {
    keys_ = *keys;
  } else if (opts_.armed) {
    return keys.status();
  }

  const int family = opts_.server.family();
  if (family != AF_INET && family != AF_INET6) {
    return absl::InvalidArgumentError("node: server address not set");
  }
  const bool tcp = opts_.transport == NodeTransport::kTcp;
  fd_ = ::socket(family, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return absl::InternalError(absl::StrCat("socket: ", strerror(errno)));
  if (opts_.socket_buffer_bytes > 0) {
    for (int opt : {SO_RCVBUF, SO_SNDBUF}) {
      int size = opts_.socket_buffer_bytes;
      int force = opt == SO_RCVBUF ? SO_RCVBUFFORCE : SO_SNDBUFFORCE;
      if (setsockopt(fd_, SOL_SOCKET, force, &size, sizeof(size)) != 0) {
        setsockopt(fd_, SOL_SOCKET, opt, &size, sizeof(size));
      }
    }
  }
  if (family == AF_INET6) {
    int one = 1;
    setsockopt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  SocketAddress bind_addr = opts_.bind ? *opts_.bind : LoopbackOf(family);
  sockaddr_storage ss;
  socklen_t sl = bind_addr.ToSockaddr(&ss);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
    return absl::InternalError(
        absl::StrCat("bind ", bind_addr.ToString(), ": ", strerror(errno)));
  }
  if (tcp) {
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sl = opts_.server.ToSockaddr(&ss);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&ss), sl) != 0) {
      if (errno != EINPROGRESS) {
        return absl::UnavailableError(
            absl::StrCat("connect ", opts_.server.ToString(), ": ", strerror(errno)));
      }
      pollfd p{fd_, POLLOUT, 0};
      if (::poll(&p, 1, 5000) != 1) {
        return absl::DeadlineExceededError(absl::StrCat("connect ", opts_.server.ToString(),
                                                        ": timeout"));
      }
      int err = 0;
      socklen_t el = sizeof(err);
      getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &el);
      if (err != 0) {
        return absl::UnavailableError(
            absl::StrCat("connect ", opts_.server.ToString(), ": ", strerror(err)));
      }
    }
  }
  sockaddr_storage local;
  socklen_t ll = sizeof(local);
  getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &ll);
  absl::StatusOr<SocketAddress> la =
      SocketAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&local), ll, false);
  if (!la.ok()) return la.status();
  local_ = *la;
  return absl::OkStatus();
}

std::vector<uint8_t> Node::BuildHello(const HelloOptions& h, uint64_t* time_used) const {
  const uint64_t time = h.time ? *h.time : UnixMicros();
  if (time_used != nullptr) *time_used = time;
  std::vector<uint8_t> body(wire::kHelloFixedBytes + h.endpoints.size() * wire::kEndpointBytes);
  StoreBe64(body.data(), time);
  StoreBe64(body.data() + 8, h.child_time);
  uint8_t* p = body.data() + wire::kHelloFixedBytes;
  for (const wire::Endpoint& e : h.endpoints) {
    StoreBe16(p, e.port);
    std::memcpy(p + 2, e.addr.data(), 16);
    p += wire::kEndpointBytes;
  }
  body.insert(body.end(), h.extra_body.begin(), h.extra_body.end());

  wire::HeaderFields f;
  f.hop_count = h.hop_count;
  f.network_id = h.network_id ? *h.network_id : opts_.network_id;
  f.recipient = h.recipient ? *h.recipient : opts_.super_peer;
  f.sender = h.sender ? *h.sender : opts_.identity.public_key;
  f.pow = h.pow ? *h.pow : opts_.identity.pow;
  f.type = h.type;
  const bool armed = h.armed.value_or(opts_.armed);
  const SessionKey* tx = nullptr;
  if (armed) tx = h.tx_key ? &*h.tx_key : &keys_.tx;
  std::vector<uint8_t> out(wire::MessageBytes(body.size(), armed));
  size_t n = wire::BuildMessage(f, body.data(), body.size(), tx, nullptr, out.data(), out.size());
  out.resize(n);
  if (h.armed_flag && n > wire::off::kFlags) {
    out[wire::off::kFlags] = *h.armed_flag ? wire::kFlagArmed : 0;
  }
  return out;
}

std::vector<uint8_t> Node::BuildApp(const PublicKey& recipient,
                                    const std::vector<uint8_t>& payload,
                                    const AppOptions& a) const {
  wire::HeaderFields f;
  f.hop_count = a.hop_count;
  f.network_id = a.network_id ? *a.network_id : opts_.network_id;
  f.recipient = recipient;
  f.sender = a.sender ? *a.sender : opts_.identity.public_key;
  f.pow = a.pow ? *a.pow : opts_.identity.pow;
  f.type = a.type;
  std::vector<uint8_t> out(wire::kHeaderBytes + payload.size());
  wire::WriteHeader(f, a.armed_flag.value_or(opts_.armed), out.data());
  if (!payload.empty()) std::memcpy(out.data() + wire::kHeaderBytes, payload.data(), payload.size());
  return out;
}

uint64_t Node::SendHello(const HelloOptions& h) {
  uint64_t time = 0;
  std::vector<uint8_t> msg = BuildHello(h, &time);
  return SendRaw(msg) ? time : 0;
}

bool Node::SendApp(const PublicKey& recipient, const std::vector<uint8_t>& payload,
                   const AppOptions& a) {
  return SendRaw(BuildApp(recipient, payload, a));
}

std::vector<uint8_t> Node::Frame(const std::vector<uint8_t>& msg) {
  std::vector<uint8_t> f(2 + msg.size());
  StoreBe16(f.data(), static_cast<uint16_t>(msg.size()));
  if (!msg.empty()) std::memcpy(f.data() + 2, msg.data(), msg.size());
  return f;
}

bool Node::SendRaw(const uint8_t* data, size_t len) {
  if (opts_.transport == NodeTransport::kTcp) {
    if (len > 0xffff) return false;
    std::vector<uint8_t> f(2 + len);
    StoreBe16(f.data(), static_cast<uint16_t>(len));
    if (len) std::memcpy(f.data() + 2, data, len);
    return SendStream(f);
  }
  return SendRawTo(opts_.server, data, len);
}

bool Node::SendRawTo(const SocketAddress& to, const uint8_t* data, size_t len) {
  if (opts_.transport != NodeTransport::kUdp || fd_ < 0) return false;
  sockaddr_storage ss;
  socklen_t sl = to.ToSockaddr(&ss);
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(2);
  while (true) {
    ssize_t r = ::sendto(fd_, data, len, 0, reinterpret_cast<sockaddr*>(&ss), sl);
    if (r == static_cast<ssize_t>(len)) return true;
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && Clock::now() < deadline) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 10);
      continue;
    }
    return false;
  }
}

bool Node::SendStream(const uint8_t* data, size_t len) {
  if (opts_.transport != NodeTransport::kTcp || fd_ < 0) return false;
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(5);
  size_t off = 0;
  while (off < len) {
    ssize_t r = ::send(fd_, data + off, len - off, MSG_NOSIGNAL);
    if (r > 0) {
      off += static_cast<size_t>(r);
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Clock::now() >= deadline) return false;
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, RemainingMs(deadline));
      continue;
    }
    return false;  // EPIPE, ECONNRESET, ...
  }
  return true;
}

bool Node::WaitReadable(Clock::time_point deadline) {
  while (true) {
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, RemainingMs(deadline));
    if (r > 0) return true;
    if (r < 0 && errno == EINTR) continue;
    return false;
  }
}

std::optional<std::vector<uint8_t>> Node::PopFrame() {
  if (stream_in_.size() < 2) return std::nullopt;
  const size_t len = LoadBe16(stream_in_.data());
  if (stream_in_.size() < 2 + len) return std::nullopt;
  std::vector<uint8_t> frame(stream_in_.begin() + 2, stream_in_.begin() + 2 + len);
  stream_in_.erase(stream_in_.begin(), stream_in_.begin() + 2 + len);
  return frame;
}

std::optional<std::vector<uint8_t>> Node::ReceiveRaw(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return std::nullopt;
  const Clock::time_point deadline = Clock::now() + timeout;
  static thread_local std::vector<uint8_t> buf(1 << 17);
  if (opts_.transport == NodeTransport::kUdp) {
    while (true) {
      ssize_t r = ::recv(fd_, buf.data(), buf.size(), 0);
      if (r >= 0) return std::vector<uint8_t>(buf.begin(), buf.begin() + r);
      if (errno == EINTR) continue;
      // ICMP errors of earlier sends (port unreachable, ...): ignore, go on.
      if (errno == ECONNREFUSED || errno == EHOSTUNREACH || errno == ENETUNREACH) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) return std::nullopt;
      if (!WaitReadable(deadline)) return std::nullopt;
    }
  }
  while (true) {
    if (auto f = PopFrame()) return f;
    if (closed_) return std::nullopt;
    ssize_t r = ::recv(fd_, buf.data(), buf.size(), 0);
    if (r > 0) {
      stream_in_.insert(stream_in_.end(), buf.begin(), buf.begin() + r);
      continue;
    }
    if (r == 0) {
      closed_ = true;
      continue;  // return what is complete first
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      closed_ = true;
      continue;
    }
    if (!WaitReadable(deadline)) return std::nullopt;
  }
}

ReceivedMessage Node::Parse(std::vector<uint8_t> raw) const {
  ReceivedMessage m;
  m.raw = std::move(raw);
  wire::Header h;
  if (wire::ParseHeader(m.raw.data(), m.raw.size(), &h) != wire::Error::kOk) return m;
  m.valid = true;
  m.hop_count = h.hop_count;
  m.flags = h.flags;
  m.network_id = h.network_id;
  m.recipient = wire::KeyAt(h.recipient);
  m.sender = wire::KeyAt(h.sender);
  m.pow = h.pow;
  m.type = h.type;
  m.body.assign(m.raw.begin() + wire::kHeaderBytes, m.raw.end());
  if (m.sender != opts_.super_peer) return m;  // APP from a peer: opaque
  if (h.armed()) {
    std::vector<uint8_t> copy = m.raw;
    uint8_t* body = nullptr;
    size_t body_len = 0;
    if (wire::Disarm(copy.data(), copy.size(), keys_.rx, &body, &body_len) != wire::Error::kOk) {
      m.disarm_failed = true;
      return m;
    }
    m.body.assign(body, body + body_len);
  }
  if (m.type == wire::MessageType::kAck) {
    wire::AckBody ack;
    if (wire::ParseAckBody(m.body.data(), m.body.size(), &ack) == wire::Error::kOk) m.ack = ack;
  } else if (m.type == wire::MessageType::kUnite) {
    wire::UniteBody unite;
    if (wire::ParseUniteBody(m.body.data(), m.body.size(), &unite) == wire::Error::kOk) {
      m.unite = unite;
    }
  }
  return m;
}

std::optional<ReceivedMessage> Node::Receive(std::chrono::milliseconds timeout) {
  std::optional<std::vector<uint8_t>> raw = ReceiveRaw(timeout);
  if (!raw) return std::nullopt;
  return Parse(std::move(*raw));
}

std::optional<ReceivedMessage> Node::ReceiveType(wire::MessageType type,
                                                 std::chrono::milliseconds timeout,
                                                 std::vector<ReceivedMessage>* skipped) {
  const Clock::time_point deadline = Clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() < 0) left = std::chrono::milliseconds(0);
    std::optional<ReceivedMessage> m = Receive(left);
    if (!m) return std::nullopt;
    if (m->valid && m->type == type) return m;
    if (skipped != nullptr) skipped->push_back(std::move(*m));
  }
}

std::vector<ReceivedMessage> Node::Drain(std::chrono::milliseconds window) {
  std::vector<ReceivedMessage> out;
  const Clock::time_point deadline = Clock::now() + window;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    std::optional<ReceivedMessage> m = Receive(left);
    if (!m) {
      if (closed_) break;
      continue;
    }
    out.push_back(std::move(*m));
  }
  return out;
}

bool Node::Register(std::chrono::milliseconds timeout, const HelloOptions& h) {
  // Like a real node, repeat the HELLO until an ACK for one of them arrives:
  // one lost datagram on a loaded machine must not fail a test.
  constexpr auto kResend = std::chrono::milliseconds(500);
  std::vector<uint64_t> sent;
  const Clock::time_point deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    HelloOptions once = h;
    if (h.time && !sent.empty()) once.time = *h.time + sent.size();  // distinct times
    const uint64_t time = SendHello(once);
    if (time == 0) return false;
    sent.push_back(time);
    const Clock::time_point resend = std::min(deadline, Clock::now() + kResend);
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(resend - Clock::now());
      if (left.count() <= 0) break;
      std::optional<ReceivedMessage> m = ReceiveType(wire::MessageType::kAck, left);
      if (!m) break;
      if (m->ack && std::find(sent.begin(), sent.end(), m->ack->time) != sent.end()) return true;
    }
  }
  return false;
}

bool Node::WaitClosed(std::chrono::milliseconds timeout) {
  if (opts_.transport != NodeTransport::kTcp) return false;
  const Clock::time_point deadline = Clock::now() + timeout;
  while (!closed_) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return false;
    ReceiveRaw(left);
  }
  return true;
}

namespace {

std::string PayloadPrefix(const std::vector<uint8_t>& p) {
  std::string hex = HexEncode(p);
  return hex.size() > 24 ? hex.substr(0, 24) + ".." : hex;
}

std::chrono::milliseconds Left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() > 0 ? left : std::chrono::milliseconds(0);
}

}  // namespace

::testing::AssertionResult OnlyAppArrives(Node& node, const std::vector<uint8_t>& control,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds quiet) {
  std::optional<ReceivedMessage> m = node.ReceiveType(wire::MessageType::kApp, timeout);
  if (!m) {
    return ::testing::AssertionFailure()
           << "the control APP (payload " << PayloadPrefix(control) << ") did not arrive within "
           << timeout.count() << " ms: the check is not meaningful";
  }
  if (m->payload() != control) {
    return ::testing::AssertionFailure()
           << "an APP that must have been dropped arrived before the control: "
           << DescribeMessage(*m) << " payload " << PayloadPrefix(m->payload());
  }
  const Clock::time_point deadline = Clock::now() + quiet;
  while (true) {
    std::optional<ReceivedMessage> x = node.ReceiveType(wire::MessageType::kApp, Left(deadline));
    if (!x) break;
    return ::testing::AssertionFailure()
           << "an APP that must have been dropped arrived after the control: "
           << DescribeMessage(*x) << " payload " << PayloadPrefix(x->payload());
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult OnlyAckArrives(Node& node, uint64_t time,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds quiet) {
  std::optional<ReceivedMessage> m = node.ReceiveType(wire::MessageType::kAck, timeout);
  if (!m) {
    return ::testing::AssertionFailure() << "the control ACK (time " << time
                                         << ") did not arrive within " << timeout.count()
                                         << " ms: the check is not meaningful";
  }
  if (!m->ack || m->ack->time != time) {
    return ::testing::AssertionFailure()
           << "an ACK for a HELLO that must have been dropped arrived before the control: "
           << DescribeMessage(*m);
  }
  const Clock::time_point deadline = Clock::now() + quiet;
  std::optional<ReceivedMessage> x = node.ReceiveType(wire::MessageType::kAck, Left(deadline));
  if (x) {
    return ::testing::AssertionFailure()
           << "an ACK for a HELLO that must have been dropped arrived after the control: "
           << DescribeMessage(*x);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult NoMessageOfType(Node& node, wire::MessageType type,
                                           std::chrono::milliseconds window) {
  std::optional<ReceivedMessage> m = node.ReceiveType(type, window);
  if (m) {
    return ::testing::AssertionFailure()
           << "unexpected " << wire::MessageTypeName(type) << ": " << DescribeMessage(*m);
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult AppArrives(Node& node, const std::vector<uint8_t>& payload,
                                      std::chrono::milliseconds timeout, ReceivedMessage* out) {
  const Clock::time_point deadline = Clock::now() + timeout;
  std::vector<std::string> seen;
  while (true) {
    std::optional<ReceivedMessage> m = node.ReceiveType(wire::MessageType::kApp, Left(deadline));
    if (!m) break;
    if (m->payload() == payload) {
      if (out != nullptr) *out = std::move(*m);
      return ::testing::AssertionSuccess();
    }
    seen.push_back(DescribeMessage(*m));
  }
  ::testing::AssertionResult r = ::testing::AssertionFailure();
  r << "APP with payload " << PayloadPrefix(payload) << " did not arrive within "
    << timeout.count() << " ms";
  for (const std::string& s : seen) r << "\n  other APP: " << s;
  return r;
}

}  // namespace drasyl::testing
