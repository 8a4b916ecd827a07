#!/usr/bin/env python3
"""The memif benchmark (scripts/memif-bench.sh is its entry point and says
what it measures): 0. the link alone (testpmd against testpmd), 1. the
ceiling (testpmd forwarding for drasyl-loadgen), 2. the super peer, 3. the
report (results.py)."""

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import results  # noqa: E402
import super_peer  # noqa: E402
from testpmd import Testpmd  # noqa: E402

GOAL_PCT = 70  # issue #4: the super peer relays at least this share of testpmd's figure
# Addresses not the capacity report's 10.99.78.0/24, so that both can run at once.
SP_ADDR = "10.99.79.1"
LG_ADDR = "10.99.79.2"
LG_SUMMARY = re.compile(r"^loadgen: (registered|step|highest)")


class Failed(Exception):
    pass


def log(msg):
    print(f"memif-bench: {msg}", file=sys.stderr, flush=True)




class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"memif-bench: {message} (see --help)\n")


def parse_options(argv):
    p = _Parser(prog="memif-bench", add_help=False)
    p.add_argument("--out", default="")
    p.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    p.add_argument("--nodes", default="1000")
    p.add_argument("--payload", default="64")
    p.add_argument("--duration", default="2")
    p.add_argument("--difficulty", default="8")
    p.add_argument("--no-search", dest="search", action="store_false")
    p.add_argument("--no-raw", dest="raw", action="store_false")
    p.add_argument("--floor-rate", default="5000000")
    p.add_argument("--rounds", default="1")
    p.add_argument("--sp-bin", required=True)
    p.add_argument("--lg-bin", required=True)
    o = p.parse_args(argv)
    o.out = o.out or os.path.join(o.build, "memif-bench.json")
    errors = validate(o)
    if errors:
        raise Failed(errors[0])
    o.nodes, o.payload, o.floor_rate, o.rounds = int(o.nodes), int(o.payload), int(o.floor_rate), int(o.rounds)
    return o


def validate(o):
    """What is wrong with the options (strings as given), first first."""
    errors = []
    if not re.fullmatch(r"([1-9]|10)(\.[0-9]+)?", o.duration):
        errors.append("--duration must be 1..10 seconds")
    if not (re.fullmatch(r"[0-9]+", o.nodes) and 2 <= int(o.nodes) <= 100000):
        errors.append("--nodes must be 2..100000")
    if not re.fullmatch(r"[0-9]+", o.payload):
        errors.append("--payload must be a number")
    if not re.fullmatch(r"[1-9][0-9]*", o.floor_rate):
        errors.append("--floor-rate must be a positive number of messages/s")
    if not (re.fullmatch(r"[0-9]+", o.rounds) and 1 <= int(o.rounds) <= 20):
        errors.append("--rounds must be 1..20")
    return errors


def base(out):
    return out[:-len(".json")] if out.endswith(".json") else out


def run_rounds(o, argv):
    """Each round a complete run of this program (its own processes, sockets
    and logs); the --rounds and --out given last win over those in argv."""
    os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
    paths = []
    for k in range(1, o.rounds + 1):
        log(f"round {k}/{o.rounds}")
        path = f"{base(o.out)}.round{k}.json"
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__)] + argv
                                + ["--rounds=1", f"--out={path}"], stdout=subprocess.PIPE, text=True)
        for line in proc.stdout:
            print("    " + line, end="", flush=True)
        if proc.wait() != 0:
            return proc.returncode
        paths.append(path)
    try:
        rounds = []
        for p in paths:
            with open(p) as f:
                rounds.append(json.load(f))
        res = results.rounds_result(rounds, paths, GOAL_PCT)
        with open(o.out, "w") as f:
            json.dump(res, f, indent=1)
            f.write("\n")
    except (OSError, ValueError, KeyError) as e:
        raise Failed(f"could not write {o.out}: {e}")
    print("\n".join(results.rounds_lines(res)))
    log(f"OK: {o.rounds} rounds -> {o.out}")
    return 0


