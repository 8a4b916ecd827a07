// libFuzzer target: the wire parsers (common/wire.h) over arbitrary bytes.
// The header parser runs on the whole input; every body parser runs on the
// bytes after the header and on the raw input. Besides not crashing (ASan /
// UBSan), each parser is compared with an independent model of docs/protocol.md
// §2/§4 and its output is re-serialized and re-parsed; any disagreement traps.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "common/byte_order.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace drasyl;        // NOLINT
using namespace drasyl::wire;  // NOLINT

bool SameList(const EndpointList& a, const EndpointList& b) {
  if (a.size != b.size) return false;
  for (size_t i = 0; i < a.size; ++i) {
    if (!(a.items[i] == b.items[i])) return false;
  }
  return true;
}

// Model of an endpoint list: the expected error and the kept entries.
Error ModelEndpoints(const uint8_t* data, size_t len, EndpointList* out) {
  out->size = 0;
  if (len % kEndpointBytes != 0) return Error::kEndpointsMisaligned;
  size_t kept = 0;
  for (size_t i = 0; i < len / kEndpointBytes; ++i) {
    const uint8_t* p = data + i * kEndpointBytes;
    const uint16_t port = static_cast<uint16_t>((p[0] << 8) | p[1]);
    if (port == 0) continue;
    if (kept == kMaxEndpoints) return Error::kTooManyEndpoints;
    Endpoint& e = out->items[kept++];
    e.port = port;
    std::memcpy(e.addr.data(), p + 2, 16);
    out->size = static_cast<uint8_t>(kept);
  }
  return Error::kOk;
}

