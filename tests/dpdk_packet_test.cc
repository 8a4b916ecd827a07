// Header parsing and in-place rewriting of the DPDK backend on real mbufs
// (a mempool in an EAL started with --no-huge --no-pci -l 0, no device), the
// EAL argument assembly, and checksums verified by recomputation.
#include <gtest/gtest.h>

#ifdef DRASYL_HAVE_DPDK

#include <arpa/inet.h>
#include <rte_ether.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_udp.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_join.h"
#include "common/wire.h"
#include "dataplane/dpdk/dpdk_eal.h"
#include "dataplane/dpdk/dpdk_frame_parse.h"
#include "dataplane/dpdk/dpdk_frame_rewrite.h"
#include "dataplane/dpdk/dpdk_packet_config.h"
#include "dataplane/relay.h"

// rte_ip{v4,v6}_udptcp_cksum_verify are still "experimental" in DPDK 22.11.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace drasyl::dpdk {
namespace {

constexpr uint16_t kPort = 22527;
const rte_ether_addr kPortMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
const rte_ether_addr kPeerMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
const rte_ether_addr kNextMac = {{0x02, 0x00, 0x00, 0x00, 0x00, 0x03}};

std::array<uint8_t, 16> Ip(const char* text) {
  std::array<uint8_t, 16> out{};
  if (inet_pton(AF_INET, text, out.data()) == 1) return out;
  EXPECT_EQ(inet_pton(AF_INET6, text, out.data()), 1) << text;
  return out;
}
uint8_t FamilyOf(const char* text) { return std::string(text).find(':') == std::string::npos ? 4 : 6; }

// ---------------------------------------------------------------------------
// EAL argument assembly (no EAL needed).

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(DpdkEalArgs, SplitsQuotedArguments) {
  auto a = SplitArgs("-l 0-1  --vdev='net_tap0,iface=a b' \"--x=y z\" a\\ b");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(*a, (std::vector<std::string>{"-l", "0-1", "--vdev=net_tap0,iface=a b", "--x=y z",
                                          "a b"}));
  EXPECT_FALSE(SplitArgs("-l 'unterminated").ok());
  EXPECT_TRUE(SplitArgs("")->empty());
}

TEST(DpdkEalArgs, NoHugepagesAddsNoHugeAndMemory) {
  auto a = BuildEalArgs("-l 0-1 --no-pci", HugepageInfo{false, 0});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->argv[0], "drasyl-sp");
  EXPECT_TRUE(a->no_huge);
  EXPECT_TRUE(Contains(a->argv, "--no-huge"));
  EXPECT_TRUE(Contains(a->argv, "-m"));
  EXPECT_TRUE(Contains(a->argv, "--no-shconf"));
  EXPECT_FALSE(Contains(a->argv, "--in-memory"));  // incompatible with --no-huge
  EXPECT_TRUE(Contains(a->argv, "--no-telemetry"));
  ASSERT_EQ(a->notes.size(), 1u);
  EXPECT_NE(a->notes[0].find("--no-huge"), std::string::npos);

  // Mounted but none free: the same.
  a = BuildEalArgs("-l 0-1", HugepageInfo{true, 0});
  EXPECT_TRUE(a->no_huge);
  // The user's memory size is kept.
  a = BuildEalArgs("-l 0-1 -m 64", HugepageInfo{false, 0});
  EXPECT_EQ(std::count(a->argv.begin(), a->argv.end(), "-m"), 1);
  a = BuildEalArgs("-l 0-1 --socket-mem=64", HugepageInfo{false, 0});
  EXPECT_FALSE(Contains(a->argv, "-m"));
}

TEST(DpdkEalArgs, HugepagesAreUsedWhenFree) {
  auto a = BuildEalArgs("-l 0-1", HugepageInfo{true, 512});
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE(a->no_huge);
  EXPECT_FALSE(Contains(a->argv, "--no-huge"));
  EXPECT_TRUE(Contains(a->argv, "--in-memory"));
  EXPECT_TRUE(a->notes.empty());
  // The user's own choices win.
  a = BuildEalArgs("-l 0-1 --file-prefix=x --telemetry", HugepageInfo{true, 512});
  EXPECT_FALSE(Contains(a->argv, "--in-memory"));
  EXPECT_FALSE(Contains(a->argv, "--no-telemetry"));
  a = BuildEalArgs("--no-huge", HugepageInfo{true, 512});
  EXPECT_TRUE(a->no_huge);
  EXPECT_EQ(std::count(a->argv.begin(), a->argv.end(), "--no-huge"), 1);
}

TEST(DpdkEalArgs, DetectsHugepages) {
  char dir[] = "/tmp/dpdk_packet_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string mounts = std::string(dir) + "/mounts", meminfo = std::string(dir) + "/meminfo";
  std::ofstream(mounts) << "proc /proc proc rw 0 0\nhugetlbfs /dev/hugepages hugetlbfs rw 0 0\n";
  std::ofstream(meminfo) << "MemTotal: 1 kB\nHugePages_Total:     512\nHugePages_Free:      100\n";
  HugepageInfo h = DetectHugepages(mounts, meminfo);
  EXPECT_TRUE(h.mounted);
  EXPECT_EQ(h.free_pages, 100u);
  EXPECT_TRUE(h.usable());
  std::ofstream(mounts) << "proc /proc proc rw 0 0\n";
  h = DetectHugepages(mounts, meminfo);
  EXPECT_FALSE(h.mounted);
  EXPECT_FALSE(h.usable());
  std::remove(mounts.c_str());
  std::remove(meminfo.c_str());
  rmdir(dir);
}

// ---------------------------------------------------------------------------
// Frames on mbufs.

class DpdkPacketTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    static bool ok = [] {
      auto args = BuildEalArgs("-l 0 --no-pci --no-huge -m 128 --log-level=lib.eal:error",
                               HugepageInfo{});
      if (!args.ok()) return false;
      absl::Status s = InitEal(args->argv);
      if (!s.ok()) {
        std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
        return false;
      }
      pool_ = CreateMbufPool("test_pool", 1023, 0, SOCKET_ID_ANY);
      return pool_ != nullptr;
    }();
    ready_ = ok;
  }

  void SetUp() override {
    ASSERT_TRUE(ready_) << "EAL / mempool setup failed";
    cfg_ = PacketConfig();
    cfg_.udp4_port_be = htons(kPort);
    cfg_.udp6_port_be = htons(kPort);
    cfg_.port_mac[0] = kPortMac;
    cfg_.port_mac[1] = {{0x02, 0, 0, 0, 0, 0x11}};
    for (const char* a : {"10.99.0.1", "fd99::1", "10.99.1.1", "fd99:1::1"}) {
      LocalAddress la;
      la.family = FamilyOf(a);
      la.prefix_len = la.family == 4 ? 24 : 64;
      la.ip = Ip(a);
      ASSERT_TRUE(cfg_.AddAddress(la));
    }
  }
  void TearDown() override {
    for (rte_mbuf* m : mbufs_) rte_pktmbuf_free(m);
    mbufs_.clear();
  }

  struct FrameSpec {
    const char* src = "10.99.0.2";
    const char* dst = "10.99.0.1";
    uint16_t sport = 40000;
    uint16_t dport = kPort;
    int vlan = -1;  // -1 untagged
    uint8_t proto = 17;
    bool udp_cksum = true;
    rte_ether_addr dst_mac = kPortMac;
    rte_ether_addr src_mac = kPeerMac;
    size_t padding = 0;
    bool bad_ip_cksum = false;
    uint16_t frag = 0;  // IPv4 flags/offset field
  };

  // A frame from our IPv6 peer to our first IPv6 address.
  static FrameSpec& V6(FrameSpec& s) {
    s.src = "fd99::2";
    s.dst = "fd99::1";
    return s;
  }

  // An APP message of `payload` bytes after the header, hop count 0.
  static std::vector<uint8_t> App(size_t payload, uint8_t fill = 0x5a) {
    wire::HeaderFields h;
    h.type = wire::MessageType::kApp;
    for (size_t i = 0; i < 32; ++i) {
      h.recipient[i] = static_cast<uint8_t>(i + 1);
      h.sender[i] = static_cast<uint8_t>(0x80 + i);
    }
    std::vector<uint8_t> body(payload, fill);
    for (size_t i = 0; i < payload; ++i) body[i] = static_cast<uint8_t>(fill + i * 7);
    std::vector<uint8_t> msg(wire::MessageBytes(payload, false));
    wire::BuildMessage(h, body.data(), body.size(), nullptr, nullptr, msg.data(), msg.size());
    return msg;
  }

  // Builds the frame by hand (independently of the code under test).
  rte_mbuf* Frame(const FrameSpec& s, const std::vector<uint8_t>& payload) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    mbufs_.push_back(m);
    const bool v4 = FamilyOf(s.src) == 4;
    const size_t l2 = s.vlan >= 0 ? 18 : 14, l3 = v4 ? 20 : 40;
    const size_t l4 = (s.proto == 17 ? 8 : 20) + payload.size();
    uint8_t* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, l2 + l3 + l4 + s.padding));
    std::memset(p, 0, l2 + l3 + l4 + s.padding);
    rte_ether_hdr* eth = reinterpret_cast<rte_ether_hdr*>(p);
    eth->dst_addr = s.dst_mac;
    eth->src_addr = s.src_mac;
    const uint16_t type = htons(v4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
    if (s.vlan >= 0) {
      eth->ether_type = htons(RTE_ETHER_TYPE_VLAN);
      rte_vlan_hdr* vh = reinterpret_cast<rte_vlan_hdr*>(p + 14);
      vh->vlan_tci = htons(static_cast<uint16_t>(s.vlan));
      vh->eth_proto = type;
    } else {
      eth->ether_type = type;
    }
    uint8_t* l4p = p + l2 + l3;
    if (v4) {
      rte_ipv4_hdr* ip = reinterpret_cast<rte_ipv4_hdr*>(p + l2);
      ip->version_ihl = 0x45;
      ip->total_length = htons(static_cast<uint16_t>(l3 + l4));
      ip->packet_id = htons(0x1234);
      ip->fragment_offset = htons(s.frag);
      ip->time_to_live = 17;
      ip->next_proto_id = s.proto;
      auto src = Ip(s.src), dst = Ip(s.dst);
      std::memcpy(&ip->src_addr, src.data(), 4);
      std::memcpy(&ip->dst_addr, dst.data(), 4);
      ip->hdr_checksum = rte_ipv4_cksum(ip);
      if (s.bad_ip_cksum) ip->hdr_checksum ^= 0x0101;
    } else {
      rte_ipv6_hdr* ip = reinterpret_cast<rte_ipv6_hdr*>(p + l2);
      ip->vtc_flow = htonl(6u << 28 | 0xabcde);
      ip->payload_len = htons(static_cast<uint16_t>(l4));
      ip->proto = s.proto;
      ip->hop_limits = 17;
      auto src = Ip(s.src), dst = Ip(s.dst);
      std::memcpy(ip->src_addr, src.data(), 16);
      std::memcpy(ip->dst_addr, dst.data(), 16);
    }
    if (s.proto == 17) {
      rte_udp_hdr* udp = reinterpret_cast<rte_udp_hdr*>(l4p);
      udp->src_port = htons(s.sport);
      udp->dst_port = htons(s.dport);
      udp->dgram_len = htons(static_cast<uint16_t>(l4));
      std::memcpy(l4p + 8, payload.data(), payload.size());
      if (s.udp_cksum) {
        udp->dgram_cksum =
            v4 ? rte_ipv4_udptcp_cksum(reinterpret_cast<rte_ipv4_hdr*>(p + l2), udp)
               : rte_ipv6_udptcp_cksum(reinterpret_cast<rte_ipv6_hdr*>(p + l2), udp);
      }
    } else {
      std::memcpy(l4p + 20, payload.data(), payload.size());
    }
    // Padding bytes are garbage, as on the wire.
    for (size_t i = 0; i < s.padding; ++i) p[l2 + l3 + l4 + i] = 0xee;
    return m;
  }

  static PeerPath Path(const char* ip, uint16_t port, uint8_t local_addr = 0, int vlan = -1,
                       uint8_t listener = 0) {
    PeerPath p;
    p.transport = Transport::kUdp;
    p.family = FamilyOf(ip);
    p.ip = Ip(ip);
    p.port = port;
    p.listener = listener;
    p.local_addr = local_addr;
    std::memcpy(p.mac.data(), kNextMac.addr_bytes, 6);
    p.tcp_conn = vlan >= 0 ? kVlanTagged | static_cast<uint32_t>(vlan) : 0;
    return p;
  }

  // Checks a frame as it would go on the wire to `path` with `payload`
  // (hop count already bumped) and valid checksums.
  void ExpectFrameFor(rte_mbuf* m, const PeerPath& path, const std::vector<uint8_t>& payload,
                      const char* src_ip, bool expect_udp_cksum = true) {
    SCOPED_TRACE(testing::Message() << "to " << path.address().ToString());
    const bool v4 = path.family == 4;
    const bool tagged = path.tcp_conn & kVlanTagged;
    const size_t l2 = tagged ? 18 : 14, l3 = v4 ? 20 : 40;
    ASSERT_EQ(m->nb_segs, 1);
    ASSERT_EQ(rte_pktmbuf_pkt_len(m), l2 + l3 + 8 + payload.size());
    ASSERT_EQ(rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m));
    if (m->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_UDP_CKSUM)) {
      EXPECT_EQ(m->l2_len, l2);
      EXPECT_EQ(m->l3_len, l3);
    }
    const uint8_t* p = rte_pktmbuf_mtod(m, const uint8_t*);
    EXPECT_EQ(0, std::memcmp(p, kNextMac.addr_bytes, 6));
    EXPECT_EQ(0, std::memcmp(p + 6, cfg_.port_mac[path.listener].addr_bytes, 6));
    const uint16_t type = htons(v4 ? RTE_ETHER_TYPE_IPV4 : RTE_ETHER_TYPE_IPV6);
    uint16_t got_type;
    if (tagged) {
      std::memcpy(&got_type, p + 12, 2);
      EXPECT_EQ(got_type, htons(RTE_ETHER_TYPE_VLAN));
      uint16_t tci;
      std::memcpy(&tci, p + 14, 2);
      EXPECT_EQ(ntohs(tci), path.tcp_conn & 0xffff);
      std::memcpy(&got_type, p + 16, 2);
    } else {
      std::memcpy(&got_type, p + 12, 2);
    }
    EXPECT_EQ(got_type, type);
    const uint8_t* l3p = p + l2;
    const rte_udp_hdr* udp = reinterpret_cast<const rte_udp_hdr*>(l3p + l3);
    auto src = Ip(src_ip);
    if (v4) {
      const rte_ipv4_hdr* ip = reinterpret_cast<const rte_ipv4_hdr*>(l3p);
      EXPECT_EQ(ip->version_ihl, 0x45);
      EXPECT_EQ(ntohs(ip->total_length), l3 + 8 + payload.size());
      EXPECT_EQ(ip->next_proto_id, 17);
      EXPECT_EQ(ip->time_to_live, kTtl);
      EXPECT_EQ(0, std::memcmp(&ip->src_addr, src.data(), 4));
      EXPECT_EQ(0, std::memcmp(&ip->dst_addr, path.ip.data(), 4));
      if (!(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM)) {
        EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff) << "IPv4 header checksum";
      }
      if (expect_udp_cksum) {
        EXPECT_NE(udp->dgram_cksum, 0);
        EXPECT_EQ(rte_ipv4_udptcp_cksum_verify(ip, udp), 0) << "UDP checksum";
      } else {
        EXPECT_EQ(udp->dgram_cksum, 0);
      }
    } else {
      const rte_ipv6_hdr* ip = reinterpret_cast<const rte_ipv6_hdr*>(l3p);
      EXPECT_EQ(ntohl(ip->vtc_flow) >> 28, 6u);
      EXPECT_EQ(ntohs(ip->payload_len), 8 + payload.size());
      EXPECT_EQ(ip->proto, 17);
      EXPECT_EQ(ip->hop_limits, kTtl);
      EXPECT_EQ(0, std::memcmp(ip->src_addr, src.data(), 16));
      EXPECT_EQ(0, std::memcmp(ip->dst_addr, path.ip.data(), 16));
      EXPECT_NE(udp->dgram_cksum, 0) << "IPv6 UDP checksum is mandatory";
      EXPECT_EQ(rte_ipv6_udptcp_cksum_verify(ip, udp), 0) << "UDP checksum";
    }
    EXPECT_EQ(ntohs(udp->src_port), kPort);
    EXPECT_EQ(ntohs(udp->dst_port), path.port);
    EXPECT_EQ(ntohs(udp->dgram_len), 8 + payload.size());
    EXPECT_EQ(0, std::memcmp(reinterpret_cast<const uint8_t*>(udp) + 8, payload.data(),
                             payload.size()));
  }

  // Parse, bump the hop count as the relay decision does, rewrite, check.
  void Relay(const FrameSpec& in, const PeerPath& path, const char* expected_src,
             size_t payload_size = 100, bool expect_udp_cksum = true) {
    std::vector<uint8_t> msg = App(payload_size);
    rte_mbuf* m = Frame(in, msg);
    ParsedFrame f;
    DropReason why;
    ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
    ASSERT_EQ(f.payload_len, msg.size());
    if (in.udp_cksum) {  // the input itself is valid
      const uint8_t* l3 = rte_pktmbuf_mtod_offset(m, const uint8_t*, f.l2_len);
      ASSERT_EQ(f.family == 4
                    ? rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(l3), l3 + 20)
                    : rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(l3), l3 + 40),
                0);
    }
    uint8_t* payload = PayloadOf(m, f);
    ASSERT_EQ(0, std::memcmp(payload, msg.data(), msg.size()));
    payload[wire::off::kHopCount]++;
    msg[wire::off::kHopCount]++;
    ASSERT_TRUE(RewriteForward(m, f, path, cfg_));
    ExpectFrameFor(m, path, msg, expected_src, expect_udp_cksum);
    // The payload did not move.
    const size_t hdr = ((path.tcp_conn & kVlanTagged) ? 18 : 14) + (path.family == 4 ? 20 : 40) + 8;
    EXPECT_EQ(payload, rte_pktmbuf_mtod_offset(m, uint8_t*, hdr));
  }

  static inline rte_mempool* pool_ = nullptr;
  static inline bool ready_ = false;
  PacketConfig cfg_;
  std::vector<rte_mbuf*> mbufs_;
};

