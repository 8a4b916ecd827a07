#include "dataplane/dpdk/dpdk_backend.h"

#include <rte_eal.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_errno.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <thread>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/clock.h"
#include "dataplane/dpdk/dpdk_af_xdp.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_fragments.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_idle_wait.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/dpdk/dpdk_port_plan.h"
#include "dataplane/dpdk/dpdk_tap.h"
#include "dataplane/dpdk/dpdk_worker.h"
#include "glog/logging.h"

namespace drasyl {

using dpdk::kMaxPorts;
using dpdk::PacketConfig;

namespace {

// A worker and where it runs.
struct Lcore {
  std::unique_ptr<dpdk::Worker> worker;
  unsigned lcore = LCORE_ID_ANY;  // LCORE_ID_ANY: runs on a registered std::thread
  bool launched = false;
  std::thread thread;
};

}  // namespace

struct DpdkBackend::Impl {
  dpdk::SharedConf conf;  // the workers' read-only conf (and the control thread's)
  unsigned control_reader = 0;  // the control thread's reader id of it
  std::vector<Lcore> workers;
  uint32_t control_fragment_id = 0;  // the control thread's, as a worker's
  uint32_t fragment_id_stride = 1;
  std::vector<uint16_t> eth_ports;
  // Every TAP: first eth_ports[i]'s own (index i), then those of the VLANs.
  struct Tap {
    uint16_t port;  // its port id
    uint16_t eth;   // the ethernet port whose link it stands for
    uint16_t vlan;  // 0: the port's untagged traffic
    std::string name;
    unsigned ifindex = 0;  // the kernel's, to notice a deletion or a rename
  };
  std::vector<Tap> taps;
  std::vector<uint16_t> configured;  // ports to stop and close
  uint8_t checksum_logged[kMaxPorts] = {};  // Housekeeping's, per port
  std::atomic<bool> accepting{false};  // SendFromControl allowed
  std::unique_ptr<dpdk::AfXdpPorts> af_xdp;  // --af_xdp
  std::unique_ptr<dpdk::EgressWake> egress_wake;  // --af_xdp
};

namespace {

int LcoreMain(void* worker) {
  static_cast<dpdk::Worker*>(worker)->Run();
  return 0;
}

// The NUMA socket of a port's memory (SOCKET_ID_ANY when it has none).
int PortSocket(uint16_t port) {
  const int socket = rte_eth_dev_socket_id(port);
  return socket < 0 ? static_cast<int>(SOCKET_ID_ANY) : socket;
}

dpdk::LocalAddress ToLocal(const DpdkAddress& a) {
  dpdk::LocalAddress la;
  la.family = a.addr.is_v4() ? 4 : 6;
  la.prefix_len = static_cast<uint8_t>(a.prefix_len);
  la.ip = a.addr.bytes();
  return la;
}

absl::Status PortError(const char* what, uint16_t port, int err) {
  return absl::InternalError(
      absl::StrFormat("DPDK port %d: %s failed: %s", port, what, rte_strerror(err < 0 ? -err : err)));
}

// Configures `port` with nb_rxq RX and nb_txq TX queues.
absl::Status ConfigurePort(uint16_t port, uint16_t nb_rxq, uint16_t nb_txq, uint16_t rx_desc,
                           uint16_t tx_desc, uint64_t rss_hf, uint64_t tx_offloads,
                           rte_mempool* pool) {
  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  if (nb_rxq > 1 && rss_hf != 0) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
  }
  conf.txmode.offloads = tx_offloads;
  int r = rte_eth_dev_configure(port, nb_rxq, nb_txq, &conf);
  if (r < 0) return PortError("configure", port, r);
  uint16_t nb_rxd = rx_desc, nb_txd = tx_desc;
  r = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
  if (r < 0) return PortError("adjust descriptors", port, r);
  int socket = rte_eth_dev_socket_id(port);
  if (socket < 0) socket = static_cast<int>(SOCKET_ID_ANY);
  rte_eth_dev_info info;
  r = rte_eth_dev_info_get(port, &info);
  if (r != 0) return PortError("info", port, r);
  for (uint16_t q = 0; q < nb_rxq; ++q) {
    r = rte_eth_rx_queue_setup(port, q, nb_rxd, socket, nullptr, pool);
    if (r < 0) return PortError("RX queue setup", port, r);
  }
  rte_eth_txconf txconf = info.default_txconf;
  txconf.offloads = tx_offloads;
  for (uint16_t q = 0; q < nb_txq; ++q) {
    r = rte_eth_tx_queue_setup(port, q, nb_txd, socket, &txconf);
    if (r < 0) return PortError("TX queue setup", port, r);
  }
  return absl::OkStatus();
}

// The MTU of the kernel interface with index if_index; 0 if unknown.
int KernelMtu(uint32_t if_index) {
  char name[IF_NAMESIZE];
  if (if_index == 0 || if_indextoname(if_index, name) == nullptr) return 0;
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  std::memcpy(ifr.ifr_name, name, sizeof(ifr.ifr_name));
  const int r = ::ioctl(fd, SIOCGIFMTU, &ifr);
  ::close(fd);
  return r == 0 ? ifr.ifr_mtu : 0;
}

// The MTU a port is run with: `wanted` (--dpdk_mtu) when given, else the
// one of the kernel interface it is bound to (net_af_packet on a veth,
// ...: DPDK itself says 1500 until told), else the port's.
absl::StatusOr<uint16_t> PortMtu(uint16_t port, const rte_eth_dev_info& info, int wanted) {
  int mtu = wanted;
  const char* from = "--dpdk_mtu";
  if (mtu <= 0) {
    mtu = KernelMtu(info.if_index);
    from = "its kernel interface";
  }
  if (mtu <= 0) {
    uint16_t own = 0;
    if (rte_eth_dev_get_mtu(port, &own) != 0 || own == 0) own = RTE_ETHER_MTU;
    mtu = own;
    from = "the port";
  }
  if (mtu < dpdk::kMinMtu || mtu > info.max_mtu || mtu < info.min_mtu) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "DPDK port %d (%s): MTU %d (from %s) is not usable: the backend needs %d (IPv6's "
        "minimum) or more, the port takes %d to %d",
        port, info.driver_name, mtu, from, dpdk::kMinMtu, info.min_mtu, info.max_mtu));
  }
  return static_cast<uint16_t>(mtu);
}

}  // namespace

