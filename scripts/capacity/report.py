#!/usr/bin/env python3
"""The capacity report (scripts/capacity-report.sh is its entry point and
says what it measures): runs the sweep (sweep.py) over the backends
(backends.py), the attack rows (attacks.py), writes the report (rows.py,
plot.py) and checks it."""

import json
import os
import re
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))
import attacks  # noqa: E402
import plot  # noqa: E402
import rows  # noqa: E402
import super_peer  # noqa: E402
import sweep  # noqa: E402
import backends  # noqa: E402
from backends import Host  # noqa: E402

UNIT_TESTS = ["attacks_test", "backends_test", "rows_test", "sweep_test", "plot_test"]


class Failed(Exception):
    pass


def log(msg):
    print(f"capacity-report: {msg}", file=sys.stderr, flush=True)



def indent_lines(path, pattern):
    """Lines of `path` matching `pattern` (a compiled regex), indented, to stderr."""
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if pattern.search(line):
                    print("    " + line.rstrip("\n"), file=sys.stderr)
    except OSError:
        pass



def run_to_files(cmd, json_path, log_path):
    """Runs `cmd`, stdout to json_path, stderr to log_path; its exit code."""
    with open(json_path, "w") as out, open(log_path, "w") as err:
        return subprocess.run(cmd, stdout=out, stderr=err, stdin=subprocess.DEVNULL).returncode


def ran_ok(rc, json_path, log_path, name):
    if rc == 0 and os.path.exists(json_path) and os.path.getsize(json_path) > 0:
        return True
    log(f"run {name} FAILED (exit {rc}), see {log_path}")
    for line in super_peer.tail_lines(log_path, 5):
        print("    " + line, file=sys.stderr)
    return False


class Report:
    def __init__(self, opts):
        self.o = opts
        self.out = opts.out
        self.logs = os.path.join(self.out, "logs")
        self.runs_path = os.path.join(self.logs, "runs.jsonl")
        self.skipped = []
        self.failures = 0
        self.sp = None
        self.host = Host(lg_bin=opts.lg_bin, logs=self.logs, cpus=len(os.sched_getaffinity(0)),
                         root=os.geteuid() == 0, memif_sock=f"/tmp/drasyl-capacity-{os.getpid()}.memif")

    def skip(self, backend, reason):
        self.skipped.append(f"{backend}: {reason}")
        log(f"skipping backend {backend}: {reason}")

    def start_sp(self, tag, backend, workers, hello_timeout_ms, mode="capacity"):
        if os.path.exists(self.host.memif_sock):
            os.unlink(self.host.memif_sock)
        env = super_peer.sp_environment(self.o.sp_identity, self.o.difficulty, workers,
                                        backend.sp_listen(self.host, workers), mode=mode,
                                        hello_timeout_ms=hello_timeout_ms, send_unites=self.o.send_unites)
        self.sp = super_peer.SuperPeer(self.o.sp_bin, self.logs, tag, env, backend.name)
        try:
            return self.sp.start()
        except super_peer.SuperPeerError:
            self.sp = None
            raise

    def stop_sp(self):
        if self.sp:
            self.sp.stop()
        self.sp = None
        if os.path.exists(self.host.memif_sock):
            os.unlink(self.host.memif_sock)

    def backends(self):
        """The selected backends that can run here (the others skipped)."""
        chosen = []
        for b in self.o.not_selected:
            if b.name != "socket":  # (the attack rows say whether it ran)
                flags = "--no-dpdk / --backends" if b.name == "dpdk" else "--backends"
                self.skip(b.name, f"not selected ({flags})")
        for b in self.o.backends:
            reason = b.unavailable(self.host)
            if reason:
                self.skip(b.name, reason)
            else:
                chosen.append(b)
        return chosen

    def capacity_runs(self, backend):
        if backend.prepare:
            try:
                backend.prepare(self.host)
            except subprocess.CalledProcessError as e:
                self.skip(backend.name, f"setup failed: {e.cmd}: {e.stderr.strip() if e.stderr else ''}")
                return
        try:
            self.capacity_runs_prepared(backend)
        finally:
            self.stop_sp()
            if backend.cleanup:
                backend.cleanup(self.host)

    def capacity_runs_prepared(self, backend):
        for run in sweep.plan(self.o, backend, self.host.cpus):
            try:
                self.start_sp(run.tag, backend, run.workers, run.hello_timeout_ms)
            except super_peer.SuperPeerError as e:
                if backend.optional:
                    self.skip(backend.name, str(e))
                    return
                raise Failed(f"{e} (see {self.logs}/sp-{run.tag}.err)")
            first_run = True
            for payload in run.payloads:
                name = f"{run.tag}-b{payload}"
                log(f"run {name}: {run.peers} peers, {run.workers} worker(s), {payload}-byte payload")
                extra = backend.lg_flags(self.host, run.workers)
                if first_run:
                    extra = extra + [f"--sp_pid={self.sp.pid}"]
                json_path = os.path.join(self.logs, f"{name}.json")
                log_path = os.path.join(self.logs, f"{name}.log")
                rc = run_to_files(backend.lg_prefix(self.host) +
                                  sweep.loadgen_command(self.o, self.sp.url, run, payload, extra),
                                  json_path, log_path)
                indent_lines(log_path, LOADGEN_SUMMARY)
                if not ran_ok(rc, json_path, log_path, name):
                    self.failures += 1
                    continue
                record = rows.run_record(backend.name, run.workers, first_run, self.sp.metrics(),
                                         super_peer.json_last_line(json_path))
                with open(self.runs_path, "a") as f:
                    f.write(json.dumps(record) + "\n")
                first_run = False
            self.stop_sp()

    def attack_runs(self):
        """One super peer with default limits per attack."""
        socket = backends.by_name("socket")
        workers = max(self.o.workers)
        for kind in self.o.attacks:
            tag = f"attack-{kind}"
            try:
                self.start_sp(tag, socket, workers, 0, mode="attack")
            except super_peer.SuperPeerError as e:
                raise Failed(f"{e} (see {self.logs}/sp-{tag}.err)")
            log(f"run {tag}: drasyl-loadgen --attack={kind} for {self.o.attack_seconds}s, "
                f"{workers} worker(s)")
            json_path = os.path.join(self.logs, f"{tag}.json")
            log_path = os.path.join(self.logs, f"{tag}.log")
            rc = run_to_files(sweep.attack_command(self.o, self.sp.url, kind), json_path, log_path)
            indent_lines(log_path, ATTACK_SUMMARY)
            if not ran_ok(rc, json_path, log_path, tag):
                self.failures += 1
            with open(os.path.join(self.logs, f"{tag}.metrics.json"), "w") as f:
                f.write(json.dumps(self.sp.metrics() or {}) + "\n")
            self.stop_sp()

    def run(self):
        start = time.time()
        o = self.o
        load_start = super_peer.load_average()
        log(f"output {self.out}; identities {o.identities} (difficulty {o.difficulty}); workers "
            f"[{' '.join(map(str, o.workers))}]; peers [{' '.join(map(str, o.peers))}]; payloads "
            f"[{' '.join(map(str, o.payloads))}] at the first peer count; {o.duration}s steps; "
            f"load average {load_start}")
        for backend in self.backends():
            self.capacity_runs(backend)
        self.attack_runs()
        meta = {"quick": o.quick, "load_start": load_start, "load_end": super_peer.load_average(),
                "difficulty": o.difficulty, "send_unites": o.send_unites, "duration": o.duration}
        try:
            rows.write_report(self.out, meta, self.skipped)
        except Exception as e:
            raise Failed(f"could not write the report: {e}")
        if attacks.main(["collect", self.out]) != 0:
            raise Failed("could not add the attack rows")
        err = plot.draw(self.out)
        if err:
            raise Failed(err)
        errors = rows.check_report(self.out)
        for e in errors:
            print(f"capacity-report: {e}", file=sys.stderr)
        if errors:
            raise Failed("the report is incomplete or malformed (see above)")
        if attacks.main(["check", self.out, " ".join(o.attacks)]) != 0:
            raise Failed("the attack rows are incomplete")
        elapsed = int(time.time() - start)
        if self.failures:
            raise Failed(f"{self.failures} run(s) failed; report written to {self.out} in {elapsed}s")
        with open(os.path.join(self.out, "capacity.json")) as f:
            result = json.load(f)
        n_cap = sum("attack" not in x for x in result)
        n_att = sum("attack" in x for x in result)
        print(f"capacity-report: OK: {n_cap} configuration(s), {n_att} attack row(s) in {elapsed}s "
              f"-> {self.out}/capacity.json, capacity.md, capacity.png")


