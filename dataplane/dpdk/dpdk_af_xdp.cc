#include "dataplane/dpdk/dpdk_af_xdp.h"

#include <net/if.h>
#include <rte_ethdev.h>

#include <algorithm>
#include <iterator>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "glog/logging.h"

namespace drasyl::dpdk {

absl::StatusOr<std::unique_ptr<AfXdpPorts>> AfXdpPorts::Prepare(
    const std::vector<std::string>& ifaces) {
  auto p = std::make_unique<AfXdpPorts>();
  for (const std::string& name : ifaces) {
    absl::StatusOr<std::unique_ptr<afxdp::XdpOwner>> owner = afxdp::XdpOwner::Claim(name);
    if (!owner.ok()) return owner.status();
    absl::StatusOr<std::vector<afxdp::KernelAddress>> addrs =
        afxdp::InterfaceAddresses((*owner)->ifindex());
    if (!addrs.ok()) return addrs.status();
    p->ifaces_.push_back({std::move(*owner), std::move(*addrs)});
  }
  if (p->Addresses().empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "--af_xdp=", absl::StrJoin(ifaces, ","), ": no global IPv4 or IPv6 address on the "
        "interface(s) in the kernel; the super peer serves the kernel's addresses of its "
        "interfaces (add one with `ip addr add`)"));
  }
  return p;
}

std::string AfXdpPorts::EalArgs(const std::string& user_args) const {
  std::string args = user_args;
  if (!absl::StrContains(args, "--no-pci")) absl::StrAppend(&args, " --no-pci");
  for (size_t i = 0; i < ifaces_.size(); ++i) {
    const afxdp::XdpOwner& o = *ifaces_[i].owner;
    // busy_budget=0: no preferred busy polling. It wants the interface's
    // interrupts deferred (napi_defer_hard_irqs, gro_flush_timeout), which
    // on a NIC the kernel shares would delay its traffic too, and costs a
    // recvfrom per RX burst; without it the PMD wakes the kernel only when
    // the fill ring asks (on the veth of afxdp-bench.sh: 0.46-0.52 Mpps per
    // worker core against 0.43-0.45 with it).
    absl::StrAppend(&args, " --vdev=net_af_xdp", i, ",iface=", o.ifname(),
                    ",start_queue=0,queue_count=", o.queue_count(),
                    ",xdp_prog=", o.program_path(), ",busy_budget=0");
  }
  return args;
}

std::vector<DpdkAddress> AfXdpPorts::Addresses() const {
  std::vector<DpdkAddress> out;
  for (size_t i = 0; i < ifaces_.size(); ++i) {
    for (const afxdp::KernelAddress& a : ifaces_[i].addrs) {
      DpdkAddress d;
      d.addr = a.addr;
      d.prefix_len = a.prefix_len;
      d.port = static_cast<uint16_t>(i);
      out.push_back(d);
    }
  }
  return out;
}

absl::Status AfXdpPorts::CheckPorts(const std::vector<uint16_t>& eth_ports) const {
  if (eth_ports.size() != ifaces_.size()) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "--af_xdp: the EAL has %d port(s) for %d interface(s); --dpdk_eal must not add ports "
        "of its own (--vdev, PCI devices) in this mode",
        eth_ports.size(), ifaces_.size()));
  }
  for (size_t i = 0; i < ifaces_.size(); ++i) {
    uint16_t port = 0;
    const std::string vdev = absl::StrCat("net_af_xdp", i);
    if (rte_eth_dev_get_port_by_name(vdev.c_str(), &port) != 0 || port != i) {
      return absl::InternalError(absl::StrCat("--af_xdp: port ", vdev, " is missing or not port ", i));
    }
  }
  return absl::OkStatus();
}

absl::Status AfXdpPorts::Attach(uint16_t udp4_port, uint16_t udp6_port) {
  udp4_port_ = udp4_port;
  udp6_port_ = udp6_port;
  for (Interface& f : ifaces_) {
    if (absl::Status s = f.owner->Adopt(); !s.ok()) return s;
    if (absl::Status s = f.owner->SetDestinations(f.addrs, udp4_port, udp6_port); !s.ok()) return s;
    LOG(INFO) << absl::StrFormat(
        "--af_xdp=%s: our XDP program (%s mode) sends UDP to port %d (IPv4) / %d (IPv6) on %s "
        "to %d AF_XDP socket(s), everything else to the kernel",
        f.owner->ifname(), f.owner->attach_mode(), udp4_port, udp6_port,
        afxdp::AddressList(f.addrs), f.owner->queue_count());
  }
  afxdp::XskSockets found = afxdp::ProcessXskSockets();
  sockets_ = std::move(found.sockets);
  const size_t zc = static_cast<size_t>(std::count_if(
      sockets_.begin(), sockets_.end(), [](const afxdp::XskSocket& x) { return x.zero_copy; }));
  const size_t copy = sockets_.size() - zc;
  LOG(INFO) << "--af_xdp: " << zc << " AF_XDP socket(s) in zero-copy mode, " << copy
            << " in copy mode"
            << (copy > 0 ? " (the driver cannot do zero-copy on that interface: the kernel copies "
                           "each frame once)"
                         : "");
  if (!found.where.ok() && sockets_.size() > 1) {
    LOG(WARNING) << "--af_xdp: the kernel does not say which AF_XDP socket serves which queue ("
                 << found.where.message()
                 << "; its xsk_diag module, CONFIG_XDP_SOCKETS_DIAG, does): each idle worker "
                    "sleeps on all "
                 << sockets_.size() << " sockets and wakes for a frame to any of them";
  }
  return absl::OkStatus();
}

