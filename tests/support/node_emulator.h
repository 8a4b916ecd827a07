// A drasyl / Netsody node for tests, load generators and testbeds, built on
// common/: an identity, session keys with one super peer, and one real
// transport (a UDP socket on a loopback address, or a TCP connection with the
// 2-byte big-endian length framing of docs/protocol.md §6).
//
// The node builds HELLO / APP messages with every field overridable (to test
// the super peer's drop rules), sends raw bytes, and parses what it receives:
// the long header, and for messages from the super peer the disarmed body
// (ACK, UNITE). APP bodies are opaque.
//
// Not thread-safe; one node per thread.
#ifndef DRASYL_TESTS_SUPPORT_NODE_EMULATOR_H_
#define DRASYL_TESTS_SUPPORT_NODE_EMULATOR_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "common/identity.h"
#include "common/session_keys.h"
#include "common/socket_address.h"
#include "common/types.h"
#include "common/wire.h"

namespace drasyl::testing {

// ---------------------------------------------------------------------------
// Identities.

// The fixed identities of docs/protocol.md §1 / messages.json (pow valid at 24).
// A is meant for the super peer, B and C for nodes.
const Identity& IdentityA();
const Identity& IdentityB();
const Identity& IdentityC();

// Their secret keys (hex, as in an identity file) and pows.
inline constexpr char kSkA[] =
    "23ed710af14dce67a77f0d43e5bd470635813261a375ce01cb9c2bbcd7e632867f588b40e13c8758838062865bb9d8"
    "33d869d3d3d8516b9199c58b4405a36e65";
inline constexpr int32_t kPowA = -2144630954;
inline constexpr char kSkB[] =
    "15bde950a6f5adffe9cf94abdb3b6d2383a1ca681934e0703ac8ee2979c2384d77a27c8b2af5a4584c4398ad5e9820"
    "4cf29bc572fa7abf436af9103d1c53d63a";
inline constexpr int32_t kPowB = -2116633556;
inline constexpr char kSkC[] =
    "ab01a4acbbbed8cd0f37c1f78d5b92008068de0014423f2fa2aeea4d4e75ecc03dcd2f00ef93aa9552280ea3a46986"
    "d28b06751bbee4eec66c9b157bd7909068";
inline constexpr int32_t kPowC = -2131760488;

// A fresh identity whose pow is valid for `difficulty` (keep it low, e.g. 8,
// and start the super peer with MIN_POW_DIFFICULTY at most that). Aborts the
// test binary on failure (never happens for sane difficulties).
Identity GenerateTestIdentity(int difficulty = 8);

// A fresh identity whose pow is NOT valid for `difficulty` (>= 1).
Identity GenerateIdentityWithInvalidPow(int difficulty);

// Lowercase hex of a public key.
std::string KeyHex(const PublicKey& key);
// 64 hex chars to a key; aborts on bad input.
PublicKey KeyFromHex(const std::string& hex);

// ---------------------------------------------------------------------------
// Received messages.

struct ReceivedMessage {
  std::vector<uint8_t> raw;  // exactly as received (the TCP frame without its length)
  // False when raw is not a long-header message (too short, bad magic or
  // type); then only raw is set.
  bool valid = false;
  uint8_t hop_count = 0;
  uint8_t flags = 0;
  int32_t network_id = 0;
  PublicKey recipient{};
  PublicKey sender{};
  int32_t pow = 0;
  wire::MessageType type = wire::MessageType::kApp;

  // The body: disarmed for armed messages from the super peer (when the
  // disarming worked), else the bytes after the header as they are.
  std::vector<uint8_t> body;
  // Armed message from the super peer whose tag did not verify.
  bool disarm_failed = false;
  // Parsed bodies of messages from the super peer (set when they parse).
  std::optional<wire::AckBody> ack;
  std::optional<wire::UniteBody> unite;

