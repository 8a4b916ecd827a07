// TCP fallback transport (docs/protocol.md §6): non-blocking sockets driven by an
// epoll instance of its own, run on the control thread. Frames are
// `length u16 BE || message`; each complete message goes to a FrameHandler.
// Not thread-safe: every method must be called from the same (control) thread.
#ifndef DRASYL_CONTROL_TCP_SERVER_H_
#define DRASYL_CONTROL_TCP_SERVER_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <deque>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "common/socket_address.h"
#include "dataplane/source_admission.h"

namespace drasyl {

struct TcpServerOptions {
  // Each is bound with SO_REUSEADDR. A wildcard [::] is dual-stack unless an
  // IPv4 listener shares its port (then IPV6_V6ONLY=1). Port 0 = ephemeral.
  std::vector<SocketAddress> listeners;
  // 0 = unlimited. At the limit the oldest connection not yet authenticated
  // (MarkAuthenticated) is closed to make room; when every connection is
  // authenticated, the new one is accepted and closed at once (never
  // registered, no CloseHandler call). Authenticated connections are never
  // pushed out by new ones.
  size_t max_connections = 0;
  // Connections one source (IPv4 address, IPv6 /64) may hold; 0 = unlimited.
  // Over it a new connection is closed at once, as over max_connections;
  // while a source holds its cap, the listeners' socket filter drops its
  // connection attempts in the kernel (control/tcp_syn_filter.h).
  size_t max_connections_per_source = 0;
  // A connection not authenticated this long after accept is closed by
  // ExpireUnauthenticated; 0 = no deadline.
  uint64_t auth_timeout_ms = 0;
  // Per-connection pending output; over it the connection is closed (slow
  // reader) instead of buffering forever.
  size_t max_output_bytes = 1 << 20;
};

struct TcpServerCounters {
  uint64_t accepted = 0;
  uint64_t rejected_over_limit = 0;  // max_connections reached, or out of fds
  uint64_t rejected_per_source = 0;  // max_connections_per_source reached
  uint64_t evicted_unauthenticated = 0;  // closed to make room for a new one
  uint64_t closed_unauthenticated = 0;   // auth_timeout_ms passed without authentication
  uint64_t closed_by_peer = 0;       // EOF, reset or other socket error
  uint64_t closed_malformed = 0;     // zero-length frame or FrameHandler said no
  uint64_t closed_idle = 0;          // CloseIdle()
  uint64_t closed_slow_reader = 0;   // pending output over max_output_bytes
  uint64_t closed_by_server = 0;     // Close()
  uint64_t frames_in = 0;
  uint64_t frames_out = 0;
  uint64_t bytes_in = 0;   // stream bytes read, framing included
  uint64_t bytes_out = 0;  // stream bytes written to the kernel, framing included
  uint64_t syn_filter_updates = 0;  // listeners' socket filter swapped in anew
};

class TcpServer {
 public:
  // One complete frame (the message without its 2-byte length); return false
  // to close the connection (a frame it could not process). The buffer is
  // valid only during the call and may be modified by the handler. The
  // handler may call Send() and Close() for any connection.
  using FrameHandler = std::function<bool(uint32_t conn_id, uint8_t* msg, size_t len)>;
  // Called exactly once whenever a registered connection goes away, for any
  // reason (also on Close()), after it is gone: Send() to it returns false.
  // Not called from the destructor (the owner is going away).
  using CloseHandler = std::function<void(uint32_t conn_id)>;

  static absl::StatusOr<std::unique_ptr<TcpServer>> Create(const TcpServerOptions& options,
                                                           FrameHandler on_frame,
                                                           CloseHandler on_close);
  ~TcpServer();  // closes every socket, without calling the CloseHandler

  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;

  // Readable when Poll() has work; the control thread adds it to its own epoll.
  int epoll_fd() const { return epoll_fd_; }
  // Handles one batch of ready events without blocking. Level-triggered: work
  // left over (read budget used up, more events than one batch) keeps
  // epoll_fd() readable, so the caller's loop comes back.
  void Poll();

