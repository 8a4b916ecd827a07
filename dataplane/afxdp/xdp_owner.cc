#include "dataplane/afxdp/xdp_owner.h"

#include <dirent.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace drasyl::afxdp {

extern const uint8_t kRelayFilterObject[];
extern const size_t kRelayFilterObjectSize;

namespace {

// The name of relay_filter.bpf.c's program as the kernel reports it.
constexpr char kProgramName[] = "drasyl_relay";

void CloseFd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// The claim: a listening socket in the abstract namespace, which belongs to
// the network namespace (interface names do too) and goes away with the
// process however it ends; a second instance learns the first's pid.
absl::StatusOr<int> ClaimInterface(const std::string& ifname, unsigned ifindex) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const std::string name = absl::StrCat("drasyl-sp/af_xdp/", ifindex);
  std::memcpy(sa.sun_path + 1, name.data(), name.size());
  const socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(AF_UNIX): ", strerror(errno)));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) == 0 && ::listen(fd, 4) == 0) return fd;
  const int bind_errno = errno;
  ::close(fd);
  if (bind_errno != EADDRINUSE) {
    return absl::InternalError(absl::StrCat("cannot claim ", ifname, ": ", strerror(bind_errno)));
  }
  std::string who = "another process";
  const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (probe >= 0 && ::connect(probe, reinterpret_cast<sockaddr*>(&sa), len) == 0) {
    ucred cred{};
    socklen_t cl = sizeof(cred);
    if (::getsockopt(probe, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0 && cred.pid > 0) {
      who = absl::StrCat("another drasyl-sp (pid ", cred.pid, ")");
    }
  }
  if (probe >= 0) ::close(probe);
  return absl::FailedPreconditionError(absl::StrFormat(
      "--af_xdp=%s: %s already runs the relay on %s in this network namespace; one super "
      "peer per interface (stop the other one, or give this one another interface)",
      ifname, who, ifname));
}

// The kernel's name of program `id` ("" if it cannot be read).
std::string ProgramName(uint32_t id) {
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return "";
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  std::string name;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) name = info.name;
  ::close(fd);
  return name;
}

struct Attached {
  uint32_t id;
  uint32_t flags;  // XDP_FLAGS_*_MODE of its attachment
  const char* mode;
};

// The XDP programs on an interface, by attach mode.
std::vector<Attached> AttachedPrograms(unsigned ifindex) {
  bpf_xdp_query_opts q{};
  q.sz = sizeof(q);
  std::vector<Attached> out;
  if (bpf_xdp_query(static_cast<int>(ifindex), 0, &q) != 0) return out;
  if (q.drv_prog_id != 0) out.push_back({q.drv_prog_id, XDP_FLAGS_DRV_MODE, "native"});
  if (q.skb_prog_id != 0) out.push_back({q.skb_prog_id, XDP_FLAGS_SKB_MODE, "generic"});
  if (q.hw_prog_id != 0) out.push_back({q.hw_prog_id, XDP_FLAGS_HW_MODE, "offloaded"});
  return out;
}

// Detaches program `id` in the mode of `flags`, only if it is still the one.
bool Detach(unsigned ifindex, uint32_t id, uint32_t flags) {
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return false;
  bpf_xdp_attach_opts o{};
  o.sz = sizeof(o);
  o.old_prog_fd = fd;
  const int r = bpf_xdp_detach(static_cast<int>(ifindex), flags | XDP_FLAGS_REPLACE, &o);
  ::close(fd);
  return r == 0;
}

// Combined channels as net_af_xdp counts them (1 without channels).
int CombinedQueues(const std::string& ifname) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 1;
  ethtool_channels ch{};
  ch.cmd = ETHTOOL_GCHANNELS;
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.data(), std::min(ifname.size(), sizeof(ifr.ifr_name) - 1));
  ifr.ifr_data = reinterpret_cast<char*>(&ch);
  const int r = ::ioctl(fd, SIOCETHTOOL, &ifr);
  ::close(fd);
  if (r != 0 || ch.max_combined == 0) return 1;
  return static_cast<int>(std::max<uint32_t>(1, ch.combined_count));
}

// The interface's RX queues (/sys/class/net/<if>/queues/rx-<N>).
int RxQueues(const std::string& ifname) {
  DIR* d = opendir(absl::StrCat("/sys/class/net/", ifname, "/queues").c_str());
  if (d == nullptr) return 1;
  int n = 0;
  while (dirent* e = readdir(d)) n += std::strncmp(e->d_name, "rx-", 3) == 0;
  closedir(d);
  return std::max(1, n);
}

}  // namespace