  bool armed() const { return (flags & wire::kFlagArmed) != 0; }
  // The bytes after the 79-byte header (an APP's opaque payload).
  std::vector<uint8_t> payload() const {
    return raw.size() > wire::kHeaderBytes
               ? std::vector<uint8_t>(raw.begin() + wire::kHeaderBytes, raw.end())
               : std::vector<uint8_t>();
  }
  // The UNITE's endpoints as socket addresses.
  std::vector<SocketAddress> unite_endpoints() const;
};

std::string DescribeMessage(const ReceivedMessage& m);

// ---------------------------------------------------------------------------
// The node.

enum class NodeTransport { kUdp, kTcp };

struct NodeOptions {
  Identity identity;
  // The super peer: its public key and where to reach it. For UDP the local
  // socket has the family of `server` and is bound to its loopback address
  // (127.0.0.1 or ::1) with an ephemeral port, unless `bind` is set.
  PublicKey super_peer{};
  SocketAddress server;
  NodeTransport transport = NodeTransport::kUdp;
  std::optional<SocketAddress> bind;
  int32_t network_id = 1;
  // Arm HELLOs (the super peer's ARM_MESSAGES) and disarm its messages.
  bool armed = true;
  // Socket buffer sizes for load generators (0: system default).
  int socket_buffer_bytes = 0;
};

struct HelloOptions {
  // Endpoints written into the HELLO body (port 0 entries are written too).
  std::vector<wire::Endpoint> endpoints;
  // Overrides; unset = the node's value.
  std::optional<uint64_t> time;      // default: UnixMicros() now
  uint64_t child_time = 1;
  std::optional<bool> armed;         // arm the body (and set the flag)
  std::optional<bool> armed_flag;    // header flag only (lie about the body)
  std::optional<int32_t> network_id;
  std::optional<int32_t> pow;
  std::optional<PublicKey> recipient;  // default: the super peer
  std::optional<PublicKey> sender;     // default: the node
  std::optional<SessionKey> tx_key;    // arm with this key instead
  uint8_t hop_count = 0;
  wire::MessageType type = wire::MessageType::kHello;
  // Raw bytes appended after the endpoints (e.g. a misaligned tail).
  std::vector<uint8_t> extra_body;
};

struct AppOptions {
  uint8_t hop_count = 0;
  std::optional<int32_t> network_id;
  std::optional<int32_t> pow;
  std::optional<PublicKey> sender;
  // Header flag (APP payloads are opaque to the super peer); default: the
  // node's arming mode.
  std::optional<bool> armed_flag;
  wire::MessageType type = wire::MessageType::kApp;
};

class Node {
 public:
  // Opens the socket (UDP) or connects (TCP, blocking connect with a 5 s
  // timeout) and derives the session keys with the super peer.
  static absl::StatusOr<std::unique_ptr<Node>> Create(const NodeOptions& options);
  ~Node();

  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const Identity& identity() const { return opts_.identity; }
  const PublicKey& public_key() const { return opts_.identity.public_key; }
  const SessionKeys& keys() const { return keys_; }
  const NodeOptions& options() const { return opts_; }
  NodeTransport transport() const { return opts_.transport; }
  // The local address of the socket (what the super peer observes as the
  // source on loopback).
  SocketAddress local_address() const { return local_; }
  // This node's observed endpoint in wire form.
  wire::Endpoint local_endpoint() const { return wire::Endpoint::From(local_); }
  int fd() const { return fd_; }

  // Message builders (no I/O).
  std::vector<uint8_t> BuildHello(const HelloOptions& h, uint64_t* time_used = nullptr) const;
  std::vector<uint8_t> BuildApp(const PublicKey& recipient, const std::vector<uint8_t>& payload,
                                const AppOptions& a = {}) const;

  // Sends a HELLO; returns the time it carries (0 on a send error).
  uint64_t SendHello(const HelloOptions& h = {});
  bool SendApp(const PublicKey& recipient, const std::vector<uint8_t>& payload,
               const AppOptions& a = {});
  bool SendApp(const PublicKey& recipient, const std::vector<uint8_t>& payload,
               uint8_t hop_count) {
    AppOptions a;
    a.hop_count = hop_count;
    return SendApp(recipient, payload, a);
  }
  // One message: a datagram (UDP) or a framed message (TCP).
  bool SendRaw(const uint8_t* data, size_t len);
  bool SendRaw(const std::vector<uint8_t>& data) { return SendRaw(data.data(), data.size()); }
  // UDP: a datagram to any address. TCP: fails.
  bool SendRawTo(const SocketAddress& to, const uint8_t* data, size_t len);
  // TCP: stream bytes as they are (no framing), for partial/merged frames and
  // garbage. UDP: fails.
  bool SendStream(const uint8_t* data, size_t len);
  bool SendStream(const std::vector<uint8_t>& data) { return SendStream(data.data(), data.size()); }
  // Frames a message for the TCP stream: length u16 BE || msg.
  static std::vector<uint8_t> Frame(const std::vector<uint8_t>& msg);

