// Every setting of the super peer: a command-line flag here, and the
// environment variables DRASYL_<NAME> / NETSODY_<NAME> (those of the
// reference, docs/protocol.md §7, and ours). No flag is defined elsewhere.
#include "config/flags.h"

#include <gflags/gflags.h>

#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

DEFINE_string(identity_file, "drasyl.identity",
              "Path of the identity file (created if missing). "
              "Env: DRASYL_IDENTITY_FILE / NETSODY_IDENTITY_FILE.");
DEFINE_int32(network_id, 1,
             "Network id; peers of other networks are rejected. "
             "Env: DRASYL_NETWORK_ID / NETSODY_NETWORK_ID.");
DEFINE_string(udp4_listen, "0.0.0.0:22527",
              "UDP IPv4 listen address ip:port; empty disables. "
              "Env: DRASYL_UDP4_LISTEN / NETSODY_UDP4_LISTEN.");
DEFINE_string(udp6_listen, "[::]:22527",
              "UDP IPv6 listen address [ip]:port (dual-stack when [::]); empty disables. "
              "Env: DRASYL_UDP6_LISTEN / NETSODY_UDP6_LISTEN.");
DEFINE_string(tcp4_listen, "0.0.0.0:8443",
              "TCP fallback IPv4 listen address ip:port; empty disables. "
              "Env: DRASYL_TCP4_LISTEN / NETSODY_TCP4_LISTEN.");
DEFINE_string(tcp6_listen, "[::]:8443",
              "TCP fallback IPv6 listen address [ip]:port; empty disables. "
              "Env: DRASYL_TCP6_LISTEN / NETSODY_TCP6_LISTEN.");
DEFINE_bool(arm_messages, true,
            "Require armed (encrypted) HELLOs and arm ACK/UNITE. "
            "Env: DRASYL_ARM_MESSAGES / NETSODY_ARM_MESSAGES.");
DEFINE_bool(verify_senders, false,
            "Relay an APP only when its sender is a registered peer and the message comes "
            "from that peer's current path (the UDP address and port of its last HELLO, or "
            "its TCP connection); others are dropped and counted (unverified_sender). Off: "
            "any sender is relayed, as by the reference; on: a node whose NAT mapping "
            "changed is relayed again after its next HELLO. "
            "Env: DRASYL_VERIFY_SENDERS / NETSODY_VERIFY_SENDERS.");
DEFINE_int64(send_unites, 5000,
             "UNITE rate limit per peer pair in ms; -1 never, 0 always. "
             "Env: DRASYL_SEND_UNITES / NETSODY_SEND_UNITES.");
DEFINE_int64(max_peers, 8192,
             "Peer table capacity; 0 = no limit. Env: DRASYL_MAX_PEERS / NETSODY_MAX_PEERS.");
DEFINE_int32(min_pow_difficulty, 24,
             "Minimum proof-of-work difficulty (leading zero bits) of peer identities. "
             "Env: DRASYL_MIN_POW_DIFFICULTY / NETSODY_MIN_POW_DIFFICULTY.");
DEFINE_int64(hello_timeout, 30000,
             "ms without HELLO after which a peer is dropped. "
             "Env: DRASYL_HELLO_TIMEOUT / NETSODY_HELLO_TIMEOUT.");
DEFINE_int64(hello_max_age, 300000,
             "Maximum age in ms of a HELLO's timestamp. "
             "Env: DRASYL_HELLO_MAX_AGE / NETSODY_HELLO_MAX_AGE.");
DEFINE_int64(peers_print_interval, 5000,
             "Interval in ms of the periodic peer list; 0 disables. "
             "Env: DRASYL_PEERS_PRINT_INTERVAL / NETSODY_PEERS_PRINT_INTERVAL.");
DEFINE_string(prometheus_listen, "127.0.0.1:9898",
              "Prometheus /metrics listen address; empty disables. "
              "Env: DRASYL_PROMETHEUS_LISTEN / NETSODY_PROMETHEUS_LISTEN.");
DEFINE_string(prometheus_token, "",
              "Bearer token required for /metrics; empty = no authentication. "
              "Env: DRASYL_PROMETHEUS_TOKEN / NETSODY_PROMETHEUS_TOKEN.");
DEFINE_int32(workers, 0,
             "Data plane worker threads; 0 = one per core. "
             "Env: DRASYL_WORKERS / NETSODY_WORKERS.");
DEFINE_int32(max_tcp_connections, 0,
             "Maximum concurrent TCP fallback connections; 0 = same as max_peers. "
             "Env: DRASYL_MAX_TCP_CONNECTIONS / NETSODY_MAX_TCP_CONNECTIONS.");
DEFINE_int64(max_peers_per_source, 256,
             "Peers one source (an IPv4 address, an IPv6 /64) may hold in the table; 0 = no "
             "limit. 256 leaves room for a carrier-grade NAT address shared by hundreds of "
             "subscribers while one host cannot fill the table. "
             "Env: DRASYL_MAX_PEERS_PER_SOURCE / NETSODY_MAX_PEERS_PER_SOURCE.");
DEFINE_int64(control_rate_per_source, 500,
             "Messages per second one source (an IPv4 address, an IPv6 /64) may send to the "
             "control thread (HELLOs), bursts of one second's worth; over it they are dropped "
             "by the workers (source_rate_limited); 0 = no limit. "
             "Env: DRASYL_CONTROL_RATE_PER_SOURCE / NETSODY_CONTROL_RATE_PER_SOURCE.");
