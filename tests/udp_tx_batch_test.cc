// UdpTxBatch over real loopback sockets: whatever the grouping into GSO
// messages, every receiver gets exactly the datagrams queued for it, in order
// and with their boundaries.
#include "dataplane/socket/udp_tx_batch.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace drasyl {
namespace {

class UdpTxBatchTest : public ::testing::TestWithParam<bool> {
 protected:
  struct Receiver {
    int fd = -1;
    PeerPath path;
  };

  void SetUp() override {
    tx_fd_ = Bind(&tx_port_);
    ASSERT_GE(tx_fd_, 0);
  }
  void TearDown() override {
    for (Receiver& r : receivers_) ::close(r.fd);
    ::close(tx_fd_);
  }

  static int Bind(uint16_t* port) {
    int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    int size = 4 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) return -1;
    socklen_t len = sizeof(a);
    getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    *port = ntohs(a.sin_port);
    timeval tv{0, 200000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
  }

  Receiver& AddReceiver() {
    Receiver r;
    uint16_t port = 0;
    r.fd = Bind(&port);
    r.path = PeerPath::Udp(SocketAddress::V4(INADDR_LOOPBACK, port), 0);
    receivers_.push_back(r);
    return receivers_.back();
  }

  // Every datagram waiting on `r`, until a receive times out.
  static std::vector<std::string> Drain(const Receiver& r) {
    std::vector<std::string> got;
    std::vector<char> buf(70000);
    for (;;) {
      ssize_t n = ::recv(r.fd, buf.data(), buf.size(), 0);
      if (n < 0) break;
      got.emplace_back(buf.data(), n);
    }
    return got;
  }

  // A batch as the parameter wants it (GSO on or off).
  static UdpTxBatch MakeBatch(bool v6_socket = false) {
    UdpTxBatch batch(v6_socket);
    if (!GetParam()) batch.DisableGso();
    return batch;
  }
  static void AddAll(UdpTxBatch& batch, const std::vector<std::string>& data, const PeerPath& to) {
    for (const std::string& d : data) {
      batch.Add(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &to);
    }
  }
  // `n` datagrams of `len` bytes.
  static std::vector<std::string> Datagrams(int n, size_t len) {
    std::vector<std::string> data;
    for (int i = 0; i < n; ++i) data.push_back(Datagram(i, len));
    return data;
  }

  static std::string Datagram(int tag, size_t len) {
    std::string s(len, static_cast<char>('a' + tag % 26));
    s[0] = static_cast<char>(tag);
    return s;
  }