TEST_F(DpdkPacketTest, ParsesUdpToOurAddressAndPort) {
  FrameSpec s;
  std::vector<uint8_t> msg = App(50);
  rte_mbuf* m = Frame(s, msg);
  ParsedFrame f;
  DropReason why;
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(f.family, 4);
  EXPECT_EQ(f.l2_len, 14);
  EXPECT_EQ(f.l3_len, 20);
  EXPECT_EQ(f.payload_off, 42);
  EXPECT_EQ(f.payload_len, msg.size());
  EXPECT_EQ(f.local_addr, 0);
  EXPECT_EQ(f.vlan, 0u);

  PeerPath src = SourcePath(m, f, 0);
  EXPECT_EQ(src.transport, Transport::kUdp);
  EXPECT_EQ(src.family, 4);
  EXPECT_EQ(src.address().ToString(), "10.99.0.2:40000");
  EXPECT_EQ(0, std::memcmp(src.mac.data(), kPeerMac.addr_bytes, 6));
  EXPECT_EQ(src.local_addr, 0);
  EXPECT_EQ(src.listener, 0);
  EXPECT_EQ(src.tcp_conn, 0u);

  // The second IPv4 address, IPv6 addresses.
  s.dst = "10.99.1.1";
  ASSERT_EQ(ParseFrame(Frame(s, msg), cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(f.local_addr, 2);
  s.src = "fd99::2";
  s.dst = "fd99:1::1";
  m = Frame(s, msg);
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(f.family, 6);
  EXPECT_EQ(f.local_addr, 3);
  EXPECT_EQ(f.payload_off, 62);
  src = SourcePath(m, f, 0);
  EXPECT_EQ(src.address().ToString(), "[fd99::2]:40000");
  EXPECT_EQ(src.local_addr, 3);
}

TEST_F(DpdkPacketTest, Ipv4ToIpv4) {
  Relay(FrameSpec{}, Path("10.99.0.3", 5555), "10.99.0.1");
  // From our second address; out of the address the path names.
  FrameSpec s;
  s.dst = "10.99.1.1";
  Relay(s, Path("192.168.7.9", 1, /*local_addr=*/2), "10.99.1.1");
  // The peer registered at another of our addresses than this frame came to:
  // the relayed frame comes from the peer's.
  Relay(FrameSpec{}, Path("192.168.7.9", 1, /*local_addr=*/2), "10.99.1.1");
  Relay(s, Path("10.99.0.3", 5555, /*local_addr=*/0), "10.99.0.1");
  // Odd payload lengths (the checksum pads with a zero byte).
  Relay(FrameSpec{}, Path("10.99.0.3", 5555), "10.99.0.1", 101);
  Relay(FrameSpec{}, Path("10.99.0.3", 5555), "10.99.0.1", 0);
}

TEST_F(DpdkPacketTest, Ipv6ToIpv6) {
  FrameSpec s;
  s.src = "fd99::2";
  s.dst = "fd99::1";
  Relay(s, Path("fd99::3", 5555, 1), "fd99::1");
  Relay(s, Path("2001:db8::77", 65535, 1), "fd99::1", 1201);
}

TEST_F(DpdkPacketTest, Ipv4ToIpv6GrowsTheHeader) {
  FrameSpec s;
  Relay(s, Path("fd99::3", 5555, /*local_addr=*/1), "fd99::1");
  // A path whose local address has the other family: the first of its own.
  Relay(s, Path("fd99::3", 5555, /*local_addr=*/0), "fd99::1", 77);
}

TEST_F(DpdkPacketTest, Ipv6ToIpv4ShrinksTheHeader) {
  FrameSpec s;
  s.src = "fd99::2";
  s.dst = "fd99::1";
  Relay(s, Path("10.99.0.3", 5555, 0), "10.99.0.1");
  Relay(s, Path("10.99.0.3", 5555, 3), "10.99.0.1", 33);  // local_addr 3 is IPv6
}

TEST_F(DpdkPacketTest, VlanTags) {
  for (uint16_t vid : {100, 9, 42}) cfg_.AllowVlan(0, vid);
  FrameSpec s;
  s.vlan = 100;
  std::vector<uint8_t> msg = App(20);
  ParsedFrame f;
  DropReason why;
  rte_mbuf* m = Frame(s, msg);
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(f.l2_len, 18);
  EXPECT_EQ(f.vlan, kVlanTagged | 100);
  EXPECT_EQ(SourcePath(m, f, 0).tcp_conn, kVlanTagged | 100);
  // A tagged frame takes the full checks; the view is its payload all the same.
  PacketView view{};
  ASSERT_EQ(ParseFrame(m, cfg_, CommonFrame(cfg_, 0), 0, &f, &view, &why), FrameClass::kOurs);
  EXPECT_EQ(view.data, PayloadOf(m, f));
  ASSERT_EQ(view.len, msg.size());
  EXPECT_EQ(0, std::memcmp(view.data, msg.data(), msg.size()));
  // Tagged in, tagged (other VLAN), untagged, v6 out.
  Relay(s, Path("10.99.0.3", 5555, 0, 200), "10.99.0.1");
  Relay(s, Path("10.99.0.3", 5555, 0, -1), "10.99.0.1");
  Relay(s, Path("fd99::3", 5555, 1, 0x2005), "fd99::1");
  // Untagged in, tagged out.
  s.vlan = -1;
  Relay(s, Path("10.99.0.3", 5555, 0, 7), "10.99.0.1");
  s.src = "fd99::2";
  s.dst = "fd99::1";
  s.vlan = 9;
  Relay(s, Path("10.99.0.3", 5555, 0, 9), "10.99.0.1");

  // A tag the port stripped (RX_VLAN_STRIPPED) counts too.
  s = FrameSpec{};
  m = Frame(s, msg);
  m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  m->vlan_tci = 42;
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(f.vlan, kVlanTagged | 42);
  EXPECT_EQ(f.l2_len, 14);
}

TEST_F(DpdkPacketTest, OnlyConfiguredVlansAreAccepted) {
  cfg_.AllowVlan(0, 100);
  std::vector<uint8_t> msg = App(20);
  ParsedFrame f;
  DropReason why = DropReason::kCount;
  FrameSpec s;
  s.vlan = 100;
  EXPECT_EQ(ParseFrame(Frame(s, msg), cfg_, 0, &f, &why), FrameClass::kOurs);
  // The PCP bits do not matter; VLAN 0 (priority tag only) always counts.
  s.vlan = 0xa000 | 100;
  EXPECT_EQ(ParseFrame(Frame(s, msg), cfg_, 0, &f, &why), FrameClass::kOurs);
  s.vlan = 0x6000;
  EXPECT_EQ(ParseFrame(Frame(s, msg), cfg_, 0, &f, &why), FrameClass::kOurs);
  // Another VLAN, or VLAN 100 on the other port: dropped and counted.
  for (const auto& [vlan, port] : {std::pair{200, 0}, std::pair{4095, 0}, std::pair{100, 1}}) {
    s.vlan = vlan;
    if (port == 1) s.dst_mac = cfg_.port_mac[1];
    why = DropReason::kCount;
    EXPECT_EQ(ParseFrame(Frame(s, msg), cfg_, static_cast<uint16_t>(port), &f, &why),
              FrameClass::kDrop)
        << vlan << " on port " << port;
    EXPECT_EQ(why, DropReason::kUnknownVlan);
  }
  // A tag the port stripped is checked the same way.
  s = FrameSpec{};
  rte_mbuf* m = Frame(s, msg);
  m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  m->vlan_tci = 7;
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kUnknownVlan);
  // Untagged frames never depend on it.
  s = FrameSpec{};
  EXPECT_EQ(ParseFrame(Frame(s, msg), cfg_, 0, &f, &why), FrameClass::kOurs);
}

TEST_F(DpdkPacketTest, FramesForTheKernelLoseTheirTag) {
  cfg_.AllowVlan(0, 100);
  std::vector<uint8_t> msg = App(20);
  FrameSpec s;
  s.proto = 1;  // ICMP: the kernel's
  s.vlan = 0x2000 | 100;
  rte_mbuf* m = Frame(s, msg);
  s.vlan = -1;
  rte_mbuf* untagged = Frame(s, msg);
  DropReason why;
  // The frame the kernel gets is the untagged one, byte for byte.
  ASSERT_EQ(PopVlanForKernel(m, cfg_, 0, &why), 100);
  ASSERT_EQ(rte_pktmbuf_pkt_len(m), rte_pktmbuf_pkt_len(untagged));
  ASSERT_EQ(rte_pktmbuf_data_len(m), rte_pktmbuf_pkt_len(m));
  EXPECT_EQ(0, std::memcmp(rte_pktmbuf_mtod(m, uint8_t*), rte_pktmbuf_mtod(untagged, uint8_t*),
                           rte_pktmbuf_pkt_len(m)));
  // Untagged: unchanged.
  EXPECT_EQ(PopVlanForKernel(untagged, cfg_, 0, &why), 0);
  EXPECT_EQ(rte_pktmbuf_pkt_len(untagged), rte_pktmbuf_pkt_len(m));
  // Priority-tagged: VLAN 0, tag popped too.
  s.vlan = 0x4000;
  m = Frame(s, msg);
  EXPECT_EQ(PopVlanForKernel(m, cfg_, 0, &why), 0);
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), rte_pktmbuf_pkt_len(untagged));
  // A stripped tag: nothing to pop.
  s.vlan = -1;
  m = Frame(s, msg);
  m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  m->vlan_tci = 100;
  EXPECT_EQ(PopVlanForKernel(m, cfg_, 0, &why), 100);
  EXPECT_EQ(rte_pktmbuf_pkt_len(m), rte_pktmbuf_pkt_len(untagged));
  // An unknown VLAN (e.g. a broadcast ARP, which the parser passes on).
  s.vlan = 200;
  m = Frame(s, msg);
  EXPECT_EQ(PopVlanForKernel(m, cfg_, 0, &why), -1);
  EXPECT_EQ(why, DropReason::kUnknownVlan);
  m->ol_flags |= RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  m->vlan_tci = 201;
  EXPECT_EQ(PopVlanForKernel(m, cfg_, 0, &why), -1);
  EXPECT_EQ(why, DropReason::kUnknownVlan);
  // Stacked tags: QinQ with an inner 802.1Q tag, an 802.1ad S-tag.
  s.vlan = 100;
  m = Frame(s, msg);
  uint16_t vlan_type = htons(RTE_ETHER_TYPE_VLAN);
  std::memcpy(rte_pktmbuf_mtod_offset(m, uint8_t*, 16), &vlan_type, 2);
  EXPECT_EQ(PopVlanForKernel(m, cfg_, 0, &why), -1);
  EXPECT_EQ(why, DropReason::kStackedVlan);
  s.vlan = -1;
  m = Frame(s, msg);
  uint16_t qinq_type = htons(RTE_ETHER_TYPE_QINQ);
  std::memcpy(rte_pktmbuf_mtod_offset(m, uint8_t*, 12), &qinq_type, 2);
  DropReason parse_why;
  ParsedFrame f;
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &parse_why), FrameClass::kException);
  EXPECT_EQ(PopVlanForKernel(m, cfg_, 0, &why), -1);
  EXPECT_EQ(why, DropReason::kStackedVlan);
}