DEFINE_int32(max_tcp_connections_per_source, 64,
             "TCP fallback connections one source (an IPv4 address, an IPv6 /64) may hold; "
             "0 = no limit. "
             "Env: DRASYL_MAX_TCP_CONNECTIONS_PER_SOURCE / NETSODY_MAX_TCP_CONNECTIONS_PER_SOURCE.");
DEFINE_int64(tcp_hello_timeout, 5000,
             "ms a TCP fallback connection has to present a valid HELLO before it is closed. "
             "Env: DRASYL_TCP_HELLO_TIMEOUT / NETSODY_TCP_HELLO_TIMEOUT.");
DEFINE_string(dpdk_eal, "",
              "DPDK EAL arguments (space separated); empty uses kernel sockets. "
              "Env: DRASYL_DPDK_EAL / NETSODY_DPDK_EAL.");
DEFINE_string(dpdk_addr, "",
              "Comma-separated addr/prefix CIDRs owned by the DPDK ports, each optionally "
              "followed by @port<N> (the DPDK port id whose link carries it; default 0) and/or "
              "@vlan<VID> (802.1Q VLAN 1-4094 on that port; default untagged), e.g. "
              "10.0.0.1/24,10.1.0.1/24@vlan100,10.2.0.1/24@port1. Tagged frames of VLANs "
              "without an address are dropped. "
              "Env: DRASYL_DPDK_ADDR / NETSODY_DPDK_ADDR.");
DEFINE_int32(dpdk_mtu, 0,
             "MTU (IP bytes) of every DPDK port, set on the port; 0 = the port's own (for "
             "net_af_packet its interface's). Larger datagrams are sent in IP fragments; "
             "jumbo frames where the port supports them; at least 1280. "
             "Env: DRASYL_DPDK_MTU / NETSODY_DPDK_MTU.");
DEFINE_int32(dpdk_idle_sleep_us, 100,
             "DPDK: longest nap of an idle worker between polls, in microseconds (naps start "
             "at 8 us after ~1000 empty polls and double; 0: pure busy polling). With "
             "--af_xdp, after 1 ms of naps an idle worker sleeps until a frame comes. "
             "Env: DRASYL_DPDK_IDLE_SLEEP_US / NETSODY_DPDK_IDLE_SLEEP_US.");
DEFINE_string(dpdk_tap, "drasyl",
              "DPDK: name of the TAP exception interfaces: <name><N>, N from 0 up, the first "
              "free ones (one per ethernet port). "
              "Env: DRASYL_DPDK_TAP / NETSODY_DPDK_TAP.");
DEFINE_string(af_xdp, "",
              "Comma-separated network interfaces the kernel keeps (a shared NIC) on whose "
              "AF_XDP sockets the DPDK workers relay: an XDP program of ours hands them only UDP "
              "to the listener ports on the interfaces' own addresses (the kernel's; when they "
              "change the super peer exits for a restart), everything else stays the kernel's. "
              "No TAP, no --dpdk_addr; --dpdk_eal optional (lcores, file prefix). "
              "Env: DRASYL_AF_XDP / NETSODY_AF_XDP.");
DEFINE_uint64(housekeeping_interval_ms, 5000,
              "Interval of housekeeping (expire stale peers, UNITE rate-limit entries and idle "
              "TCP connections), in milliseconds. "
              "Env: DRASYL_HOUSEKEEPING_INTERVAL_MS / NETSODY_HOUSEKEEPING_INTERVAL_MS.");
DEFINE_int32(kx_threads, -1,
             "Threads that derive the session keys of newly registering peers (an X25519 key "
             "exchange each), so that registration storms use spare cores. 0: the control "
             "thread does them; -1: one per core (at most 4) on the socket backend with 2 or "
             "more cores; on DPDK one per core that no lcore uses (at most 4), bound to those "
             "cores, else none. DPDK never puts them on a worker lcore's core. "
             "Env: DRASYL_KX_THREADS / NETSODY_KX_THREADS.");

namespace drasyl {

const std::vector<std::string>& SettingNames() {
  static const std::vector<std::string>* names = [] {
    auto* v = new std::vector<std::string>;
    std::vector<gflags::CommandLineFlagInfo> flags;
    gflags::GetAllFlags(&flags);
    for (const gflags::CommandLineFlagInfo& f : flags) {
      if (f.filename == __FILE__) v->push_back(f.name);
    }
    return v;
  }();
  return *names;
}

absl::StatusOr<RawSetting> ReadSetting(absl::string_view name, EnvLookup env, void* ctx) {
  const std::string flag(name);
  gflags::CommandLineFlagInfo info;
  if (!gflags::GetCommandLineFlagInfo(flag.c_str(), &info) || info.filename != __FILE__) {
    return absl::InternalError(absl::StrCat("no setting named ", flag));
  }
  if (!info.is_default) return RawSetting{info.current_value, absl::StrCat("--", flag)};
  const std::string upper = absl::AsciiStrToUpper(flag);
  const std::string drasyl_name = "DRASYL_" + upper;
  const std::string netsody_name = "NETSODY_" + upper;
  const std::optional<std::string> d = env(drasyl_name.c_str(), ctx);
  const std::optional<std::string> n = env(netsody_name.c_str(), ctx);
  if (d && n && *d != *n) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "conflicting values %s='%s' and %s='%s'; set only one", drasyl_name, *d, netsody_name, *n));
  }
  if (d) return RawSetting{*d, drasyl_name};
  if (n) return RawSetting{*n, netsody_name};
  return RawSetting{info.current_value, absl::StrCat("--", flag)};
}

}  // namespace drasyl
