"""The backends the capacity report measures: one entry each in BACKENDS.

A backend says whether it can run here (else the reason it is skipped), how
the super peer listens (scripts/super_peer.py), which flags the load
generator gets, and which worker and peer counts it runs with. A new backend
(say AF_XDP) is one more Backend in the table."""

import os
import subprocess
import sys
from dataclasses import dataclass
from typing import Callable, List, Optional

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import super_peer  # noqa: E402


@dataclass
class Host:
    """What the backends need to know of this run and machine."""
    lg_bin: str
    logs: str
    cpus: int
    root: bool
    memif_sock: str


@dataclass(frozen=True)
class Backend:
    name: str
    # The reason it cannot run here, or None.
    unavailable: Callable[[Host], Optional[str]]
    # The super peer's listen settings for `workers` workers.
    sp_listen: Callable[[Host, int], dict]
    # Extra drasyl-loadgen flags against a super peer with `workers` workers.
    lg_flags: Callable[[Host, int], List[str]]
    # Worker counts: one unless the machine has cores to spare (a worker that
    # busy-polls an lcore of its own next to the main lcore).
    one_worker_on_small_hosts: bool = False
    # --quick: the first peer count only.
    quick_first_peers_only: bool = False
    # When the super peer does not come up with it: skip the backend (with
    # the reason) rather than fail the report.
    optional: bool = False
    # Measured unless --backends leaves it out (False: only when named).
    default: bool = True
    # Before its runs / after them (its links), and what the generator's
    # command starts with (a network namespace).
    prepare: Optional[Callable[[Host], None]] = None
    cleanup: Optional[Callable[[Host], None]] = None
    lg_prefix: Callable[[Host], List[str]] = lambda host: []


# The DPDK rows: a net_memif link between super peer (server) and generator.
DPDK_SP_ADDR = "10.99.78.1"
DPDK_LG_ADDR = "10.99.78.2"


def _socket_unavailable(host):
    return None


def _dpdk_unavailable(host):
    err_path = os.path.join(host.logs, "backends.err")
    with open(err_path, "w") as err:
        r = subprocess.run([host.lg_bin, "--list_backends"], stdout=subprocess.PIPE, stderr=err,
                           text=True)
    if "dpdk" not in r.stdout.split("\n"):
        with open(err_path, errors="replace") as f:
            first = (f.readline().rstrip("\n"))
        return "drasyl-loadgen: " + (first[len("dpdk: "):] if first.startswith("dpdk: ") else first)
    if not host.root:
        return "needs root (DPDK memif port and the super peer's TAP interface)"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun for the super peer's TAP interface"
    return None


def _dpdk_lg_flags(host, workers):
    # The generator's loop on a CPU no worker lcore (1..workers) busy-polls,
    # else CPU 0 (next to the super peer's control thread).
    lg_cpu = workers + 1 if host.cpus > workers + 1 else 0
    return ["--backend=dpdk",
            f"--dpdk_eal=--no-pci -l {lg_cpu} --vdev=net_memif0,role=client,"
            f"socket={host.memif_sock},rsize=14",
            f"--dpdk_local_ip={DPDK_LG_ADDR}"]


# The AF_XDP rows: a veth pair, the super peer's end (with the kernel's
# address) in this namespace under --af_xdp, the generator's in a namespace
# of its own (over loopback nothing would cross the veth).
AF_XDP_SP_ADDR = "10.99.79.1"
AF_XDP_LG_ADDR = "10.99.79.2"
AF_XDP_IFACE = "dcapxdp0"
AF_XDP_LG_NS = "dcap-xdp-lg"


def _af_xdp_unavailable(host):
    if not host.root:
        return "needs root (network namespace, veth pair, XDP program)"
    if subprocess.run(["ip", "netns", "list"], stdout=subprocess.DEVNULL,
                      stderr=subprocess.DEVNULL).returncode != 0:
        return "no `ip netns` (iproute2)"
    return None


def _run(cmd):
    subprocess.run(cmd, shell=True, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _af_xdp_cleanup(host):
    subprocess.run(["ip", "netns", "del", AF_XDP_LG_NS], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _af_xdp_prepare(host):
    _af_xdp_cleanup(host)
    lg = f"ip netns exec {AF_XDP_LG_NS}"
    _run(f"ip netns add {AF_XDP_LG_NS}")
    _run(f"ip link add {AF_XDP_IFACE} type veth peer name eth0 netns {AF_XDP_LG_NS}")
    # Complete checksums on the wire (XDP sees what the sender left); the
    # generator's receiving on its own CPU (RPS), not the worker's.
    subprocess.run(f"ethtool -K {AF_XDP_IFACE} tx off rx off tso off gso off gro off; "
                   f"{lg} ethtool -K eth0 tx off rx off tso off gso off gro off; "
                   f"{lg} sh -c 'echo 1 > /sys/class/net/eth0/queues/rx-0/rps_cpus'",
                   shell=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _run(f"ip addr add {AF_XDP_SP_ADDR}/24 dev {AF_XDP_IFACE} && ip link set {AF_XDP_IFACE} up")
    _run(f"{lg} ip addr add {AF_XDP_LG_ADDR}/24 dev eth0 && {lg} ip link set eth0 up && "
         f"{lg} ip link set lo up")


BACKENDS = [
    Backend(name="socket", unavailable=_socket_unavailable,
            sp_listen=lambda host, workers: super_peer.socket_listen(),
            lg_flags=lambda host, workers: []),
    Backend(name="dpdk", unavailable=_dpdk_unavailable,
            sp_listen=lambda host, workers: super_peer.dpdk_memif_listen(
                DPDK_SP_ADDR, f"0-{workers}", host.memif_sock),
            lg_flags=_dpdk_lg_flags,
            one_worker_on_small_hosts=True, quick_first_peers_only=True, optional=True),
    Backend(name="af_xdp", unavailable=_af_xdp_unavailable,
            sp_listen=lambda host, workers: super_peer.af_xdp_listen(
                AF_XDP_SP_ADDR, AF_XDP_IFACE, f"0-{workers}"),
            lg_flags=lambda host, workers: [f"--bind={AF_XDP_LG_ADDR}"],
            one_worker_on_small_hosts=True, quick_first_peers_only=True, optional=True,
            default=False, prepare=_af_xdp_prepare, cleanup=_af_xdp_cleanup,
            lg_prefix=lambda host: ["ip", "netns", "exec", AF_XDP_LG_NS]),
]
NAMES = [b.name for b in BACKENDS]
DEFAULT_NAMES = [b.name for b in BACKENDS if b.default]


def by_name(name):
    for b in BACKENDS:
        if b.name == name:
            return b
    raise KeyError(name)
