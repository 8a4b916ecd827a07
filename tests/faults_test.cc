// Faults on the kernel-socket backend, with the real binary on loopback:
// SIGKILL under load and a restart (the identity file keeps the identity,
// nodes register again with their next HELLO and are relayed as before),
// and SIGTERM under load (the process is gone within 2 s). The DPDK
// counterparts are in tests/dpdk_testbed_test.cc.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/identity.h"
#include "common/wire.h"
#include "gtest/gtest.h"
#include "tests/support/integration_helpers.h"
#include "tests/support/node_emulator.h"
#include "tests/support/super_peer_process.h"
#include "tests/support/udp_flood.h"

namespace drasyl::testing {
namespace {

using namespace std::chrono_literals;
using wire::MessageType;

// A UDP port on 127.0.0.1 that was free a moment ago: the restarted super
// peer must listen where the nodes know it.
uint16_t FreeUdpPort() {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  uint16_t port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

// Sends `msg` to `to` as fast as a thread does (a short pause every 64
// datagrams leaves the super peer some CPU), until stopped or `max` passed.

int Udp4Socket() { return ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0); }

class FaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + absl::StrCat("drasyl-faults-", ::getpid());
    ASSERT_EQ(std::system(("mkdir -p " + dir_).c_str()), 0);
    port_ = FreeUdpPort();
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (HasFailure() && sp_) std::cerr << sp_->OutputTail(6000);
    sp_.reset();
    std::system(("rm -rf " + dir_).c_str());
  }

  // A super peer on 127.0.0.1:port_ whose identity lives in dir_: generated
  // by the first start (low PoW difficulty), read again by later ones.
  void Start() {
    SuperPeerProcess::Options o;
    o.write_identity = false;
    o.env = {{"DRASYL_IDENTITY_FILE", dir_ + "/sp.identity"},
             {"DRASYL_UDP4_LISTEN", absl::StrCat("127.0.0.1:", port_)},
             {"DRASYL_MIN_POW_DIFFICULTY", "8"},
             {"DRASYL_SEND_UNITES", "-1"},
             {"DRASYL_PROMETHEUS_LISTEN", "127.0.0.1:0"}};
    sp_ = std::make_unique<SuperPeerProcess>(o);
    absl::Status s = sp_->Start();
    ASSERT_TRUE(s.ok()) << s << "\n" << sp_->OutputTail();
  }

  // `from` sends APPs to `to` until one arrives (3 tries).
  static bool Relayed(Node& from, Node& to) {
    const std::vector<uint8_t> payload = RandomBytes(40);
    for (int i = 0; i < 3; ++i) {
      from.SendApp(to.public_key(), payload);
      for (auto m = to.ReceiveType(MessageType::kApp, 1000ms); m;
           m = to.ReceiveType(MessageType::kApp, 100ms)) {
        if (m->payload() == payload) return true;
      }
    }
    return false;
  }

  std::string dir_;
  uint16_t port_ = 0;
  std::unique_ptr<SuperPeerProcess> sp_;
};

TEST_F(FaultsTest, RestartAfterSigkillUnderLoadKeepsIdentityAndNodesRegisterAgain) {
  Start();
  ASSERT_NE(sp_, nullptr);
  const PublicKey key = sp_->public_key();
  std::unique_ptr<Node> b = RegisteredUdpNode(*sp_, GenerateTestIdentity(8));
  std::unique_ptr<Node> c = RegisteredUdpNode(*sp_, GenerateTestIdentity(8));
  ASSERT_TRUE(b && c);
  ASSERT_TRUE(Relayed(*b, *c));
  {
    UdpFlood flood(Udp4Socket(), *sp_->udp4(),
                   b->BuildApp(c->public_key(), RandomBytes(200)));
    std::this_thread::sleep_for(1000ms);
    ASSERT_GT(flood.sent(), 1000u);
    sp_->Signal(SIGKILL);
    const std::optional<int> code = sp_->WaitExit(5000ms);
    ASSERT_TRUE(code.has_value());
    EXPECT_EQ(*code, 128 + SIGKILL);
    // Restarted while the flood goes on: same address, same identity.
    Start();
    ASSERT_NE(sp_, nullptr);
    EXPECT_EQ(sp_->public_key(), key) << "a new identity after the restart";
    EXPECT_EQ(sp_->udp4()->port(), port_);
  }
  // The new process knows nobody: not relayed until the next HELLO ...
  while (c->Receive(100ms)) {
  }
  std::vector<uint8_t> lost = RandomBytes(40);
  b->SendApp(c->public_key(), lost);
  EXPECT_FALSE(c->ReceiveType(MessageType::kApp, 500ms).has_value());
  // ... which registers them again with the same keys.
  HelloOptions hb, hc;
  EXPECT_TRUE(b->Register(2000ms, hb));
  EXPECT_TRUE(c->Register(2000ms, hc));
  EXPECT_TRUE(Relayed(*b, *c));
  EXPECT_TRUE(Relayed(*c, *b));
  EXPECT_EQ(sp_->Stop(), 0);
}

TEST_F(FaultsTest, SigtermUnderLoadExitsWithinTwoSeconds) {
  Start();
  ASSERT_NE(sp_, nullptr);
  std::unique_ptr<Node> b = RegisteredUdpNode(*sp_, GenerateTestIdentity(8));
  std::unique_ptr<Node> c = RegisteredUdpNode(*sp_, GenerateTestIdentity(8));
  ASSERT_TRUE(b && c);
  UdpFlood relayed(Udp4Socket(), *sp_->udp4(),
                   b->BuildApp(c->public_key(), RandomBytes(200)));
  // And HELLOs for the control thread (the same one again and again).
  HelloOptions h;
  UdpFlood hellos(Udp4Socket(), *sp_->udp4(), b->BuildHello(h));
  std::this_thread::sleep_for(1000ms);
  ASSERT_GT(relayed.sent(), 1000u);
  const auto t0 = std::chrono::steady_clock::now();
  sp_->Signal(SIGTERM);
  const std::optional<int> code = sp_->WaitExit(10000ms);
  const double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  relayed.Stop();
  hellos.Stop();
  std::printf("sockets: SIGTERM to exit under load (%llu + %llu datagrams sent): %.0f ms\n",
              static_cast<unsigned long long>(relayed.sent()),
              static_cast<unsigned long long>(hellos.sent()), ms);
  ASSERT_TRUE(code.has_value()) << sp_->OutputTail();
  EXPECT_EQ(*code, 0) << sp_->OutputTail();
  EXPECT_LT(ms, 2000) << sp_->OutputTail();
  EXPECT_NE(sp_->stderr_text().find("stopped"), std::string::npos);
}

}  // namespace
}  // namespace drasyl::testing
