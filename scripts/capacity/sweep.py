"""The capacity report's options (scripts/capacity-report.sh --help) and its
sweep: which super peers it starts (backend, workers, peers) and which load
generator runs each gets (payloads, HELLO interval)."""

import argparse
import os
import sys
from dataclasses import dataclass
from typing import List

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backends  # noqa: E402

DEFAULT_ATTACKS = "none forged sybil garbage tcp-idle replay"
# quick (CI) and full (operators) sweeps: what an option left out becomes.
QUICK = {"workers": "1 2", "peers": "1000 20000", "payloads": "64 1024", "duration": "1",
         "refine": 2, "flood_ms": 1000, "attack_seconds": "3"}
FULL = {"workers": "1 2", "peers": "1000 10000 100000 1000000", "payloads": "64 512 1400",
        "duration": "3", "refine": 3, "flood_ms": 3000, "attack_seconds": "10"}


def usage_error(message):
    """Exits 2 (as for an unknown option) with `message`."""
    print(f"capacity-report: {message}", file=sys.stderr)
    raise SystemExit(2)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"capacity-report: {message} (see --help)\n")


def _ints(text, what):
    try:
        return [int(x) for x in text.split()]
    except ValueError:
        usage_error(f"{what} must be numbers, got '{text}'")


def parse_options(argv):
    """The options as an argparse.Namespace, defaults of the sweep filled in;
    workers, peers and payloads as lists of ints, backends as Backend list."""
    p = _Parser(prog="capacity-report", add_help=False)
    p.add_argument("--quick", action="store_true")
    p.add_argument("--out", default="./capacity-report")
    p.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    p.add_argument("--difficulty", type=int, default=8)
    p.add_argument("--identities", default="")
    p.add_argument("--workers")
    p.add_argument("--peers")
    p.add_argument("--payloads")
    p.add_argument("--duration")
    p.add_argument("--send-unites", default="-1")
    p.add_argument("--backends", default=" ".join(backends.DEFAULT_NAMES))
    p.add_argument("--no-dpdk", action="store_true")
    p.add_argument("--attacks", default=DEFAULT_ATTACKS)
    p.add_argument("--attack-seconds")
    p.add_argument("--sp-bin", required=True)
    p.add_argument("--lg-bin", required=True)
    o = p.parse_args(argv)
    defaults = QUICK if o.quick else FULL
    for key in ("workers", "peers", "payloads", "duration", "attack_seconds"):
        if getattr(o, key) is None:
            setattr(o, key, defaults[key])
    o.refine, o.flood_ms = defaults["refine"], defaults["flood_ms"]
    o.workers = _ints(o.workers, "--workers")
    o.peers = _ints(o.peers, "--peers")
    o.payloads = _ints(o.payloads, "--payloads")
    if not o.workers or not o.peers or not o.payloads:
        usage_error("--workers, --peers and --payloads need a value each")
    chosen = o.backends.split()
    for name in chosen:
        if name not in backends.NAMES:
            usage_error(f"unknown backend '{name}'")
    if o.no_dpdk:
        chosen = [n for n in chosen if n != "dpdk"]
    o.backends = [b for b in backends.BACKENDS if b.name in chosen]
    o.not_selected = [b for b in backends.BACKENDS if b.name not in chosen]
    # The attack rows run on kernel sockets.
    if "socket" not in chosen:
        o.attacks = ""
    o.attacks = o.attacks.split()
    cache = os.environ.get("DRASYL_LOADGEN_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "drasyl-loadgen")
    o.cache = cache
    o.identities = o.identities or os.path.join(cache, f"identities-d{o.difficulty}.bin")
    o.sp_identity = os.path.join(cache, f"super-peer-d{o.difficulty}.identity")
    return o


@dataclass
class SuperPeerRun:
    """One super peer of the sweep and the load generator runs against it."""
    backend: "backends.Backend"
    workers: int
    peers: int
    payloads: List[int]
    hello_interval_ms: int
    hello_timeout_ms: int

    @property
    def tag(self):
        return f"{self.backend.name}-w{self.workers}-p{self.peers}"


def hello_timing(peers):
    """(HELLO interval, super peer HELLO timeout) in ms for a table of `peers`:
    registering a big table takes longer than the default 30 s timeout, and a
    re-HELLO every 5 s from a million nodes would be the whole load; nodes
    re-HELLO every peers/20000 s (>= 5 s) instead."""
    interval = max(peers // 20, 5000)
    return interval, max(interval * 6, 600000)


def plan(opts, backend, cpus):
    """The super peers the sweep starts for `backend`, in order."""
    first_peers = opts.peers[0]
    max_workers = max(opts.workers)
    workers = opts.workers
    if backend.one_worker_on_small_hosts and cpus <= 2:
        workers = [1]
    peers = opts.peers
    if backend.quick_first_peers_only and opts.quick:
        peers = [first_peers]
    runs = []
    for w in workers:
        for p in peers:
            # --quick: larger tables only with the most workers.
            if opts.quick and p != first_peers and w != max_workers:
                continue
            # The payload sweep at the first peer count (in --quick with the
            # most workers only).
            payloads = [64]
            if p == first_peers and (not opts.quick or w == max_workers):
                payloads = opts.payloads
            interval, timeout = hello_timing(p)
            runs.append(SuperPeerRun(backend, w, p, payloads, interval, timeout))
    return runs


def loadgen_command(opts, sp_url, run, payload, extra):
    """The drasyl-loadgen command of one capacity run."""
    return [opts.lg_bin, "--url", sp_url, f"--nodes={run.peers}", f"--identities={opts.identities}",
            f"--difficulty={opts.difficulty}", f"--payload={payload}", "--pattern=all", "--search",
            f"--search_refine={opts.refine}", f"--duration={opts.duration}",
            f"--hello_flood_ms={opts.flood_ms}", f"--hello_interval_ms={run.hello_interval_ms}",
            "--json"] + extra


def attack_command(opts, sp_url, kind):
    return [opts.lg_bin, "--url", sp_url, f"--attack={kind}", f"--attack_seconds={opts.attack_seconds}",
            f"--identities={opts.identities}", f"--difficulty={opts.difficulty}", "--json"]