TEST_F(DpdkPacketTest, Ipv4WithoutUdpChecksum) {
  FrameSpec s;
  s.udp_cksum = false;
  Relay(s, Path("10.99.0.3", 5555), "10.99.0.1", 100, /*expect_udp_cksum=*/false);
  // IPv6 needs one: computed from scratch.
  Relay(s, Path("fd99::3", 5555, 1), "fd99::1", 100);
  Relay(s, Path("fd99::3", 5555, 1), "fd99::1", 99);
}

TEST_F(DpdkPacketTest, HopCountWrapKeepsTheChecksum) {
  // The relay decision never lets a hop count past 8, but the rewrite must
  // not depend on it: 255 + 1 wraps to 0 within its byte (found by
  // tests/fuzz/dpdk_frame_fuzz.cc).
  std::vector<uint8_t> msg = App(64);
  msg[wire::off::kHopCount] = 255;
  msg[wire::off::kFlags] = 0x10;
  for (const char* to : {"10.99.0.3", "fd99::3"}) {
    SCOPED_TRACE(to);
    FrameSpec s;
    rte_mbuf* m = Frame(s, msg);
    ParsedFrame f;
    DropReason why;
    ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
    PayloadOf(m, f)[wire::off::kHopCount]++;
    ASSERT_TRUE(RewriteForward(m, f, Path(to, 5555, FamilyOf(to) == 4 ? 0 : 1), cfg_));
    const uint8_t* l3 = rte_pktmbuf_mtod_offset(m, const uint8_t*, 14);
    EXPECT_EQ(FamilyOf(to) == 4
                  ? rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(l3), l3 + 20)
                  : rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(l3), l3 + 40),
              0);
  }
}