DpdkBackend::DpdkBackend() : impl_(std::make_unique<Impl>()) {}

DpdkBackend::~DpdkBackend() {
  Stop();
  if (dpdk::EalInitialized()) {
    for (uint16_t port : impl_->configured) {
      rte_eth_dev_stop(port);
      rte_eth_dev_close(port);
    }
    impl_->configured.clear();
    rte_ring_free(impl_->conf.latest().egress);
    impl_->workers.clear();  // DPDK memory (fragment tables): before the cleanup
    dpdk::CleanupEal();
  }
}

size_t DpdkBackend::num_workers() const { return impl_->workers.size(); }

WorkerCore& DpdkBackend::worker(size_t i) { return impl_->workers[i].worker->core(); }

bool DpdkBackend::PinnedCpus(cpu_set_t* workers, cpu_set_t* main) const {
  CPU_ZERO(workers);
  for (const Lcore& w : impl_->workers) {
    if (w.lcore == LCORE_ID_ANY) return false;  // a plain thread, placed by the kernel
    const rte_cpuset_t cpus = rte_lcore_cpuset(w.lcore);
    CPU_OR(workers, workers, &cpus);
  }
  *main = rte_lcore_cpuset(rte_get_main_lcore());
  return !impl_->workers.empty();
}

absl::StatusOr<std::unique_ptr<DpdkBackend>> DpdkBackend::Create(const DpdkBackendOptions& opts) {
  std::unique_ptr<DpdkBackend> b(new DpdkBackend());
  b->opts_ = opts;
  absl::Status s = b->Init();
  if (!s.ok()) return s;
  return b;
}