  // Next message within `timeout`, nullopt when none (or the TCP connection
  // closed: see closed()). Anything that is not a long-header message comes
  // back with valid == false.
  std::optional<ReceivedMessage> Receive(std::chrono::milliseconds timeout);
  // Next message of `type` within `timeout`; others are skipped (and kept in
  // `skipped` when given).
  std::optional<ReceivedMessage> ReceiveType(wire::MessageType type,
                                             std::chrono::milliseconds timeout,
                                             std::vector<ReceivedMessage>* skipped = nullptr);
  // Next raw datagram / frame within `timeout`.
  std::optional<std::vector<uint8_t>> ReceiveRaw(std::chrono::milliseconds timeout);
  // Everything that arrives within `window` (waits the whole window).
  std::vector<ReceivedMessage> Drain(std::chrono::milliseconds window);

  // HELLO and wait for the ACK echoing its time (other messages are skipped).
  // True when it arrived within `timeout`.
  bool Register(std::chrono::milliseconds timeout = std::chrono::milliseconds(2000),
                const HelloOptions& h = {});

  // TCP: whether the super peer closed the connection (EOF or reset seen).
  bool closed() const { return closed_; }
  // TCP: reads (and discards) until the connection closes; true when it
  // closed within `timeout`.
  bool WaitClosed(std::chrono::milliseconds timeout);
  // TCP: closes our side.
  void Close();

 private:
  explicit Node(const NodeOptions& options) : opts_(options) {}
  absl::Status Init();
  // Waits for the fd to be readable; false on timeout.
  bool WaitReadable(std::chrono::steady_clock::time_point deadline);
  // TCP: a complete frame from the buffer, if any.
  std::optional<std::vector<uint8_t>> PopFrame();
  ReceivedMessage Parse(std::vector<uint8_t> raw) const;

  NodeOptions opts_;
  SessionKeys keys_{};
  int fd_ = -1;
  SocketAddress local_;
  bool closed_ = false;
  std::vector<uint8_t> stream_in_;  // TCP receive buffer
};

// Convenience: NodeOptions for a UDP/TCP node talking to the super peer.
NodeOptions UdpNodeOptions(const Identity& id, const PublicKey& super_peer,
                           const SocketAddress& server, bool armed = true, int32_t network_id = 1);
NodeOptions TcpNodeOptions(const Identity& id, const PublicKey& super_peer,
                           const SocketAddress& server, bool armed = true, int32_t network_id = 1);

// Random bytes (libsodium).
std::vector<uint8_t> RandomBytes(size_t n);

// ---------------------------------------------------------------------------
// Assertions for "is delivered" / "is not delivered" with a positive control.
// A negative is only meaningful when something sent after it does arrive:
// send the message that must be dropped, then a control that must arrive,
// and check that the control is the only one.

// The next APP at `node` carries `control` (any APP before it fails), and no
// further APP arrives within `quiet` after it. Non-APP messages are ignored.
::testing::AssertionResult OnlyAppArrives(Node& node, const std::vector<uint8_t>& control,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds quiet);
// The next ACK at `node` echoes `time`, and no other ACK arrives within
// `quiet` after it.
::testing::AssertionResult OnlyAckArrives(Node& node, uint64_t time,
                                          std::chrono::milliseconds timeout,
                                          std::chrono::milliseconds quiet);
// No message of `type` arrives within `window` (others are ignored).
::testing::AssertionResult NoMessageOfType(Node& node, wire::MessageType type,
                                           std::chrono::milliseconds window);
// An APP with exactly `payload` arrives within `timeout` (other messages are
// skipped); it is returned through *out when given.
::testing::AssertionResult AppArrives(Node& node, const std::vector<uint8_t>& payload,
                                      std::chrono::milliseconds timeout,
                                      ReceivedMessage* out = nullptr);

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_NODE_EMULATOR_H_
