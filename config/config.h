// The super peer's configuration, typed and checked: every setting of
// config/flags.h (flag > DRASYL_/NETSODY_ variable > default) and RUST_LOG,
// parsed once at startup; the rest of the program reads only this.
#ifndef DRASYL_CONFIG_CONFIG_H_
#define DRASYL_CONFIG_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/socket_address.h"
#include "config/flags.h"
#include "dataplane/dpdk/dpdk_address.h"

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
  int64_t housekeeping_interval_ms = 5000;
  int kx_threads = -1;  // -1: as many as fit (control/key_derivation_pool.h)
  int log_level = 0;  // glog minloglevel derived from RUST_LOG (0 INFO, 1 WARNING, 2 ERROR)
  bool verbose = false;  // RUST_LOG=debug|trace
  // DPDK backend; an empty dpdk_eal selects kernel sockets.
  std::string dpdk_eal;
  std::vector<DpdkAddress> dpdk_addr;  // in the order given
  int dpdk_mtu = 0;  // 0: each port's own
  int dpdk_idle_sleep_us = 100;
  std::string dpdk_tap = "drasyl";
  // --af_xdp: interfaces the kernel keeps, the DPDK workers on their AF_XDP
  // sockets (empty: not this mode).
  std::vector<std::string> af_xdp;
};

// Builds the configuration from the already parsed gflags (call after
// gflags::ParseCommandLineFlags) and the process environment. Invalid values
// are an InvalidArgumentError naming the variable or flag and the value.
absl::StatusOr<Config> LoadConfig();

// Same, with an explicit environment lookup (for tests).
absl::StatusOr<Config> LoadConfigFrom(EnvLookup env, void* ctx);

}  // namespace drasyl

#endif  // DRASYL_CONFIG_CONFIG_H_
