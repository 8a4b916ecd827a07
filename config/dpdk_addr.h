// --dpdk_addr: the super peer's own addresses on the DPDK ports, each
// "<ip>/<prefix>[@port<N>][@vlan<VID>]" (the suffixes in any order). The
// kernel carries it on the TAP of DPDK port N (default 0), or on that TAP's
// VLAN interface <tap>.<VID> (802.1Q, 1-4094; default untagged).
#ifndef DRASYL_CONFIG_DPDK_ADDR_H_
#define DRASYL_CONFIG_DPDK_ADDR_H_

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/statusor.h"
#include "dataplane/dpdk/dpdk_address.h"

namespace drasyl {

// One entry; the error quotes the entry (or its address part) and says why.
// Whether port N exists is the backend's check, once the EAL made the ports.
absl::StatusOr<DpdkAddress> ParseDpdkAddress(absl::string_view entry);

// The comma-separated list, each entry stripped of white space; an empty
// text is the empty list, an empty entry an error.
absl::StatusOr<std::vector<DpdkAddress>> ParseDpdkAddressList(absl::string_view text);

// The entry as ParseDpdkAddress reads it back: "10.0.0.1/24",
// "fd01::1/64@port1@vlan100" (suffixes only where not the default).
std::string FormatDpdkAddress(const DpdkAddress& a);

}  // namespace drasyl

#endif  // DRASYL_CONFIG_DPDK_ADDR_H_
