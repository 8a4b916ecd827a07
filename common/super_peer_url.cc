#include "common/super_peer_url.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "common/hex.h"

namespace drasyl {

std::string SuperPeerUrl(const SocketAddress& udp_addr, const PublicKey& pk, int32_t network_id,
                         std::optional<uint16_t> tcp_port) {
  std::string host = udp_addr.HostString();
  if (udp_addr.is_v6()) {
    // A zone id must be written as "%25<zone>" inside a URL (RFC 6874).
    std::string::size_type pct = udp_addr.ToString().find('%');
    std::string zone;
    if (pct != std::string::npos) {
      std::string s = udp_addr.ToString();
      zone = "%25" + s.substr(pct + 1, s.rfind(']') - pct - 1);
    }
    host = absl::StrCat("[", host, zone, "]");
  }
  std::string url = absl::StrFormat("udp://%s:%u?publicKey=%s&networkId=%d", host,
                                    udp_addr.port(), HexEncode(pk), network_id);
  if (tcp_port) absl::StrAppendFormat(&url, "&tcpPort=%u", *tcp_port);
  return url;
}

}  // namespace drasyl
