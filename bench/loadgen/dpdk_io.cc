// DPDK backend of the load generator (net_memif to a super peer's memif
// port, or net_af_packet on a veth). Not implemented yet: the super peer's
// DPDK backend is being written in parallel; until then this reports why.
#include "absl/strings/str_cat.h"
#include "bench/loadgen/packet_io.h"

namespace drasyl::loadgen {

absl::StatusOr<std::unique_ptr<PacketIo>> CreateDpdkIo(const DpdkIoOptions& opts) {
#ifdef DRASYL_HAVE_DPDK
  return absl::UnimplementedError(
      "the DPDK backend of drasyl-loadgen is not implemented yet (the binary has DPDK, the "
      "generator does not use it); use the socket backend");
#else
  return absl::UnimplementedError(
      "drasyl-loadgen was built without DPDK (libdpdk not found by CMake)");
#endif
}

}  // namespace drasyl::loadgen
