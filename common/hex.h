// Lowercase hex text for keys and test vectors.
#ifndef DRASYL_COMMON_HEX_H_
#define DRASYL_COMMON_HEX_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace drasyl {

std::string HexEncode(absl::Span<const uint8_t> bytes);

// Decodes exactly out.size() bytes (2 * out.size() hex digits, either case).
absl::Status HexDecodeInto(std::string_view hex, absl::Span<uint8_t> out);

// Decodes any even-length hex string.
absl::StatusOr<std::vector<uint8_t>> HexDecode(std::string_view hex);

}  // namespace drasyl

#endif  // DRASYL_COMMON_HEX_H_