absl::Status DpdkBackend::Init() {
  Impl& im = *impl_;
  dpdk::WorkerShared& sh = im.conf.setup();
  sh.stop = &stop_;
  sh.idle_sleep_us = std::max(0, opts_.idle_sleep_us);
  PacketConfig& pcfg = sh.pcfg;

  // --af_xdp: the interfaces claimed, their kernel addresses ours.
  std::string eal_args = opts_.eal_args;
  if (!opts_.af_xdp.empty()) {
    absl::StatusOr<std::unique_ptr<dpdk::AfXdpPorts>> x = dpdk::AfXdpPorts::Prepare(opts_.af_xdp);
    if (!x.ok()) return x.status();
    im.af_xdp = std::move(*x);
    opts_.addresses = im.af_xdp->Addresses();
    eal_args = im.af_xdp->EalArgs(opts_.eal_args);
  }

  // Our addresses and ports.
  if (opts_.addresses.empty()) {
    return absl::InvalidArgumentError(
        "the DPDK backend needs the super peer's own addresses: --dpdk_addr=<ip>/<prefix>[,...]");
  }
  for (const DpdkAddress& a : opts_.addresses) {
    if (!pcfg.AddAddress(ToLocal(a))) {
      return absl::InvalidArgumentError(
          absl::StrCat("too many --dpdk_addr addresses (at most ", dpdk::kMaxLocalAddresses, ")"));
    }
  }
  pcfg.udp4_port_be = rte_cpu_to_be_16(opts_.udp4_port);
  pcfg.udp6_port_be = rte_cpu_to_be_16(opts_.udp6_port);
  if ((pcfg.n_v4 == 0 || opts_.udp4_port == 0) && (pcfg.n_v6 == 0 || opts_.udp6_port == 0)) {
    return absl::InvalidArgumentError(
        "no UDP listener for the --dpdk_addr addresses: an IPv4 address needs UDP4_LISTEN, an "
        "IPv6 address UDP6_LISTEN (with a fixed port)");
  }

  // EAL.
  absl::StatusOr<dpdk::EalArgs> eal = dpdk::BuildEalArgs(eal_args, dpdk::DetectHugepages());
  if (!eal.ok()) return eal.status();
  for (const std::string& note : eal->notes) LOG(INFO) << note;
  LOG(INFO) << "DPDK EAL arguments: " << absl::StrJoin(eal->argv, " ");
  if (absl::Status s = dpdk::InitEal(eal->argv); !s.ok()) return s;

  // Ethernet ports: every port the EAL arguments created.
  uint16_t pid;
  RTE_ETH_FOREACH_DEV(pid) { im.eth_ports.push_back(pid); }
  im.configured = im.eth_ports;  // stopped and closed on the way out, whatever happens
  if (im.eth_ports.empty()) {
    return absl::FailedPreconditionError(
        "DPDK found no ethernet port: bind a NIC to a DPDK driver or add a virtual one to "
        "--dpdk_eal, e.g. --vdev=net_af_packet0,iface=veth0");
  }
  if (im.af_xdp) {
    if (absl::Status s = im.af_xdp->CheckPorts(im.eth_ports); !s.ok()) return s;
  }
  std::vector<rte_eth_dev_info> infos(im.eth_ports.size());
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    const uint16_t port = im.eth_ports[i];
    if (port >= kMaxPorts) return absl::InternalError("port id out of range");
    int r = rte_eth_dev_info_get(port, &infos[i]);
    if (r != 0) return PortError("info", port, r);
    r = rte_eth_macaddr_get(port, &pcfg.port_mac[port]);
    if (r != 0) return PortError("MAC address", port, r);
    sh.is_eth[port] = true;
    absl::StatusOr<uint16_t> mtu = PortMtu(port, infos[i], opts_.mtu);
    if (!mtu.ok()) return mtu.status();
    sh.mtu[port] = *mtu;
    sh.max_untagged_frame[port] = *mtu + uint32_t{RTE_ETHER_HDR_LEN};
  }
  for (const DpdkAddress& a : opts_.addresses) {
    if (a.port >= kMaxPorts || !sh.is_eth[a.port]) {
      return absl::InvalidArgumentError(absl::StrFormat(
          "--dpdk_addr %s/%d@port%d: there is no DPDK ethernet port %d (the EAL arguments "
          "created port(s) %s)",
          a.addr.HostString(), a.prefix_len, a.port, a.port, absl::StrJoin(im.eth_ports, ", ")));
    }
  }

  // The plan: TAPs, workers, queues, mbufs (dpdk_port_plan.h).
  std::vector<dpdk::PortCaps> caps(im.eth_ports.size());
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    caps[i].port_id = im.eth_ports[i];
    caps[i].driver = infos[i].driver_name;
    caps[i].max_rx_queues = infos[i].max_rx_queues;
    caps[i].max_tx_queues = infos[i].max_tx_queues;
    caps[i].rss_offloads = infos[i].flow_type_rss_offloads;
    caps[i].mtu = sh.mtu[im.eth_ports[i]];
    // --af_xdp: the kernel keeps the link; a socket on every RX queue.
    caps[i].tap = !im.af_xdp;
    caps[i].every_rx_queue = im.af_xdp != nullptr;
  }
  absl::StatusOr<std::vector<dpdk::TapPlan>> taps =
      dpdk::PlanTaps(caps, opts_.addresses, opts_.tap_name,
                     [](const std::string& name) { return if_nametoindex(name.c_str()) != 0; });
  if (!taps.ok()) return taps.status();

  // The kernel's interfaces: the TAPs with their port's MAC (so the
  // kernel's ARP and ND answers name the port), hot-plugged now that the
  // MAC is known.
  std::vector<uint16_t> tap_ports;
  uint16_t tap_max_queues = 0xffff;
  for (size_t i = 0; i < taps->size(); ++i) {
    const dpdk::TapPlan& t = (*taps)[i];
    const uint16_t eth = im.eth_ports[t.eth_index];
    absl::StatusOr<uint16_t> tap =
        dpdk::ProbeTap(t.name, dpdk::MacToString(pcfg.port_mac[eth]), static_cast<int>(i));
    if (!tap.ok()) return tap.status();
    if (*tap >= kMaxPorts) return absl::InternalError("TAP port id out of range");
    im.taps.push_back({*tap, eth, t.vlan, t.name, if_nametoindex(t.name.c_str())});
    im.configured.push_back(*tap);
    tap_ports.push_back(*tap);
    if (t.vlan != 0) {
      pcfg.AllowVlan(eth, t.vlan);
      sh.vlan_taps[eth].push_back({t.vlan, *tap});
    }
    rte_eth_dev_info info;
    if (rte_eth_dev_info_get(*tap, &info) == 0) {
      tap_max_queues = std::min({tap_max_queues, info.max_rx_queues, info.max_tx_queues});
    }
  }

  std::vector<unsigned> lcores;
  unsigned lc;
  RTE_LCORE_FOREACH_WORKER(lc) { lcores.push_back(lc); }
  absl::StatusOr<dpdk::QueuePlan> plan =
      dpdk::PlanQueues(caps, *taps, tap_ports, tap_max_queues, lcores.size(),
                       dpdk::AfPacketFrameSize(opts_.eal_args));
  if (!plan.ok()) return plan.status();
  for (const std::string& w : plan->warnings) LOG(WARNING) << w;
  const size_t n_workers = plan->workers;

  if (absl::Status s = CreatePools(*plan); !s.ok()) return s;
  if (absl::Status s = StartPorts(*plan, infos, *taps); !s.ok()) return s;
  if (im.af_xdp) {
    if (absl::Status s = im.af_xdp->Attach(opts_.udp4_port, opts_.udp6_port); !s.ok()) return s;
    // Idle workers sleep on their sockets; the control thread wakes the
    // one that sends its frames.
    absl::StatusOr<std::unique_ptr<dpdk::EgressWake>> wake = dpdk::EgressWake::Create();
    if (!wake.ok()) return wake.status();
    im.egress_wake = std::move(*wake);
    sh.egress_wake = im.egress_wake.get();
    for (dpdk::WorkerPlan& wp : plan->worker) wp.wait_fds = im.af_xdp->WaitFds(wp.rx);
  }

  // Workers and what each polls; they and the control thread read the conf.
  if (absl::Status s = im.conf.InitReaders(n_workers + 1); !s.ok()) return s;
  im.control_reader = static_cast<unsigned>(n_workers);
  const int socket = PortSocket(im.eth_ports[0]);
  std::vector<std::string> where;
  for (size_t w = 0; w < n_workers; ++w) {
    absl::StatusOr<std::unique_ptr<dpdk::Worker>> worker =
        dpdk::Worker::Create(&im.conf, plan->worker[w], static_cast<uint16_t>(w), opts_.relay,
                             opts_.send_unites_ms, opts_.control_wakeup, socket);
    if (!worker.ok()) return worker.status();
    Lcore& l = im.workers.emplace_back();
    l.worker = std::move(*worker);
    l.lcore = lcores.empty() ? LCORE_ID_ANY : lcores[w];
    where.push_back(l.lcore == LCORE_ID_ANY ? "thread" : absl::StrCat("lcore ", l.lcore));
  }
  im.control_fragment_id = plan->control_fragment_id;
  im.fragment_id_stride = plan->fragment_id_stride;
  LOG(INFO) << "DPDK: " << n_workers << " worker(s) on " << absl::StrJoin(where, ", ");
  im.accepting.store(true);
  return absl::OkStatus();
}

