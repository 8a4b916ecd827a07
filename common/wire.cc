#include "common/wire.h"

#include <sodium.h>

#include <algorithm>

#include "common/aegis256x2.h"

namespace drasyl::wire {

const char* MessageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kAck: return "ACK";
    case MessageType::kApp: return "APP";
    case MessageType::kHello: return "HELLO";
    case MessageType::kUnite: return "UNITE";
  }
  return "INVALID";
}

Endpoint Endpoint::From(const SocketAddress& a) {
  Endpoint e;
  e.port = a.port();
  e.addr = a.MappedV6();
  return e;
}

SocketAddress Endpoint::ToSocketAddress() const {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::memcmp(addr.data(), kMappedPrefix, sizeof(kMappedPrefix)) == 0) {
    return SocketAddress::V4(LoadBe32(addr.data() + 12), port);
  }
  return SocketAddress::V6(addr.data(), port);
}

Error ParseEndpoints(const uint8_t* data, size_t len, EndpointList* out) {
  out->size = 0;
  if (len % kEndpointBytes != 0) return Error::kEndpointsMisaligned;
  for (size_t pos = 0; pos < len; pos += kEndpointBytes) {
    Endpoint e;
    e.port = LoadBe16(data + pos);
    if (e.port == 0) continue;  // placeholder entries are skipped, not errors
    std::memcpy(e.addr.data(), data + pos + 2, 16);
    if (!out->push_back(e)) return Error::kTooManyEndpoints;
  }
  return Error::kOk;
}

size_t WriteEndpoints(const EndpointList& list, uint8_t* out) {
  uint8_t* p = out;
  for (const Endpoint& e : list) {
    StoreBe16(p, e.port);
    std::memcpy(p + 2, e.addr.data(), 16);
    p += kEndpointBytes;
  }
  return p - out;
}

Error ParseHelloBody(const uint8_t* body, size_t len, HelloBody* out) {
  if (len < kHelloFixedBytes) return Error::kHelloTooShort;
  len = std::min(len, kMaxHelloBodyBytes);  // longer lists are truncated, not rejected
  out->time = LoadBe64(body);
  out->child_time = LoadBe64(body + 8);
  if (out->child_time == 0) return Error::kHelloZeroChildTime;
  return ParseEndpoints(body + kHelloFixedBytes, len - kHelloFixedBytes, &out->endpoints);
}

size_t HelloBodyBytes(const HelloBody& hello) {
  return kHelloFixedBytes + hello.endpoints.size * kEndpointBytes;
}

size_t WriteHelloBody(const HelloBody& hello, uint8_t* out) {
  StoreBe64(out, hello.time);
  StoreBe64(out + 8, hello.child_time);
  return kHelloFixedBytes + WriteEndpoints(hello.endpoints, out + kHelloFixedBytes);
}

Error ParseAckBody(const uint8_t* body, size_t len, AckBody* out) {
  if (len != kAckBodyBytes) return Error::kAckBadLength;
  out->time = LoadBe64(body);
  return Error::kOk;
}

size_t WriteAckBody(const AckBody& ack, uint8_t* out) {
  StoreBe64(out, ack.time);
  return kAckBodyBytes;
}

Error ParseUniteBody(const uint8_t* body, size_t len, UniteBody* out) {
  if (len < kUniteFixedBytes) return Error::kUniteTooShort;
  std::memcpy(out->address.data(), body, kPublicKeyBytes);
  return ParseEndpoints(body + kUniteFixedBytes, len - kUniteFixedBytes, &out->endpoints);
}

size_t UniteBodyBytes(const UniteBody& unite) {
  return kUniteFixedBytes + unite.endpoints.size * kEndpointBytes;
}

size_t WriteUniteBody(const UniteBody& unite, uint8_t* out) {
  std::memcpy(out, unite.address.data(), kPublicKeyBytes);
  return kUniteFixedBytes + WriteEndpoints(unite.endpoints, out + kUniteFixedBytes);
}

void WriteHeader(const HeaderFields& h, bool armed, uint8_t* out) {
  StoreBe32(out + off::kMagic, kMagic);
  out[off::kHopCount] = h.hop_count;
  out[off::kFlags] = armed ? kFlagArmed : 0;
  StoreBe32(out + off::kNetworkId, static_cast<uint32_t>(h.network_id));
  std::memcpy(out + off::kRecipient, h.recipient.data(), kPublicKeyBytes);
  std::memcpy(out + off::kSender, h.sender.data(), kPublicKeyBytes);
  StoreBe32(out + off::kPow, static_cast<uint32_t>(h.pow));
  out[off::kType] = static_cast<uint8_t>(h.type);
}

size_t BuildMessage(const HeaderFields& h, const uint8_t* body, size_t body_len,
                    const SessionKey* tx, const uint8_t* random, uint8_t* out, size_t cap) {
  const bool armed = tx != nullptr;
  const size_t total = MessageBytes(body_len, armed);
  if (cap < total) return 0;
  WriteHeader(h, armed, out);
  uint8_t* p = out + kHeaderBytes;
  if (!armed) {
    if (body_len != 0) std::memmove(p, body, body_len);  // body may be null when empty
    return total;
  }
  // Interop: the reference passes the random bytes as AEGIS's key and the
  // session key as its nonce (docs/protocol.md §3). We do the same.
  uint8_t* key = p;
  if (random != nullptr) {
    std::memmove(key, random, kArmRandomBytes);
  } else {
    randombytes_buf(key, kArmRandomBytes);
  }
  uint8_t* tag = p + kArmRandomBytes;
  uint8_t* ciphertext = tag + kArmTagBytes;
  aegis::Encrypt(key, tx->data(), out + off::kAdBegin, off::kAdBytes, body, body_len, ciphertext,
                 tag);
  return total;
}

Error Disarm(uint8_t* msg, size_t len, const SessionKey& rx, uint8_t** body, size_t* body_len) {
  if (len < kHeaderBytes + kArmOverhead) return Error::kArmedTooShort;
  const uint8_t* key = msg + kHeaderBytes;
  const uint8_t* tag = key + kArmRandomBytes;
  uint8_t* ciphertext = msg + kHeaderBytes + kArmOverhead;
  const size_t clen = len - kHeaderBytes - kArmOverhead;
  if (!aegis::Decrypt(key, rx.data(), msg + off::kAdBegin, off::kAdBytes, ciphertext, clen, tag,
                      ciphertext)) {
    return Error::kBadTag;
  }
  *body = ciphertext;
  *body_len = clen;
  return Error::kOk;
}

}  // namespace drasyl::wire
