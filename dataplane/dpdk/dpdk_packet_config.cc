#include "dataplane/dpdk/dpdk_packet_config.h"

#include "common/byte_order.h"

namespace drasyl::dpdk {

bool PacketConfig::AddAddress(const LocalAddress& a) {
  if (n_addrs >= kMaxLocalAddresses) return false;
  const uint8_t idx = n_addrs;
  if (a.family == 4) {
    v4_be[n_v4] = Load32(a.ip.data());
    v4_index[n_v4++] = idx;
    if (first_of_family_[0] < 0) first_of_family_[0] = static_cast<int8_t>(idx);
  } else if (a.family == 6) {
    v6[n_v6] = a.ip;
    v6_index[n_v6++] = idx;
    if (first_of_family_[1] < 0) first_of_family_[1] = static_cast<int8_t>(idx);
  } else {
    return false;
  }
  addrs[n_addrs++] = a;
  return true;
}

}  // namespace drasyl::dpdk