class Bench:
    def __init__(self, o):
        self.o = o
        os.makedirs(os.path.dirname(os.path.abspath(o.out)), exist_ok=True)
        self.out = os.path.abspath(o.out)
        self.logs = base(self.out) + ".logs"
        shutil.rmtree(self.logs, ignore_errors=True)
        os.makedirs(self.logs)
        if os.path.exists(self.out):
            os.unlink(self.out)
        cache = os.environ.get("DRASYL_LOADGEN_CACHE") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "drasyl-loadgen")
        os.makedirs(cache, exist_ok=True)
        self.identities = os.path.join(cache, f"identities-d{o.difficulty}.bin")
        self.sp_identity = os.path.join(cache, f"super-peer-d{o.difficulty}.identity")
        # Our own memif sockets and EAL file prefix for testpmd.
        self.tag = f"drasyl-memif-bench-{os.getpid()}"
        self.lg_sock = f"/tmp/{self.tag}-lg.memif"   # testpmd (server) <-> loadgen (client)
        self.sp_sock = f"/tmp/{self.tag}-sp.memif"   # super peer (server) <-> testpmd or loadgen
        self.raw_sock = f"/tmp/{self.tag}-raw.memif"
        self.rundir_existed = os.path.isdir("/var/run/dpdk/rte")
        self.dpdk_dir_existed = os.path.isdir("/var/run/dpdk")
        self.sp = None
        self.lg = None
        self.testpmds = []
        self.testpmd = shutil.which("dpdk-testpmd")
        self.frame = 14 + 20 + 8 + 79 + o.payload

    # ------------------------------------------------------------ processes
    def start_sp(self, tag):
        """A super peer with its DPDK backend (one worker: -l 0-1) on a memif
        server port, as the capacity report starts it."""
        if os.path.exists(self.sp_sock):
            os.unlink(self.sp_sock)
        env = super_peer.sp_environment(self.sp_identity, self.o.difficulty, 1,
                                        super_peer.dpdk_memif_listen(SP_ADDR, "0-1", self.sp_sock))
        sp = super_peer.SuperPeer(self.o.sp_bin, self.logs, tag, env, "dpdk")
        try:
            self.sp = sp.start()
        except super_peer.SuperPeerError as e:
            raise Failed(f"drasyl-sp ({tag}): {e} (see {sp.err_path})")

    def stop_sp(self):
        if self.sp:
            self.sp.stop()
        self.sp = None

    def start_testpmd(self, eal, app, out_name, timeout_s, prefix):
        tp = Testpmd(self.testpmd, eal + ["--no-huge", "-m", "512", "--no-pci"], app,
                     os.path.join(self.logs, out_name), timeout_s, prefix)
        self.testpmds.append(tp)
        return tp

    def stop_testpmd(self, tp, quit_first=True):
        tp.stop(quit_first)
        if tp in self.testpmds:
            self.testpmds.remove(tp)

    def loadgen(self, sock, url, extra, name):
        """drasyl-loadgen pinned to lcore 0, memif client of `sock` with rsize=14."""
        cmd = ["timeout", "-s", "INT", "90", "taskset", "-c", "0", self.o.lg_bin, f"--url={url}",
               f"--nodes={self.o.nodes}", f"--identities={self.identities}",
               f"--difficulty={self.o.difficulty}", f"--payload={self.o.payload}", "--pattern=all",
               "--hello_flood_ms=0", "--json", "--backend=dpdk", f"--dpdk_local_ip={LG_ADDR}",
               f"--dpdk_eal=--no-pci -l 0 --vdev=net_memif0,role=client,socket={sock},rsize=14"] + extra
        json_path = os.path.join(self.logs, f"loadgen-{name}.json")
        log_path = os.path.join(self.logs, f"loadgen-{name}.log")
        with open(json_path, "w") as out, open(log_path, "w") as err:
            self.lg = subprocess.Popen(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        return json_path, log_path

    def wait_loadgen(self):
        rc = self.lg.wait()
        self.lg = None
        return rc

    def check_loadgen(self, rc, name, json_path, log_path):
        if rc != 0:
            raise Failed(f"loadgen ({name}) exited {rc} (see {log_path})")
        if not os.path.exists(json_path) or os.path.getsize(json_path) == 0:
            raise Failed(f"loadgen ({name}) wrote no JSON (see {log_path})")
        return super_peer.json_last_line(json_path)

    def cleanup(self):
        super_peer.stop_process(self.lg)
        self.lg = None
        for tp in list(self.testpmds):
            self.stop_testpmd(tp)
        self.stop_sp()
        for path in (self.lg_sock, self.sp_sock, self.raw_sock):
            if os.path.exists(path):
                os.unlink(path)
        # The EAL of drasyl-sp / drasyl-loadgen (--no-shconf) leaves an empty
        # default runtime directory: remove it when it was not there before.
        for path, existed in (("/var/run/dpdk/rte", self.rundir_existed),
                              ("/var/run/dpdk", self.dpdk_dir_existed)):
            if not existed:
                try:
                    os.rmdir(path)
                except OSError:
                    pass

    # ------------------------------------------------------------ 0. the link alone
    def raw_pair(self, name, server_mode, client_mode):
        """A testpmd memif server (forwarding lcore on CPU 1) and a client
        (forwarding lcore on CPU 0, rsize=14); both ports' rates over a
        window from their "show port stats 0"."""
        window = round(max(1.0, float(self.o.duration)), 2)
        if os.path.exists(self.raw_sock):
            os.unlink(self.raw_sock)
        def app(mode):
            return ["--nb-cores=1", f"--forward-mode={mode}", f"--txpkts={self.frame}",
                    "--total-num-mbufs=32768"]
        server = self.start_testpmd(
            ["--lcores=0@0,1@1", f"--vdev=net_memif0,role=server,socket={self.raw_sock}"],
            app(server_mode), f"raw-{name}-server.out", 60, f"{self.tag}-rs")
        if not server.wait_for("Checking link statuses", 20):
            raise Failed(f"dpdk-testpmd ({name}, server) did not start (see {server.out_path})")
        client = self.start_testpmd(
            ["--lcores=0@1,1@0", f"--vdev=net_memif0,role=client,socket={self.raw_sock},rsize=14"],
            app(client_mode), f"raw-{name}-client.out", 60, f"{self.tag}-rc")
        if not client.wait_for("Checking link statuses", 20):
            raise Failed(f"dpdk-testpmd ({name}, client) did not start (see {client.out_path})")
        time.sleep(1)  # the memif connection
        server.send("start")
        time.sleep(0.2)
        client.send("start")
        time.sleep(1)
        server.send("show port stats 0")
        client.send("show port stats 0")
        time.sleep(window)
        server.send("show port stats 0")
        client.send("show port stats 0")
        time.sleep(0.5)
        # Both stop polling before either leaves: a memif server still polling
        # when its client disconnects may crash (testpmd 22.11).
        client.send("stop")
        server.send("stop")
        time.sleep(0.5)
        client.send("quit")
        time.sleep(0.5)
        server.send("quit")
        for tp in (server, client):
            tp.wait_exit(5)
            self.stop_testpmd(tp, quit_first=False)
        if os.path.exists(self.raw_sock):
            os.unlink(self.raw_sock)
        return {(name, "server"): server.text(), (name, "client"): client.text()}

    def link_alone(self):
        log(f"0/2 the link alone: dpdk-testpmd against dpdk-testpmd, {self.frame}-byte frames")
        texts = self.raw_pair("oneway", "rxonly", "txonly")
        texts.update(self.raw_pair("roundtrip", "io", "flowgen"))
        try:
            raw = results.link_alone(texts, self.frame)
        except ValueError as e:
            print(e, file=sys.stderr)
            raise Failed(f"could not read testpmd's statistics (see {self.logs}/raw-*.out)")
        for line in results.link_alone_lines(raw):
            print(line, file=sys.stderr)
        return raw

    # ------------------------------------------------------------ 1. the ceiling
    def ceiling(self):
        """testpmd io forwarding between the loadgen's memif port and a super
        peer's (the nodes register through it), then the loadgen's port alone
        (its traffic straight back) while the super peer sleeps."""
        o = self.o
        log("1/2 ceiling: dpdk-testpmd io forwarding, 1 forwarding lcore, memif server")
        self.start_sp("ceiling")
        if os.path.exists(self.lg_sock):
            os.unlink(self.lg_sock)
        tp = self.start_testpmd(
            ["-l", "0,1", f"--vdev=net_memif0,role=server,socket={self.lg_sock}",
             f"--vdev=net_memif1,role=client,socket={self.sp_sock}"],
            ["--nb-cores=1", "--forward-mode=io", "--port-topology=chained", "--total-num-mbufs=32768"],
            "testpmd.out", 120, self.tag)
        if not tp.wait_for("Checking link statuses", 20):
            raise Failed(f"dpdk-testpmd did not start: {' '.join(tp.tail(3))} (see {tp.out_path})")
        tp.send("start")
        if not tp.wait_for("io packet forwarding - ports=2", 10):
            errs = [l for l in tp.text().splitlines() if re.search("Fail|Not all|rror", l)][:2]
            raise Failed(f"dpdk-testpmd did not start forwarding: {' '.join(errs)} (see {tp.out_path})")
        # A warm-up step at 20 kpps (the nodes register through testpmd before
        # it, the switch happens during it), the floor step at --floor-rate
        # (5tswap), then two open-loop steps: plain io forwarding (a burst the
        # memif ring cannot take is dropped), then io with TX retry (it waits
        # for room in the ring, pushing back on the generator). Each open-loop
        # step is measured by testpmd over a window in its middle.
        json_path, log_path = self.loadgen(
            self.lg_sock, self.sp.url, [f"--rates=20000,{o.floor_rate},0,0", f"--duration={o.duration}",
                                        "--hello_interval_ms=0", "--dpdk_accept_reflected"], "ceiling")

        def lg_wait(regex, seconds, what):
            if not super_peer.wait_for(log_path, regex, seconds + 1, self.lg):
                raise Failed(f"loadgen (ceiling) {what} (see {log_path})")
        lg_wait(r"^loadgen: registered", 60,
                f"did not register: {' '.join(super_peer.tail_lines(log_path, 2))}")
        if not super_peer.first_match(log_path, re.compile(r"^loadgen: registered [1-9]", re.M)):
            raise Failed(f"no node registered through testpmd (see {log_path}, {tp.out_path})")

        def switch(commands, banner, what):
            tp.send(*commands)
            if not tp.wait_for(banner, 5):
                raise Failed(f"dpdk-testpmd did not switch to {what} (see {tp.out_path})")
        # The loadgen's port back onto itself, addresses swapped for the floor
        # step; the super peer sleeps meanwhile.
        switch(["stop", "set portlist 0", "set fwd 5tswap", "start"], "5tswap packet forwarding - ports=1",
               "the loadgen's port alone")
        self.sp.pause()
        window = round(max(0.5, float(o.duration) - 0.8), 2)
        step_wait = int(float(o.duration)) + 10
        windows = []

        def measure(name):
            """testpmd's rates over the window (the second answer's "since
            last show" figures, timed by testpmd's TSC); our clock too."""
            time.sleep(0.4)
            tp.send("show port stats 0")
            t0 = time.time()
            time.sleep(window)
            tp.send("show port stats 0")
            windows.append((name, t0, time.time()))
            with open(os.path.join(self.logs, "windows.txt"), "a") as f:
                f.write(f"{name} {t0:.9f} {windows[-1][2]:.9f}\n")
        open(os.path.join(self.logs, "windows.txt"), "w").close()
        lg_wait(r"^loadgen: step 1 ", step_wait, "did not finish its warm-up step")
        lg_wait(r"^loadgen: step 2 ", step_wait, "did not finish its floor step")
        switch(["stop", "set fwd io", "start"], "io packet forwarding - ports=1", "io forwarding")
        measure("io")
        switch(["stop", "set fwd io retry", "start"], "io packet forwarding with retry - ports=1",
               "io forwarding with retry")
        lg_wait(r"^loadgen: step 3 ", step_wait, "did not finish its first open-loop step")
        measure("io_retry")
        rc = self.wait_loadgen()
        tp.send("stop")
        time.sleep(0.3)
        self.sp.resume()
        self.stop_testpmd(tp)
        self.stop_sp()
        lg = self.check_loadgen(rc, "ceiling", json_path, log_path)
        try:
            c = results.ceiling(tp.text(), lg, windows, o.floor_rate)
        except ValueError as e:
            print(e, file=sys.stderr)
            raise Failed(f"could not read testpmd's statistics (see {tp.out_path})")
        with open(os.path.join(self.logs, "ceiling.json"), "w") as f:
            f.write(json.dumps(c) + "\n")
        for line in results.ceiling_lines(c):
            print(line, file=sys.stderr)
        return c

    # ------------------------------------------------------------ 2. the super peer
    def super_peer(self):
        o = self.o
        log("2/2 super peer: DPDK backend, 1 worker, memif server")
        self.start_sp("relay")
        mode = ["--search", "--search_probes=2", "--search_refine=2"] if o.search else ["--rates=0,0"]
        json_path, log_path = self.loadgen(
            self.sp_sock, self.sp.url, mode + [f"--duration={o.duration}", "--hello_interval_ms=5000"], "sp")
        rc = self.wait_loadgen()
        self.stop_sp()
        with open(log_path, errors="replace") as f:
            for line in f:
                if LG_SUMMARY.search(line):
                    print("    " + line.rstrip("\n"), file=sys.stderr)
        return self.check_loadgen(rc, "super peer", json_path, log_path)

    def run(self):
        start = time.time()
        o = self.o
        load_start = super_peer.load_average()
        log(f"{o.nodes} nodes, {o.payload}-byte payloads, {o.duration}s steps; logs in {self.logs}; "
            f"load average {load_start}")
        raw = self.link_alone() if o.raw else None
        c = self.ceiling()
        lg = self.super_peer()
        elapsed = int(time.time() - start)
        run = {"nodes": o.nodes, "payload": o.payload, "duration": o.duration, "load_start": load_start,
               "load_end": super_peer.load_average(), "elapsed": elapsed, "search": o.search}
        try:
            res = results.result(lg, c, raw, run, GOAL_PCT)
            with open(self.out, "w") as f:
                json.dump(res, f, indent=1)
                f.write("\n")
        except (OSError, ValueError, KeyError) as e:
            raise Failed(f"could not write {self.out}: {e}")
        print("\n".join(results.result_lines(res, lg, o.search)), flush=True)
        log(f"OK in {elapsed}s -> {self.out}")


def prerequisites(o):
    if not shutil.which("dpdk-testpmd"):
        raise Failed("dpdk-testpmd is missing (Debian: apt-get install dpdk-dev)")
    if os.geteuid() != 0:
        raise Failed("needs root (DPDK memif ports, the super peer's TAP interface)")
    if not os.path.exists("/dev/net/tun"):
        raise Failed("no /dev/net/tun for the super peer's TAP interface")
    if len(os.sched_getaffinity(0)) < 2:
        raise Failed("needs 2 cores (lcore 0: generator, lcore 1: forwarder)")
    r = subprocess.run([o.lg_bin, "--list_backends"], capture_output=True, text=True)
    if "dpdk" not in r.stdout.split("\n"):
        raise Failed(f"{o.lg_bin} has no DPDK backend")


def main(argv):
    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    bench = None
    try:
        o = parse_options(argv)
        if o.rounds > 1:
            return run_rounds(o, argv)
        prerequisites(o)
        bench = Bench(o)
        bench.run()
        return 0
    except Failed as e:
        log(f"FAILED: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        if bench:
            bench.cleanup()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
