#include "config/flags_help.h"

#include <gflags/gflags.h>

#include <algorithm>
#include <cstdio>

namespace drasyl {

void PrintOwnFlagsHelp(const char* argv0, const std::vector<std::string>& folders) {
  std::printf("%s\n\nUsage: %s [flags]\n\nFlags:\n", gflags::ProgramUsage(), argv0);
  std::vector<gflags::CommandLineFlagInfo> flags;
  gflags::GetAllFlags(&flags);
  for (const gflags::CommandLineFlagInfo& f : flags) {
    const bool ours =
        std::any_of(folders.begin(), folders.end(),
                    [&](const std::string& d) { return f.filename.find(d) != std::string::npos; });
    if (!ours) continue;
    std::printf("  --%s (%s)\n      %s\n      default: %s\n", f.name.c_str(), f.type.c_str(),
                f.description.c_str(), f.default_value.empty() ? "\"\"" : f.default_value.c_str());
  }
  std::printf("\n  --helpfull lists every flag, including logging flags; --version the version.\n");
}

}  // namespace drasyl
