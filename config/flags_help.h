// --help of our programs: their own flags only (not the forty of glog and
// gflags, which --helpfull still lists), in the order of the source files.
#ifndef DRASYL_CONFIG_FLAGS_HELP_H_
#define DRASYL_CONFIG_FLAGS_HELP_H_

#include <string>
#include <vector>

namespace drasyl {

// Prints the usage message and every flag defined in a source file whose
// path contains one of `folders` (e.g. "/config/").
void PrintOwnFlagsHelp(const char* argv0, const std::vector<std::string>& folders);

}  // namespace drasyl

#endif  // DRASYL_CONFIG_FLAGS_HELP_H_