absl::Status DpdkBackend::CreatePools(const dpdk::QueuePlan& plan) {
  dpdk::WorkerShared& sh = impl_->conf.setup();
  const int socket = PortSocket(impl_->eth_ports[0]);
  sh.pool = dpdk::CreateMbufPool("drasyl_mbufs", plan.mbufs, dpdk::kMbufCache, socket,
                                 plan.data_room);
  if (sh.pool == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "cannot create the mbuf pool (", plan.mbufs, " mbufs): ", rte_strerror(rte_errno),
        "; give DPDK more memory (-m) or hugepages"));
  }
  sh.linear_pool = dpdk::CreateMbufPool("drasyl_linear", plan.linear_mbufs, 0, socket,
                                        dpdk::kLinearMbufDataRoom);
  if (sh.linear_pool == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot create the pool for reassembled datagrams (", plan.linear_mbufs,
                     " mbufs of 64 KiB): ", rte_strerror(rte_errno)));
  }
  sh.egress = rte_ring_create("drasyl_egress", dpdk::kEgressRingSize, socket,
                              RING_F_SP_ENQ | RING_F_SC_DEQ);
  if (sh.egress == nullptr) {
    return absl::InternalError(absl::StrCat("egress ring: ", rte_strerror(rte_errno)));
  }
  return absl::OkStatus();
}

