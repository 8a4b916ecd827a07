#include "dataplane/dpdk/dpdk_packet_config.h"

#include <algorithm>

#include "common/byte_order.h"

namespace drasyl::dpdk {

bool PacketConfig::AddAddress(const LocalAddress& a) {
  if (n_addrs >= kMaxLocalAddresses || (a.family != 4 && a.family != 6)) return false;
  addrs[n_addrs++] = a;
  IndexAddresses();
  return true;
}

std::vector<LocalAddress> PacketConfig::ReplaceAddresses(const std::vector<LocalAddress>& wanted) {
  auto is_wanted = [&](const LocalAddress& a) {
    return std::find(wanted.begin(), wanted.end(), a) != wanted.end();
  };
  for (uint8_t i = 0; i < n_addrs; ++i) {
    if (addrs[i].family == 0 || is_wanted(addrs[i])) continue;
    addrs[i] = LocalAddress{};
    freed_[n_freed_++] = i;
  }
  std::vector<LocalAddress> left_out;
  for (const LocalAddress& a : wanted) {
    if (a.family != 4 && a.family != 6) {
      left_out.push_back(a);
      continue;
    }
    if (std::find(addrs, addrs + n_addrs, a) != addrs + n_addrs) continue;  // kept
    if (n_addrs < kMaxLocalAddresses) {
      addrs[n_addrs++] = a;
    } else if (n_freed_ > 0) {
      addrs[freed_[0]] = a;
      std::copy(freed_ + 1, freed_ + n_freed_, freed_);
      --n_freed_;
    } else {
      left_out.push_back(a);
    }
  }
  IndexAddresses();
  return left_out;
}

void PacketConfig::IndexAddresses() {
  n_v4 = n_v6 = 0;
  first_of_family_[0] = first_of_family_[1] = -1;
  for (uint8_t i = 0; i < n_addrs; ++i) {
    const LocalAddress& a = addrs[i];
    if (a.family == 4) {
      v4_be[n_v4] = Load32(a.ip.data());
      v4_index[n_v4++] = i;
      if (first_of_family_[0] < 0) first_of_family_[0] = static_cast<int8_t>(i);
    } else if (a.family == 6) {
      v6[n_v6] = a.ip;
      v6_index[n_v6++] = i;
      if (first_of_family_[1] < 0) first_of_family_[1] = static_cast<int8_t>(i);
    }
  }
}

}  // namespace drasyl::dpdk
