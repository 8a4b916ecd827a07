#include "common/socket_address.h"

#include <arpa/inet.h>
#include <net/if.h>

#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"

namespace drasyl {
namespace {

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Strict decimal port: digits only (no sign, no spaces), 0..65535. Port 0 is
// allowed so listeners can ask the kernel for an ephemeral port.
bool ParsePort(std::string_view s, uint16_t* port) {
  if (!AllDigits(s) || s.size() > 5) return false;
  uint32_t value = 0;
  if (!absl::SimpleAtoi(std::string(s), &value) || value > 65535) return false;
  *port = static_cast<uint16_t>(value);
  return true;
}

absl::Status Invalid(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrFormat("invalid socket address '%s': %s", std::string(text), std::string(why)));
}

bool IsV4Mapped(const uint8_t a[16]) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(a, kPrefix, sizeof(kPrefix)) == 0;
}

}  // namespace

SocketAddress SocketAddress::V4(uint32_t addr_host_order, uint16_t port) {
  SocketAddress a;
  a.family_ = AF_INET;
  a.port_ = port;
  a.addr_[0] = static_cast<uint8_t>(addr_host_order >> 24);
  a.addr_[1] = static_cast<uint8_t>(addr_host_order >> 16);
  a.addr_[2] = static_cast<uint8_t>(addr_host_order >> 8);
  a.addr_[3] = static_cast<uint8_t>(addr_host_order);
  return a;
}

SocketAddress SocketAddress::V6(const uint8_t addr[16], uint16_t port, uint32_t scope_id) {
  SocketAddress a;
  a.family_ = AF_INET6;
  a.port_ = port;
  std::memcpy(a.addr_.data(), addr, 16);
  a.scope_id_ = scope_id;
  return a;
}

absl::StatusOr<SocketAddress> SocketAddress::FromSockaddr(const sockaddr* sa, socklen_t len,
                                                          bool unmap_v4) {
  if (sa == nullptr || len < static_cast<socklen_t>(sizeof(sa_family_t))) {
    return absl::InvalidArgumentError("sockaddr too short");
  }
  if (sa->sa_family == AF_INET) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in))) {
      return absl::InvalidArgumentError("sockaddr_in too short");
    }
    sockaddr_in sin;
    std::memcpy(&sin, sa, sizeof(sin));
    return V4(ntohl(sin.sin_addr.s_addr), ntohs(sin.sin_port));
  }
  if (sa->sa_family == AF_INET6) {
    if (len < static_cast<socklen_t>(sizeof(sockaddr_in6))) {
      return absl::InvalidArgumentError("sockaddr_in6 too short");
    }
    sockaddr_in6 sin6;
    std::memcpy(&sin6, sa, sizeof(sin6));
    const uint8_t* b = sin6.sin6_addr.s6_addr;
    uint16_t port = ntohs(sin6.sin6_port);
    if (unmap_v4 && IsV4Mapped(b)) {
      return V4((uint32_t{b[12]} << 24) | (uint32_t{b[13]} << 16) | (uint32_t{b[14]} << 8) |
                    uint32_t{b[15]},
                port);
    }
    return V6(b, port, sin6.sin6_scope_id);
  }
  return absl::InvalidArgumentError(
      absl::StrFormat("unsupported address family %d", static_cast<int>(sa->sa_family)));
}

absl::StatusOr<SocketAddress> SocketAddress::Parse(std::string_view text) {
  if (text.empty()) return Invalid(text, "empty");
  if (text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return Invalid(text, "missing ']'");
    std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return Invalid(text, "missing port");
    uint16_t port;
    if (!ParsePort(rest.substr(1), &port)) return Invalid(text, "invalid port");
    std::string_view host = text.substr(1, close - 1);
    uint32_t scope_id = 0;
    size_t pct = host.find('%');
    if (pct != std::string_view::npos) {
      std::string_view scope = host.substr(pct + 1);
      host = host.substr(0, pct);
      if (scope.empty()) return Invalid(text, "empty scope id");
      if (AllDigits(scope)) {
        if (!absl::SimpleAtoi(std::string(scope), &scope_id)) {
          return Invalid(text, "invalid scope id");
        }
      } else {
        scope_id = if_nametoindex(std::string(scope).c_str());
        if (scope_id == 0) return Invalid(text, "unknown interface in scope id");
      }
    }
    in6_addr a6;
    if (host.empty() || inet_pton(AF_INET6, std::string(host).c_str(), &a6) != 1) {
      return Invalid(text, "invalid IPv6 address");
    }
    return V6(a6.s6_addr, port, scope_id);
  }
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return Invalid(text, "missing port");
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) {
    return Invalid(text, "IPv6 addresses need brackets: [addr]:port");
  }
  uint16_t port;
  if (!ParsePort(text.substr(colon + 1), &port)) return Invalid(text, "invalid port");
  in_addr a4;
  // inet_pton only takes the full dotted quad (no "1.2.3", hex or octal).
  if (host.empty() || inet_pton(AF_INET, std::string(host).c_str(), &a4) != 1) {
    return Invalid(text, "invalid IPv4 address");
  }
  return V4(ntohl(a4.s_addr), port);
}

std::array<uint8_t, 16> SocketAddress::MappedV6() const {
  if (is_v6()) return addr_;
  std::array<uint8_t, 16> out{};
  out[10] = 0xff;
  out[11] = 0xff;
  std::memcpy(out.data() + 12, addr_.data(), 4);
  return out;
}

bool SocketAddress::IsWildcard() const {
  size_t n = is_v4() ? 4 : 16;
  for (size_t i = 0; i < n; ++i) {
    if (addr_[i] != 0) return false;
  }
  return family_ != 0;
}

bool ListensDualStack(const SocketAddress& listener, absl::Span<const SocketAddress> listeners) {
  if (!listener.is_v6() || !listener.IsWildcard()) return false;
  if (listener.port() == 0) return true;  // an ephemeral port is nobody else's
  for (const SocketAddress& other : listeners) {
    if (other.is_v4() && other.port() == listener.port()) return false;
  }
  return true;
}

socklen_t SocketAddress::ToSockaddr(sockaddr_storage* out, bool as_v6) const {
  std::memset(out, 0, sizeof(*out));
  if (is_v4() && !as_v6) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port_);
    std::memcpy(&sin->sin_addr.s_addr, addr_.data(), 4);
    return sizeof(sockaddr_in);
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  sin6->sin6_port = htons(port_);
  std::array<uint8_t, 16> b = MappedV6();
  std::memcpy(sin6->sin6_addr.s6_addr, b.data(), 16);
  sin6->sin6_scope_id = is_v6() ? scope_id_ : 0;
  return sizeof(sockaddr_in6);
}

std::string SocketAddress::HostString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (is_v4()) {
    inet_ntop(AF_INET, addr_.data(), buf, sizeof(buf));
    return buf;
  }
  if (is_v6()) {
    inet_ntop(AF_INET6, addr_.data(), buf, sizeof(buf));
    return buf;
  }
  return "<unset>";
}

std::string SocketAddress::ToString() const {
  if (is_v6()) {
    if (scope_id_ != 0) return absl::StrFormat("[%s%%%u]:%u", HostString(), scope_id_, port_);
    return absl::StrFormat("[%s]:%u", HostString(), port_);
  }
  return absl::StrFormat("%s:%u", HostString(), port_);
}

}  // namespace drasyl
