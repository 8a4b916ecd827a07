// DPDK backend of the load generator: one DPDK ethernet port (net_memif to a
// super peer's memif port, net_af_packet on a veth, a NIC), one RX and one TX
// queue. Each simulated "socket" is a UDP source port on one IPv4 address
// (--dpdk_local_ip, ports 20000, 20001, ...). Frames are built and parsed
// here (Ethernet II + IPv4 + UDP, checksums in software); ARP requests for
// our address are answered, and the super peer's MAC is resolved with ARP
// unless --dpdk_peer_mac gives it.
//
// The sender thread transmits, the receiver thread polls; both are plain
// threads (not EAL lcores). ARP replies from the receiver thread share the
// TX queue under a mutex that is uncontended otherwise.
#include "bench/loadgen/packet_io.h"

#include "absl/strings/str_cat.h"

#ifdef DRASYL_HAVE_DPDK
#include <arpa/inet.h>
#include <rte_arp.h>
#include <sched.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "dataplane/dpdk_eal.h"
#include "dataplane/dpdk_packet.h"
#endif

namespace drasyl::loadgen {

#ifdef DRASYL_HAVE_DPDK
namespace {

constexpr uint16_t kBasePort = 20000;
constexpr int kMaxRx = 1024;
constexpr int kMaxTx = 256;
constexpr uint16_t kRxDesc = 2048;
constexpr uint16_t kTxDesc = 2048;
constexpr unsigned kMbufs = 16383;
constexpr uint16_t kDataRoom = RTE_PKTMBUF_HEADROOM + 4096 + 128;
constexpr size_t kL2L3L4 = sizeof(rte_ether_hdr) + sizeof(rte_ipv4_hdr) + sizeof(rte_udp_hdr);

class DpdkIo : public PacketIo {
 public:
  ~DpdkIo() override {
    if (started_) {
      rte_eth_dev_stop(port_);
      rte_eth_dev_close(port_);
    }
    if (dpdk::EalInitialized()) dpdk::CleanupEal();
  }

  const char* name() const override { return "dpdk"; }
  size_t num_ports() const override { return nports_; }
  SocketAddress local_address(size_t port) const override {
    return SocketAddress::V4(ntohl(local_ip_be_), static_cast<uint16_t>(kBasePort + port));
  }
  uint64_t tx_errors() const override { return tx_errors_.load(std::memory_order_relaxed); }

  int Send(size_t port, const TxPacket* pkts, int n) override {
    n = std::min(n, kMaxTx);
    rte_mbuf* m[kMaxTx];
    if (rte_pktmbuf_alloc_bulk(pool_, m, n) != 0) {
      AddErrors(n);
      return 0;
    }
    int built = 0;
    for (int i = 0; i < n; ++i) {
      if (!BuildUdp(m[i], static_cast<uint16_t>(kBasePort + port), pkts[i].data, pkts[i].len)) {
        rte_pktmbuf_free(m[i]);
        AddErrors(1);
        continue;
      }
      m[built++] = m[i];
    }
    return Transmit(m, built);
  }

