// --af_xdp's part of the DPDK backend: the ports are net_af_xdp vdevs on
// interfaces the kernel keeps, with our XDP program (dataplane/afxdp/) in
// front of their AF_XDP sockets; the super peer's addresses are the
// kernel's addresses of those interfaces; there is no TAP (the kernel gets
// what is not ours from the XDP program directly).
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_AF_XDP_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_AF_XDP_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/afxdp/xdp_owner.h"
#include "dataplane/afxdp/xsk_sockets.h"
#include "dataplane/dpdk/dpdk_backend.h"
#include "dataplane/dpdk/dpdk_port_plan.h"

namespace drasyl::dpdk {

class AfXdpPorts {
 public:
  // Claims the interfaces (dataplane/afxdp/xdp_owner.h) and reads their
  // addresses; fails with the reason when one cannot be used.
  static absl::StatusOr<std::unique_ptr<AfXdpPorts>> Prepare(const std::vector<std::string>& ifaces);

  // The EAL arguments: the user's plus a net_af_xdp vdev per interface,
  // every RX queue of it with a socket (what our program sends to a queue
  // without one would reach nobody), no preferred busy polling, and
  // --no-pci.
  std::string EalArgs(const std::string& user_args) const;
  // The super peer's addresses: interface i's on DPDK port i (CheckPorts).
  std::vector<DpdkAddress> Addresses() const;
  // After rte_eal_init: the ports are ours, port id i on interface i.
  absl::Status CheckPorts(const std::vector<uint16_t>& eth_ports) const;
  // After the ports started: adopts the programs net_af_xdp attached, tells
  // them our destinations, logs how the sockets run (zero-copy or copy).
  absl::Status Attach(uint16_t udp4_port, uint16_t udp6_port);
  // After Attach: the AF_XDP sockets a worker that polls `rx` sleeps on
  // when idle: those of its queues, or, when the kernel cannot say which
  // socket serves which queue (no xsk_diag), all of them (a frame for any
  // queue then wakes every sleeping worker).
  std::vector<int> WaitFds(const std::vector<RxSource>& rx) const;
  // Housekeeping: the interfaces' addresses again. When they changed
  // (true, logged), the XDP programs at once send the kernel what goes to a
  // removed address, and Addresses() has the new set; once the workers
  // serve it, Serve() lets the programs take the new addresses too. Fails
  // when an interface is gone (its ports are dead; a restart finds it
  // again once it is back).
  absl::StatusOr<bool> AddressesChanged();
  // The XDP programs take the interfaces' addresses for which `served` is
  // true (those the workers' table holds).
  absl::Status Serve(absl::FunctionRef<bool(const SocketAddress&)> served);
  // A port setup failure with what commonly causes it under net_af_xdp
  // (whose own log, above it, has the details).
  static absl::Status Explain(const absl::Status& s);
  // /metrics: the programs' verdict counters.
  std::string Metrics() const;

 private:
  struct Interface {
    std::unique_ptr<afxdp::XdpOwner> owner;
    std::vector<afxdp::KernelAddress> addrs;
  };
  std::vector<Interface> ifaces_;
  std::vector<afxdp::XskSocket> sockets_;  // Attach's
  uint16_t udp4_port_ = 0;
  uint16_t udp6_port_ = 0;
};

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_AF_XDP_H_