void CheckEndpoint(const Endpoint& e) {
  CHECK_OR_TRAP(e.port != 0);
  // Endpoint -> SocketAddress -> Endpoint is the identity (IPv4-mapped folds
  // to IPv4 and maps back to the same 16 bytes).
  const SocketAddress a = e.ToSocketAddress();
  CHECK_OR_TRAP(a.port() == e.port);
  CHECK_OR_TRAP(Endpoint::From(a) == e);
  const bool mapped = std::memcmp(e.addr.data(), "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0;
  CHECK_OR_TRAP(a.is_v4() == mapped);
}

void FuzzEndpoints(const uint8_t* data, size_t len) {
  EndpointList list;
  const Error e = ParseEndpoints(data, len, &list);
  EndpointList model;
  const Error me = ModelEndpoints(data, len, &model);
  CHECK_OR_TRAP(e == me);
  if (e != Error::kOk) return;
  CHECK_OR_TRAP(SameList(list, model));
  for (const Endpoint& ep : list) CheckEndpoint(ep);
  // Re-serialize and re-parse.
  uint8_t buf[kMaxEndpoints * kEndpointBytes];
  const size_t n = WriteEndpoints(list, buf);
  CHECK_OR_TRAP(n == list.size * kEndpointBytes);
  EndpointList again;
  CHECK_OR_TRAP(ParseEndpoints(buf, n, &again) == Error::kOk);
  CHECK_OR_TRAP(SameList(list, again));
}

void FuzzHello(const uint8_t* body, size_t len) {
  HelloBody hello;
  const Error e = ParseHelloBody(body, len, &hello);
  // Model: too short, then child_time, then the (truncated) endpoint list.
  Error expected;
  EndpointList model;
  if (len < kHelloFixedBytes) {
    expected = Error::kHelloTooShort;
  } else if (LoadBe64(body + 8) == 0) {
    expected = Error::kHelloZeroChildTime;
  } else {
    const size_t used = len < kMaxHelloBodyBytes ? len : kMaxHelloBodyBytes;
    expected = ModelEndpoints(body + kHelloFixedBytes, used - kHelloFixedBytes, &model);
    // Truncation to 15 slots means the list can never overflow.
    CHECK_OR_TRAP(expected != Error::kTooManyEndpoints);
  }
  CHECK_OR_TRAP(e == expected);
  if (e != Error::kOk) return;
  CHECK_OR_TRAP(hello.time == LoadBe64(body));
  CHECK_OR_TRAP(hello.child_time == LoadBe64(body + 8) && hello.child_time != 0);
  CHECK_OR_TRAP(hello.endpoints.size <= kMaxHelloEndpoints);
  CHECK_OR_TRAP(SameList(hello.endpoints, model));
  for (const Endpoint& ep : hello.endpoints) CheckEndpoint(ep);

  // Re-serialize (into an exact-size heap buffer) and re-parse.
  const size_t size = HelloBodyBytes(hello);
  CHECK_OR_TRAP(size <= kMaxHelloBodyBytes && size <= len);
  std::vector<uint8_t> buf(size);
  CHECK_OR_TRAP(WriteHelloBody(hello, buf.data()) == size);
  HelloBody again;
  CHECK_OR_TRAP(ParseHelloBody(buf.data(), buf.size(), &again) == Error::kOk);
  CHECK_OR_TRAP(again.time == hello.time && again.child_time == hello.child_time);
  CHECK_OR_TRAP(SameList(again.endpoints, hello.endpoints));
  // Without port-0 entries and trailing bytes, the input prefix is canonical.
  if (hello.endpoints.size * kEndpointBytes + kHelloFixedBytes ==
      (len < kMaxHelloBodyBytes ? len : kMaxHelloBodyBytes)) {
    CHECK_OR_TRAP(std::memcmp(buf.data(), body, size) == 0);
  }
}

void FuzzAck(const uint8_t* body, size_t len) {
  AckBody ack;
  const Error e = ParseAckBody(body, len, &ack);
  CHECK_OR_TRAP(e == (len == kAckBodyBytes ? Error::kOk : Error::kAckBadLength));
  if (e != Error::kOk) return;
  CHECK_OR_TRAP(ack.time == LoadBe64(body));
  uint8_t buf[kAckBodyBytes];
  CHECK_OR_TRAP(WriteAckBody(ack, buf) == kAckBodyBytes);
  CHECK_OR_TRAP(std::memcmp(buf, body, kAckBodyBytes) == 0);
}

void FuzzUnite(const uint8_t* body, size_t len) {
  UniteBody unite;
  const Error e = ParseUniteBody(body, len, &unite);
  Error expected;
  EndpointList model;
  if (len < kUniteFixedBytes) {
    expected = Error::kUniteTooShort;
  } else {
    expected = ModelEndpoints(body + kUniteFixedBytes, len - kUniteFixedBytes, &model);
  }
  CHECK_OR_TRAP(e == expected);
  if (e != Error::kOk) return;
  CHECK_OR_TRAP(std::memcmp(unite.address.data(), body, kPublicKeyBytes) == 0);
  CHECK_OR_TRAP(unite.endpoints.size <= kMaxEndpoints);
  CHECK_OR_TRAP(SameList(unite.endpoints, model));
  for (const Endpoint& ep : unite.endpoints) CheckEndpoint(ep);

  const size_t size = UniteBodyBytes(unite);
  CHECK_OR_TRAP(size <= len);
  std::vector<uint8_t> buf(size);
  CHECK_OR_TRAP(WriteUniteBody(unite, buf.data()) == size);
  UniteBody again;
  CHECK_OR_TRAP(ParseUniteBody(buf.data(), buf.size(), &again) == Error::kOk);
  CHECK_OR_TRAP(again.address == unite.address);
  CHECK_OR_TRAP(SameList(again.endpoints, unite.endpoints));
  if (size == len) CHECK_OR_TRAP(std::memcmp(buf.data(), body, size) == 0);
}

void FuzzBodies(const uint8_t* body, size_t len) {
  FuzzHello(body, len);
  FuzzAck(body, len);
  FuzzUnite(body, len);
  FuzzEndpoints(body, len);
}

void FuzzHeader(const uint8_t* data, size_t size) {
  Header h;
  const Error e = ParseHeader(data, size, &h);
  Error expected = Error::kOk;
  if (size < kHeaderBytes) {
    expected = Error::kTooShort;
  } else if (!(data[0] == 0x1e && data[1] == 0x3f && data[2] == 0x50 && data[3] == 0x01)) {
    expected = Error::kBadMagic;
  } else if (data[78] > 3) {
    expected = Error::kBadType;
  }
  CHECK_OR_TRAP(e == expected);
  if (e != Error::kOk) return;

  CHECK_OR_TRAP(h.hop_count == data[4]);
  CHECK_OR_TRAP(h.flags == data[5]);
  CHECK_OR_TRAP(h.armed() == ((data[5] & 0x10) != 0));
  CHECK_OR_TRAP(h.recipient == data + 10 && h.sender == data + 42);
  CHECK_OR_TRAP(static_cast<uint8_t>(h.type) == data[78]);
  CHECK_OR_TRAP(MessageTypeName(h.type)[0] != 'I');  // not "INVALID"

  // Re-serialize the header: identical except for reserved flag bits.
  HeaderFields f;
  f.hop_count = h.hop_count;
  f.network_id = h.network_id;
  f.recipient = KeyAt(h.recipient);
  f.sender = KeyAt(h.sender);
  f.pow = h.pow;
  f.type = h.type;
  uint8_t out[kHeaderBytes];
  WriteHeader(f, h.armed(), out);
  for (size_t i = 0; i < kHeaderBytes; ++i) {
    if (i == off::kFlags) {
      CHECK_OR_TRAP(out[i] == (data[i] & kFlagArmed));
    } else {
      CHECK_OR_TRAP(out[i] == data[i]);
    }
  }
  // An unarmed message with this body builds back to the same bytes.
  if (h.flags == 0) {
    std::vector<uint8_t> msg(size);
    CHECK_OR_TRAP(BuildMessage(f, data + kHeaderBytes, size - kHeaderBytes, nullptr, nullptr,
                               msg.data(), msg.size()) == size);
    CHECK_OR_TRAP(std::memcmp(msg.data(), data, size) == 0);
    CHECK_OR_TRAP(BuildMessage(f, data + kHeaderBytes, size - kHeaderBytes, nullptr, nullptr,
                               msg.data(), msg.size() - 1) == 0);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzHeader(data, size);
  if (size >= kHeaderBytes) FuzzBodies(data + kHeaderBytes, size - kHeaderBytes);
  FuzzBodies(data, size);
  return 0;
}
