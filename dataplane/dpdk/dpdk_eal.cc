#include "dataplane/dpdk/dpdk_eal.h"

#include <rte_dev.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mbuf_pool_ops.h>
#include <rte_mempool.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace drasyl::dpdk {
namespace {

std::atomic<int> g_eal_state{0};  // 0 never, 1 initialized, 2 cleaned up, -1 failed

// Whether argv has the option (exact "-m", or "--opt" / "--opt=...").
bool HasOption(const std::vector<std::string>& args, const std::string& opt) {
  for (const std::string& a : args) {
    if (a == opt) return true;
    if (absl::StartsWith(opt, "--") && absl::StartsWith(a, opt + "=")) return true;
    // Short options may be glued to their value: -m512.
    if (opt.size() == 2 && opt[0] == '-' && opt[1] != '-' && a.size() > 2 &&
        absl::StartsWith(a, opt) && a[1] != '-') {
      return true;
    }
  }
  return false;
}

}  // namespace

HugepageInfo DetectHugepages(const std::string& mounts, const std::string& meminfo) {
  HugepageInfo info;
  std::ifstream m(mounts);
  std::string line;
  while (std::getline(m, line)) {
    std::vector<std::string> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.size() >= 3 && f[2] == "hugetlbfs") info.mounted = true;
  }
  std::ifstream mi(meminfo);
  while (std::getline(mi, line)) {
    if (absl::StartsWith(line, "HugePages_Free:")) {
      std::string v(absl::StripAsciiWhitespace(line.substr(strlen("HugePages_Free:"))));
      uint64_t n = 0;
      if (absl::SimpleAtoi(v, &n)) info.free_pages = n;
    }
  }
  return info;
}

absl::StatusOr<std::vector<std::string>> SplitArgs(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  bool in_arg = false;
  char quote = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote) {
      if (c == quote) {
        quote = 0;
      } else {
        cur += c;
      }
      continue;
    }
    if (c == '\\' && i + 1 < text.size()) {
      cur += text[++i];
      in_arg = true;
    } else if (c == '\'' || c == '"') {
      quote = c;
      in_arg = true;
    } else if (c == ' ' || c == '\t' || c == '\n') {
      if (in_arg) out.push_back(cur);
      cur.clear();
      in_arg = false;
    } else {
      cur += c;
      in_arg = true;
    }
  }
  if (quote) return absl::InvalidArgumentError(absl::StrCat("unterminated quote in '", text, "'"));
  if (in_arg) out.push_back(cur);
  return out;
}

absl::StatusOr<EalArgs> BuildEalArgs(const std::string& user_args, const HugepageInfo& huge,
                                     int no_huge_mb) {
  absl::StatusOr<std::vector<std::string>> user = SplitArgs(user_args);
  if (!user.ok()) return user.status();
  EalArgs out;
  out.argv.push_back("drasyl-sp");
  out.argv.insert(out.argv.end(), user->begin(), user->end());
  const std::vector<std::string>& u = *user;

  out.no_huge = HasOption(u, "--no-huge");
  if (!out.no_huge && !huge.usable()) {
    out.no_huge = true;
    out.argv.push_back("--no-huge");
    std::string why = !huge.mounted ? "no hugetlbfs mount"
                                    : "no free hugepages (HugePages_Free: 0)";
    if (!HasOption(u, "-m") && !HasOption(u, "--socket-mem")) {
      out.argv.push_back("-m");
      out.argv.push_back(absl::StrCat(no_huge_mb));
      out.notes.push_back(absl::StrCat(why, ": running DPDK with --no-huge -m ", no_huge_mb,
                                       " (anonymous memory; slower, fine without a NIC)"));
    } else {
      out.notes.push_back(absl::StrCat(why, ": running DPDK with --no-huge"));
    }
  }
  if (!HasOption(u, "--file-prefix") && !HasOption(u, "--in-memory") &&
      !HasOption(u, "--no-shconf") && !HasOption(u, "--proc-type")) {
    // --in-memory implies --no-shconf but is incompatible with --no-huge.
    out.argv.push_back(out.no_huge ? "--no-shconf" : "--in-memory");
  }
  if (!HasOption(u, "--telemetry") && !HasOption(u, "--no-telemetry")) {
    out.argv.push_back("--no-telemetry");
  }
  return out;
}