  // Polls; busy while traffic flows (within 1 ms of the last frame), with
  // 20 us naps when idle so that an idle generator leaves the core alone.
  int Receive(RxPacket* out, int max, int timeout_ms) override {
    max = std::min(max, kMaxRx);
    const uint64_t deadline = MonoNs() + static_cast<uint64_t>(timeout_ms) * 1000000ull;
    int got = 0;
    for (;;) {
      rte_mbuf* m[64];
      const uint16_t want = static_cast<uint16_t>(std::min(64, max - got));
      const uint16_t n = rte_eth_rx_burst(port_, 0, m, want);
      if (n > 0) {
        const uint64_t now = NowNs();
        for (uint16_t i = 0; i < n; ++i) {
          Classify(m[i], out, &got, now);
          rte_pktmbuf_free(m[i]);
        }
        last_rx_mono_ = MonoNs();
      }
      if (got >= max) return got;
      if (n == want) continue;  // more may be waiting
      if (got > 0) return got;
      const uint64_t mono = MonoNs();
      if (mono >= deadline) return 0;
      if (mono - last_rx_mono_ > 1000000ull) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  static absl::StatusOr<std::unique_ptr<PacketIo>> Create(const DpdkIoOptions& o);

 private:
  void AddErrors(uint64_t n) {
    tx_errors_.store(tx_errors_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Transmits and frees what could not be sent (a few retries on a full ring).
  int Transmit(rte_mbuf** m, int n) {
    int sent = 0;
    std::lock_guard<std::mutex> lock(tx_mu_);
    for (int tries = 0; sent < n && tries < 64; ++tries) {
      sent += rte_eth_tx_burst(port_, 0, m + sent, static_cast<uint16_t>(n - sent));
    }
    for (int i = sent; i < n; ++i) rte_pktmbuf_free(m[i]);
    if (sent < n) AddErrors(n - sent);
    return sent;
  }

  bool BuildUdp(rte_mbuf* m, uint16_t src_port, const uint8_t* data, uint32_t len) {
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(kL2L3L4 + len));
    if (p == nullptr) return false;
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    rte_ether_addr_copy(&sp_mac_, &eth->dst_addr);
    rte_ether_addr_copy(&mac_, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    auto* ip = reinterpret_cast<rte_ipv4_hdr*>(eth + 1);
    ip->version_ihl = RTE_IPV4_VHL_DEF;
    ip->type_of_service = 0;
    ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + 8 + len));
    ip->packet_id = rte_cpu_to_be_16(ip_id_++);
    ip->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    ip->time_to_live = 64;
    ip->next_proto_id = IPPROTO_UDP;
    ip->hdr_checksum = 0;
    ip->src_addr = local_ip_be_;
    ip->dst_addr = sp_ip_be_;
    auto* udp = reinterpret_cast<rte_udp_hdr*>(ip + 1);
    udp->src_port = rte_cpu_to_be_16(src_port);
    udp->dst_port = sp_port_be_;
    udp->dgram_len = rte_cpu_to_be_16(static_cast<uint16_t>(8 + len));
    udp->dgram_cksum = 0;
    std::memcpy(udp + 1, data, len);
    ip->hdr_checksum = rte_ipv4_cksum(ip);
    udp->dgram_cksum = rte_ipv4_udptcp_cksum(ip, udp);
    return true;
  }

  void SendArp(uint16_t op, const rte_ether_addr& dst_mac, const rte_ether_addr& tha, uint32_t tip_be) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) return;
    char* p = rte_pktmbuf_append(m, sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr));
    auto* eth = reinterpret_cast<rte_ether_hdr*>(p);
    rte_ether_addr_copy(&dst_mac, &eth->dst_addr);
    rte_ether_addr_copy(&mac_, &eth->src_addr);
    eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_ARP);
    auto* arp = reinterpret_cast<rte_arp_hdr*>(eth + 1);
    arp->arp_hardware = rte_cpu_to_be_16(RTE_ARP_HRD_ETHER);
    arp->arp_protocol = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
    arp->arp_hlen = RTE_ETHER_ADDR_LEN;
    arp->arp_plen = 4;
    arp->arp_opcode = rte_cpu_to_be_16(op);
    rte_ether_addr_copy(&mac_, &arp->arp_data.arp_sha);
    arp->arp_data.arp_sip = local_ip_be_;
    rte_ether_addr_copy(&tha, &arp->arp_data.arp_tha);
    arp->arp_data.arp_tip = tip_be;
    Transmit(&m, 1);
  }

