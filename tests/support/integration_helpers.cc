#include "tests/support/integration_helpers.h"

#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "common/clock.h"
#include "common/hex.h"
#include "gtest/gtest.h"

namespace drasyl::testing {

std::unique_ptr<Node> MakeUdpNode(SuperPeerProcess& sp, const Identity& id, bool v6, bool armed,
                                  int32_t network_id) {
  std::optional<SocketAddress> server = v6 ? sp.udp6() : sp.udp4();
  if (!server) {
    ADD_FAILURE() << "no " << (v6 ? "IPv6" : "IPv4") << " URL in the banner:\n"
                  << sp.stdout_text();
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Node>> n =
      Node::Create(UdpNodeOptions(id, sp.public_key(), *server, armed, network_id));
  if (!n.ok()) {
    ADD_FAILURE() << "UDP node: " << n.status();
    return nullptr;
  }
  return std::move(*n);
}

std::unique_ptr<Node> MakeTcpNode(SuperPeerProcess& sp, const Identity& id) {
  std::optional<SocketAddress> server = sp.tcp_address();
  if (!server) {
    ADD_FAILURE() << "no tcpPort in the banner:\n" << sp.stdout_text();
    return nullptr;
  }
  absl::StatusOr<std::unique_ptr<Node>> n =
      Node::Create(TcpNodeOptions(id, sp.public_key(), *server));
  if (!n.ok()) {
    ADD_FAILURE() << "TCP node: " << n.status();
    return nullptr;
  }
  return std::move(*n);
}

std::unique_ptr<Node> Registered(std::unique_ptr<Node> n, const HelloOptions& hello) {
  if (n == nullptr) return nullptr;
  if (!n->Register(kWait, hello)) {
    ADD_FAILURE() << (n->transport() == NodeTransport::kTcp ? "TCP" : "UDP") << " node "
                  << KeyHex(n->public_key()).substr(0, 8) << " got no ACK"
                  << (n->closed() ? " (connection closed)" : "");
    return nullptr;
  }
  return n;
}

std::unique_ptr<Node> RegisteredUdpNode(SuperPeerProcess& sp, const Identity& id, bool v6,
                                        bool armed, const HelloOptions& hello) {
  return Registered(MakeUdpNode(sp, id, v6, armed), hello);
}

wire::Endpoint Ep(const std::string& text) {
  absl::StatusOr<SocketAddress> a = SocketAddress::Parse(text);
  EXPECT_TRUE(a.ok()) << text;
  return wire::Endpoint::From(a.ok() ? *a : SocketAddress());
}

void ExpectRelayedUnchanged(const std::vector<uint8_t>& sent, const ReceivedMessage& got) {
  ASSERT_EQ(got.raw.size(), sent.size());
  std::vector<uint8_t> expected = sent;
  expected[wire::off::kHopCount]++;
  EXPECT_EQ(HexEncode(got.raw), HexEncode(expected));
}

void ExpectOnlyControlHelloAcked(Node& node, uint64_t time) {
  HelloOptions control;
  control.time = time;
  ASSERT_NE(node.SendHello(control), 0u);
  EXPECT_TRUE(OnlyAckArrives(node, time, kWait, kQuiet));
}

void ExpectHelloOfOtherNetworkDropped(Node& node, int32_t network_id) {
  HelloOptions wrong;
  wrong.network_id = network_id;
  wrong.time = UnixMicros() - 10;
  ASSERT_NE(node.SendHello(wrong), 0u);
  ExpectOnlyControlHelloAcked(node, *wrong.time + 1);
}

}  // namespace drasyl::testing
