"""Helpers shared by scripts/package_test.py and scripts/observability_test.py:
free loopback ports, reading a super peer's banner, /metrics, registering a node."""

import queue
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request

from prom_text import samples as metric_samples, total as metric_sum  # noqa: F401 (theirs)

BANNER_URL = re.compile(r"(udp://\S+\?publicKey=([0-9a-f]{64})\S*)")


class TestFailure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise TestFailure(what)
    print(f"  ok: {what}", flush=True)


def free_port(kind=socket.SOCK_STREAM, low=False):
    """A port free on 127.0.0.1 for `kind` (a low one, 600-1023, when asked)."""
    candidates = range(600, 1024) if low else [0]
    for port in candidates:
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", port))
            return s.getsockname()[1]
        except OSError:
            continue
        finally:
            s.close()
    raise TestFailure("no free low port on 127.0.0.1")


def free_ports_both(count):
    """Ports free for UDP and TCP alike."""
    ports = []
    while len(ports) < count:
        p = free_port(socket.SOCK_DGRAM)
        try:
            t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            t.bind(("127.0.0.1", p))
            t.close()
        except OSError:
            continue
        if p not in ports:
            ports.append(p)
    return ports


class OutputReader:
    """Collects a process's output lines on a thread (so pipes never fill)."""

    def __init__(self, proc):
        self.lines = []
        self._q = queue.Queue()
        self._t = threading.Thread(target=self._run, args=(proc.stdout,), daemon=True)
        self._t.start()

    def _run(self, stream):
        for line in stream:
            self.lines.append(line.rstrip("\n"))
            self._q.put(line)
        self._q.put(None)

    def wait_for(self, pattern, timeout):
        """First match of `pattern` in the output within `timeout` seconds."""
        rx = re.compile(pattern)
        for line in self.lines:
            m = rx.search(line)
            if m:
                return m
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._q.get(timeout=max(0.05, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            m = rx.search(line)
            if m:
                return m
        return None

    def text(self):
        return "\n".join(self.lines)


def wait_banner(reader, proc, timeout=60):
    """(url, public key) from the banner, or TestFailure with the output."""
    m = reader.wait_for(BANNER_URL.pattern, timeout)
    if m is None:
        raise TestFailure(f"no banner URL within {timeout} s (exit code {proc.poll()}); output:\n"
                          + reader.text())
    return m.group(1), m.group(2)


def fetch_metrics(port, timeout=5):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout) as r:
        return r.read().decode()


def wait_metrics(port, predicate, timeout=5):
    """Samples of /metrics once `predicate(samples)` holds, or the last ones after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        samples = metric_samples(fetch_metrics(port))
        if predicate(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(0.1)


def register_nodes(loadgen, url, difficulty, identities, timeout=120):
    """Registers two simulated nodes (drasyl-loadgen's least) with HELLO -> ACK; its output."""
    cmd = [loadgen, f"--url={url}", "--nodes=2", "--duration=0", "--hello_flood_ms=0",
           f"--difficulty={difficulty}", f"--identities={identities}", "--progress=false"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    out = r.stdout + r.stderr
    if r.returncode != 0 or not re.search(r"registered 2/2 nodes", out):
        raise TestFailure(f"drasyl-loadgen did not register its nodes (exit {r.returncode}):\n{out}")
    return out


def log(msg):
    print(msg, file=sys.stderr, flush=True)