  int tx_fd_ = -1;
  uint16_t tx_port_ = 0;
  std::vector<Receiver> receivers_;
};

TEST_P(UdpTxBatchTest, EveryPeerGetsItsDatagramsInOrder) {
  receivers_.reserve(3);
  Receiver& a = AddReceiver();
  Receiver& b = AddReceiver();
  Receiver& c = AddReceiver();
  // Runs of equal sizes, a shorter last one, interleaved peers, a datagram
  // too big to be a GSO segment, single ones.
  struct Item {
    Receiver* to;
    size_t len;
  };
  std::vector<Item> plan;
  for (int i = 0; i < 20; ++i) plan.push_back({&a, 100});
  plan.push_back({&a, 60});   // short: ends the run
  plan.push_back({&a, 100});  // a new run
  plan.push_back({&b, 2000});
  plan.push_back({&b, 2000});
  for (int i = 0; i < 10; ++i) plan.push_back({&c, 1200});
  plan.push_back({&a, 100});
  plan.push_back({&c, 1300});  // larger than the run's segments: a new message
  plan.push_back({&b, 1});
  ASSERT_LE(plan.size(), static_cast<size_t>(UdpTxBatch::kMaxDatagrams));

  std::vector<std::string> data;
  data.reserve(plan.size());
  for (size_t i = 0; i < plan.size(); ++i) data.push_back(Datagram(static_cast<int>(i), plan[i].len));
  UdpTxBatch batch = MakeBatch();
  for (size_t i = 0; i < plan.size(); ++i) {
    batch.Add(reinterpret_cast<const uint8_t*>(data[i].data()), data[i].size(), &plan[i].to->path);
  }
  EXPECT_EQ(batch.size(), plan.size());
  UdpTxBatch::Result r = batch.Flush(tx_fd_);
  EXPECT_EQ(r.packets, plan.size());
  EXPECT_EQ(r.dropped, 0u);
  // a: 20 + the short one | 1 | 1; b: 1 | 1 (2000 B: never segments) | 1; c: 10 | 1.
  EXPECT_EQ(r.messages, GetParam() ? 8u : plan.size());
  size_t bytes = 0;
  for (const std::string& d : data) bytes += d.size();
  EXPECT_EQ(r.bytes, bytes);
  EXPECT_EQ(batch.size(), 0u);

  for (Receiver* rx : {&a, &b, &c}) {
    std::vector<std::string> want;
    for (size_t i = 0; i < plan.size(); ++i) {
      if (plan[i].to == rx) want.push_back(data[i]);
    }
    EXPECT_EQ(Drain(*rx), want);
  }
}

TEST_P(UdpTxBatchTest, AFullBurstToOnePeerArrivesWhole) {
  Receiver& a = AddReceiver();
  // 64 x 1000 bytes fit one GSO message (64 segments, < 64 KiB).
  const std::vector<std::string> data = Datagrams(UdpTxBatch::kMaxDatagrams, 1000);
  UdpTxBatch batch = MakeBatch();
  AddAll(batch, data, a.path);
  UdpTxBatch::Result r = batch.Flush(tx_fd_);
  EXPECT_EQ(r.packets, data.size());
  // With GSO (this kernel has it since 4.18): one message for the burst.
  EXPECT_EQ(r.messages, GetParam() ? 1u : data.size());
  EXPECT_EQ(batch.gso_enabled(), GetParam());
  EXPECT_EQ(Drain(a), data);
  // The batch is reusable after a flush.
  batch.Add(reinterpret_cast<const uint8_t*>(data[0].data()), 10, &a.path);
  EXPECT_EQ(batch.Flush(tx_fd_).packets, 1u);
  EXPECT_EQ(Drain(a), std::vector<std::string>{data[0].substr(0, 10)});
}

TEST_P(UdpTxBatchTest, RunsLargerThanAGsoMessageAreSplit) {
  Receiver& a = AddReceiver();
  const std::vector<std::string> data = Datagrams(UdpTxBatch::kMaxDatagrams, 1400);
  UdpTxBatch batch = MakeBatch();
  AddAll(batch, data, a.path);
  UdpTxBatch::Result r = batch.Flush(tx_fd_);
  EXPECT_EQ(r.packets, data.size());
  EXPECT_EQ(r.messages, GetParam() ? 2u : data.size());  // 46 x 1400 B fit in 64 KiB
  EXPECT_EQ(Drain(a), data);
}

TEST_P(UdpTxBatchTest, IPv4PeersFromADualStackSocket) {
  int fd6 = ::socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd6, 0);
  int off = 0;
  setsockopt(fd6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
  Receiver& a = AddReceiver();
  const std::vector<std::string> data = Datagrams(5, 300);
  UdpTxBatch batch = MakeBatch(/*v6_socket=*/true);
  AddAll(batch, data, a.path);
  EXPECT_EQ(batch.Flush(fd6).packets, data.size());
  EXPECT_EQ(Drain(a), data);
  ::close(fd6);
}

TEST_P(UdpTxBatchTest, ErrorsAreCountedDrops) {
  Receiver& a = AddReceiver();
  PeerPath nowhere = PeerPath::Udp(SocketAddress::V4(0xffffffff, 9), 0);  // broadcast: EACCES
  std::string d = Datagram(1, 50);
  UdpTxBatch batch = MakeBatch();
  batch.Add(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &nowhere);
  batch.Add(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &nowhere);
  batch.Add(reinterpret_cast<const uint8_t*>(d.data()), d.size(), &a.path);
  UdpTxBatch::Result r = batch.Flush(tx_fd_);
  EXPECT_EQ(r.dropped, 2u);
  EXPECT_EQ(r.packets, 1u);
  EXPECT_EQ(Drain(a), std::vector<std::string>{d});
}

INSTANTIATE_TEST_SUITE_P(Gso, UdpTxBatchTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "On" : "Off"; });

}  // namespace
}  // namespace drasyl
