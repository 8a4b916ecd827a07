// Wire codec of the drasyl / Netsody protocol (docs/protocol.md §2–§4).
// Parsing works in place on the caller's buffer and never allocates; every
// malformed input yields a precise Error (which doubles as a drop reason).
// Building writes into a caller's buffer.
#ifndef DRASYL_COMMON_WIRE_H_
#define DRASYL_COMMON_WIRE_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "common/byte_order.h"
#include "common/socket_address.h"
#include "common/types.h"

namespace drasyl::wire {

inline constexpr uint32_t kMagic = 22527u * 22527u;  // 507465729 = 1e 3f 50 01
inline constexpr size_t kHeaderBytes = 79;
inline constexpr uint8_t kFlagArmed = 0x10;
inline constexpr uint8_t kMaxHopCount = 7;
// Armed body = random(32) || tag(16) || ciphertext.
inline constexpr size_t kArmRandomBytes = 32;
inline constexpr size_t kArmTagBytes = 16;
inline constexpr size_t kArmOverhead = kArmRandomBytes + kArmTagBytes;
inline constexpr size_t kEndpointBytes = 18;
inline constexpr size_t kHelloFixedBytes = 16;
inline constexpr size_t kMaxHelloEndpoints = 15;
inline constexpr size_t kMaxHelloBodyBytes = kHelloFixedBytes + kMaxHelloEndpoints * kEndpointBytes;
// A UNITE carries the other peer's HELLO endpoints plus its observed source.
inline constexpr size_t kMaxEndpoints = kMaxHelloEndpoints + 1;
inline constexpr size_t kAckBodyBytes = 8;
inline constexpr size_t kUniteFixedBytes = kPublicKeyBytes;

// Byte offsets inside the long header.
namespace off {
inline constexpr size_t kMagic = 0;
inline constexpr size_t kHopCount = 4;
inline constexpr size_t kFlags = 5;
inline constexpr size_t kNetworkId = 6;
inline constexpr size_t kRecipient = 10;
inline constexpr size_t kSender = 42;
inline constexpr size_t kPow = 74;
inline constexpr size_t kType = 78;
// Associated data of an armed message: flags through type. Magic and hop
// count are not authenticated, so a relay can bump the hop count.
inline constexpr size_t kAdBegin = kFlags;
inline constexpr size_t kAdBytes = kHeaderBytes - kAdBegin;
}  // namespace off

enum class MessageType : uint8_t { kAck = 0, kApp = 1, kHello = 2, kUnite = 3 };
const char* MessageTypeName(MessageType type);

enum class Error : uint8_t {
  kOk = 0,
  kTooShort,             // shorter than the 79-byte long header
  kBadMagic,             // not our magic (also every short-header datagram)
  kBadType,              // message type > 3
  kArmedTooShort,        // armed body shorter than random + tag
  kBadTag,               // authentication failed
  kHelloTooShort,        // HELLO body shorter than time + child_time
  kHelloZeroChildTime,   // child_time must be non-zero
  kEndpointsMisaligned,  // endpoint list not a multiple of 18 bytes
  kTooManyEndpoints,     // more endpoints than a list can carry
  kAckBadLength,         // ACK body not exactly 8 bytes
  kUniteTooShort,        // UNITE body shorter than a public key
  kBufferTooSmall,       // output buffer cannot hold the message
  kCount,
};

// A parsed long header; key pointers point into the parsed buffer.
struct Header {
  uint8_t hop_count;
  uint8_t flags;
  int32_t network_id;
  const uint8_t* recipient;  // 32 bytes
  const uint8_t* sender;     // 32 bytes
  int32_t pow;
  MessageType type;

