// Chooses and creates the I/O backend from the configuration: the DPDK
// backend when --dpdk_eal is set, kernel sockets otherwise.
#ifndef DRASYL_CONTROL_BACKEND_FACTORY_H_
#define DRASYL_CONTROL_BACKEND_FACTORY_H_

#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "common/socket_address.h"
#include "config/config.h"
#include "control/control_plane.h"
#include "dataplane/backend.h"

namespace drasyl {

// The backend for `cfg`, wired to `control` (relay config, wakeup fd) but
// not attached to it and not started. A clear error when DPDK is asked for
// and this build has none.
absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const Config& cfg, ControlPlane& control);

// The host addresses the startup banner announces (port 0): the --dpdk_addr
// addresses in DPDK mode (the kernel's own interfaces are not served there),
// else every announceable address of the host's interfaces.
std::vector<SocketAddress> AnnounceAddresses(const Config& cfg);

}  // namespace drasyl

#endif  // DRASYL_CONTROL_BACKEND_FACTORY_H_
