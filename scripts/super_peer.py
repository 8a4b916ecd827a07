"""Starts and stops build/drasyl-sp for the benchmarks (scripts/capacity/report.py,
scripts/memif_bench/bench.py): one way to set its environment, wait for its
banner, check the backend it runs, read its counters and stop it.

Unit tests: scripts/super_peer_test.py."""

import json
import os
import re
import signal
import subprocess
import time
import urllib.request

import prom_text

# The capacity settings: no table limit and no per-source limits (a load
# generator plays many nodes from a few addresses), no TCP listener.
CAPACITY_LIMITS = {
    "DRASYL_TCP4_LISTEN": "",
    "DRASYL_MAX_PEERS": "0",
    "DRASYL_MAX_PEERS_PER_SOURCE": "0",
    "DRASYL_CONTROL_RATE_PER_SOURCE": "0",
    "DRASYL_MAX_TCP_CONNECTIONS_PER_SOURCE": "0",
}
# The attack settings: every default limit, TCP on loopback.
ATTACK_LIMITS = {"DRASYL_TCP4_LISTEN": "127.0.0.1:0"}

URL_RE = re.compile(r"udp://\S+")
BACKEND_RE = re.compile(r"backend ([a-z_]*) with")
METRICS_RE = re.compile(r"http://[0-9.:]*/metrics")


class SuperPeerError(Exception):
    """The super peer did not come up (with the backend asked for)."""


def socket_listen():
    """Kernel sockets on loopback, an ephemeral port."""
    return {"DRASYL_UDP4_LISTEN": "127.0.0.1:0"}


def dpdk_memif_listen(addr, lcores, sock):
    """The DPDK backend on a net_memif server port at `sock` with `addr`/24
    (plus the TAP the backend makes); EAL lcores `lcores` ("0-W": main lcore
    0 and one per worker)."""
    return {
        "DRASYL_UDP4_LISTEN": f"{addr}:22527",
        "DRASYL_DPDK_ADDR": f"{addr}/24",
        "DRASYL_DPDK_EAL": f"--no-pci -l {lcores} --vdev=net_memif0,role=server,socket={sock}",
    }


def af_xdp_listen(addr, iface, lcores):
    """--af_xdp on `iface` (the kernel keeps it, with `addr`); EAL lcores
    `lcores` ("0-W")."""
    return {
        "DRASYL_UDP4_LISTEN": f"{addr}:22527",
        "DRASYL_AF_XDP": iface,
        "DRASYL_DPDK_EAL": f"-l {lcores}",
    }


def sp_environment(identity, difficulty, workers, listen, mode="capacity",
                   hello_timeout_ms=600000, send_unites=-1):
    """The DRASYL_* variables of a benchmark super peer. `listen` comes from
    socket_listen(), dpdk_memif_listen() or af_xdp_listen(); `mode` is "capacity" (see
    CAPACITY_LIMITS; HELLO timeout `hello_timeout_ms`) or "attack" (default
    limits and HELLO timeout, a TCP listener)."""
    if mode not in ("capacity", "attack"):
        raise ValueError(f"unknown mode {mode!r}")
    env = {"DRASYL_IDENTITY_FILE": str(identity)}
    env.update(listen)
    env.update({"DRASYL_UDP6_LISTEN": "", "DRASYL_TCP6_LISTEN": ""})
    if mode == "capacity":
        env.update(CAPACITY_LIMITS)
        env["DRASYL_HELLO_TIMEOUT"] = str(hello_timeout_ms)
    else:
        env.update(ATTACK_LIMITS)
    env.update({
        "DRASYL_PROMETHEUS_LISTEN": "127.0.0.1:0",
        "DRASYL_MIN_POW_DIFFICULTY": str(difficulty),
        "DRASYL_PEERS_PRINT_INTERVAL": "0",
        "DRASYL_WORKERS": str(workers),
        "DRASYL_SEND_UNITES": str(send_unites),
        "RUST_LOG": "info",
    })
    return env


def parse_metrics(text):
    """The counters the reports use from a /metrics text: {"peers" (UDP),
    "relayed_packets" (all workers), "drops": {reason: n > 0}}."""
    s = prom_text.samples(text)
    drops = {}
    for (name, labels), value in s.items():
        if name == "drasyl_drops_total" and value > 0:
            reason = dict(labels).get("reason", "?")
            drops[reason] = drops.get(reason, 0) + int(value)
    return {"peers": int(prom_text.total(s, "drasyl_peers", transport="udp")),
            "relayed_packets": int(prom_text.total(s, "drasyl_relayed_packets_total")),
            "drops": drops}