  bool armed() const { return (flags & kFlagArmed) != 0; }
};

// Validates length, magic and type and fills *out. Cheap enough per packet.
inline Error ParseHeader(const uint8_t* data, size_t len, Header* out) {
  if (len < kHeaderBytes) return Error::kTooShort;
  if (LoadBe32(data + off::kMagic) != kMagic) return Error::kBadMagic;
  const uint8_t type = data[off::kType];
  if (type > static_cast<uint8_t>(MessageType::kUnite)) return Error::kBadType;
  out->hop_count = data[off::kHopCount];
  out->flags = data[off::kFlags];
  out->network_id = static_cast<int32_t>(LoadBe32(data + off::kNetworkId));
  out->recipient = data + off::kRecipient;
  out->sender = data + off::kSender;
  out->pow = static_cast<int32_t>(LoadBe32(data + off::kPow));
  out->type = static_cast<MessageType>(type);
  return Error::kOk;
}

inline PublicKey KeyAt(const uint8_t* p) {
  PublicKey k;
  std::memcpy(k.data(), p, k.size());
  return k;
}

// One contact candidate: port || IPv6 address (IPv4 as IPv4-mapped).
struct Endpoint {
  uint16_t port = 0;
  std::array<uint8_t, 16> addr{};

  static Endpoint From(const SocketAddress& a);
  // IPv4-mapped addresses become IPv4.
  SocketAddress ToSocketAddress() const;
  friend bool operator==(const Endpoint& a, const Endpoint& b) {
    return a.port == b.port && a.addr == b.addr;
  }
};

// Fixed-capacity endpoint list (no allocation).
struct EndpointList {
  std::array<Endpoint, kMaxEndpoints> items{};
  uint8_t size = 0;

  bool push_back(const Endpoint& e) {
    if (size >= items.size()) return false;
    items[size++] = e;
    return true;
  }
  const Endpoint* begin() const { return items.data(); }
  const Endpoint* end() const { return items.data() + size; }
};

// Reads `len` bytes of 18-byte endpoints, skipping port-0 entries.
Error ParseEndpoints(const uint8_t* data, size_t len, EndpointList* out);
// Writes the list; returns bytes written (size * 18).
size_t WriteEndpoints(const EndpointList& list, uint8_t* out);

struct HelloBody {
  uint64_t time = 0;        // sender clock, µs since the Unix epoch
  uint64_t child_time = 0;  // non-zero; nodes send 1
  EndpointList endpoints;
};
// The super-peer HELLO: at most the first kMaxHelloBodyBytes are read.
Error ParseHelloBody(const uint8_t* body, size_t len, HelloBody* out);
size_t HelloBodyBytes(const HelloBody& hello);
size_t WriteHelloBody(const HelloBody& hello, uint8_t* out);

struct AckBody {
  uint64_t time = 0;
};
Error ParseAckBody(const uint8_t* body, size_t len, AckBody* out);
size_t WriteAckBody(const AckBody& ack, uint8_t* out);

struct UniteBody {
  PublicKey address{};  // the other peer
  EndpointList endpoints;
};
Error ParseUniteBody(const uint8_t* body, size_t len, UniteBody* out);
size_t UniteBodyBytes(const UniteBody& unite);
size_t WriteUniteBody(const UniteBody& unite, uint8_t* out);

// Header fields of a message to build.
struct HeaderFields {
  uint8_t hop_count = 0;
  int32_t network_id = 1;
  PublicKey recipient{};
  PublicKey sender{};
  int32_t pow = 0;
  MessageType type = MessageType::kApp;
};

inline size_t MessageBytes(size_t body_len, bool armed) {
  return kHeaderBytes + body_len + (armed ? kArmOverhead : 0);
}

// Writes the long header.
void WriteHeader(const HeaderFields& h, bool armed, uint8_t* out);

// Writes header + body into out. With tx, the body is armed with it; the
// 32 random bytes come from `random` (fixed in tests) or libsodium when null.
// Returns the message length, or 0 when cap is too small.
size_t BuildMessage(const HeaderFields& h, const uint8_t* body, size_t body_len,
                    const SessionKey* tx, const uint8_t* random, uint8_t* out, size_t cap);

// Decrypts an armed message in place with rx. On success *body points at
// the plaintext inside msg. Does not check the armed flag.
Error Disarm(uint8_t* msg, size_t len, const SessionKey& rx, uint8_t** body, size_t* body_len);

}  // namespace drasyl::wire

#endif  // DRASYL_COMMON_WIRE_H_
