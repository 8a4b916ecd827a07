// A non-blocking TCP connect for tests of the TCP fallback's limits: the
// attempt may wait in the kernel (the listeners' SYN filter), so the caller
// looks at it later instead of blocking on it.
#ifndef DRASYL_TESTS_SUPPORT_TCP_CONNECT_H_
#define DRASYL_TESTS_SUPPORT_TCP_CONNECT_H_

#include "common/socket_address.h"

namespace drasyl::testing {

// A connection attempt from `bind` (port 0: any) to `to` that sends nothing;
// its socket, or -1 on failure.
int StartTcpConnect(const SocketAddress& to, const SocketAddress& bind);

}  // namespace drasyl::testing

#endif  // DRASYL_TESTS_SUPPORT_TCP_CONNECT_H_