def scrape_metrics(url):
    """parse_metrics() of `url`, {} when there is none or it does not answer."""
    if not url:
        return {}
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return parse_metrics(r.read().decode())
    except Exception:  # a report without counters rather than no report
        return {}


def first_match(path, regex):
    """The first match of `regex` (compiled) in the file at `path`, or None."""
    try:
        with open(path, errors="replace") as f:
            return regex.search(f.read())
    except OSError:
        return None


def wait_for(path, regex, seconds, proc=None):
    """The first match of `regex` in the file at `path` within `seconds`, or
    None; gives up early (after a last look) when `proc` has exited."""
    if isinstance(regex, str):
        regex = re.compile(regex, re.M)
    deadline = time.monotonic() + seconds
    while True:
        m = first_match(path, regex)
        if m or time.monotonic() > deadline:
            return m
        if proc is not None and proc.poll() is not None:
            return first_match(path, regex)
        time.sleep(0.05)


def stop_process(proc, grace_s=5.0):
    """SIGCONT (it may be stopped), SIGTERM, up to `grace_s` to exit, then SIGKILL."""
    if proc is None:
        return None
    if proc.poll() is None:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(timeout=grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()


def tail_lines(path, n):
    """The last n lines of a log file ([] when it cannot be read)."""
    try:
        with open(path, errors="replace") as f:
            return f.read().splitlines()[-n:]
    except OSError:
        return []


def load_average():
    """The 1, 5 and 15 minute load averages, as the kernel prints them."""
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def last_error_line(path):
    """The last line of a super peer's stderr that is not an info line."""
    try:
        with open(path, errors="replace") as f:
            lines = [l.rstrip("\n") for l in f if not l.startswith("I")]
    except OSError:
        return ""
    return lines[-1] if lines else ""


class SuperPeer:
    """One drasyl-sp process; logs to LOGS/sp-TAG.out and .err."""

    def __init__(self, sp_bin, logs, tag, env, backend, prefix=()):
        """`prefix`: a command that runs the binary, e.g. ["ip", "netns", "exec", NS]
        (it must exec it, so that signals reach the super peer)."""
        self.sp_bin, self.logs, self.tag, self.backend = sp_bin, logs, tag, backend
        self.prefix = list(prefix)
        self.out_path = os.path.join(logs, f"sp-{tag}.out")
        self.err_path = os.path.join(logs, f"sp-{tag}.err")
        self.env = env
        self.proc = None
        self.url = None
        self.metrics_url = None

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def start(self, start_s=10, backend_s=5):
        """Starts it and waits for its banner and its backend line; raises
        SuperPeerError (after stopping it) when either is missing or shows
        another backend than the one asked for."""
        env = dict(os.environ)
        env.update(self.env)
        with open(self.out_path, "w") as out, open(self.err_path, "w") as err:
            self.proc = subprocess.Popen(self.prefix + [self.sp_bin], stdout=out, stderr=err, env=env,
                                         stdin=subprocess.DEVNULL)
        m = wait_for(self.out_path, URL_RE, start_s, self.proc)
        if not m:
            self.stop()
            msg = f"drasyl-sp did not start: {last_error_line(self.err_path)}"
            if "DRASYL_DPDK_EAL" in self.env:
                msg += " (with DRASYL_DPDK_EAL; no DPDK support in this drasyl-sp?)"
            raise SuperPeerError(msg)
        self.url = m.group(0)
        wait_for(self.err_path, BACKEND_RE, backend_s, self.proc)
        running = first_match(self.err_path, BACKEND_RE)
        if not running or running.group(1) != self.backend:
            self.stop()
            raise SuperPeerError(
                f"drasyl-sp runs backend '{running.group(1) if running else ''}' instead of "
                f"'{self.backend}' (no {self.backend.upper()} support in this drasyl-sp?)")
        m = first_match(self.err_path, METRICS_RE)
        self.metrics_url = m.group(0) if m else None
        return self

    def metrics(self):
        return scrape_metrics(self.metrics_url)

    def pause(self):
        """SIGSTOP: nothing of it runs (a benchmark measures something else meanwhile)."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGSTOP)

    def resume(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)

    def stop(self):
        stop_process(self.proc)
        self.proc = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def json_last_line(path):
    """The last line of a drasyl-loadgen --json output, parsed."""
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])