  void Classify(rte_mbuf* m, RxPacket* out, int* got, uint64_t now) {
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < sizeof(rte_ether_hdr)) return;
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    if (type == RTE_ETHER_TYPE_ARP && len >= sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) {
      const auto* arp = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
      const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
      if (op == RTE_ARP_OP_REQUEST && arp->arp_data.arp_tip == local_ip_be_) {
        SendArp(RTE_ARP_OP_REPLY, arp->arp_data.arp_sha, arp->arp_data.arp_sha,
                arp->arp_data.arp_sip);
      } else if (op == RTE_ARP_OP_REPLY && arp->arp_data.arp_sip == sp_ip_be_) {
        rte_ether_addr_copy(&arp->arp_data.arp_sha, &sp_mac_);
        have_sp_mac_.store(true);
      }
      return;
    }
    if (type != RTE_ETHER_TYPE_IPV4 || len < kL2L3L4) return;
    const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
    const size_t ihl = (ip->version_ihl & 0x0f) * 4u;
    if (ip->next_proto_id != IPPROTO_UDP || ip->dst_addr != local_ip_be_ || ihl < 20 ||
        len < sizeof(rte_ether_hdr) + ihl + sizeof(rte_udp_hdr)) {
      return;
    }
    const auto* udp = reinterpret_cast<const rte_udp_hdr*>(reinterpret_cast<const uint8_t*>(ip) + ihl);
    const uint16_t dport = rte_be_to_cpu_16(udp->dst_port);
    if (dport < kBasePort || dport >= kBasePort + nports_) return;
    const uint8_t* payload = reinterpret_cast<const uint8_t*>(udp + 1);
    const size_t avail = p + len - payload;
    const uint32_t wire = std::min<uint32_t>(rte_be_to_cpu_16(udp->dgram_len) - 8u, avail);
    RxPacket& r = out[*got];
    r.data = bufs_.data() + static_cast<size_t>(*got) * snap_;
    r.wire_len = wire;
    r.len = std::min<uint32_t>(wire, static_cast<uint32_t>(snap_));
    std::memcpy(r.data, payload, r.len);
    r.rx_ns = now;
    r.port = dport - kBasePort;
    ++*got;
  }

  uint16_t port_ = 0;
  uint64_t last_rx_mono_ = 0;
  bool started_ = false;
  rte_mempool* pool_ = nullptr;
  rte_ether_addr mac_{};
  rte_ether_addr sp_mac_{};
  std::atomic<bool> have_sp_mac_{false};
  uint32_t local_ip_be_ = 0;
  uint32_t sp_ip_be_ = 0;
  uint16_t sp_port_be_ = 0;
  uint16_t ip_id_ = 0;
  size_t nports_ = 0;
  size_t snap_ = 512;
  std::vector<uint8_t> bufs_;
  std::mutex tx_mu_;
  std::atomic<uint64_t> tx_errors_{0};
};