// Configures and starts the ports and their TAPs; the addresses go onto the
// TAP of their port and VLAN.
absl::Status DpdkBackend::StartPorts(const dpdk::QueuePlan& plan,
                                     const std::vector<rte_eth_dev_info>& infos,
                                     const std::vector<dpdk::TapPlan>& wanted) {
  Impl& im = *impl_;
  dpdk::WorkerShared& sh = im.conf.setup();
  PacketConfig& pcfg = sh.pcfg;
  const uint16_t n_workers = static_cast<uint16_t>(plan.workers);
  for (size_t i = 0; i < im.eth_ports.size(); ++i) {
    const uint16_t port = im.eth_ports[i];
    const dpdk::PortQueues& pq = plan.ports[i];
    const uint64_t tx_off = infos[i].tx_offload_capa &
                            (RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM);
    pcfg.port_tx_offloads[port] =
        ((tx_off & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) ? dpdk::kTxIpv4Cksum : 0) |
        ((tx_off & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ? dpdk::kTxUdpCksum : 0);
    if (absl::Status s = ConfigurePort(port, pq.rx_queues, pq.tx_queues ? pq.tx_queues : n_workers,
                                       dpdk::kRxDesc, dpdk::kTxDesc, pq.rss_hf, tx_off, sh.pool);
        !s.ok()) {
      return im.af_xdp ? dpdk::AfXdpPorts::Explain(s) : s;
    }
    // The MTU onto the port (net_af_packet: onto its interface) when the
    // operator chose it; one read from the kernel is DPDK's news only.
    uint16_t port_mtu = 0;
    rte_eth_dev_get_mtu(port, &port_mtu);
    if (port_mtu != sh.mtu[port]) {
      const int m = rte_eth_dev_set_mtu(port, sh.mtu[port]);
      if (m != 0 && opts_.mtu > 0) return PortError("setting --dpdk_mtu", port, m);
      if (m != 0) {
        LOG(WARNING) << "DPDK port " << port << ": cannot set its MTU to its interface's ("
                     << sh.mtu[port] << "): " << rte_strerror(-m);
      }
    }
    int r = rte_eth_dev_start(port);
    if (r < 0) return PortError("start", port, r);
    // Multicast for IPv6 neighbour discovery; our unicast MAC filter is in
    // software, so promiscuous mode is not needed.
    rte_eth_allmulticast_enable(port);
    const uint16_t mtu = sh.mtu[port];
    std::vector<std::string> tap_list;
    for (size_t t = 0; t < im.taps.size(); ++t) {
      const Impl::Tap& tap = im.taps[t];
      if (tap.eth != port) continue;
      if (absl::Status s = ConfigurePort(tap.port, n_workers, n_workers, dpdk::kTapDesc,
                                         dpdk::kTapDesc, 0, 0, sh.pool);
          !s.ok()) {
        return s;
      }
      r = rte_eth_dev_start(tap.port);
      if (r < 0) return PortError("start (TAP)", tap.port, r);
      if (absl::Status s = dpdk::ConfigureInterface(tap.name, wanted[t].addrs, mtu); !s.ok()) {
        return s;
      }
      tap_list.push_back(absl::StrCat(
          tap.name, tap.vlan ? absl::StrCat(" (VLAN ", tap.vlan, ")") : "",
          wanted[t].text.empty() ? "" : absl::StrCat(" ", absl::StrJoin(wanted[t].text, " "))));
    }
    const char* spread = pq.rx_queues <= 1 ? ""
                         : im.af_xdp      ? " (an AF_XDP socket each)"
                         : pq.rss_hf      ? " with RSS"
                                          : " (kernel fanout)";
    LOG(INFO) << absl::StrFormat(
        "DPDK port %d (%s, MAC %s, MTU %d): %d RX queue(s)%s, %d TX queue(s), TX offloads:%s%s; "
        "TAP(s) %s",
        port, infos[i].driver_name, dpdk::MacToString(pcfg.port_mac[port]), mtu, pq.rx_queues,
        spread, pq.tx_queues ? pq.tx_queues : n_workers,
        (tx_off & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) ? " ipv4-cksum" : "",
        (tx_off & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ? " udp-cksum" : (tx_off ? "" : " none"),
        im.af_xdp ? "none (--af_xdp: the kernel keeps the interface)"
                  : absl::StrJoin(tap_list, ", "));
  }
  return absl::OkStatus();
}

absl::Status DpdkBackend::Start() {
  if (started_) return absl::OkStatus();
  started_ = true;
  for (Lcore& l : impl_->workers) {
    dpdk::Worker* w = l.worker.get();
    if (l.lcore == LCORE_ID_ANY) {
      l.thread = std::thread([w] {
        if (rte_thread_register() != 0) {
          LOG(ERROR) << "rte_thread_register: " << rte_strerror(rte_errno);
        }
        w->Run();
        rte_thread_unregister();
      });
      l.launched = true;
      continue;
    }
    const int r = rte_eal_remote_launch(&LcoreMain, w, l.lcore);
    if (r != 0) {
      return absl::InternalError(
          absl::StrCat("cannot launch a worker on lcore ", l.lcore, ": ", rte_strerror(-r)));
    }
    l.launched = true;
  }
  return absl::OkStatus();
}

void DpdkBackend::Stop() {
  if (stopped_) return;
  stopped_ = true;
  impl_->accepting.store(false);
  stop_.store(true, std::memory_order_relaxed);
  for (Lcore& l : impl_->workers) {
    if (!l.launched) continue;
    if (l.thread.joinable()) {
      l.thread.join();
    } else if (l.lcore != LCORE_ID_ANY) {
      rte_eal_wait_lcore(l.lcore);
    }
    l.launched = false;
  }
  if (!dpdk::EalInitialized()) return;
  // Frames the control thread queued but nobody sent.
  if (rte_ring* egress = impl_->conf.latest().egress; egress != nullptr) {
    void* obj;
    while (rte_ring_dequeue(egress, &obj) == 0) {
      rte_pktmbuf_free(static_cast<rte_mbuf*>(obj));
    }
  }
  for (uint16_t port : impl_->configured) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);  // a TAP's kernel interface goes away here
  }
  impl_->configured.clear();
}