const char* VerdictName(int v) {
  switch (v) {
    case DRASYL_TO_WORKERS_UDP: return "to_workers_udp";
    case DRASYL_TO_WORKERS_FRAGMENT: return "to_workers_fragment";
    case DRASYL_PASS_NOT_IP: return "pass_not_ip";
    case DRASYL_PASS_OTHER_PROTOCOL: return "pass_other_protocol";
    case DRASYL_PASS_OTHER_ADDRESS: return "pass_other_address";
    case DRASYL_PASS_OTHER_PORT: return "pass_other_port";
    case DRASYL_PASS_NO_SOCKET: return "pass_no_socket";
    case DRASYL_PASS_MALFORMED: return "pass_malformed";
    default: return "unknown";
  }
}

absl::StatusOr<std::unique_ptr<XdpOwner>> XdpOwner::Claim(const std::string& ifname) {
  std::unique_ptr<XdpOwner> o(new XdpOwner());
  o->ifname_ = ifname;
  o->ifindex_ = if_nametoindex(ifname.c_str());
  if (o->ifindex_ == 0) {
    return absl::NotFoundError(
        absl::StrCat("--af_xdp=", ifname, ": no such interface in this network namespace"));
  }
  absl::StatusOr<int> claim = ClaimInterface(ifname, o->ifindex_);
  if (!claim.ok()) return claim.status();
  o->claim_fd_ = *claim;

  // What is attached now: ours is a leftover (its owner would hold the
  // claim), anything else is someone else's.
  for (const Attached& a : AttachedPrograms(o->ifindex_)) {
    const std::string name = ProgramName(a.id);
    if (name != kProgramName) {
      return absl::FailedPreconditionError(absl::StrFormat(
          "--af_xdp=%s: the interface has an XDP program that is not ours (%s mode, id %u, "
          "name '%s'); the super peer does not replace it. Remove it if it is stale (`ip link "
          "set dev %s xdp off`, or `xdp-loader unload %s --all`) or choose another interface",
          ifname, a.mode, a.id, name, ifname, ifname));
    }
    if (!Detach(o->ifindex_, a.id, a.flags)) {
      return absl::InternalError(absl::StrFormat(
          "--af_xdp=%s: cannot remove the leftover XDP program of an earlier super peer (id "
          "%u): %s",
          ifname, a.id, strerror(errno)));
    }
    LOG(WARNING) << "--af_xdp=" << ifname << ": removed the XDP program (" << a.mode << ", id "
                 << a.id << ") an earlier super peer left behind (killed without shutting down)";
  }

  o->object_fd_ = memfd_create("drasyl_relay.bpf.o", MFD_CLOEXEC);
  if (o->object_fd_ < 0 ||
      ::write(o->object_fd_, kRelayFilterObject, kRelayFilterObjectSize) !=
          static_cast<ssize_t>(kRelayFilterObjectSize)) {
    return absl::InternalError(absl::StrCat("memfd for the XDP program: ", strerror(errno)));
  }
  o->program_path_ = absl::StrCat("/proc/self/fd/", o->object_fd_);
  o->queue_count_ = CombinedQueues(ifname);
  // net_af_xdp opens sockets on combined channels only; what the program
  // sends to another RX queue would reach no socket (and be the kernel's,
  // which has no listener): refuse rather than lose messages.
  if (const int rx = RxQueues(ifname); rx > o->queue_count_) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "--af_xdp=%s: the interface has %d RX queues, of which DPDK's net_af_xdp can serve %d "
        "(its combined channels); what arrives on the others would reach no AF_XDP socket. "
        "Make them match: `ethtool -L %s combined <N>` (or `ethtool -L %s rx %d tx %d`)",
        ifname, rx, o->queue_count_, ifname, ifname, o->queue_count_, o->queue_count_));
  }
  return o;
}

XdpOwner::~XdpOwner() {
  // DPDK's net_af_xdp detaches the program when it closes the port; this
  // is for the ways out where it did not.
  if (prog_id_ != 0) {
    for (const Attached& a : AttachedPrograms(ifindex_)) {
      if (a.id == prog_id_ && Detach(ifindex_, a.id, a.flags)) {
        LOG(INFO) << "--af_xdp=" << ifname_ << ": removed our XDP program (id " << a.id << ")";
      }
    }
  }
  CloseFd(dests_fd_);
  CloseFd(verdicts_fd_);
  CloseFd(object_fd_);
  CloseFd(claim_fd_);
}