TEST_F(DpdkPacketTest, EthernetPaddingIsTrimmed) {
  FrameSpec s;
  s.padding = 12;
  Relay(s, Path("10.99.0.3", 5555), "10.99.0.1");
  Relay(s, Path("fd99::3", 5555, 1), "fd99::1");
}

TEST_F(DpdkPacketTest, TxOffloadsAreUsedWhenThePortHasThem) {
  cfg_.port_tx_offloads[0] = kTxIpv4Cksum | kTxUdpCksum;
  std::vector<uint8_t> msg = App(64);
  FrameSpec s;
  s.udp_cksum = false;
  rte_mbuf* m = Frame(s, msg);
  ParsedFrame f;
  DropReason why;
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  PayloadOf(m, f)[wire::off::kHopCount]++;
  ASSERT_TRUE(RewriteForward(m, f, Path("10.99.0.3", 5555), cfg_));
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_IPV4);
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM);
  const rte_ipv4_hdr* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, 14);
  EXPECT_EQ(ip->hdr_checksum, 0);  // the port fills it in

  // IPv4 without UDP checksum going out as IPv6: the port computes it from
  // the pseudo-header sum in the field.
  m = Frame(s, msg);
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  PayloadOf(m, f)[wire::off::kHopCount]++;
  ASSERT_TRUE(RewriteForward(m, f, Path("fd99::3", 5555, 1), cfg_));
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_UDP_CKSUM);
  EXPECT_TRUE(m->ol_flags & RTE_MBUF_F_TX_IPV6);
  const rte_ipv6_hdr* ip6 = rte_pktmbuf_mtod_offset(m, const rte_ipv6_hdr*, 14);
  const rte_udp_hdr* udp = rte_pktmbuf_mtod_offset(m, const rte_udp_hdr*, 54);
  EXPECT_EQ(udp->dgram_cksum, rte_ipv6_phdr_cksum(ip6, m->ol_flags));
}

TEST_F(DpdkPacketTest, RandomizedChecksumsMatchRecomputation) {
  for (uint16_t vid = 1; vid < 4095; ++vid) cfg_.AllowVlan(0, vid);
  std::mt19937 rng(7);
  const char* v4[] = {"10.99.0.2", "192.168.255.254", "100.64.1.1", "1.2.3.4"};
  const char* v6[] = {"fd99::2", "2a00:1450:4001:82b::200e", "fe80::1", "2001:db8:ffff:ffff::"};
  for (int i = 0; i < 3000; ++i) {
    SCOPED_TRACE(i);
    FrameSpec s;
    const bool in_v6 = rng() & 1;
    s.src = in_v6 ? v6[rng() % 4] : v4[rng() % 4];
    s.dst = in_v6 ? "fd99::1" : "10.99.0.1";
    s.sport = static_cast<uint16_t>(1 + rng() % 65535);
    s.vlan = (rng() % 3 == 0) ? static_cast<int>(rng() % 4095) : -1;
    const bool out_v6 = rng() & 1;
    const char* to = out_v6 ? v6[rng() % 4] : v4[rng() % 4];
    PeerPath path = Path(to, static_cast<uint16_t>(1 + rng() % 65535), out_v6 ? 1 : 0,
                         (rng() % 3 == 0) ? static_cast<int>(rng() % 4096) : -1);
    const size_t size = rng() % 1400;
    SCOPED_TRACE(testing::Message() << "from " << s.src << ":" << s.sport << " vlan " << s.vlan
                                    << " payload " << size);
    Relay(s, path, out_v6 ? "fd99::1" : "10.99.0.1", size);
    if (HasFailure()) break;
    TearDown();  // give the mbufs back
  }
}

