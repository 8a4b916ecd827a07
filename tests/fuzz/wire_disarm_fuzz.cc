// libFuzzer target: wire::Disarm / wire::BuildMessage (common/wire.h).
// 1. Disarm with a fixed session key over the raw input, copied into a heap
//    buffer of exactly its size so ASan catches any overread or overwrite.
// 2. The input as a body: build an armed message around it, check that it
//    disarms back to the input, that the hop count is not authenticated, and
//    that a one-bit change anywhere else (chosen by the input) breaks the tag.
// 3. The AEGIS implementations this CPU supports agree with BuildMessage.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "common/aegis256x2.h"
#include "common/byte_order.h"
#include "common/wire.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace drasyl;        // NOLINT
using namespace drasyl::wire;  // NOLINT

constexpr SessionKey kKey = {0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45,
                             0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5,
                             0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};
constexpr SessionKey kOtherKey = {0x11, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe, 0x01, 0x23, 0x45,
                                  0x67, 0x89, 0xab, 0xcd, 0xef, 0xf0, 0xe1, 0xd2, 0xc3, 0xb4, 0xa5,
                                  0x96, 0x87, 0x78, 0x69, 0x5a, 0x4b, 0x3c, 0x2d, 0x1e, 0x0f};

struct Buffer {
  explicit Buffer(size_t n) : data(new uint8_t[n == 0 ? 1 : n]), size(n) {}
  std::unique_ptr<uint8_t[]> data;
  size_t size;
};

// 1. Arbitrary input.
void FuzzRawDisarm(const uint8_t* data, size_t size) {
  Buffer buf(size);
  if (size > 0) std::memcpy(buf.data.get(), data, size);
  uint8_t* body = nullptr;
  size_t body_len = 0;
  const Error e = Disarm(buf.data.get(), size, kKey, &body, &body_len);
  if (size < kHeaderBytes + kArmOverhead) {
    CHECK_OR_TRAP(e == Error::kArmedTooShort);
    CHECK_OR_TRAP(size == 0 || std::memcmp(buf.data.get(), data, size) == 0);  // untouched
    return;
  }
  CHECK_OR_TRAP(e == Error::kOk || e == Error::kBadTag);
  // The header and the random/tag part are never written.
  CHECK_OR_TRAP(std::memcmp(buf.data.get(), data, kHeaderBytes + kArmOverhead) == 0);
  if (e == Error::kOk) {
    CHECK_OR_TRAP(body == buf.data.get() + kHeaderBytes + kArmOverhead);
    CHECK_OR_TRAP(body_len == size - kHeaderBytes - kArmOverhead);
  } else {
    CHECK_OR_TRAP(body == nullptr);
  }
}

// 2. The input as the body of an armed message.
void FuzzArmedRoundTrip(const uint8_t* data, size_t size) {
  HeaderFields h;
  // Header fields and random bytes drawn from the input's first bytes (fixed
  // when it is short), so the fuzzer explores them too.
  uint8_t seed[kHeaderBytes] = {0};
  if (size > 0) std::memcpy(seed, data, size < sizeof(seed) ? size : sizeof(seed));
  h.hop_count = seed[0];
  h.network_id = static_cast<int32_t>(LoadBe32(seed + 1));
  std::memcpy(h.recipient.data(), seed + 5, 32);
  std::memcpy(h.sender.data(), seed + 37, 32);
  h.pow = static_cast<int32_t>(LoadBe32(seed + 69));
  h.type = static_cast<MessageType>(seed[73] & 3);
  uint8_t random[kArmRandomBytes];
  for (size_t i = 0; i < sizeof(random); ++i) random[i] = static_cast<uint8_t>(seed[i + 40] ^ i);

  const size_t total = MessageBytes(size, true);
  Buffer msg(total);
  CHECK_OR_TRAP(BuildMessage(h, data, size, &kKey, random, msg.data.get(), total - 1) == 0);
  CHECK_OR_TRAP(BuildMessage(h, data, size, &kKey, random, msg.data.get(), total) == total);

  Header parsed;
  CHECK_OR_TRAP(ParseHeader(msg.data.get(), total, &parsed) == Error::kOk);
  CHECK_OR_TRAP(parsed.armed() && parsed.flags == kFlagArmed);
  CHECK_OR_TRAP(parsed.hop_count == h.hop_count && parsed.network_id == h.network_id &&
                parsed.pow == h.pow && parsed.type == h.type);
  CHECK_OR_TRAP(KeyAt(parsed.recipient) == h.recipient && KeyAt(parsed.sender) == h.sender);
  CHECK_OR_TRAP(std::memcmp(msg.data.get() + kHeaderBytes, random, kArmRandomBytes) == 0);

  // 3. Every supported AEGIS implementation produces the same ciphertext/tag
  //    (BuildMessage: the random bytes are AEGIS's key, the session key its nonce).
  for (aegis::Impl impl : {aegis::Impl::kPortable, aegis::Impl::kAesni, aegis::Impl::kVaes}) {
    if (!aegis::ImplSupported(impl)) continue;
    Buffer c(size);
    uint8_t tag[kArmTagBytes];
    aegis::Encrypt(impl, random, kKey.data(), msg.data.get() + off::kAdBegin, off::kAdBytes,
                   data, size, c.data.get(), tag);
    CHECK_OR_TRAP(std::memcmp(tag, msg.data.get() + kHeaderBytes + kArmRandomBytes,
                              kArmTagBytes) == 0);
    CHECK_OR_TRAP(size == 0 ||
                  std::memcmp(c.data.get(), msg.data.get() + kHeaderBytes + kArmOverhead,
                              size) == 0);
  }

  auto disarm = [&](const Buffer& from, size_t len, const SessionKey& key, bool expect_ok,
                    uint8_t hop) {
    Buffer copy(len);
    std::memcpy(copy.data.get(), from.data.get(), len);
    copy.data[off::kHopCount] = hop;
    uint8_t* body = nullptr;
    size_t body_len = 0;
    const Error e = Disarm(copy.data.get(), len, key, &body, &body_len);
    if (!expect_ok) {
      CHECK_OR_TRAP(e == Error::kBadTag);
      return;
    }
    CHECK_OR_TRAP(e == Error::kOk);
    CHECK_OR_TRAP(body_len == size);
    CHECK_OR_TRAP(size == 0 || std::memcmp(body, data, size) == 0);
  };
  disarm(msg, total, kKey, true, h.hop_count);
  // A relay bumps the hop count: still fine.
  disarm(msg, total, kKey, true, static_cast<uint8_t>(h.hop_count + 1));
  disarm(msg, total, kOtherKey, false, h.hop_count);

  // One flipped bit from the flags on (position chosen by the input).
  if (size >= 2) {
    const size_t span = total - off::kAdBegin;
    const size_t pos = off::kAdBegin + (LoadBe16(data + size - 2) % span);
    const uint8_t bit = static_cast<uint8_t>(1u << (data[0] & 7));
    msg.data[pos] ^= bit;
    disarm(msg, total, kKey, false, h.hop_count);
    msg.data[pos] ^= bit;
  }
  // Dropping the last byte breaks it too.
  if (size > 0) disarm(msg, total - 1, kKey, false, h.hop_count);

  // Magic is not authenticated either (but the header parser rejects it).
  msg.data[0] ^= 0xff;
  disarm(msg, total, kKey, true, h.hop_count);
  CHECK_OR_TRAP(ParseHeader(msg.data.get(), total, &parsed) == Error::kBadMagic);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzRawDisarm(data, size);
  if (size <= 65535) FuzzArmedRoundTrip(data, size);
  return 0;
}