LOADGEN_SUMMARY = re.compile(r"^loadgen: (registered|HELLO flood|highest|super peer)")
ATTACK_SUMMARY = re.compile(r"^attack: [a-z-]+:|^attack: (fresh|registered nodes|replay of)")


def unit_tests(logs):
    """The capacity report's own unit tests, first (a report from broken code
    is worse than none)."""
    log_path = os.path.join(logs, "unit_tests.log")
    with open(log_path, "w") as f:
        r = subprocess.run([sys.executable, "-m", "unittest", "-q"] + UNIT_TESTS, cwd=HERE,
                           stdout=f, stderr=subprocess.STDOUT)
    if r.returncode != 0:
        raise Failed(f"scripts/capacity unit tests: {' '.join(super_peer.tail_lines(log_path, 3))}")


def main(argv):
    opts = sweep.parse_options(argv)
    os.makedirs(opts.cache, exist_ok=True)
    os.makedirs(os.path.join(opts.out, "logs"), exist_ok=True)
    opts.out = os.path.realpath(opts.out)
    logs = os.path.join(opts.out, "logs")
    open(os.path.join(logs, "runs.jsonl"), "w").close()
    for name in ("capacity.json", "capacity.md", "capacity.png"):
        if os.path.exists(os.path.join(opts.out, name)):
            os.unlink(os.path.join(opts.out, name))
    for name in os.listdir(logs):
        if name.startswith("attack-"):
            os.unlink(os.path.join(logs, name))
    report = Report(opts)

    def interrupted(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, interrupted)
    try:
        if subprocess.run(["sh", "-c", "command -v gnuplot"], stdout=subprocess.DEVNULL).returncode:
            raise Failed("gnuplot is missing (scripts/setup.sh installs gnuplot-nox)")
        unit_tests(logs)
        report.run()
        return 0
    except Failed as e:
        log(f"FAILED: {e}")
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        report.stop_sp()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