TEST_F(DpdkPacketTest, OtherTrafficGoesToTheKernel) {
  std::vector<uint8_t> msg = App(20);
  ParsedFrame f;
  DropReason why;
  auto cls = [&](const FrameSpec& s) { return ParseFrame(Frame(s, msg), cfg_, 0, &f, &why); };
  FrameSpec s;
  s.proto = 6;  // TCP (the fallback listener)
  EXPECT_EQ(cls(s), FrameClass::kException);
  s.proto = 1;  // ICMP
  EXPECT_EQ(cls(s), FrameClass::kException);
  s = FrameSpec{};
  s.dport = 53;  // UDP to another port
  EXPECT_EQ(cls(s), FrameClass::kException);
  s = FrameSpec{};
  s.dst = "10.99.0.255";  // not one of our addresses
  EXPECT_EQ(cls(s), FrameClass::kException);
  s = FrameSpec{};
  s.frag = 0x2000;  // first fragment
  EXPECT_EQ(cls(s), FrameClass::kException);
  s = FrameSpec{};
  s.src = "fd99::2";
  s.dst = "fd99::1";
  s.proto = 58;  // ICMPv6 (neighbour discovery, echo)
  EXPECT_EQ(cls(s), FrameClass::kException);
  s.proto = 17;
  s.dst = "fd99::5";
  EXPECT_EQ(cls(s), FrameClass::kException);
  // Broadcast (ARP) and multicast (ND) frames.
  s = FrameSpec{};
  s.dst_mac = {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
  EXPECT_EQ(cls(s), FrameClass::kException);
  s.dst_mac = {{0x33, 0x33, 0xff, 0, 0, 1}};
  EXPECT_EQ(cls(s), FrameClass::kException);

  // An ARP frame.
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  mbufs_.push_back(m);
  uint8_t arp[60] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
  std::memcpy(arp + 6, kPeerMac.addr_bytes, 6);
  arp[12] = 0x08;
  arp[13] = 0x06;
  char* p = rte_pktmbuf_append(m, sizeof(arp));
  ASSERT_NE(p, nullptr);
  rte_memcpy(p, arp, sizeof(arp));
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kException);
  // IPv4 with options.
  m = Frame(FrameSpec{}, msg);
  rte_pktmbuf_mtod_offset(m, uint8_t*, 14)[0] = 0x46;
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kException);
}

TEST_F(DpdkPacketTest, ForeignAndMalformedFramesAreDropped) {
  std::vector<uint8_t> msg = App(20);
  ParsedFrame f;
  DropReason why = DropReason::kCount;
  auto cls = [&](const FrameSpec& s) { return ParseFrame(Frame(s, msg), cfg_, 0, &f, &why); };
  FrameSpec s;
  s.dst_mac = kNextMac;  // unicast to someone else (promiscuous port)
  EXPECT_EQ(cls(s), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kNotForUs);
  // ... but our MAC on the other port is someone else's here.
  EXPECT_EQ(ParseFrame(Frame(FrameSpec{}, msg), cfg_, 1, &f, &why), FrameClass::kDrop);
  s = FrameSpec{};
  s.src_mac = {{0x01, 0, 0x5e, 0, 0, 1}};  // group source MAC
  EXPECT_EQ(cls(s), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kBadSource);
  for (const char* martian : {"0.1.2.3", "127.0.0.1", "224.0.0.1", "255.255.255.255"}) {
    s = FrameSpec{};
    s.src = martian;
    EXPECT_EQ(cls(s), FrameClass::kDrop) << martian;
    EXPECT_EQ(why, DropReason::kBadSource) << martian;
  }
  for (const char* martian : {"::", "::1", "ff02::1"}) {
    s = FrameSpec{};
    s.src = martian;
    s.dst = "fd99::1";
    EXPECT_EQ(cls(s), FrameClass::kDrop) << martian;
    EXPECT_EQ(why, DropReason::kBadSource) << martian;
  }
  s = FrameSpec{};
  s.sport = 0;
  EXPECT_EQ(cls(s), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kBadSource);
  // Truncated: the IP total length claims more than the frame has.
  rte_mbuf* m = Frame(FrameSpec{}, msg);
  rte_pktmbuf_trim(m, 10);
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kMalformedFrame);
  m = Frame(FrameSpec{}, msg);
  rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - 20);
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kMalformedFrame);
  m = Frame(FrameSpec{}, msg);
  rte_pktmbuf_trim(m, rte_pktmbuf_pkt_len(m) - 10);
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kMalformedFrame);
  // UDP length larger than the IP payload.
  m = Frame(FrameSpec{}, msg);
  rte_pktmbuf_mtod_offset(m, uint8_t*, 34 + 4)[0] = 0xff;
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kMalformedFrame);
}

