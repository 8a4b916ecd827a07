// DPDK backend of the load generator: one DPDK ethernet port (net_memif to a
// super peer's memif port, net_af_packet on a veth, a NIC), one RX and one TX
// queue. Each simulated "socket" is a UDP source port on one IPv4 address
// (--dpdk_local_ip, ports 20000, 20001, ...). ARP requests for our address
// are answered, and the super peer's MAC is resolved with ARP unless
// --dpdk_peer_mac gives it.
//
// A poll-mode backend: during traffic one thread (pinned to the EAL main
// lcore's CPU when the EAL arguments name cores) sends bursts and polls
// between them, run to completion; outside traffic a receiver thread polls.
// Per packet there is no allocation, no system call and no checksum over
// the message: the Ethernet/IPv4/UDP headers of every source port are
// prebuilt, the IPv4 header checksum and the UDP checksum follow from
// precomputed sums (RFC 1624) and the sum of the message the caller passes
// (TxPacket::sum; computed here only for messages without one, the HELLOs).
// Times come from the TSC, read once per burst.
#include "bench/loadgen/packet_io.h"

#include "absl/strings/str_cat.h"

#ifdef DRASYL_HAVE_DPDK
#include <arpa/inet.h>
#include <rte_arp.h>
#include <rte_cycles.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_memcpy.h>
#include <rte_udp.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "common/byte_order.h"
#include "common/checksum.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#endif

