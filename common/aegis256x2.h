// AEGIS-256X2 (draft-irtf-cfrg-aegis-aead, parallel degree 2), 128-bit tag.
// libsodium lacks it; three implementations share one API and are selected
// at run time from CPUID: VAES (both lanes in one 256-bit register), AES-NI
// (one 128-bit register per lane) and portable C++ (table-free AES round).
#ifndef DRASYL_COMMON_AEGIS256X2_H_
#define DRASYL_COMMON_AEGIS256X2_H_

#include <cstddef>
#include <cstdint>

namespace drasyl::aegis {

inline constexpr size_t kKeyBytes = 32;
inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kTagBytes = 16;

enum class Impl { kPortable, kAesni, kVaes };

const char* ImplName(Impl impl);
// Whether this CPU can run `impl` (portable: always).
bool ImplSupported(Impl impl);
// The fastest supported implementation; what Encrypt/Decrypt without Impl use.
Impl BestImpl();

// Encrypts mlen bytes of m into c (c may equal m) and writes the 16-byte tag.
void Encrypt(Impl impl, const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
             const uint8_t* ad, size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c,
             uint8_t tag[kTagBytes]);

// Decrypts clen bytes of c into m (m may equal c). Returns false when the tag
// does not match; m is then zeroed. The tag compare is constant-time.
[[nodiscard]] bool Decrypt(Impl impl, const uint8_t key[kKeyBytes],
                           const uint8_t nonce[kNonceBytes], const uint8_t* ad, size_t adlen,
                           const uint8_t* c, size_t clen, const uint8_t tag[kTagBytes],
                           uint8_t* m);

// Same, with BestImpl().
void Encrypt(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes], const uint8_t* ad,
             size_t adlen, const uint8_t* m, size_t mlen, uint8_t* c, uint8_t tag[kTagBytes]);
[[nodiscard]] bool Decrypt(const uint8_t key[kKeyBytes], const uint8_t nonce[kNonceBytes],
                           const uint8_t* ad, size_t adlen, const uint8_t* c, size_t clen,
                           const uint8_t tag[kTagBytes], uint8_t* m);

}  // namespace drasyl::aegis

#endif  // DRASYL_COMMON_AEGIS256X2_H_