// ParseFrame takes a shortcut for the common frame (untagged IPv4 to our
// first address); it must say exactly what the full checks say, and leave
// every other frame to them.
TEST_F(DpdkPacketTest, CommonFrameShortcutAgreesWithTheFullChecks) {
  std::vector<uint8_t> msg = App(30);
  struct Case {
    const char* what;
    FrameSpec spec;
    bool shortcut;  // expected to be taken
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, bool shortcut, auto&& edit) {
    FrameSpec s;
    edit(s);
    cases.push_back({what, s, shortcut});
  };
  add("common", true, [](FrameSpec&) {});
  add("second address", false, [](FrameSpec& s) { s.dst = "10.99.1.1"; });
  add("IPv6", true, V6);
  add("IPv6 padded", false, [](FrameSpec& s) { V6(s).padding = 4; });
  add("IPv6 loopback source", false, [](FrameSpec& s) { V6(s).src = "::1"; });
  add("IPv6 second address", false, [](FrameSpec& s) { V6(s).dst = "fd99:1::1"; });
  add("IPv6 TCP", false, [](FrameSpec& s) { V6(s).proto = 6; });
  add("priority tag", false, [](FrameSpec& s) { s.vlan = 0; });
  add("fragment", false, [](FrameSpec& s) { s.frag = 0x2000; });
  add("DF", true, [](FrameSpec& s) { s.frag = 0x4000; });  // don't fragment: still common
  add("source port 0", false, [](FrameSpec& s) { s.sport = 0; });
  add("other port", false, [](FrameSpec& s) { s.dport = kPort + 1; });
  add("martian", false, [](FrameSpec& s) { s.src = "127.0.0.1"; });
  add("other MAC", false, [](FrameSpec& s) { s.dst_mac = kNextMac; });
  add("padded", false, [](FrameSpec& s) { s.padding = 6; });
  add("no UDP checksum", false, [](FrameSpec& s) { s.udp_cksum = false; });
  add("TCP", false, [](FrameSpec& s) { s.proto = 6; });
  add("group source MAC", false, [](FrameSpec& s) { s.src_mac.addr_bytes[0] |= 1; });
  add("IPv6 other port", false, [](FrameSpec& s) { V6(s).dport = kPort + 1; });
  add("IPv6 source port 0", false, [](FrameSpec& s) { V6(s).sport = 0; });
  add("IPv6 no UDP checksum", false, [](FrameSpec& s) { V6(s).udp_cksum = false; });
  add("IPv6 other MAC", false, [](FrameSpec& s) { V6(s).dst_mac = kNextMac; });
  add("IPv6 multicast source", false, [](FrameSpec& s) { V6(s).src = "ff02::1"; });

  auto check = [&](const char* what, rte_mbuf* m, bool shortcut) {
    ParsedFrame fast{}, full{};
    PacketView view{};
    DropReason why;
    const bool taken = detail::ParseCommon(m, CommonFrame(cfg_, 0), &fast, &view);
    EXPECT_EQ(taken, shortcut) << what;
    if (!taken) return;
    ASSERT_EQ(detail::ParseFrameChecks(m, cfg_, 0, &full, &why), FrameClass::kOurs) << what;
    EXPECT_EQ(0, std::memcmp(&fast, &full, sizeof(ParsedFrame))) << what;
    // The shortcut's view is the payload the full checks locate.
    EXPECT_EQ(view.data, PayloadOf(m, full)) << what;
    EXPECT_EQ(view.len, full.payload_len) << what;
  };
  for (const Case& c : cases) check(c.what, Frame(c.spec, msg), c.shortcut);

  rte_mbuf* m = Frame(FrameSpec{}, msg);
  m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_BAD;
  check("flagged bad", m, false);
  m->ol_flags = RTE_MBUF_F_RX_IP_CKSUM_GOOD;
  check("flagged good", m, true);
  m->ol_flags = RTE_MBUF_F_RX_VLAN | RTE_MBUF_F_RX_VLAN_STRIPPED;
  check("tag stripped", m, false);
  m->ol_flags = 0;
  rte_pktmbuf_trim(m, 1);
  check("truncated", m, false);
  // One header byte changed (checksums not fixed: nothing here checks
  // them): each must send the frame to the full checks. delta != 0 adds to
  // the byte (a length one more or one less), else it becomes value.
  struct Poke {
    const char* what;
    bool v6;
    size_t at;
    uint8_t value;
    int delta;
  };
  for (const Poke& poke : {Poke{"IP header length 6", false, 14, 0x46, 0},
                           Poke{"IP version 5", false, 14, 0x55, 0},
                           Poke{"IPv4 total length + 1", false, 17, 0, 1},
                           Poke{"IPv4 UDP length - 1", false, 39, 0, -1},
                           Poke{"IPv4 destination's last byte", false, 33, 7, 0},
                           Poke{"IPv4 more fragments", false, 20, 0x20, 0},
                           Poke{"IPv6 version 4", true, 14, 0x40, 0},
                           Poke{"IPv6 payload length + 1", true, 19, 0, 1},
                           Poke{"IPv6 UDP length - 1", true, 59, 0, -1},
                           Poke{"IPv6 destination's last byte", true, 53, 7, 0},
                           Poke{"IPv6 hop-by-hop header", true, 20, 0, 0}}) {
    FrameSpec spec;
    if (poke.v6) V6(spec);
    rte_mbuf* f = Frame(spec, msg);
    uint8_t* p = rte_pktmbuf_mtod(f, uint8_t*);
    p[poke.at] = poke.delta != 0 ? static_cast<uint8_t>(p[poke.at] + poke.delta) : poke.value;
    check(poke.what, f, false);
  }
  // The datagram whole in the first segment, padding in a second one.
  m = Frame(FrameSpec{}, msg);
  rte_mbuf* tail = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(tail, nullptr);
  std::memset(rte_pktmbuf_append(tail, 4), 0, 4);
  ASSERT_EQ(rte_pktmbuf_chain(m, tail), 0);  // freed with m
  check("padding in a second segment", m, false);
  m = Frame(FrameSpec{}, msg);
  cfg_.udp4_port_be = 0;
  check("no IPv4 listener", m, false);
  cfg_.udp6_port_be = 0;
  FrameSpec v6;
  check("no IPv6 listener", Frame(V6(v6), msg), false);
}

// The shape tells the rewrite whether a frame can keep its headers' layout
// for a next hop (PathShape): IP version and inline tag, and 0 when not in
// place (padding, no UDP checksum).
TEST_F(DpdkPacketTest, ShapeSaysWhetherTheFrameKeepsItsLayout) {
  std::vector<uint8_t> msg = App(30);
  cfg_.AllowVlan(0, 100);
  struct Case {
    const char* what;
    FrameSpec spec;
    uint8_t shape;
  };
  std::vector<Case> cases;
  auto add = [&](const char* what, uint8_t shape, auto&& edit) {
    FrameSpec s;
    edit(s);
    cases.push_back({what, s, shape});
  };
  add("IPv4", 4, [](FrameSpec&) {});
  add("IPv4 tagged", 4 | kShapeTagged, [](FrameSpec& s) { s.vlan = 100; });
  add("IPv4 padded", 0, [](FrameSpec& s) { s.padding = 6; });
  add("IPv4 without UDP checksum", 0, [](FrameSpec& s) { s.udp_cksum = false; });
  add("IPv6", 6, V6);
  add("IPv6 tagged, padded", 0, [](FrameSpec& s) {
    V6(s).vlan = 100;
    s.padding = 2;
  });
  add("IPv6 tagged", 6 | kShapeTagged, [](FrameSpec& s) { V6(s).vlan = 100; });
  for (const Case& c : cases) {
    ParsedFrame f{};
    DropReason why;
    ASSERT_EQ(ParseFrame(Frame(c.spec, msg), cfg_, 0, &f, &why), FrameClass::kOurs) << c.what;
    EXPECT_EQ(f.shape, c.shape) << c.what;
  }
  EXPECT_EQ(PathShape(Path("10.99.0.3", 5555)), 4);
  EXPECT_EQ(PathShape(Path("10.99.0.3", 5555, 0, 100)), 4 | kShapeTagged);
  EXPECT_EQ(PathShape(Path("fd99::3", 5555, 1)), 6);
}

// --verify_senders on the DPDK backend: a frame came from a path when its
// source address and port are the path's (SameEndpoint), whatever else the
// frame carries (tag, MACs, checksums).
TEST_F(DpdkPacketTest, CameFromComparesTheSourceEndpoint) {
  std::vector<uint8_t> msg = App(30);
  cfg_.AllowVlan(0, 100);
  for (bool v6 : {false, true}) {
    SCOPED_TRACE(v6 ? "IPv6" : "IPv4");
    FrameSpec s;
    if (v6) V6(s);
    s.vlan = 100;
    rte_mbuf* m = Frame(s, msg);
    ParsedFrame f;
    DropReason why;
    ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
    const PeerPath from = SourcePath(m, f, 0);
    ASSERT_EQ(from.transport, Transport::kUdp);
    EXPECT_TRUE(CameFrom(m, f, from));
    PeerPath other_mac = from;
    other_mac.mac[5] ^= 1;
    other_mac.vlan = 0;
    EXPECT_TRUE(CameFrom(m, f, other_mac));
    EXPECT_TRUE(SameEndpoint(from, Path(s.src, s.sport, v6 ? 1 : 0)));
    EXPECT_TRUE(CameFrom(m, f, Path(s.src, s.sport, v6 ? 1 : 0)));
    EXPECT_FALSE(CameFrom(m, f, Path(s.src, s.sport + 1)));
    EXPECT_FALSE(CameFrom(m, f, Path(v6 ? "fd99::3" : "10.99.0.3", s.sport)));
    EXPECT_FALSE(CameFrom(m, f, Path(v6 ? "10.99.0.2" : "fd99::2", s.sport)));
    EXPECT_FALSE(CameFrom(m, f, PeerPath::Tcp(1)));
  }
}