namespace drasyl::loadgen {

#ifdef DRASYL_HAVE_DPDK
namespace {

constexpr uint16_t kBasePort = 20000;
constexpr int kMaxRx = 1024;
constexpr uint16_t kRxPoll = 64;  // per rte_eth_rx_burst
constexpr int kMaxTx = 256;
constexpr uint16_t kRxDesc = 2048;
constexpr uint16_t kTxDesc = 2048;
constexpr unsigned kMbufs = 16383;
constexpr unsigned kMbufCache = 256;
constexpr uint16_t kDataRoom = RTE_PKTMBUF_HEADROOM + 4096 + 128;
constexpr size_t kIpOff = sizeof(rte_ether_hdr);
constexpr size_t kUdpOff = kIpOff + sizeof(rte_ipv4_hdr);
constexpr size_t kL2L3L4 = kUdpOff + sizeof(rte_udp_hdr);
static_assert(kL2L3L4 == 42);

// Whether EAL arguments choose the cores (-l, -c, --lcores).
bool NamesCores(const std::vector<std::string>& argv) {
  for (const std::string& a : argv) {
    if (a == "-l" || a == "-c" || absl::StartsWith(a, "--lcores") ||
        (a.size() > 2 && a[0] == '-' && (a[1] == 'l' || a[1] == 'c') && a[2] != '-')) {
      return true;
    }
  }
  return false;
}

class DpdkIo : public PacketIo {
 public:
  ~DpdkIo() override {
    if (held_n_ > 0) rte_pktmbuf_free_bulk(held_, held_n_);
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
  bool poll_mode() const override { return true; }

  // TSC -> ns since base_ns_ (CLOCK_REALTIME when the port came up).
  uint64_t Now() const override {
    return base_ns_ +
           static_cast<uint64_t>((static_cast<unsigned __int128>(rte_rdtsc() - base_tsc_) * ns_mult_) >> 32);
  }

  void PinCallingThread() override {
    if (pin_) sched_setaffinity(0, sizeof(main_cpus_), &main_cpus_);
  }

  int Send(size_t port, const TxPacket* pkts, int n) override {
    return SendImpl(port, pkts, n, UINT32_MAX);
  }
  int SendStamped(size_t port, const TxPacket* pkts, int n, uint32_t stamp_off) override {
    return SendImpl(port, pkts, n, stamp_off);
  }

  // Received messages point into their mbufs, which are kept until the
  // next call (no copy). Busy while traffic flows (within 1 ms of the last
  // frame), with 20 us naps when idle and timeout_ms > 0, so that an idle
  // receiver thread leaves the core alone; timeout_ms 0 polls once.
  int Receive(RxPacket* out, int max, int timeout_ms) override {
    if (held_n_ > 0) {
      rte_pktmbuf_free_bulk(held_, held_n_);
      held_n_ = 0;
    }
    max = std::min(max, kMaxRx);
    uint64_t deadline = 0;
    int got = 0;
    for (;;) {
      rte_mbuf* m[kRxPoll];
      rte_mbuf* drop[kRxPoll];
      unsigned ndrop = 0;
      const uint16_t want = static_cast<uint16_t>(std::min<int>(kRxPoll, max - got));
      const uint16_t n = rte_eth_rx_burst(port_, 0, m, want);
      if (n > 0) {
        const uint64_t now = Now();
        for (uint16_t i = 0; i < n; ++i) {
          if (Classify(m[i], &out[got], now)) {
            held_[held_n_++] = m[i];
            ++got;
          } else {
            drop[ndrop++] = m[i];
          }
        }
        if (ndrop > 0) rte_pktmbuf_free_bulk(drop, ndrop);
        last_rx_ = now;
      }
      if (got >= max) return got;
      if (n == want) continue;  // more may be waiting
      if (got > 0 || timeout_ms <= 0) return got;
      const uint64_t now = Now();
      if (deadline == 0) deadline = now + static_cast<uint64_t>(timeout_ms) * 1000000ull;
      if (now >= deadline) return 0;
      if (now - last_rx_ > 1000000ull) std::this_thread::sleep_for(std::chrono::microseconds(20));
    }
  }

  static absl::StatusOr<std::unique_ptr<PacketIo>> Create(const DpdkIoOptions& o);

 private:
  // Prebuilt headers of one source port: lengths and checksums zero.
  struct alignas(64) Header {
    uint8_t bytes[kL2L3L4];
    uint16_t udp_sum;  // pseudo-header addresses and protocol, UDP ports
  };

  void AddErrors(uint64_t n) {
    tx_errors_.store(tx_errors_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }

  // Frames for n messages from `port`; stamp_off < UINT32_MAX: stamped at
  // hand-off. Returns how many went out.
  int SendImpl(size_t port, const TxPacket* pkts, int n, uint32_t stamp_off) {
    if (port >= nports_ || n <= 0) return 0;
    n = std::min(n, kMaxTx);
    rte_mbuf* m[kMaxTx];
    uint64_t partial[kMaxTx];
    if (rte_pktmbuf_alloc_bulk(pool_, m, n) != 0) {
      AddErrors(n);
      return 0;
    }
    const Header& h = headers_[port];
    int built = 0;
    for (int i = 0; i < n; ++i) {
      const uint32_t len = pkts[i].len;
      if (len + kL2L3L4 > kDataRoom - RTE_PKTMBUF_HEADROOM ||
          (stamp_off != UINT32_MAX && (stamp_off > len || len - stamp_off < 8))) {
        rte_pktmbuf_free(m[i]);
        AddErrors(1);
        continue;
      }
      rte_mbuf* mb = m[i];
      uint8_t* p = rte_pktmbuf_mtod(mb, uint8_t*);
      rte_memcpy(p, h.bytes, kL2L3L4);
      rte_memcpy(p + kL2L3L4, pkts[i].data, len);
      mb->data_len = static_cast<uint16_t>(kL2L3L4 + len);
      mb->pkt_len = kL2L3L4 + len;
      const uint16_t ip_len_be = rte_cpu_to_be_16(static_cast<uint16_t>(sizeof(rte_ipv4_hdr) + 8 + len));
      const uint16_t udp_len_be = rte_cpu_to_be_16(static_cast<uint16_t>(8 + len));
      Store16(p + kIpOff + 2, ip_len_be);
      Store16(p + kIpOff + 10, static_cast<uint16_t>(~csum::Fold(uint64_t{ip_sum_} + ip_len_be)));
      Store16(p + kUdpOff + 4, udp_len_be);
      const uint16_t msg_sum = pkts[i].has_sum ? pkts[i].sum : csum::Sum(pkts[i].data, len);
      // The UDP length counts twice: in the pseudo-header and in the header.
      partial[built] = uint64_t{h.udp_sum} + 2u * udp_len_be + msg_sum;
      m[built++] = mb;
    }
    if (built == 0) return 0;
    if (stamp_off == UINT32_MAX) {
      for (int i = 0; i < built; ++i) {
        Store16(rte_pktmbuf_mtod_offset(m[i], uint8_t*, kUdpOff + 6), csum::UdpField(partial[i]));
      }
    } else {
      // The stamp, as late as it can be written: the hand-off follows.
      const uint64_t now = Now();
      const uint16_t stamp_sum = csum::At(stamp_off, csum::OfU64(now));
      for (int i = 0; i < built; ++i) {
        uint8_t* p = rte_pktmbuf_mtod(m[i], uint8_t*);
        std::memcpy(p + kL2L3L4 + stamp_off, &now, 8);
        Store16(p + kUdpOff + 6, csum::UdpField(partial[i] + stamp_sum));
      }
    }
    // Traffic gets one try: spinning on a full ring would starve our own
    // receive side (the caller counts what the port refused as lost).
    return Transmit(m, built, stamp_off == UINT32_MAX ? 64 : 1);
  }

  // Transmits and frees what could not be sent (up to `tries` attempts while
  // the ring is full).
  int Transmit(rte_mbuf** m, int n, int tries = 64) {
    int sent = 0;
    std::lock_guard<std::mutex> lock(tx_mu_);
    for (int t = 0; sent < n && t < tries; ++t) {
      sent += rte_eth_tx_burst(port_, 0, m + sent, static_cast<uint16_t>(n - sent));
    }
    if (sent < n) {
      rte_pktmbuf_free_bulk(m + sent, static_cast<unsigned>(n - sent));
      AddErrors(n - sent);
    }
    return sent;
  }

  void BuildHeaders() {
    uint8_t ip[sizeof(rte_ipv4_hdr)] = {};
    auto* iph = reinterpret_cast<rte_ipv4_hdr*>(ip);
    iph->version_ihl = RTE_IPV4_VHL_DEF;
    // ID 0 with DF: an atomic datagram (RFC 6864), so the header is constant.
    iph->fragment_offset = rte_cpu_to_be_16(RTE_IPV4_HDR_DF_FLAG);
    iph->time_to_live = 64;
    iph->next_proto_id = IPPROTO_UDP;
    iph->src_addr = local_ip_be_;
    iph->dst_addr = sp_ip_be_;
    ip_sum_ = csum::Sum(ip, sizeof(ip));  // total length and checksum zero
    const uint16_t proto_be = rte_cpu_to_be_16(IPPROTO_UDP);
    const uint64_t pseudo = uint64_t{csum::OfU32(local_ip_be_)} + csum::OfU32(sp_ip_be_) + proto_be;
    headers_.assign(nports_, Header{});
    for (size_t port = 0; port < nports_; ++port) {
      Header& h = headers_[port];
      auto* eth = reinterpret_cast<rte_ether_hdr*>(h.bytes);
      rte_ether_addr_copy(&sp_mac_, &eth->dst_addr);
      rte_ether_addr_copy(&mac_, &eth->src_addr);
      eth->ether_type = rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4);
      std::memcpy(h.bytes + kIpOff, ip, sizeof(ip));
      auto* udp = reinterpret_cast<rte_udp_hdr*>(h.bytes + kUdpOff);
      udp->src_port = rte_cpu_to_be_16(static_cast<uint16_t>(kBasePort + port));
      udp->dst_port = sp_port_be_;
      h.udp_sum = csum::Fold(pseudo + udp->src_port + udp->dst_port);
    }
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

  // A UDP message for one of our ports: *r points into the mbuf (true: keep
  // it until the next Receive). ARP is handled here.
  bool Classify(rte_mbuf* m, RxPacket* r, uint64_t now) {
    uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
    const uint32_t len = rte_pktmbuf_data_len(m);
    if (len < sizeof(rte_ether_hdr)) return false;
    const auto* eth = reinterpret_cast<const rte_ether_hdr*>(p);
    const uint16_t type = rte_be_to_cpu_16(eth->ether_type);
    if (type == RTE_ETHER_TYPE_IPV4 && len >= kL2L3L4) {
      const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(eth + 1);
      const size_t ihl = (ip->version_ihl & 0x0f) * 4u;
      // Ours: to our address; or, reflected, one of our own frames.
      const bool reflected = accept_reflected_ && ip->src_addr == local_ip_be_ &&
                             ip->dst_addr == sp_ip_be_;
      if (ip->next_proto_id != IPPROTO_UDP || (ip->dst_addr != local_ip_be_ && !reflected) ||
          ihl < 20 || len < sizeof(rte_ether_hdr) + ihl + sizeof(rte_udp_hdr)) {
        return false;
      }
      const auto* udp = reinterpret_cast<const rte_udp_hdr*>(p + sizeof(rte_ether_hdr) + ihl);
      const uint16_t dport = rte_be_to_cpu_16(reflected ? udp->src_port : udp->dst_port);
      if (dport < kBasePort || dport >= kBasePort + nports_) return false;
      uint8_t* payload = p + sizeof(rte_ether_hdr) + ihl + sizeof(rte_udp_hdr);
      const uint32_t dgram = rte_be_to_cpu_16(udp->dgram_len);
      if (dgram < 8) return false;
      r->data = payload;
      r->wire_len = dgram - 8u;
      r->len = std::min<uint32_t>(r->wire_len, static_cast<uint32_t>(p + len - payload));
      r->rx_ns = now;
      r->port = dport - kBasePort;
      return true;
    }
    if (type == RTE_ETHER_TYPE_ARP && len >= sizeof(rte_ether_hdr) + sizeof(rte_arp_hdr)) {
      const auto* arp = reinterpret_cast<const rte_arp_hdr*>(eth + 1);
      const uint16_t op = rte_be_to_cpu_16(arp->arp_opcode);
      if (op == RTE_ARP_OP_REQUEST && arp->arp_data.arp_tip == local_ip_be_) {
        SendArp(RTE_ARP_OP_REPLY, arp->arp_data.arp_sha, arp->arp_data.arp_sha,
                arp->arp_data.arp_sip);
      } else if (op == RTE_ARP_OP_REPLY && arp->arp_data.arp_sip == sp_ip_be_ &&
                 !have_sp_mac_.load(std::memory_order_relaxed)) {
        // Only while resolving: the prebuilt headers hold the MAC after that.
        rte_ether_addr_copy(&arp->arp_data.arp_sha, &sp_mac_);
        have_sp_mac_.store(true);
      }
    }
    return false;
  }

  uint16_t port_ = 0;
  bool started_ = false;
  bool pin_ = false;
  bool accept_reflected_ = false;
  cpu_set_t main_cpus_{};
  rte_mempool* pool_ = nullptr;
  rte_ether_addr mac_{};
  rte_ether_addr sp_mac_{};
  std::atomic<bool> have_sp_mac_{false};
  uint32_t local_ip_be_ = 0;
  uint32_t sp_ip_be_ = 0;
  uint16_t sp_port_be_ = 0;
  size_t nports_ = 0;
  std::vector<Header> headers_;
  uint16_t ip_sum_ = 0;  // IPv4 header without total length and checksum
  uint64_t base_tsc_ = 0;
  uint64_t base_ns_ = 0;
  uint64_t ns_mult_ = 0;  // ns per TSC tick << 32
  uint64_t last_rx_ = 0;
  rte_mbuf* held_[kMaxRx];  // the last Receive's messages
  unsigned held_n_ = 0;
  std::mutex tx_mu_;  // ARP replies from whichever thread polls
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
  io->accept_reflected_ = o.accept_reflected;

  absl::StatusOr<dpdk::EalArgs> eal = dpdk::BuildEalArgs(o.eal, dpdk::DetectHugepages());
  if (!eal.ok()) return eal.status();
  eal->argv[0] = "drasyl-loadgen";
  for (const std::string& note : eal->notes) std::fprintf(stderr, "loadgen: DPDK: %s\n", note.c_str());
  // rte_eal_init pins the calling thread to the main lcore; threads made
  // later (identity generation, receiver, progress) should be placed by
  // the kernel: restore the affinity. The traffic loop pins itself
  // (PinCallingThread) when the EAL arguments chose the cores.
  cpu_set_t affinity;
  const bool have_affinity = sched_getaffinity(0, sizeof(affinity), &affinity) == 0;
  if (absl::Status s = dpdk::InitEal(eal->argv); !s.ok()) return s;
  io->main_cpus_ = rte_lcore_cpuset(rte_get_main_lcore());
  io->pin_ = NamesCores(eal->argv) && CPU_COUNT(&io->main_cpus_) > 0;
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
  io->pool_ = dpdk::CreateMbufPool("lg_mbufs", kMbufs, kMbufCache, static_cast<int>(rte_socket_id()),
                                   kDataRoom);
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
  io->base_tsc_ = rte_rdtsc();
  io->base_ns_ = NowNs();
  io->ns_mult_ = static_cast<uint64_t>((static_cast<unsigned __int128>(1000000000ull) << 32) /
                                       rte_get_tsc_hz());

  // The super peer's MAC: given, or resolved with ARP.
  if (!o.peer_mac.empty()) {
    if (rte_ether_unformat_addr(o.peer_mac.c_str(), &io->sp_mac_) != 0) {
      return absl::InvalidArgumentError(absl::StrCat("--dpdk_peer_mac '", o.peer_mac, "'"));
    }
    io->have_sp_mac_.store(true);
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
  io->BuildHeaders();
  std::string pinned;
  if (io->pin_) {
    std::vector<int> cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
      if (CPU_ISSET(c, &io->main_cpus_)) cpus.push_back(c);
    }
    pinned = absl::StrCat(", traffic loop on CPU ", absl::StrJoin(cpus, ","));
  }
  std::fprintf(stderr, "loadgen: DPDK port %d (%s, MAC %s) as %s:%d..%d, super peer MAC %s%s\n",
               io->port_, info.driver_name, dpdk::MacToString(io->mac_).c_str(), o.local_ip.c_str(),
               kBasePort, static_cast<int>(kBasePort + o.ports - 1),
               dpdk::MacToString(io->sp_mac_).c_str(), pinned.c_str());
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