absl::Status DpdkBackend::Housekeeping() {
  Impl& im = *impl_;
  for (Lcore& l : im.workers) {
    l.worker->TakeChecksumNotes([&](const dpdk::ChecksumNote& note) {
      uint8_t& logged = im.checksum_logged[note.port];
      if (logged >= dpdk::kChecksumLogsPerPort) return;
      ++logged;
      char dev[RTE_ETH_NAME_MAX_LEN] = "?";
      rte_eth_dev_get_name_by_port(note.port, dev);
      LOG(WARNING) << absl::StrFormat(
          "DPDK port %d (%s): dropped a message to the super peer from %s (MAC %s%s): its %s "
          "checksum is wrong (drasyl_drops_total{reason=\"bad_checksum\"}). Likely cause: a "
          "sender on this host (a container or VM behind a veth or TAP) that leaves checksums "
          "to offloading; the kernel hands its partial checksums to DPDK's af_packet as they "
          "are. Fix: turn TX checksum offload off on the sender's interface, `ethtool -K <dev> "
          "tx off`.%s",
          note.port, dev, note.from.address().ToString(),
          dpdk::MacToString(*reinterpret_cast<const rte_ether_addr*>(note.from.mac.data())),
          note.from.vlan ? absl::StrCat(", VLAN ", note.from.vlan & 0xfff) : "",
          note.fault == dpdk::ChecksumFault::kIpv4Header ? "IPv4 header" : "UDP",
          logged == dpdk::kChecksumLogsPerPort ? " (further ones on this port are only counted)"
                                               : "");
    });
  }
  if (im.af_xdp) {
    absl::StatusOr<bool> changed = im.af_xdp->AddressesChanged();
    if (!changed.ok()) return changed.status();
    if (*changed) {
      if (absl::Status s = FollowAddresses(); !s.ok()) return s;
    }
  }
  // A TAP deleted or renamed under us: the kernel side of the exception
  // path is gone (relaying would go on, but not ARP, ND, ping, TCP). A
  // restart recreates it with its addresses, which is what a service
  // manager does after a failure exit.
  for (const Impl::Tap& tap : im.taps) {
    const unsigned now = if_nametoindex(tap.name.c_str());
    if (now == tap.ifindex) continue;
    char renamed[IF_NAMESIZE] = {};
    const bool exists = tap.ifindex != 0 && if_indextoname(tap.ifindex, renamed) != nullptr;
    return absl::FailedPreconditionError(absl::StrFormat(
        "DPDK: the TAP interface %s (the kernel side of port %d%s: ARP, ND, ping and the TCP "
        "fallback) %s; shutting down so that the service manager restarts the super peer, "
        "which creates it again with its addresses (start it again by hand otherwise; leave "
        "the %s<N> interfaces alone while it runs)",
        tap.name, tap.eth, tap.vlan ? absl::StrCat(", VLAN ", tap.vlan) : "",
        exists ? absl::StrCat("was renamed to ", renamed)
               : (now != 0 ? "was replaced by another interface of that name" : "was deleted"),
        opts_.tap_name));
  }
  return absl::OkStatus();
}

