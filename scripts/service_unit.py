"""Runs a service the way its systemd unit says, on a host without systemd as PID 1.

Reads the unit file and its drop-ins (/etc/systemd/system/<unit>.d/*.conf) with
systemd's precedence, then starts ExecStart as the unit's User/Group with its
environment (a clean one plus Environment= and EnvironmentFile=, the files
winning), StateDirectory=/RuntimeDirectory= created and owned as systemd would,
WorkingDirectory=, UMask=, LimitNOFILE=/LimitMEMLOCK=, NoNewPrivileges= and the
capability settings (through setpriv), ExecStartPre=/ExecStopPost= ('+': as root).
File-system and system-call sandboxing (ProtectSystem=, SystemCallFilter=, ...)
needs systemd itself and is not reproduced; `systemd-analyze security` rates it.
"""

import os
import pwd
import grp
import re
import resource
import shlex
import shutil
import subprocess
from pathlib import Path

UNIT_DIRS = [Path("/etc/systemd/system"), Path("/run/systemd/system"),
             Path("/lib/systemd/system"), Path("/usr/lib/systemd/system")]
LIST_KEYS = {"Environment", "EnvironmentFile", "StateDirectory", "RuntimeDirectory",
             "AmbientCapabilities", "CapabilityBoundingSet", "ExecStartPre", "ExecStart",
             "ExecStopPost"}
LIMITS = {"LimitNOFILE": resource.RLIMIT_NOFILE, "LimitMEMLOCK": resource.RLIMIT_MEMLOCK}


def parse_unit_text(text, into):
    """Adds the [Service] assignments of one unit file or drop-in to `into`."""
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        if section != "Service" or "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if key in LIST_KEYS:
            if value == "":
                into[key] = []  # an empty assignment resets the list
            else:
                into.setdefault(key, []).append(value)
        else:
            into[key] = value


def load_unit(name):
    """The [Service] settings of unit `name` after its drop-ins, and the files read."""
    main = next((d / name for d in UNIT_DIRS if (d / name).is_file()), None)
    if main is None:
        raise FileNotFoundError(f"unit {name} not found in {', '.join(map(str, UNIT_DIRS))}")
    files = [main]
    dropins = {}
    for d in reversed(UNIT_DIRS):  # same file name: the earlier directory wins
        for f in sorted((d / f"{name}.d").glob("*.conf")) if (d / f"{name}.d").is_dir() else []:
            dropins[f.name] = f
    files += [dropins[k] for k in sorted(dropins)]
    settings = {}
    for f in files:
        parse_unit_text(f.read_text(), settings)
    return settings, files


