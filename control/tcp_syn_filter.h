// A classic BPF socket filter for the TCP fallback's listeners that drops new
// connection attempts (SYN without ACK) from sources already at their
// connection cap (MAX_TCP_CONNECTIONS_PER_SOURCE), in the kernel, before a
// handshake, an accept() and a reset are spent on them. One host reconnecting
// as fast as it can then costs the control thread nothing, and its refused
// connects wait for the kernel's SYN retransmission instead of coming back at
// once. Unprivileged (SO_ATTACH_FILTER), no BPF maps: the program is rebuilt
// and swapped in when the set of sources at their cap changes.
#ifndef DRASYL_CONTROL_TCP_SYN_FILTER_H_
#define DRASYL_CONTROL_TCP_SYN_FILTER_H_

#include <linux/filter.h>

#include <cstddef>
#include <vector>

#include "absl/status/status.h"
#include "absl/types/span.h"
#include "dataplane/source_admission.h"

namespace drasyl {

// At most this many sources go into the filter (each costs up to 5
// instructions, and the program is charged to every connection's socket
// memory). Sources beyond are refused after accept(), as without the filter.
inline constexpr size_t kMaxSynFilterSources = 128;

// The program: SYNs (without ACK) from an IPv4 address or IPv6 /64 in
// `blocked` (SourceKeyOf keys; at most kMaxSynFilterSources are used) are
// dropped; every other packet passes. Empty `blocked`: everything passes.
std::vector<sock_filter> BuildSynFilter(absl::Span<const SourceKey> blocked);

// Attaches `program` to the socket `fd` (replacing any filter it had).
absl::Status AttachSynFilter(int fd, const std::vector<sock_filter>& program);

}  // namespace drasyl

#endif  // DRASYL_CONTROL_TCP_SYN_FILTER_H_