TEST_F(DpdkPacketTest, NoListenerOfTheFamilyMeansKernel) {
  std::vector<uint8_t> msg = App(20);
  ParsedFrame f;
  DropReason why;
  cfg_.udp6_port_be = 0;
  FrameSpec s;
  s.src = "fd99::2";
  s.dst = "fd99::1";
  EXPECT_EQ(ParseFrame(Frame(s, msg), cfg_, 0, &f, &why), FrameClass::kException);
  EXPECT_EQ(ParseFrame(Frame(FrameSpec{}, msg), cfg_, 0, &f, &why), FrameClass::kOurs);
}

// Relayed frames are not verified but keep their (in)validity end to end;
// what goes to the control thread is verified like the kernel would.
TEST_F(DpdkPacketTest, CorruptionIsNeverHidden) {
  std::vector<uint8_t> msg = App(40);
  ParsedFrame f;
  DropReason why;
  for (const char* src : {"10.99.0.2", "fd99::2"}) {
    SCOPED_TRACE(src);
    FrameSpec s;
    s.src = src;
    s.dst = FamilyOf(src) == 4 ? "10.99.0.1" : "fd99::1";
    // Intact: a path.
    rte_mbuf* m = Frame(s, msg);
    ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
    EXPECT_EQ(SourcePath(m, f, 0).transport, Transport::kUdp);
    // A flipped payload bit: no path for the control thread ...
    m = Frame(s, msg);
    ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
    PayloadOf(m, f)[60] ^= 0x10;
    EXPECT_EQ(SourcePath(m, f, 0).transport, Transport::kNone);
    EXPECT_EQ(CheckChecksums(m, f), ChecksumFault::kUdp);
    // ... and relayed, the recipient still sees a wrong checksum.
    PayloadOf(m, f)[wire::off::kHopCount]++;
    for (const char* to : {"10.99.0.3", "fd99::3"}) {
      rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
      ASSERT_NE(c, nullptr);
      mbufs_.push_back(c);
      ASSERT_TRUE(RewriteForward(c, f, Path(to, 9, FamilyOf(to) == 4 ? 0 : 1), cfg_));
      const uint8_t* l3 = rte_pktmbuf_mtod_offset(c, const uint8_t*, 14);
      EXPECT_NE(FamilyOf(to) == 4
                    ? rte_ipv4_udptcp_cksum_verify(reinterpret_cast<const rte_ipv4_hdr*>(l3), l3 + 20)
                    : rte_ipv6_udptcp_cksum_verify(reinterpret_cast<const rte_ipv6_hdr*>(l3), l3 + 40),
                0)
          << to;
    }
    // The port's verdict counts.
    m = Frame(s, msg);
    m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_BAD;
    ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
    EXPECT_EQ(SourcePath(m, f, 0).transport, Transport::kNone);
  }
  // A bad IPv4 header checksum.
  FrameSpec s;
  s.bad_ip_cksum = true;
  rte_mbuf* m = Frame(s, msg);
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(SourcePath(m, f, 0).transport, Transport::kNone);
  EXPECT_EQ(CheckChecksums(m, f), ChecksumFault::kIpv4Header);
  m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_BAD;
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kBadChecksum);
  // IPv4 without a UDP checksum is fine.
  s = FrameSpec{};
  s.udp_cksum = false;
  m = Frame(s, msg);
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  EXPECT_EQ(SourcePath(m, f, 0).transport, Transport::kUdp);
  // IPv6 without one is not (found by tests/fuzz/dpdk_frame_fuzz.cc: it
  // went out to IPv4 peers as a datagram without a checksum).
  s.src = "fd99::2";
  s.dst = "fd99::1";
  m = Frame(s, msg);
  EXPECT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kDrop);
  EXPECT_EQ(why, DropReason::kBadChecksum);
}

TEST_F(DpdkPacketTest, RewriteFailsWithoutSourceAddressOfTheFamily) {
  PacketConfig only_v4;
  only_v4.udp4_port_be = htons(kPort);
  only_v4.port_mac[0] = kPortMac;
  LocalAddress la;
  la.family = 4;
  la.ip = Ip("10.99.0.1");
  ASSERT_TRUE(only_v4.AddAddress(la));
  std::vector<uint8_t> msg = App(20);
  rte_mbuf* m = Frame(FrameSpec{}, msg);
  ParsedFrame f;
  DropReason why;
  ASSERT_EQ(ParseFrame(m, only_v4, 0, &f, &why), FrameClass::kOurs);
  EXPECT_FALSE(RewriteForward(m, f, Path("fd99::3", 1, 0), only_v4));
}

TEST_F(DpdkPacketTest, BuildsControlFrames) {
  std::vector<uint8_t> msg = App(41);
  for (const auto& [to, local, vlan, src] :
       {std::tuple{"10.99.0.3", 0, -1, "10.99.0.1"}, std::tuple{"fd99::3", 1, 5, "fd99::1"},
        std::tuple{"10.99.1.7", 2, 4095, "10.99.1.1"}, std::tuple{"fd99::3", 0, -1, "fd99::1"}}) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    mbufs_.push_back(m);
    PeerPath path = Path(to, 4242, static_cast<uint8_t>(local), vlan);
    ASSERT_TRUE(BuildFrame(m, path, cfg_, msg.data(), msg.size()));
    ExpectFrameFor(m, path, msg, src);
    // What the control thread sends parses like a frame from us would.
  }
  // Not UDP or no address of the family: refused.
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  mbufs_.push_back(m);
  PeerPath tcp = PeerPath::Tcp(7);
  EXPECT_FALSE(BuildFrame(m, tcp, cfg_, msg.data(), msg.size()));
  std::vector<uint8_t> huge(70000);
  EXPECT_FALSE(BuildFrame(m, Path("10.99.0.3", 1), cfg_, huge.data(), huge.size()));
}

// The whole worker step on mbufs: parse -> DecideBurst -> rewrite, as the
// backend does it, including the hop count it bumps.
TEST_F(DpdkPacketTest, WorksWithTheRelayDecision) {
  RelayConfig rc;
  rc.self[0] = 0xee;
  PeerTable table;
  std::vector<uint8_t> msg = App(30);
  PeerUpdate u;
  std::memcpy(u.key.data(), msg.data() + wire::off::kRecipient, 32);
  u.path = Path("fd99::3", 7777, 1);
  table.Apply(u);
  rte_mbuf* m = Frame(FrameSpec{}, msg);
  ParsedFrame f;
  DropReason why;
  ASSERT_EQ(ParseFrame(m, cfg_, 0, &f, &why), FrameClass::kOurs);
  PacketView view{PayloadOf(m, f), f.payload_len};
  Decision d;
  DecideBurst(rc, table, nullptr, 0, &view, 1, &d);
  ASSERT_EQ(d.verdict, Verdict::kForward);
  ASSERT_TRUE(RewriteForward(m, f, *d.path, cfg_));
  msg[wire::off::kHopCount] = 1;
  ExpectFrameFor(m, *d.path, msg, "fd99::1");
}

}  // namespace
}  // namespace drasyl::dpdk

#else  // !DRASYL_HAVE_DPDK

TEST(DpdkPacket, Skipped) { GTEST_SKIP() << "built without DPDK"; }

#endif
