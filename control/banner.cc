#include "control/banner.h"

#include <ifaddrs.h>
#include <net/if.h>

#include <algorithm>
#include <optional>

#include "absl/strings/str_cat.h"
#include "common/super_peer_url.h"

namespace drasyl {
namespace {

bool IsAnnounceableV4(const uint8_t* b) {
  if (b[0] == 0) return false;                                     // 0/8 "this network"
  if (b[0] == 127) return false;                                   // loopback
  if (b[0] == 169 && b[1] == 254) return false;                    // link-local
  if (b[0] >= 224) return false;                                   // multicast, 240/4, broadcast
  if (b[0] == 192 && b[1] == 0 && b[2] == 2) return false;         // TEST-NET-1
  if (b[0] == 198 && b[1] == 51 && b[2] == 100) return false;      // TEST-NET-2
  if (b[0] == 203 && b[1] == 0 && b[2] == 113) return false;       // TEST-NET-3
  return true;
}

void AddUnique(std::vector<SocketAddress>* out, const SocketAddress& addr) {
  if (std::find(out->begin(), out->end(), addr) == out->end()) out->push_back(addr);
}

// What one UDP listener covers, in order: IPv6 host addresses, then IPv4.
void AddCovered(const SocketAddress& listener, const std::vector<SocketAddress>& hosts,
                std::vector<SocketAddress>* out) {
  if (!listener.IsWildcard()) {
    AddUnique(out, listener);
    return;
  }
  auto add_family = [&](bool v6) {
    for (SocketAddress host : hosts) {
      if (host.is_v6() != v6) continue;
      host.set_port(listener.port());
      AddUnique(out, host);
    }
  };
  if (listener.is_v6()) add_family(/*v6=*/true);
  add_family(/*v6=*/false);  // a [::] socket is dual-stack
}

}  // namespace

bool IsAnnounceable(const SocketAddress& addr) {
  const std::array<uint8_t, 16>& b = addr.bytes();
  if (addr.is_v4()) return IsAnnounceableV4(b.data());
  if (!addr.is_v6()) return false;
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (std::equal(kMappedPrefix, kMappedPrefix + 12, b.begin())) {
    return IsAnnounceableV4(b.data() + 12);
  }
  bool first15_zero = std::all_of(b.begin(), b.begin() + 15, [](uint8_t x) { return x == 0; });
  if (first15_zero && (b[15] == 0 || b[15] == 1)) return false;     // ::, ::1
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) return false;          // fe80::/10
  if (b[0] == 0xff) return false;                                   // ff00::/8
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
    return false;                                                   // 2001:db8::/32
  }
  return true;
}

std::vector<SocketAddress> HostAddresses() {
  std::vector<SocketAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr || (ifa->ifa_flags & IFF_UP) == 0) continue;
    int family = ifa->ifa_addr->sa_family;
    if (family != AF_INET && family != AF_INET6) continue;
    socklen_t len = family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    absl::StatusOr<SocketAddress> addr = SocketAddress::FromSockaddr(ifa->ifa_addr, len);
    if (!addr.ok() || !IsAnnounceable(*addr)) continue;
    // Drop port and zone: only the address is announced.
    SocketAddress plain =
        addr->is_v4() ? *addr : SocketAddress::V6(addr->bytes().data(), 0);
    plain.set_port(0);
    AddUnique(&out, plain);
  }
  freeifaddrs(list);
  return out;
}

std::vector<SocketAddress> AnnouncedAddresses(const Config& config,
                                              const std::vector<SocketAddress>& host_addresses) {
  std::vector<SocketAddress> out;
  if (config.udp4_listen) AddCovered(*config.udp4_listen, host_addresses, &out);
  if (config.udp6_listen) AddCovered(*config.udp6_listen, host_addresses, &out);
  return out;
}

std::string StartupBanner(const Config& config, const PublicKey& pk,
                          const std::vector<SocketAddress>& host_addresses) {
  std::optional<uint16_t> tcp_port;
  if (config.tcp6_listen) {
    tcp_port = config.tcp6_listen->port();
  } else if (config.tcp4_listen) {
    tcp_port = config.tcp4_listen->port();
  }
  std::string banner = "Super peer listening on:\n";
  for (const SocketAddress& addr : AnnouncedAddresses(config, host_addresses)) {
    absl::StrAppend(&banner, "  ", SuperPeerUrl(addr, pk, config.network_id, tcp_port), "\n");
  }
  return banner;
}

}  // namespace drasyl
