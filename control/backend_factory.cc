#include "control/backend_factory.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "control/banner.h"
#include "dataplane/socket/socket_backend.h"
#include "glog/logging.h"
#ifdef DRASYL_HAVE_DPDK
#include <net/if.h>

#include "dataplane/afxdp/kernel_addresses.h"
#include "dataplane/dpdk/dpdk_backend.h"
#endif

namespace drasyl {
namespace {

absl::StatusOr<std::unique_ptr<Backend>> CreateSocket(const Config& cfg, ControlPlane& control) {
  SocketBackendOptions bopts;
  if (cfg.udp4_listen) bopts.listeners.push_back(*cfg.udp4_listen);
  if (cfg.udp6_listen) bopts.listeners.push_back(*cfg.udp6_listen);
  if (bopts.listeners.empty()) {
    return absl::InvalidArgumentError(
        "no UDP listener: set UDP4_LISTEN and/or UDP6_LISTEN (or --udp4_listen/--udp6_listen)");
  }
  bopts.workers = cfg.workers > 0 ? cfg.workers
                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  bopts.relay = control.relay_config();
  bopts.send_unites_ms = cfg.send_unites_ms;
  bopts.control_wakeup = control.wakeup_fd();
  absl::StatusOr<std::unique_ptr<SocketBackend>> b = SocketBackend::Create(bopts);
  if (!b.ok()) return b.status();
  return std::unique_ptr<Backend>(std::move(*b));
}

#ifdef DRASYL_HAVE_DPDK
absl::StatusOr<std::unique_ptr<Backend>> CreateDpdk(const Config& cfg, ControlPlane& control) {
  DpdkBackendOptions o;
  o.eal_args = cfg.dpdk_eal;
  o.af_xdp = cfg.af_xdp;
  if (!o.af_xdp.empty() && !cfg.dpdk_addr.empty()) {
    return absl::InvalidArgumentError(
        "--af_xdp serves the kernel's addresses of its interfaces: drop --dpdk_addr");
  }
  o.addresses = cfg.dpdk_addr;
  if (o.addresses.empty() && o.af_xdp.empty()) {
    return absl::InvalidArgumentError(
        "--dpdk_eal needs --dpdk_addr=<ip>/<prefix>[,...]: the super peer's own addresses on "
        "the DPDK port(s)");
  }
  // The listeners' ports apply to the DPDK addresses; a dual-stack [::]
  // listener (as with sockets) serves IPv4 when there is no IPv4 listener.
  o.udp4_port = 0;
  o.udp6_port = 0;
  if (cfg.udp4_listen) {
    o.udp4_port = cfg.udp4_listen->port();
    o.listeners.push_back(*cfg.udp4_listen);
  }
  if (cfg.udp6_listen) {
    o.udp6_port = cfg.udp6_listen->port();
    o.listeners.push_back(*cfg.udp6_listen);
    if (!cfg.udp4_listen && ListensDualStack(*cfg.udp6_listen, o.listeners)) {
      o.udp4_port = o.udp6_port;
    }
  }
  if (o.listeners.empty()) {
    return absl::InvalidArgumentError(
        "no UDP listener: set UDP4_LISTEN and/or UDP6_LISTEN (their ports apply to --dpdk_addr)");
  }
  for (const SocketAddress& l : o.listeners) {
    if (l.port() == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the DPDK backend needs a fixed UDP port, not ", l.ToString()));
    }
    if (!l.IsWildcard() && o.af_xdp.empty()) {
      bool ours = false;
      for (const DpdkAddress& a : o.addresses) {
        ours = ours || a.addr.bytes() == l.bytes();
      }
      if (!ours) {
        LOG(WARNING) << "UDP listener " << l.ToString()
                     << " is not one of the --dpdk_addr addresses; only its port applies";
      }
    }
  }
  if (cfg.workers > 0) {
    LOG(INFO) << "DPDK: the worker count comes from the EAL core list (-l), not --workers";
  }
  o.relay = control.relay_config();
  o.send_unites_ms = cfg.send_unites_ms;
  o.control_wakeup = control.wakeup_fd();
  o.idle_sleep_us = cfg.dpdk_idle_sleep_us;
  o.tap_name = cfg.dpdk_tap;
  o.mtu = cfg.dpdk_mtu;
  return CreateDpdkBackend(o);
}
#endif

}  // namespace

absl::StatusOr<std::unique_ptr<Backend>> CreateBackend(const Config& cfg, ControlPlane& control) {
  if (cfg.dpdk_eal.empty() && cfg.af_xdp.empty()) {
    if (!cfg.dpdk_addr.empty()) {
      return absl::InvalidArgumentError("--dpdk_addr without --dpdk_eal: set both for DPDK");
    }
    return CreateSocket(cfg, control);
  }
#ifdef DRASYL_HAVE_DPDK
  return CreateDpdk(cfg, control);
#else
  return absl::UnimplementedError(
      "--dpdk_eal or --af_xdp given, but this drasyl-sp was built without DPDK (install "
      "libdpdk-dev and rebuild with -DDRASYL_DPDK=ON)");
#endif
}

std::vector<SocketAddress> AnnounceAddresses(const Config& cfg) {
  std::vector<SocketAddress> out;
#ifdef DRASYL_HAVE_DPDK
  if (!cfg.af_xdp.empty()) {  // the kernel's addresses of the interfaces
    for (const std::string& name : cfg.af_xdp) {
      absl::StatusOr<std::vector<afxdp::KernelAddress>> a =
          afxdp::InterfaceAddresses(if_nametoindex(name.c_str()));
      for (size_t i = 0; a.ok() && i < a->size(); ++i) out.push_back((*a)[i].addr);
    }
    return out;
  }
#endif
  if (cfg.dpdk_eal.empty()) return HostAddresses();
  for (const DpdkAddress& a : cfg.dpdk_addr) out.push_back(a.addr);
  return out;
}

}  // namespace drasyl
