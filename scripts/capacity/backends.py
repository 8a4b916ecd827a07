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


BACKENDS = [
    Backend(name="socket", unavailable=_socket_unavailable,
            sp_listen=lambda host, workers: super_peer.socket_listen(),
            lg_flags=lambda host, workers: []),
    Backend(name="dpdk", unavailable=_dpdk_unavailable,
            sp_listen=lambda host, workers: super_peer.dpdk_memif_listen(
                DPDK_SP_ADDR, f"0-{workers}", host.memif_sock),
            lg_flags=_dpdk_lg_flags,
            one_worker_on_small_hosts=True, quick_first_peers_only=True, optional=True),
]
NAMES = [b.name for b in BACKENDS]


def by_name(name):
    for b in BACKENDS:
        if b.name == name:
            return b
    raise KeyError(name)
