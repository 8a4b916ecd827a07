"""Runs a service the way its systemd unit says, on a host without systemd as PID 1.

Reads the unit file and its drop-ins (/etc/systemd/system/<unit>.d/*.conf) with
systemd's precedence, then starts ExecStart as the unit's User/Group with its
environment (a clean one plus Environment= and EnvironmentFile=, the files
winning), StateDirectory= created and owned as systemd would, WorkingDirectory=,
UMask=, NoNewPrivileges= and the capability settings (through setpriv).
File-system and system-call sandboxing (ProtectSystem=, SystemCallFilter=, ...)
needs systemd itself and is not reproduced; `systemd-analyze security` rates it.
"""

import os
import pwd
import grp
import re
import shlex
import subprocess
from pathlib import Path

UNIT_DIRS = [Path("/etc/systemd/system"), Path("/run/systemd/system"),
             Path("/lib/systemd/system"), Path("/usr/lib/systemd/system")]
LIST_KEYS = {"Environment", "EnvironmentFile", "StateDirectory", "AmbientCapabilities",
             "CapabilityBoundingSet", "ExecStartPre", "ExecStart", "ExecStopPost"}


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


class UnitProcess:
    """The unit's main process, started as systemd would start it."""

    def __init__(self, name):
        self.name = name
        self.settings, self.files = load_unit(name)
        s = self.settings
        self.user = pwd.getpwnam(s["User"])
        self.group = grp.getgrnam(s.get("Group", self.user.pw_name))
        self.env = unit_environment(s, self.user)
        self.state_dirs = [Path("/var/lib") / d for v in s.get("StateDirectory", []) for d in v.split()]
        self.workdir = Path(s.get("WorkingDirectory", "/").lstrip("-"))
        self.proc = None

    def prepare_state_directories(self):
        mode = int(self.settings.get("StateDirectoryMode", "0755"), 8)
        for d in self.state_dirs:
            d.mkdir(parents=True, exist_ok=True)
            os.chown(d, self.user.pw_uid, self.group.gr_gid)
            d.chmod(mode)

    def argv(self):
        execs = self.settings.get("ExecStart", [])
        if len(execs) != 1:
            raise ValueError(f"{self.name}: expected one ExecStart=, got {execs}")
        argv = expand_exec(execs[0], self.env)
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
        return setpriv + ["--"] + argv

    def start(self):
        self.prepare_state_directories()
        umask = int(self.settings.get("UMask", "0022"), 8)
        self.proc = subprocess.Popen(self.argv(), cwd=self.workdir, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=lambda: os.umask(umask))
        return self.proc

    def stop(self, timeout=10):
        """SIGTERM (systemd's KillSignal), then SIGKILL after `timeout` s."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.terminate()
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
