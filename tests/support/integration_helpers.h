// Helpers shared by the integration tests that run the real binary
// (SuperPeerProcess) against emulated nodes (Node): making and registering
// nodes, endpoints from text and the common relay/HELLO checks.
#ifndef DRASYL_TESTS_SUPPORT_INTEGRATION_HELPERS_H_
#define DRASYL_TESTS_SUPPORT_INTEGRATION_HELPERS_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/identity.h"
#include "common/wire.h"
#include "tests/support/node_emulator.h"
#include "tests/support/super_peer_process.h"

namespace drasyl::testing {

inline constexpr std::chrono::milliseconds kWait{3000};  // for what must arrive
inline constexpr std::chrono::milliseconds kQuiet{300};  // for what must not

// A UDP node talking to the super peer's IPv4 (or, with v6, IPv6) banner
// address. nullptr (after a test failure) when the banner has no such
// address or the node cannot be created.
std::unique_ptr<Node> MakeUdpNode(SuperPeerProcess& sp, const Identity& id, bool v6 = false,
                                  bool armed = true, int32_t network_id = 1);

// A TCP node connected to the banner's tcpPort; nullptr (after a test
// failure) when there is none or the connection fails.
std::unique_ptr<Node> MakeTcpNode(SuperPeerProcess& sp, const Identity& id);

// `n` after it has registered (HELLO `hello` answered by an ACK within
// kWait); nullptr (after a test failure) when `n` is nullptr or got no ACK.
std::unique_ptr<Node> Registered(std::unique_ptr<Node> n, const HelloOptions& hello = {});

// Registered(MakeUdpNode(...), hello).
std::unique_ptr<Node> RegisteredUdpNode(SuperPeerProcess& sp, const Identity& id, bool v6 = false,
                                        bool armed = true, const HelloOptions& hello = {});

// An endpoint from "host:port" / "[v6]:port" (a test failure when it does
// not parse).
wire::Endpoint Ep(const std::string& text);

// The relayed bytes equal the sent bytes except the hop count (+1).
void ExpectRelayedUnchanged(const std::vector<uint8_t>& sent, const ReceivedMessage& got);

// The positive control of a "HELLO is dropped" check: sends a valid HELLO
// with `time` (a fatal failure when it cannot be sent) and expects its ACK
// within kWait to be the only ACK at `node` for kQuiet after it (non-fatal).
// Wrap in ASSERT_NO_FATAL_FAILURE when the test goes on after it.
void ExpectOnlyControlHelloAcked(Node& node, uint64_t time);

// A HELLO of network `network_id` (not the super peer's) gets no ACK: sends
// it, then the control above with a later time. Fatal/non-fatal as above.
void ExpectHelloOfOtherNetworkDropped(Node& node, int32_t network_id);

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_INTEGRATION_HELPERS_H_