  // Writes length(u16 BE)||msg: immediately as far as the socket takes it,
  // the rest is buffered and flushed on EPOLLOUT. False when the connection is
  // unknown, len is 0 or > 65535, or the output limit would be exceeded (then
  // the connection is closed as a slow reader) or the socket failed (closed).
  bool Send(uint32_t conn_id, const uint8_t* msg, size_t len);
  // Closes the connection (no-op when unknown); pending output is dropped.
  void Close(uint32_t conn_id);
  // Closes connections that received no complete frame for idle_ms (since
  // accept if none); returns how many.
  size_t CloseIdle(uint64_t now_ms, uint64_t idle_ms);
  // The connection proved who it is (its peer sent a valid HELLO): it is no
  // longer subject to auth_timeout_ms or eviction.
  void MarkAuthenticated(uint32_t conn_id);
  // Closes the connections whose auth_timeout_ms passed unauthenticated;
  // returns how many. Cheap: call it every loop turn.
  size_t ExpireUnauthenticated(uint64_t now_ms);

  size_t connection_count() const { return connections_.size(); }
  // Sources at max_connections_per_source: their connection attempts are
  // dropped by the listeners' socket filter (up to kMaxSynFilterSources).
  size_t sources_at_limit() const { return sources_at_limit_.size(); }
  std::optional<SocketAddress> peer_address(uint32_t conn_id) const;
  // The listeners as bound (ephemeral ports resolved).
  std::vector<SocketAddress> bound_listeners() const { return bound_; }
  const TcpServerCounters& counters() const { return counters_; }

 private:
  struct Connection;
  enum class CloseReason {
    kPeer, kMalformed, kIdle, kSlowReader, kServer, kEvicted, kUnauthenticated
  };

  TcpServer(const TcpServerOptions& options, FrameHandler on_frame, CloseHandler on_close);
  absl::Status Init();
  absl::Status AddListener(const SocketAddress& addr, bool v6only);

  void HandleAccept(size_t listener_index);
  // Whether a connection from `source` may be added now (closing the oldest
  // unauthenticated one at the limit); counts the refusal otherwise.
  bool MakeRoomFor(SourceKey source);
  // The oldest connection still unauthenticated (pruning the queue's head).
  Connection* OldestUnauthenticated();
  void Register(int fd, const sockaddr_storage& ss, socklen_t ss_len);
  void HandleRead(Connection* c);
  // Feeds stream bytes to the frame parser; false once the connection closed.
  bool Consume(Connection* c, uint8_t* data, size_t len);
  bool Deliver(Connection* c, uint8_t* msg, size_t len);
  void HandleWrite(Connection* c);
  bool SetWantWrite(Connection* c, bool want);
  void CloseConnection(Connection* c, CloseReason reason);
  // Keeps sources_at_limit_ in step with per_source_ after a change of
  // `source`'s count.
  void NoteSourceCount(SourceKey source);
  // Swaps the listeners' SYN filter in anew when sources_at_limit_ changed.
  void UpdateSynFilter();
  Connection* Find(uint32_t conn_id) const;

  TcpServerOptions options_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  int epoll_fd_ = -1;
  std::vector<int> listen_fds_;
  std::vector<SocketAddress> bound_;
  // Kept open so an accept() that fails with EMFILE can free one fd, accept
  // and drop the connection, instead of leaving the listener ready forever.
  int reserve_fd_ = -1;
  uint32_t next_id_ = 1;
  absl::flat_hash_map<uint32_t, std::unique_ptr<Connection>> connections_;
  SourceCounts per_source_;
  absl::flat_hash_set<SourceKey> sources_at_limit_;
  bool syn_filter_stale_ = false;
  bool syn_filter_broken_ = false;  // attach failed once: refuse after accept only
  // Ids in accept order; entries of connections closed or authenticated
  // since are skipped (and dropped) when they reach the head.
  std::deque<uint32_t> unauthenticated_;
  // Closed while Poll() runs: kept alive until the event that closed them is
  // fully handled (a handler's frame may live in their input buffer).
  std::vector<std::unique_ptr<Connection>> graveyard_;
  bool in_poll_ = false;
  std::vector<uint8_t> scratch_;  // shared read buffer
  TcpServerCounters counters_;
};

}  // namespace drasyl

#endif  // DRASYL_CONTROL_TCP_SERVER_H_