def parse_environment_file(path):
    """KEY=VALUE lines as systemd reads them (comments, optional quotes)."""
    env = {}
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key, value = key.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def unit_environment(settings, user):
    """The environment systemd would give the service's main process."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
           "LANG": "C.UTF-8", "USER": user.pw_name, "LOGNAME": user.pw_name,
           "HOME": user.pw_dir, "SHELL": user.pw_shell}
    for assignment in settings.get("Environment", []):
        for word in shlex.split(assignment):
            key, _, value = word.partition("=")
            env[key] = value
    for entry in settings.get("EnvironmentFile", []):
        optional = entry.startswith("-")
        path = entry.lstrip("-")
        if not Path(path).exists():
            if optional:
                continue
            raise FileNotFoundError(f"EnvironmentFile={path} does not exist")
        env.update(parse_environment_file(path))
    return env


def expand_exec(line, env):
    """ExecStart= to argv: $VAR splits into words, ${VAR} stays one word."""
    command = line.lstrip("@-:+!")
    if "%" in command.replace("%%", ""):
        raise ValueError(f"unit specifiers are not supported here: {line}")
    argv = []
    for word in shlex.split(command.replace("%%", "%")):
        whole = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
        if whole:
            argv += env.get(whole.group(1), "").split()
            continue
        argv.append(re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}",
                           lambda m: env.get(m.group(1), ""), word))
    return argv


def capability_names(values):
    caps = []
    for v in values:
        caps += [c.lower().removeprefix("cap_") for c in v.split()]
    return caps


def limit_value(text):
    return resource.RLIM_INFINITY if text == "infinity" else int(text)


class UnitProcess:
    """The unit's main process, started as systemd would start it.

    `wrapper` (a test's choice, not the unit's) prefixes every command that is
    not '+', e.g. ["ip", "netns", "exec", "ns"] to run the service in a network
    namespace (as NetworkNamespacePath= would).
    """

    def __init__(self, name, wrapper=()):
        self.name = name
        self.wrapper = list(wrapper)
        self.settings, self.files = load_unit(name)
        s = self.settings
        self.user = pwd.getpwnam(s["User"])
        self.group = grp.getgrnam(s.get("Group", self.user.pw_name))
        self.env = unit_environment(s, self.user)
        self.state_dirs = [Path("/var/lib") / d for v in s.get("StateDirectory", []) for d in v.split()]
        self.runtime_dirs = [Path("/run") / d for v in s.get("RuntimeDirectory", []) for d in v.split()]
        self.workdir = Path(s.get("WorkingDirectory", "/").lstrip("-"))
        self.limits, self.notes = self.resource_limits()
        self.proc = None

    def prepare_state_directories(self):
        mode = int(self.settings.get("StateDirectoryMode", "0755"), 8)
        for d in self.state_dirs:
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, self.user.pw_uid, self.group.gr_gid)
            d.chmod(mode)

    def prepare_runtime_directories(self):
        mode = int(self.settings.get("RuntimeDirectoryMode", "0755"), 8)
        for d in self.runtime_dirs:
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, self.user.pw_uid, self.group.gr_gid)
            d.chmod(mode)

    def resource_limits(self):
        """{rlimit: value} of the unit's Limit*=, capped at our hard limit (raising it
        needs CAP_SYS_RESOURCE, which systemd has and a container may not), and notes."""
        limits, notes = {}, []
        for key, which in LIMITS.items():
            if key not in self.settings:
                continue
            want = limit_value(self.settings[key])
            hard = resource.getrlimit(which)[1]
            if hard != resource.RLIM_INFINITY and (want == resource.RLIM_INFINITY or want > hard):
                notes.append(f"{key}={self.settings[key]} capped at this host's hard limit {hard}")
                want = hard
            limits[which] = want
        return limits, notes

    def _preexec(self):
        os.umask(int(self.settings.get("UMask", "0022"), 8))
        for which, value in self.limits.items():
            resource.setrlimit(which, (value, value))

    def command(self, line):
        """argv of one Exec*= line: '+' runs it as root without the sandbox, else as the unit."""
        argv = expand_exec(line, self.env)
        if line.lstrip("@-:!").startswith("+"):
            return argv  # no sandbox, no namespaces: not even the wrapper's
        return self.wrapper + self.setpriv() + argv

    def setpriv(self):
        setpriv = ["setpriv", f"--reuid={self.user.pw_uid}", f"--regid={self.group.gr_gid}",
                   "--init-groups"]
        ambient = capability_names(self.settings.get("AmbientCapabilities", []))
        bounding = capability_names(self.settings.get("CapabilityBoundingSet", []))
        if ambient:
            caps = ",".join("+" + c for c in ambient)
            setpriv += [f"--inh-caps={caps}", f"--ambient-caps={caps}"]
        if bounding:
            setpriv.append("--bounding-set=-all," + ",".join("+" + c for c in bounding))
        if self.settings.get("NoNewPrivileges", "no") in ("yes", "true", "1", "on"):
            setpriv.append("--no-new-privs")
        return setpriv + ["--"]

    def _run_all(self, key):
        for line in self.settings.get(key, []):
            r = subprocess.run(self.command(line), cwd=self.workdir, env=self.env,
                               capture_output=True, text=True, timeout=120,
                               preexec_fn=self._preexec)
            if r.returncode != 0 and not line.startswith("-"):
                raise RuntimeError(f"{self.name}: {key}={line} failed ({r.returncode}): "
                                   f"{r.stdout}{r.stderr}")

    def start(self):
        """State and runtime directories, ExecStartPre=, then ExecStart= (returned)."""
        execs = self.settings.get("ExecStart", [])
        if len(execs) != 1:
            raise ValueError(f"{self.name}: expected one ExecStart=, got {execs}")
        self.prepare_state_directories()
        self.prepare_runtime_directories()
        try:
            self._run_all("ExecStartPre")
        except RuntimeError:
            self._run_all("ExecStopPost")  # systemd runs it after a failed start too
            for d in self.runtime_dirs:
                shutil.rmtree(d, ignore_errors=True)
            raise
        self.proc = subprocess.Popen(self.command(execs[0]), cwd=self.workdir, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=self._preexec)
        return self.proc

    def stop(self, timeout=10):
        """SIGTERM (systemd's KillSignal), SIGKILL after `timeout` s, ExecStopPost=,
        runtime directories removed. Returns the main process's exit code."""
        code = None
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            code = self.proc.returncode
            self.proc = None
            self._run_all("ExecStopPost")
            for d in self.runtime_dirs:
                shutil.rmtree(d, ignore_errors=True)
        return code