absl::Status XdpOwner::Adopt() {
  for (const Attached& a : AttachedPrograms(ifindex_)) {
    if (ProgramName(a.id) != kProgramName) continue;
    prog_id_ = a.id;
    attach_flags_ = a.flags;
    attach_mode_ = a.mode;
  }
  if (prog_id_ == 0) {
    return absl::InternalError(absl::StrCat(
        "--af_xdp=", ifname_, ": DPDK's net_af_xdp did not attach our XDP program"));
  }
  const int prog_fd = bpf_prog_get_fd_by_id(prog_id_);
  if (prog_fd < 0) return absl::InternalError(absl::StrCat("bpf_prog_get_fd_by_id: ", strerror(errno)));
  uint32_t map_ids[16] = {};
  bpf_prog_info info{};
  info.nr_map_ids = 16;
  info.map_ids = reinterpret_cast<uint64_t>(map_ids);
  uint32_t len = sizeof(info);
  const int r = bpf_obj_get_info_by_fd(prog_fd, &info, &len);
  ::close(prog_fd);
  if (r != 0) return absl::InternalError(absl::StrCat("bpf_obj_get_info_by_fd: ", strerror(errno)));
  for (uint32_t i = 0; i < std::min<uint32_t>(info.nr_map_ids, 16); ++i) {
    int fd = bpf_map_get_fd_by_id(map_ids[i]);
    if (fd < 0) continue;
    bpf_map_info mi{};
    uint32_t ml = sizeof(mi);
    if (bpf_obj_get_info_by_fd(fd, &mi, &ml) == 0) {
      if (std::strcmp(mi.name, "drasyl_dests") == 0 && dests_fd_ < 0) {
        dests_fd_ = fd;
        continue;
      }
      if (std::strcmp(mi.name, "drasyl_verdicts") == 0 && verdicts_fd_ < 0) {
        verdicts_fd_ = fd;
        continue;
      }
    }
    ::close(fd);
  }
  if (dests_fd_ < 0 || verdicts_fd_ < 0) {
    return absl::InternalError(absl::StrCat("--af_xdp=", ifname_,
                                            ": our XDP program lacks its maps (a build problem)"));
  }
  return absl::OkStatus();
}

absl::Status XdpOwner::SetDestinations(const std::vector<KernelAddress>& addrs,
                                       uint16_t udp4_port, uint16_t udp6_port) {
  if (dests_fd_ < 0) return absl::FailedPreconditionError("XDP program not adopted");
  auto key_of = [](const KernelAddress& a) {
    drasyl_dest_key k{};
    const std::array<uint8_t, 16> m = a.addr.MappedV6();
    std::memcpy(k.addr, m.data(), 16);
    return k;
  };
  // New ones first, then the gone ones: no moment without the kept ones.
  for (const KernelAddress& a : addrs) {
    const uint16_t port = a.addr.is_v4() ? udp4_port : udp6_port;
    drasyl_dest_key k = key_of(a);
    if (port == 0) {
      bpf_map_delete_elem(dests_fd_, &k);
      continue;
    }
    drasyl_dest_value v{};
    v.port_be = htons(port);
    if (bpf_map_update_elem(dests_fd_, &k, &v, BPF_ANY) != 0) {
      return absl::InternalError(absl::StrCat("--af_xdp=", ifname_, ": cannot serve ",
                                              a.addr.HostString(), ": ", strerror(errno)));
    }
  }
  for (const KernelAddress& old : dests_) {
    bool kept = false;
    for (const KernelAddress& a : addrs) kept = kept || a.addr == old.addr;
    if (kept) continue;
    drasyl_dest_key k = key_of(old);
    bpf_map_delete_elem(dests_fd_, &k);
  }
  dests_ = addrs;
  return absl::OkStatus();
}

bool XdpOwner::ReadVerdicts(Verdicts* out) const {
  out->fill(0);
  if (verdicts_fd_ < 0) return false;
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return false;
  std::vector<uint64_t> per_cpu(static_cast<size_t>(cpus));
  for (uint32_t v = 0; v < DRASYL_VERDICT_COUNT; ++v) {
    if (bpf_map_lookup_elem(verdicts_fd_, &v, per_cpu.data()) != 0) return false;
    for (uint64_t n : per_cpu) (*out)[v] += n;
  }
  return true;
}

std::string RenderVerdictMetrics(const std::vector<const XdpOwner*>& owners) {
  if (owners.empty()) return "";
  std::string out =
      "# HELP drasyl_xdp_verdicts_total Frames of an --af_xdp interface by what our XDP "
      "program did with them: to_workers_* went to the super peer's AF_XDP sockets, pass_* "
      "to the kernel.\n# TYPE drasyl_xdp_verdicts_total counter\n";
  for (const XdpOwner* o : owners) {
    Verdicts v;
    if (!o->ReadVerdicts(&v)) continue;
    for (int i = 0; i < DRASYL_VERDICT_COUNT; ++i) {
      absl::StrAppendFormat(&out, "drasyl_xdp_verdicts_total{interface=\"%s\",verdict=\"%s\"} %d\n",
                            o->ifname(), VerdictName(i), v[i]);
    }
  }
  return out;
}

}  // namespace drasyl::afxdp
