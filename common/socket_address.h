// An IPv4 or IPv6 UDP/TCP address, convertible to sockaddr and wire endpoints.
#ifndef DRASYL_COMMON_SOCKET_ADDRESS_H_
#define DRASYL_COMMON_SOCKET_ADDRESS_H_

#include <netinet/in.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/types/span.h"

namespace drasyl {

class SocketAddress {
 public:
  SocketAddress() = default;
  static SocketAddress V4(uint32_t addr_host_order, uint16_t port);
  // 16 bytes in network order; an IPv4-mapped address stays IPv6 here.
  static SocketAddress V6(const uint8_t addr[16], uint16_t port, uint32_t scope_id = 0);
  // From a sockaddr_in / sockaddr_in6; IPv4-mapped IPv6 is folded to IPv4
  // when unmap_v4 is set (what a dual-stack socket reports).
  static absl::StatusOr<SocketAddress> FromSockaddr(const sockaddr* sa, socklen_t len,
                                                    bool unmap_v4 = true);
  // "1.2.3.4:22527", "[2001:db8::1]:22527", "[::]:8443".
  static absl::StatusOr<SocketAddress> Parse(std::string_view text);

  bool is_v4() const { return family_ == AF_INET; }
  bool is_v6() const { return family_ == AF_INET6; }
  int family() const { return family_; }
  uint16_t port() const { return port_; }
  void set_port(uint16_t port) { port_ = port; }
  // IPv4 in network byte order as 4 bytes, or IPv6 16 bytes.
  const std::array<uint8_t, 16>& bytes() const { return addr_; }
  // 16 bytes, IPv4 as IPv4-mapped IPv6 (the wire endpoint form).
  std::array<uint8_t, 16> MappedV6() const;
  bool IsWildcard() const;

  // Fills a sockaddr_storage; `as_v6` writes IPv4 as mapped IPv6 (for
  // sending from a dual-stack socket).
  socklen_t ToSockaddr(sockaddr_storage* out, bool as_v6 = false) const;
  std::string ToString() const;     // with port
  std::string HostString() const;   // without port, IPv6 without brackets

  friend bool operator==(const SocketAddress& a, const SocketAddress& b) {
    return a.family_ == b.family_ && a.port_ == b.port_ && a.addr_ == b.addr_ &&
           a.scope_id_ == b.scope_id_;
  }
  template <typename H>
  friend H AbslHashValue(H h, const SocketAddress& a) {
    return H::combine(std::move(h), a.family_, a.port_, a.addr_, a.scope_id_);
  }

 private:
  int family_ = 0;
  uint16_t port_ = 0;
  std::array<uint8_t, 16> addr_{};
  uint32_t scope_id_ = 0;
};

// Whether `listener`, one of `listeners`, takes IPv4 too: a wildcard [::]
// is dual-stack unless an IPv4 listener shares its (non-ephemeral) port,
// which the IPv4 socket then has; otherwise an IPv6 listener is IPv6 only.
bool ListensDualStack(const SocketAddress& listener, absl::Span<const SocketAddress> listeners);

}  // namespace drasyl

#endif  // DRASYL_COMMON_SOCKET_ADDRESS_H_
