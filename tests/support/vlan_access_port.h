// A userspace 802.1Q access port for the network-namespace testbed
// (scripts/testbed.sh up full): what arrives on the access interface leaves
// on the trunk interface tagged with the VLAN; what arrives on the trunk
// tagged with that VLAN leaves on the access interface untagged; anything
// else from the trunk is ignored. A switch's access port, in a thread: the
// testbed kernel may have neither 8021q nor bridge VLAN filtering.
//
// It also counts what it saw (the tests check that frames toward the node
// really were tagged) and can inject raw frames into the trunk (unknown
// VLANs, stacked tags).
#ifndef DRASYL_TESTS_SUPPORT_VLAN_ACCESS_PORT_H_
#define DRASYL_TESTS_SUPPORT_VLAN_ACCESS_PORT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"

namespace drasyl::testing {

class VlanAccessPort {
 public:
  struct Stats {
    uint64_t to_trunk = 0;           // access -> trunk, tagged
    uint64_t to_access = 0;          // trunk (our VLAN) -> access, untagged
    uint64_t udp_to_access = 0;      // of those: UDP/IPv4 or UDP/IPv6 datagrams
    uint64_t untagged_ignored = 0;   // untagged frames on the trunk (other nodes' traffic)
    uint64_t other_vlan_ignored = 0; // tagged with another VLAN
  };

  // Opens packet sockets on both interfaces inside network namespace `netns`
  // and starts forwarding.
  static absl::StatusOr<std::unique_ptr<VlanAccessPort>> Start(const std::string& netns,
                                                               const std::string& access_if,
                                                               const std::string& trunk_if,
                                                               uint16_t vid);
  ~VlanAccessPort();

  Stats stats() const;
  // Sends `frame` (complete Ethernet frame, tags included) out of the trunk.
  bool InjectIntoTrunk(const std::vector<uint8_t>& frame);

 private:
  VlanAccessPort() = default;
  void Run();

  int access_fd_ = -1;
  int trunk_fd_ = -1;
  int access_ifindex_ = 0;
  int trunk_ifindex_ = 0;
  uint16_t vid_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::atomic<uint64_t> to_trunk_{0}, to_access_{0}, udp_to_access_{0}, untagged_ignored_{0},
      other_vlan_ignored_{0};
};

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_VLAN_ACCESS_PORT_H_