// --af_xdp: the kernel's addresses changed. The workers' table (and the
// control thread's) becomes the new set while they run, then the XDP
// programs send them what is to a new address.
absl::Status DpdkBackend::FollowAddresses() {
  Impl& im = *impl_;
  std::vector<dpdk::LocalAddress> wanted;
  for (const DpdkAddress& a : im.af_xdp->Addresses()) wanted.push_back(ToLocal(a));
  // What does not fit the table is found below as not served.
  im.conf.Update([&](dpdk::WorkerShared& sh) { sh.pcfg.ReplaceAddresses(wanted); });
  const PacketConfig& pcfg = im.conf.latest().pcfg;
  auto served = [&](const SocketAddress& a) {
    const std::array<uint8_t, 16> ip = a.bytes();
    const uint8_t family = a.is_v4() ? 4 : 6;
    for (uint8_t i = 0; i < pcfg.n_addrs; ++i) {
      if (pcfg.addrs[i].family == family && pcfg.addrs[i].ip == ip) return true;
    }
    return false;
  };
  if (absl::Status s = im.af_xdp->Serve(served); !s.ok()) return s;
  std::vector<std::string> now, dropped;
  for (const DpdkAddress& a : im.af_xdp->Addresses()) {
    (served(a.addr) ? now : dropped).push_back(a.addr.HostString());
  }
  if (!dropped.empty()) {
    LOG(WARNING) << "--af_xdp: not serving " << absl::StrJoin(dropped, ", ")
                 << ": the super peer serves at most " << dpdk::kMaxLocalAddresses
                 << " addresses at a time (they stay the kernel's)";
  }
  if (now.empty()) {
    LOG(WARNING) << "--af_xdp: no address left to serve; nodes reach the super peer again "
                    "once the interface has a global address";
  } else {
    LOG(INFO) << "--af_xdp: now serving " << absl::StrJoin(now, ", ")
              << " (no restart: peers registered at a kept address stay registered)";
  }
  return absl::OkStatus();
}

