"""dpdk-testpmd as the benchmark drives it: interactive, its commands on
stdin (a pipe held open, so it never sees EOF), its line-buffered output in
a log file the benchmark waits on."""

import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import super_peer  # noqa: E402


class Testpmd:
    def __init__(self, binary, eal, app, out_path, timeout_s, file_prefix):
        """Starts `binary` EAL... -- -i APP... with output to `out_path`,
        ended by SIGINT after `timeout_s` at the latest."""
        self.out_path = out_path
        self.file_prefix = file_prefix
        cmd = (["timeout", "-s", "INT", str(timeout_s), "stdbuf", "-oL", "-eL", binary] + eal
               + [f"--file-prefix={file_prefix}", "--no-telemetry"] + ["--", "-i"] + app)
        with open(out_path, "w") as out:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=out,
                                         stderr=subprocess.STDOUT, text=True)

    def send(self, *commands):
        """Commands, one a line (ignored should testpmd be gone)."""
        try:
            self.proc.stdin.write("".join(c + "\n" for c in commands))
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError, ValueError):
            pass

    def wait_for(self, regex, seconds):
        """The first match of `regex` in its output within `seconds`, or None."""
        return super_peer.wait_for(self.out_path, regex, seconds + 1, self.proc)

    def text(self):
        with open(self.out_path, errors="replace") as f:
            return f.read()

    def tail(self, n):
        return self.text().splitlines()[-n:]

    def alive(self):
        return self.proc.poll() is None

    def wait_exit(self, seconds):
        deadline = time.monotonic() + seconds
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.1)

    def stop(self, quit_first=True):
        """`stop` and `quit` (up to 5 s to leave), then signals; removes its
        EAL runtime directory."""
        if self.proc is None:
            return
        if quit_first and self.alive():
            self.send("stop", "quit")
            self.wait_exit(5)
        try:
            self.proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        super_peer.stop_process(self.proc)
        self.proc = None
        shutil.rmtree(f"/var/run/dpdk/{self.file_prefix}", ignore_errors=True)
