// Internals of AEGIS-256X2 shared by the dispatcher (aegis256x2.cc), the
// SIMD translation units (aegis256x2_aesni.cc, aegis256x2_vaes.cc) and the
// tests. Not part of the public API.
//
// The SIMD entry points must only be called when ImplSupported() says so:
// their translation units are compiled with -maes/-mavx2/-mvaes.
#ifndef DRASYL_COMMON_AEGIS256X2_INTERNAL_H_
#define DRASYL_COMMON_AEGIS256X2_INTERNAL_H_

#include <cstddef>
#include <cstdint>

#include "common/aegis256x2.h"

namespace drasyl::aegis::internal {

// Size of the state written by the *InitState hooks: V[0..5] x lanes 0..1,
// 16 bytes each, in the order V[0,0], V[0,1], V[1,0], ..., V[5,1].
inline constexpr size_t kStateBytes = 6 * 2 * 16;

// Deliberately no inline functions here: the SIMD translation units are built
// with extra instruction sets, and an out-of-line copy of an inline function
// emitted there could be the one the linker keeps for everybody.

#define DRASYL_AEGIS_DECLARE_IMPL(Name)                                                    \
  void Encrypt##Name(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],       \
                     const uint8_t* ad, size_t adlen, const uint8_t* m, size_t mlen,        \
                     uint8_t* c, uint8_t tag[kTagBytes]);                                   \
  bool Decrypt##Name(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],       \
                     const uint8_t* ad, size_t adlen, const uint8_t* c, size_t clen,        \
                     const uint8_t tag[kTagBytes], uint8_t* m);                             \
  /* Test hook: the state right after initialization. */                                   \
  void InitState##Name(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],     \
                       uint8_t out[kStateBytes]);

DRASYL_AEGIS_DECLARE_IMPL(Portable)
DRASYL_AEGIS_DECLARE_IMPL(Aesni)
DRASYL_AEGIS_DECLARE_IMPL(Vaes)

#undef DRASYL_AEGIS_DECLARE_IMPL

// Dispatching test hook (impl must be supported).
void InitState(Impl impl, const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
               uint8_t out[kStateBytes]);

}  // namespace drasyl::aegis::internal

#endif  // DRASYL_COMMON_AEGIS256X2_INTERNAL_H_