const char* DpdkBackend::name() const { return impl_->af_xdp ? "af_xdp" : "dpdk"; }

std::string DpdkBackend::ExtraMetrics() const {
  return impl_->af_xdp ? impl_->af_xdp->Metrics() : "";
}

bool DpdkBackend::SendFromControl(const PeerPath& path, const uint8_t* data, size_t len) {
  if (!impl_->accepting.load(std::memory_order_relaxed)) return false;
  // A reader of the conf for this one frame (an address update may come).
  const dpdk::SharedConf& conf = impl_->conf;
  conf.Online(impl_->control_reader);
  const bool sent = SendWithConf(*conf.Current(impl_->control_reader), path, data, len);
  conf.Offline(impl_->control_reader);
  return sent;
}

bool DpdkBackend::SendWithConf(const dpdk::WorkerShared& sh, const PeerPath& path,
                               const uint8_t* data, size_t len) {
  if (path.transport != Transport::kUdp || path.listener >= kMaxPorts ||
      !sh.is_eth[path.listener]) {
    return false;
  }
  // The control thread is not an EAL thread: the pool's per-lcore cache is
  // bypassed and its (multi-producer/consumer) ring used directly.
  const size_t ip_bytes = (path.family == 4 ? 20 : 40) + 8 + len;
  if (ip_bytes > sh.mtu[path.listener]) return SendFragments(sh, path, data, len);
  rte_mbuf* m = rte_pktmbuf_alloc(sh.pool);
  if (m == nullptr) return false;
  if (!dpdk::BuildFrame(m, path, sh.pcfg, data, len)) {
    rte_pktmbuf_free(m);
    return false;
  }
  m->port = path.listener;
  if (rte_ring_sp_enqueue(sh.egress, m) != 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  if (sh.egress_wake != nullptr) sh.egress_wake->Notify();
  return true;
}

bool DpdkBackend::SendFragments(const dpdk::WorkerShared& sh, const PeerPath& path,
                                const uint8_t* data, size_t len) {
  // Built whole in a linear mbuf, then copied out in fragments (a TCP
  // peer's message to a UDP peer, or the super peer's own, beyond the MTU).
  rte_mbuf* whole = rte_pktmbuf_alloc(sh.linear_pool);
  if (whole == nullptr) return false;
  if (!dpdk::BuildFrame(whole, path, sh.pcfg, data, len)) {
    rte_pktmbuf_free(whole);
    return false;
  }
  rte_mbuf* out[dpdk::kMaxOutFragments];
  DropReason why;
  impl_->control_fragment_id += impl_->fragment_id_stride;
  const size_t n = dpdk::FragmentDatagram(
      rte_pktmbuf_mtod(whole, const uint8_t*), rte_pktmbuf_pkt_len(whole), whole->l2_len,
      sh.mtu[path.listener], impl_->control_fragment_id, sh.pool, out, dpdk::kMaxOutFragments,
      &why);
  rte_pktmbuf_free(whole);
  if (n == 0) return false;
  for (size_t i = 0; i < n; ++i) out[i]->port = path.listener;
  // All of them or none: a datagram without a fragment is lost anyway.
  if (rte_ring_sp_enqueue_bulk(sh.egress, reinterpret_cast<void**>(out),
                               static_cast<unsigned>(n), nullptr) == 0) {
    for (size_t i = 0; i < n; ++i) rte_pktmbuf_free(out[i]);
    return false;
  }
  if (sh.egress_wake != nullptr) sh.egress_wake->Notify();
  return true;
}

absl::StatusOr<std::unique_ptr<Backend>> CreateDpdkBackend(const DpdkBackendOptions& opts) {
  absl::StatusOr<std::unique_ptr<DpdkBackend>> b = DpdkBackend::Create(opts);
  if (!b.ok()) return b.status();
  return std::unique_ptr<Backend>(std::move(*b));
}

}  // namespace drasyl