std::vector<int> AfXdpPorts::WaitFds(const std::vector<RxSource>& rx) const {
  std::vector<int> fds;
  for (const RxSource& src : rx) {
    if (src.port >= ifaces_.size()) return {};
    const unsigned ifindex = ifaces_[src.port].owner->ifindex();
    // net_af_xdp's queue q is the interface's queue q (start_queue=0).
    auto it = std::find_if(sockets_.begin(), sockets_.end(), [&](const afxdp::XskSocket& x) {
      return x.ifindex == ifindex && x.queue == src.queue;
    });
    if (it == sockets_.end()) {  // not told: every socket
      fds.clear();
      for (const afxdp::XskSocket& x : sockets_) fds.push_back(x.fd);
      return fds;
    }
    fds.push_back(it->fd);
  }
  return fds;
}

absl::StatusOr<bool> AfXdpPorts::AddressesChanged() {
  bool changed = false;
  for (Interface& f : ifaces_) {
    char name[IF_NAMESIZE];
    if (if_indextoname(f.owner->ifindex(), name) == nullptr) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "--af_xdp=%s: the interface is gone (deleted, or moved to another network "
          "namespace); shutting down so that the service manager restarts the super peer, "
          "which serves it again once it is back",
          f.owner->ifname()));
    }
    absl::StatusOr<std::vector<afxdp::KernelAddress>> now =
        afxdp::InterfaceAddresses(f.owner->ifindex());
    if (!now.ok()) continue;  // read again at the next round
    auto had = [&](const afxdp::KernelAddress& a) {
      return std::find(f.addrs.begin(), f.addrs.end(), a) != f.addrs.end();
    };
    // The same set, in any order?
    if (now->size() == f.addrs.size() && std::all_of(now->begin(), now->end(), had)) continue;
    changed = true;
    std::vector<afxdp::KernelAddress> kept;
    std::copy_if(now->begin(), now->end(), std::back_inserter(kept), had);
    LOG(INFO) << absl::StrFormat("--af_xdp=%s: the kernel's addresses changed from %s to %s",
                                 f.owner->ifname(), afxdp::AddressList(f.addrs),
                                 afxdp::AddressList(*now));
    f.addrs = *std::move(now);
    // A removed address is the kernel's again at once; a new one becomes
    // ours in Serve, once the workers have it.
    if (absl::Status s = f.owner->SetDestinations(kept, udp4_port_, udp6_port_); !s.ok()) {
      LOG(ERROR) << s.message();
    }
  }
  return changed;
}

absl::Status AfXdpPorts::Serve(absl::FunctionRef<bool(const SocketAddress&)> served) {
  for (Interface& f : ifaces_) {
    std::vector<afxdp::KernelAddress> ours;
    for (const afxdp::KernelAddress& a : f.addrs) {
      if (served(a.addr)) ours.push_back(a);
    }
    if (absl::Status s = f.owner->SetDestinations(ours, udp4_port_, udp6_port_); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status AfXdpPorts::Explain(const absl::Status& s) {
  return absl::Status(
      s.code(),
      absl::StrCat(s.message(),
                   " (net_af_xdp: see its log above; common causes: an MTU too large for XDP "
                   "(one frame must fit a page: at most about 3500 on most drivers), an XDP "
                   "program attached meanwhile, missing privileges (CAP_NET_ADMIN, CAP_BPF, "
                   "CAP_NET_RAW, CAP_IPC_LOCK, CAP_SYS_ADMIN; docs/af-xdp.md))"));
}

std::string AfXdpPorts::Metrics() const {
  std::vector<const afxdp::XdpOwner*> owners;
  for (const Interface& f : ifaces_) owners.push_back(f.owner.get());
  return afxdp::RenderVerdictMetrics(owners);
}

}  // namespace drasyl::dpdk