absl::StatusOr<std::unique_ptr<PacketIo>> DpdkIo::Create(const DpdkIoOptions& o) {
  if (!o.super_peer.is_v4()) {
    return absl::InvalidArgumentError("the DPDK backend speaks IPv4 only: use an IPv4 --url");
  }
  in_addr local;
  if (o.local_ip.empty() || inet_pton(AF_INET, o.local_ip.c_str(), &local) != 1) {
    return absl::InvalidArgumentError(
        "the DPDK backend needs --dpdk_local_ip=<our IPv4 address on the super peer's link>");
  }
  if (o.ports == 0 || o.ports > 65535 - kBasePort) {
    return absl::InvalidArgumentError("--sockets out of range for the DPDK backend");
  }
  auto io = std::make_unique<DpdkIo>();
  io->local_ip_be_ = local.s_addr;
  std::memcpy(&io->sp_ip_be_, o.super_peer.bytes().data(), 4);
  io->sp_port_be_ = rte_cpu_to_be_16(o.super_peer.port());
  io->nports_ = o.ports;
  io->snap_ = std::max<size_t>(o.snap, 160);
  io->bufs_.resize(static_cast<size_t>(kMaxRx) * io->snap_);

  absl::StatusOr<dpdk::EalArgs> eal = dpdk::BuildEalArgs(o.eal, dpdk::DetectHugepages());
  if (!eal.ok()) return eal.status();
  eal->argv[0] = "drasyl-loadgen";
  for (const std::string& note : eal->notes) std::fprintf(stderr, "loadgen: DPDK: %s\n", note.c_str());
  // rte_eal_init pins the calling thread to the main lcore; the sender and
  // the receiver (created later, inheriting it) are plain threads that the
  // kernel should place: restore the affinity.
  cpu_set_t affinity;
  const bool have_affinity = sched_getaffinity(0, sizeof(affinity), &affinity) == 0;
  if (absl::Status s = dpdk::InitEal(eal->argv); !s.ok()) return s;
  if (have_affinity) sched_setaffinity(0, sizeof(affinity), &affinity);

  uint16_t pid;
  bool found = false;
  RTE_ETH_FOREACH_DEV(pid) {
    if (!found) io->port_ = pid;
    found = true;
  }
  if (!found) {
    return absl::FailedPreconditionError(
        "DPDK found no ethernet port: add one to --dpdk_eal, e.g. "
        "--vdev=net_memif0,role=client,socket=/run/drasyl.memif or "
        "--vdev=net_af_packet0,iface=veth0");
  }
  io->pool_ = rte_pktmbuf_pool_create("lg_mbufs", kMbufs, 256, 0, kDataRoom, rte_socket_id());
  if (io->pool_ == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("mbuf pool: ", rte_strerror(rte_errno), " (give DPDK more memory: -m)"));
  }
  rte_eth_conf conf;
  std::memset(&conf, 0, sizeof(conf));
  int r = rte_eth_dev_configure(io->port_, 1, 1, &conf);
  if (r < 0) return absl::InternalError(absl::StrCat("configure port: ", rte_strerror(-r)));
  uint16_t nrx = kRxDesc, ntx = kTxDesc;
  rte_eth_dev_adjust_nb_rx_tx_desc(io->port_, &nrx, &ntx);
  int socket = rte_eth_dev_socket_id(io->port_);
  if (socket < 0) socket = static_cast<int>(SOCKET_ID_ANY);
  r = rte_eth_rx_queue_setup(io->port_, 0, nrx, socket, nullptr, io->pool_);
  if (r < 0) return absl::InternalError(absl::StrCat("RX queue: ", rte_strerror(-r)));
  r = rte_eth_tx_queue_setup(io->port_, 0, ntx, socket, nullptr);
  if (r < 0) return absl::InternalError(absl::StrCat("TX queue: ", rte_strerror(-r)));
  r = rte_eth_dev_start(io->port_);
  if (r < 0) return absl::InternalError(absl::StrCat("start port: ", rte_strerror(-r)));
  io->started_ = true;
  rte_eth_promiscuous_enable(io->port_);
  rte_eth_macaddr_get(io->port_, &io->mac_);
  rte_eth_dev_info info;
  rte_eth_dev_info_get(io->port_, &info);

  // The super peer's MAC: given, or resolved with ARP.
  if (!o.peer_mac.empty()) {
    if (rte_ether_unformat_addr(o.peer_mac.c_str(), &io->sp_mac_) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("--dpdk_peer_mac '", o.peer_mac, "'"));
    }
  } else {
    rte_ether_addr bcast, zero{};
    std::memset(bcast.addr_bytes, 0xff, sizeof(bcast.addr_bytes));
    RxPacket scratch[64];
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!io->have_sp_mac_.load()) {
      if (std::chrono::steady_clock::now() > give_up) {
        return absl::UnavailableError(absl::StrFormat(
            "no ARP reply from the super peer %s on DPDK port %d (%s): is the link up and the "
            "address right? (or pass --dpdk_peer_mac)",
            o.super_peer.HostString(), io->port_, info.driver_name));
      }
      io->SendArp(RTE_ARP_OP_REQUEST, bcast, zero, io->sp_ip_be_);
      io->Receive(scratch, 64, 200);
    }
  }
  std::fprintf(stderr, "loadgen: DPDK port %d (%s, MAC %s) as %s:%d..%d, super peer MAC %s\n",
               io->port_, info.driver_name, dpdk::MacToString(io->mac_).c_str(), o.local_ip.c_str(), kBasePort,
               static_cast<int>(kBasePort + o.ports - 1), dpdk::MacToString(io->sp_mac_).c_str());
  return std::unique_ptr<PacketIo>(std::move(io));
}

}  // namespace
#endif  // DRASYL_HAVE_DPDK

absl::StatusOr<std::unique_ptr<PacketIo>> CreateDpdkIo(const DpdkIoOptions& opts) {
#ifdef DRASYL_HAVE_DPDK
  if (opts.eal.empty()) {
    return absl::InvalidArgumentError("the DPDK backend needs --dpdk_eal (EAL arguments)");
  }
  return DpdkIo::Create(opts);
#else
  return absl::UnimplementedError(
      "drasyl-loadgen was built without DPDK (libdpdk not found by CMake)");
#endif
}

}  // namespace drasyl::loadgen