absl::Status InitEal(const std::vector<std::string>& argv) {
  int expected = 0;
  if (!g_eal_state.compare_exchange_strong(expected, -1)) {
    return absl::FailedPreconditionError(
        "the DPDK EAL was already initialized in this process (only once is possible)");
  }
  // rte_eal_init permutes argv and may keep pointers into it: keep the
  // strings for the life of the process.
  static std::vector<std::string>* keep = new std::vector<std::string>(argv);
  std::vector<char*> cargv;
  for (std::string& s : *keep) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  const int r = rte_eal_init(static_cast<int>(keep->size()), cargv.data());
  if (r < 0) {
    return absl::InternalError(absl::StrCat("rte_eal_init failed: ", rte_strerror(rte_errno),
                                            " (EAL arguments: ", absl::StrJoin(argv, " "), ")"));
  }
  g_eal_state.store(1);
  return absl::OkStatus();
}

bool EalInitialized() { return g_eal_state.load() == 1; }

void CleanupEal() {
  int expected = 1;
  if (g_eal_state.compare_exchange_strong(expected, 2)) rte_eal_cleanup();
}

size_t AfPacketFrameSize(const std::string& eal_args) {
  absl::StatusOr<std::vector<std::string>> args = SplitArgs(eal_args);
  if (!args.ok()) return 0;
  size_t largest = 0;
  for (const std::string& a : *args) {
    if (!absl::StrContains(a, "net_af_packet") && !absl::StrContains(a, "eth_af_packet")) continue;
    for (absl::string_view kv : absl::StrSplit(a, ',')) {
      size_t v = 0;
      if (absl::ConsumePrefix(&kv, "framesz=") && absl::SimpleAtoi(kv, &v)) {
        largest = std::max(largest, v);
      }
    }
  }
  return largest;
}

rte_mempool* CreateMbufPool(const char* name, unsigned n, unsigned cache, int socket,
                            uint16_t data_room) {
  if (data_room == 0) data_room = RTE_MBUF_DEFAULT_BUF_SIZE;
  if (rte_eal_has_hugepages() || rte_eal_iova_mode() != RTE_IOVA_VA) {
    return rte_pktmbuf_pool_create(name, n, cache, 0, data_room, socket);
  }
  // rte_pktmbuf_pool_create, but with RTE_MEMPOOL_F_NO_IOVA_CONTIG.
  rte_mempool* mp = rte_mempool_create_empty(name, n, sizeof(rte_mbuf) + data_room, cache,
                                             sizeof(rte_pktmbuf_pool_private), socket,
                                             RTE_MEMPOOL_F_NO_IOVA_CONTIG);
  if (mp == nullptr) return nullptr;
  if (rte_mempool_set_ops_byname(mp, rte_mbuf_best_mempool_ops(), nullptr) != 0) {
    rte_mempool_free(mp);
    return nullptr;
  }
  rte_pktmbuf_pool_private priv;
  std::memset(&priv, 0, sizeof(priv));
  priv.mbuf_data_room_size = data_room;
  priv.mbuf_priv_size = 0;
  rte_pktmbuf_pool_init(mp, &priv);
  if (rte_mempool_populate_default(mp) < 0) {
    rte_mempool_free(mp);
    return nullptr;
  }
  rte_mempool_obj_iter(mp, rte_pktmbuf_init, nullptr);
  return mp;
}

absl::StatusOr<uint16_t> ProbeTap(const std::string& ifname, const std::string& mac, int index) {
  const std::string name = absl::StrCat("net_tap_drasyl", index);
  const std::string devargs = absl::StrCat(name, ",iface=", ifname, ",mac=", mac);
  const int r = rte_dev_probe(devargs.c_str());
  if (r < 0) {
    return absl::InternalError(
        absl::StrCat("cannot create the TAP exception port (", devargs, "): ", rte_strerror(-r),
                     ". Is /dev/net/tun available and the tun module loaded?"));
  }
  uint16_t port = 0;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) {
    return absl::InternalError(absl::StrCat("TAP port ", name, " not found after probing"));
  }
  return port;
}

}  // namespace drasyl::dpdk
