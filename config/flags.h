// The super peer's settings as gflags flags and environment variables
// (config/flags.cc defines them all). Precedence: a flag given on the
// command line > DRASYL_<NAME> / NETSODY_<NAME> > the flag's default.
#ifndef DRASYL_CONFIG_FLAGS_H_
#define DRASYL_CONFIG_FLAGS_H_

#include <optional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"

namespace drasyl {

// Looks up an environment variable (std::getenv, or a table in tests).
using EnvLookup = std::optional<std::string> (*)(const char* name, void* ctx);

// A setting's text and where it came from, for error messages: "--<name>",
// "DRASYL_<NAME>" or "NETSODY_<NAME>".
struct RawSetting {
  std::string text;
  std::string source;
};

// The text of setting `name` (a flag name, e.g. "network_id"). Both
// variables set to different values is an InvalidArgumentError naming both.
absl::StatusOr<RawSetting> ReadSetting(absl::string_view name, EnvLookup env, void* ctx);

// The flag names of every setting, in gflags' (name) order; the variables
// are DRASYL_ / NETSODY_ and the name in capitals.
const std::vector<std::string>& SettingNames();

}  // namespace drasyl

#endif  // DRASYL_CONFIG_FLAGS_H_
