// DPDK Environment Abstraction Layer: assembling the EAL arguments from the
// operator's --dpdk_eal string (hugepages or --no-huge, no shared runtime
// files so that several processes can run side by side), one rte_eal_init
// per process, hot-plugging the TAP exception ports, and cleanup.
#ifndef DRASYL_DATAPLANE_DPDK_DPDK_EAL_H_
#define DRASYL_DATAPLANE_DPDK_DPDK_EAL_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct rte_mempool;

namespace drasyl::dpdk {

struct HugepageInfo {
  bool mounted = false;     // a hugetlbfs mount exists (/proc/mounts)
  uint64_t free_pages = 0;  // HugePages_Free of /proc/meminfo
  bool usable() const { return mounted && free_pages > 0; }
};

// Reads /proc/mounts and /proc/meminfo (the paths are for tests).
HugepageInfo DetectHugepages(const std::string& mounts = "/proc/mounts",
                             const std::string& meminfo = "/proc/meminfo");

// Splits an argument string at whitespace; single and double quotes group
// (without nesting), a backslash escapes the next character.
absl::StatusOr<std::vector<std::string>> SplitArgs(const std::string& text);

struct EalArgs {
  std::vector<std::string> argv;  // argv[0] included
  bool no_huge = false;           // --no-huge in effect (added or given)
  std::vector<std::string> notes; // what was added and why (to log)
};

// argv for rte_eal_init: "drasyl-sp", the user's arguments, and
//  - without usable hugepages (and no --no-huge given): --no-huge and, when
//    no -m/--socket-mem was given, -m <no_huge_mb>;
//  - unless the user chose how runtime files are shared (--file-prefix,
//    --in-memory, --no-shconf, --proc-type): --in-memory with hugepages,
//    --no-shconf without (--in-memory needs hugepages), so that several
//    processes (tests, benchmarks) never collide;
//  - --no-telemetry unless a telemetry option was given (its socket is
//    per runtime directory and would collide the same way).
absl::StatusOr<EalArgs> BuildEalArgs(const std::string& user_args, const HugepageInfo& huge,
                                     int no_huge_mb = 256);

// rte_eal_init with these arguments. Only once per process: later calls
// fail (DPDK cannot be initialized twice, not even after cleanup).
absl::Status InitEal(const std::vector<std::string>& argv);
bool EalInitialized();
// rte_eal_cleanup (once; no DPDK call may follow).
void CleanupEal();

// The largest ring frame (framesz=) of the net_af_packet ports in the EAL
// arguments; 0 if none sets one. That PMD receives into one mbuf per frame
// and needs the data room; and as it joins a PACKET_FANOUT group with
// PACKET_FANOUT_FLAG_DEFRAG, the kernel reassembles IPv4 fragments before
// it: a datagram arrives whole, cut to the frame (framesz=8192,blocksz=8192
// takes IPv4 datagrams up to 8 KiB; the default 2048 bytes, ~2 000).
size_t AfPacketFrameSize(const std::string& eal_args);

// A packet mbuf pool, data_room bytes per mbuf with the headroom (0:
// RTE_MBUF_DEFAULT_BUF_SIZE). Without hugepages and with IOVA as VA, objects
// may straddle 4 KiB pages (IOVA contiguity is VA contiguity then):
// otherwise every mbuf gets a page of its own, all at the same page offset,
// and they thrash the same L1 sets and the TLB (several times slower per
// packet). NULL on failure (rte_errno).
::rte_mempool* CreateMbufPool(const char* name, unsigned n, unsigned cache, int socket,
                              uint16_t data_room = 0);

// Hot-plugs a net_tap port with the kernel interface `ifname` and MAC `mac`
// ("02:00:00:00:00:01" form); returns its port id. `index` makes the vdev
// name unique (net_tap<index>... with a drasyl prefix).
absl::StatusOr<uint16_t> ProbeTap(const std::string& ifname, const std::string& mac, int index);

}  // namespace drasyl::dpdk

#endif  // DRASYL_DATAPLANE_DPDK_DPDK_EAL_H_
