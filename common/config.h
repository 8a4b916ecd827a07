// Super peer configuration: gflags command-line flags and the reference's
// environment variables (DRASYL_* and NETSODY_*), docs/protocol.md §7.
// Precedence: a flag given on the command line > environment > default.
#ifndef DRASYL_COMMON_CONFIG_H_
#define DRASYL_COMMON_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "common/socket_address.h"

namespace drasyl {

struct Config {
  std::string identity_file = "drasyl.identity";
  int32_t network_id = 1;
  // Unset = listener disabled (the variable was set to the empty string).
  std::optional<SocketAddress> udp4_listen;  // default 0.0.0.0:22527
  std::optional<SocketAddress> udp6_listen;  // default [::]:22527
  std::optional<SocketAddress> tcp4_listen;  // default 0.0.0.0:8443
  std::optional<SocketAddress> tcp6_listen;  // default [::]:8443
  bool arm_messages = true;
  int64_t send_unites_ms = 5000;  // -1 never, 0 always, n > 0 once per pair per n ms
  // Relay an APP only from its sender's registered path (docs/protocol.md §8:
  // the reference relays forged senders). Off by default, as the reference.
  bool verify_senders = false;
  uint32_t max_peers = 8192;      // 0 = no limit
  int min_pow_difficulty = 24;
  int64_t hello_timeout_ms = 30000;
  int64_t hello_max_age_ms = 300000;
  int64_t peers_print_interval_ms = 5000;  // 0 disables
  std::optional<SocketAddress> prometheus_listen;  // default 127.0.0.1:9898; "" disables
  std::string prometheus_token;                     // empty: no auth
  int workers = 0;                                  // 0: one per core
  int max_tcp_connections = 0;                      // 0: same as max_peers (or no limit)
  // Admission (fair shares per source: an IPv4 address or an IPv6 /64); 0 = off.
  int64_t max_peers_per_source = 256;
  int64_t control_rate_per_source = 500;  // messages/s to the control thread
  int max_tcp_connections_per_source = 64;
  int64_t tcp_hello_timeout_ms = 5000;  // for a TCP connection's first valid HELLO
  int log_level = 0;  // glog minloglevel derived from RUST_LOG (0 INFO, 1 WARNING, 2 ERROR)
  bool verbose = false;  // RUST_LOG=debug|trace
  // DPDK backend; an empty dpdk_eal selects kernel sockets.
  std::string dpdk_eal;
  std::vector<std::string> dpdk_addr;
  int dpdk_mtu = 0;  // 0: each port's own
  // --af_xdp: interfaces the kernel keeps, the DPDK workers on their AF_XDP
  // sockets (empty: not this mode).
  std::vector<std::string> af_xdp;
};

// Builds the configuration from the already parsed gflags (call after
// gflags::ParseCommandLineFlags) and the process environment. Invalid values
// are an InvalidArgumentError naming the variable or flag and the value.
absl::StatusOr<Config> LoadConfig();

// Same, with an explicit environment lookup (for tests).
using EnvLookup = std::optional<std::string> (*)(const char* name, void* ctx);
absl::StatusOr<Config> LoadConfigFrom(EnvLookup env, void* ctx);

// Where a --dpdk_addr address lives: "<ip>/<prefix>[@port<N>][@vlan<VID>]",
// the suffixes in any order. The kernel carries it on the TAP of DPDK port N
// (default 0), or on that TAP's VLAN interface <tap>.<VID> (802.1Q, 1-4094;
// default untagged).
struct DpdkAddrPlacement {
  int port = 0;
  int vlan = 0;  // 0: untagged
};
// Splits an entry into its "<ip>/<prefix>" part (not checked here) and placement.
absl::StatusOr<std::pair<std::string, DpdkAddrPlacement>> SplitDpdkAddr(const std::string& entry);

}  // namespace drasyl

#endif  // DRASYL_COMMON_CONFIG_H_
