// AEGIS-256X2 encrypt/decrypt throughput per implementation, at datagram
// sizes, with the 74-byte header AD the protocol authenticates.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <vector>

#include "common/aegis256x2.h"

namespace drasyl::aegis {
namespace {

constexpr size_t kAdBytes = 74;  // header bytes [5, 79)

struct Inputs {
  uint8_t key[kKeyBytes];
  uint8_t nonce[kNonceBytes];
  std::vector<uint8_t> ad;
  std::vector<uint8_t> msg;
  std::vector<uint8_t> out;
  uint8_t tag[kTagBytes];

  explicit Inputs(size_t len) : ad(kAdBytes), msg(len), out(len) {
    uint32_t x = 0x12345678;
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      return static_cast<uint8_t>(x);
    };
    for (auto& b : key) b = next();
    for (auto& b : nonce) b = next();
    for (auto& b : ad) b = next();
    for (auto& b : msg) b = next();
  }
};

void BM_Encrypt(benchmark::State& state, Impl impl) {
  if (!ImplSupported(impl)) {
    state.SkipWithError((std::string(ImplName(impl)) + " not supported by this CPU").c_str());
    return;
  }
  Inputs in(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Encrypt(impl, in.key, in.nonce, in.ad.data(), in.ad.size(), in.msg.data(), in.msg.size(),
            in.out.data(), in.tag);
    benchmark::DoNotOptimize(in.out.data());
    benchmark::DoNotOptimize(in.tag);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

void BM_Decrypt(benchmark::State& state, Impl impl) {
  if (!ImplSupported(impl)) {
    state.SkipWithError((std::string(ImplName(impl)) + " not supported by this CPU").c_str());
    return;
  }
  Inputs in(static_cast<size_t>(state.range(0)));
  std::vector<uint8_t> ct(in.msg.size());
  Encrypt(impl, in.key, in.nonce, in.ad.data(), in.ad.size(), in.msg.data(), in.msg.size(),
          ct.data(), in.tag);
  for (auto _ : state) {
    const bool ok = Decrypt(impl, in.key, in.nonce, in.ad.data(), in.ad.size(), ct.data(),
                            ct.size(), in.tag, in.out.data());
    if (!ok) {
      state.SkipWithError("tag mismatch");
      break;
    }
    benchmark::DoNotOptimize(in.out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
}

#define AEGIS_BENCH(fn, impl, name) \
  BENCHMARK_CAPTURE(fn, name, impl)->Arg(64)->Arg(256)->Arg(1024)->Arg(1400)

AEGIS_BENCH(BM_Encrypt, Impl::kVaes, vaes);
AEGIS_BENCH(BM_Encrypt, Impl::kAesni, aesni);
AEGIS_BENCH(BM_Encrypt, Impl::kPortable, portable);
AEGIS_BENCH(BM_Decrypt, Impl::kVaes, vaes);
AEGIS_BENCH(BM_Decrypt, Impl::kAesni, aesni);
AEGIS_BENCH(BM_Decrypt, Impl::kPortable, portable);

}  // namespace
}  // namespace drasyl::aegis
