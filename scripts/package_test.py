#!/usr/bin/env python3
"""Tests the Debian package for real on this machine (root; skips otherwise).

  scripts/package_test.py [--deb build/drasyl-sp_<version>_amd64.deb]

Builds the package (scripts/package.sh, lintian included) unless --deb names
one, installs it with dpkg, checks its contents and the system user,
`systemd-analyze verify`s the installed units and prints their `security`
exposure, then starts the super peer exactly as drasyl-sp.service would
(scripts/service_unit.py: User/Group, Environment/EnvironmentFile,
StateDirectory, WorkingDirectory, UMask, capabilities, ExecStart from the
installed unit and a test drop-in), registers nodes with the installed
drasyl-loadgen, checks the identity (state directory, mode 0600, owned by the
service user, the same public key after a restart and after reinstalling the
package, which keeps a changed /etc/default/drasyl-sp), runs
drasyl-sp-dpdk.service the same way on net_af_packet over a veth (nodes in a
namespace of their own register through it; flock /tmp/drasyl-netns.lock),
and drasyl-sp-af-xdp.service on a veth that keeps its kernel address (the
unit's six capabilities suffice for the XDP program and the AF_XDP sockets;
without DRASYL_AF_XDP it refuses to start), and finally checks that `dpkg --purge` leaves nothing of the package behind.
"""

import argparse
import fcntl
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from service_unit import UnitProcess  # noqa: E402
from sp_testlib import (OutputReader, TestFailure, check, fetch_metrics, free_port,  # noqa: E402
                        free_ports_both, log, metric_sum, register_nodes, wait_metrics,
                        wait_banner)

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "drasyl-sp"
SERVICE_USER = "_drasyl-sp"
UNIT = "drasyl-sp.service"
DPDK_UNIT = "drasyl-sp-dpdk.service"
UNIT_DIR = Path("/lib/systemd/system")
DROPIN_DIR = Path("/etc/systemd/system") / f"{UNIT}.d"
DROPIN = DROPIN_DIR / "zz-package-test.conf"
TEST_ENV = Path("/run/drasyl-sp-package-test.env")
DEFAULTS = Path("/etc/default/drasyl-sp")
STATE_DIR = Path("/var/lib/drasyl-sp")
DIFFICULTY = 6  # identities in milliseconds; the default 24 takes seconds per identity
AF_XDP_UNIT = "drasyl-sp-af-xdp.service"
HUGE_DIR = Path("/run/drasyl-sp-dpdk/hugepages")
# Names of our own (flock /tmp/drasyl-netns.lock, as every namespace user here).
NETNS_SP, NETNS_NODE, VETH_SP, VETH_NODE = "dsp-pkg-sp", "dsp-pkg-n1", "dsppkg0", "dsppkg1"
NETNS_LOCK = "/tmp/drasyl-netns.lock"

INSTALLED = [
    "/usr/sbin/drasyl-sp", "/usr/bin/drasyl-loadgen",
    "/usr/share/man/man8/drasyl-sp.8.gz", "/usr/share/man/man1/drasyl-loadgen.1.gz",
    "/usr/share/man/man8/netsody-sp.8.gz",
    str(UNIT_DIR / UNIT), str(UNIT_DIR / DPDK_UNIT), str(UNIT_DIR / AF_XDP_UNIT),
    "/usr/lib/sysusers.d/drasyl-sp.conf",
    str(DEFAULTS), "/usr/libexec/drasyl-sp/dpdk-prepare",
    "/usr/share/drasyl-sp/prometheus/drasyl-sp-rules.yml",
    "/usr/share/drasyl-sp/grafana/drasyl-sp-dashboard.json",
    "/usr/share/doc/drasyl-sp/copyright", "/usr/share/doc/drasyl-sp/dpdk-deployment.md.gz",
    "/usr/share/doc/drasyl-sp/af-xdp.md.gz",
]


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 300), **kw)


def installed_status():
    r = run(["dpkg-query", "-W", "-f=${Status}", PACKAGE])
    return r.stdout if r.returncode == 0 else ""


def build_package():
    log("package: scripts/package.sh")
    r = run([str(ROOT / "scripts/package.sh")], cwd=ROOT, timeout=1200)
    if r.returncode != 0:
        raise TestFailure(f"scripts/package.sh failed:\n{r.stdout}\n{r.stderr}")
    deb = Path(r.stdout.strip().splitlines()[-1])
    deb = deb if deb.is_absolute() else ROOT / deb
    lintian = [l for l in r.stderr.splitlines() if re.match(r"[EW]: ", l)]
    errors = sum(l.startswith("E: ") for l in lintian)
    check(errors == 0, f"lintian: {errors} errors, {len(lintian) - errors} warnings")
    for line in lintian:
        log(f"    {line}")
    return deb


def check_contents():
    for path in INSTALLED:
        check(Path(path).exists(), f"installed {path}")
    check(os.readlink("/usr/sbin/netsody-sp") == "drasyl-sp", "/usr/sbin/netsody-sp -> drasyl-sp")
    check(run(["/usr/sbin/netsody-sp", "--version"]).returncode == 0, "netsody-sp --version runs")
    man = run(["man", "--warnings", "-l", "/usr/share/man/man8/drasyl-sp.8.gz"], env={**os.environ, "MANWIDTH": "80"})
    check(man.returncode == 0 and "DRASYL_" in man.stdout, "drasyl-sp(8) renders and names DRASYL_ settings")
    defaults = DEFAULTS.read_text()
    help_text = run(["/usr/sbin/drasyl-sp", "--help"]).stdout
    env_names = sorted(set(re.findall(r"Env: (DRASYL_[A-Z0-9_]+)", help_text)))
    check(len(env_names) >= 18, f"--help names {len(env_names)} DRASYL_* settings")
    missing = [n for n in env_names if not re.search(rf"^#{n}=", defaults, re.M)]
    check(not missing, f"/etc/default/drasyl-sp lists every DRASYL_* setting of --help, commented (missing: {missing})")
    user = pwd.getpwnam(SERVICE_USER)
    check(user.pw_uid < 1000 and user.pw_dir == str(STATE_DIR), f"system user {SERVICE_USER} (uid {user.pw_uid}, home {user.pw_dir})")


def verify_units():
    units = [str(UNIT_DIR / u) for u in (UNIT, DPDK_UNIT, AF_XDP_UNIT)]
    r = run(["systemd-analyze", "verify", *units])
    check(r.returncode == 0 and not r.stderr.strip(), f"systemd-analyze verify {UNIT} {DPDK_UNIT} {AF_XDP_UNIT}: clean{(': ' + r.stderr) if r.stderr.strip() else ''}")
    for unit in units:
        r = run(["systemd-analyze", "security", "--offline=true", unit])
        m = re.search(r"Overall exposure level for (\S+): ([0-9.]+) (\w+)", r.stdout)
        check(m is not None, f"systemd-analyze security rates {Path(unit).name}")
        print(f"  exposure: {m.group(1)} {m.group(2)} {m.group(3)} (systemd-analyze security --offline=true {unit})", flush=True)
        if Path(unit).name == UNIT:
            check(float(m.group(2)) <= 2.0, f"{UNIT} exposure {m.group(2)} <= 2.0")


def write_test_dropin(udp_port, tcp_port, metrics_port):
    """Test settings through the unit mechanism: a drop-in adding an EnvironmentFile."""
    TEST_ENV.write_text(
        "# scripts/package_test.py: loopback ports, fast identities\n"
        f"DRASYL_MIN_POW_DIFFICULTY={DIFFICULTY}\n"
        f"DRASYL_UDP4_LISTEN=127.0.0.1:{udp_port}\n"
        "DRASYL_UDP6_LISTEN=\n"
        f"DRASYL_TCP4_LISTEN=127.0.0.1:{tcp_port}\n"
        "DRASYL_TCP6_LISTEN=\n"
        f"DRASYL_PROMETHEUS_LISTEN=127.0.0.1:{metrics_port}\n"
        "DRASYL_WORKERS=1\n"
        "# the other units' settings in the shared file: ignored by this one\n"
        "DRASYL_DPDK_EAL=-l 0-1 --no-pci\n"
        "DRASYL_AF_XDP=dsp-no-such0\n"
        "ARGS=--kx_threads=1\n")
    DROPIN_DIR.mkdir(parents=True, exist_ok=True)
    DROPIN.write_text(f"[Service]\nEnvironmentFile={TEST_ENV}\n")


def proc_status(pid):
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.split()
    return fields


def start_service(tcp_port):
    unit = UnitProcess(UNIT)
    for note in unit.notes:
        print(f"  note: {note}", flush=True)
    check(DROPIN in unit.files, f"{UNIT} read with its drop-in ({', '.join(map(str, unit.files))})")
    proc = unit.start()
    reader = OutputReader(proc)
    url, key = wait_banner(reader, proc)
    status = proc_status(proc.pid)
    user = pwd.getpwnam(SERVICE_USER)
    check(int(status["Uid"][1]) == user.pw_uid, f"super peer runs as {SERVICE_USER} (uid {user.pw_uid})")
    cap_eff = int(status["CapEff"][0], 16)
    check(cap_eff == 1 << 10, f"effective capabilities are CAP_NET_BIND_SERVICE only (CapEff {status['CapEff'][0]})")
    check(status["NoNewPrivs"][0] == "1", "NoNewPrivs set")
    # The TCP fallback listens on a port below 1024: the one capability works.
    try:
        socket.create_connection(("127.0.0.1", tcp_port), timeout=5).close()
        accepted = True
    except OSError as e:
        accepted = False
        log(f"    connect 127.0.0.1:{tcp_port}: {e}")
    check(accepted, f"TCP fallback accepts connections on 127.0.0.1:{tcp_port} (< 1024)")
    return unit, reader, url, key


def dpdk_prepare_errors():
    """dpdk-prepare refuses a start it cannot serve, with the fix in the message."""
    helper = "/usr/libexec/drasyl-sp/dpdk-prepare"
    base = {"PATH": os.environ["PATH"], "DRASYL_DPDK_ADDR": "192.0.2.10/24"}
    r = run([helper, "start"], env=base)
    check(r.returncode != 0 and "DRASYL_DPDK_EAL is empty" in r.stderr,
          "dpdk-prepare: an empty DRASYL_DPDK_EAL is refused")
    r = run([helper, "start"], env={**base, "DRASYL_DPDK_EAL": "-l 0-1 -a 0000:ff:1f.7"})
    check(r.returncode != 0 and "0000:ff:1f.7" in r.stderr and "does not exist" in r.stderr,
          "dpdk-prepare: a missing PCI device is named")
    run([helper, "stop"])


def netns(name, *cmd):
    return run(["ip", "netns", "exec", name, *cmd])


def veth_namespaces(sp_addr):
    """NETNS_SP (VETH_SP with sp_addr, or none) <-> NETNS_NODE (VETH_NODE 10.96.0.2/24);
    False when namespaces cannot be created here. The caller holds NETNS_LOCK."""
    for ns in (NETNS_SP, NETNS_NODE):
        run(["ip", "netns", "del", ns])
        r = run(["ip", "netns", "add", ns])
        if r.returncode != 0:
            print(f"  ip netns add: {r.stderr.strip()}", flush=True)
            return False
    setup = [["ip", "link", "add", VETH_SP, "type", "veth", "peer", "name", VETH_NODE],
             ["ip", "link", "set", VETH_SP, "netns", NETNS_SP],
             ["ip", "link", "set", VETH_NODE, "netns", NETNS_NODE]]
    for cmd in setup:
        r = run(cmd)
        if r.returncode != 0:
            raise TestFailure(f"{' '.join(cmd)}: {r.stderr}")
    for ns, dev, addr in ((NETNS_SP, VETH_SP, sp_addr), (NETNS_NODE, VETH_NODE, "10.96.0.2/24")):
        netns(ns, "ip", "link", "set", "lo", "up")
        if addr:
            netns(ns, "ip", "addr", "add", addr, "dev", dev)
        netns(ns, "ip", "link", "set", dev, "up")
        # veth hands AF_PACKET / AF_XDP unfinished checksums otherwise (scripts/testbed.sh).
        netns(ns, "ethtool", "-K", dev, "rx", "off", "tx", "off", "tso", "off", "gso", "off", "gro", "off")
    return True


def register_two(url, ids):
    out = netns(NETNS_NODE, "/usr/bin/drasyl-loadgen", f"--url={url}", "--nodes=2", "--duration=0",
                "--hello_flood_ms=0", f"--difficulty={DIFFICULTY}", f"--identities={ids}",
                "--progress=false")
    return out.returncode == 0 and "registered 2/2 nodes" in out.stderr + out.stdout, out


class UnitInNamespace:
    """A unit run as it says in NETNS_SP (veth_namespaces), its settings in a test
    drop-in's EnvironmentFile, nodes in NETNS_NODE. Holds NETNS_LOCK; on exit stops the
    unit and removes the drop-in, the settings and the namespaces. `ok` is False (and
    the reason printed) where this host cannot run it."""

    def __init__(self, name, sp_addr):
        self.name, self.sp_addr = name, sp_addr
        self.dropin_dir = Path("/etc/systemd/system") / f"{name}.d"
        self.env_file = Path(f"/run/{name}.package-test.env")
        self.unit = None
        self.ok = False

    def __enter__(self):
        if "librte" not in run(["ldd", "/usr/sbin/drasyl-sp"]).stdout:
            print(f"  SKIP: drasyl-sp.deb built without DPDK: {self.name} not run", flush=True)
            return self
        self.lock = open(NETNS_LOCK, "w")
        fcntl.flock(self.lock, fcntl.LOCK_EX)
        self.ok = veth_namespaces(self.sp_addr)
        if not self.ok:
            print(f"  SKIP: cannot create network namespaces: {self.name} not run", flush=True)
            return self
        self.dropin_dir.mkdir(parents=True, exist_ok=True)
        (self.dropin_dir / "zz-package-test.conf").write_text(
            f"[Service]\nEnvironmentFile={self.env_file}\n")
        return self

    def start(self, settings):
        """Writes the settings, starts the unit; returns its main process."""
        self.env_file.write_text("# scripts/package_test.py\n"
                                 f"DRASYL_MIN_POW_DIFFICULTY={DIFFICULTY}\n" + settings)
        self.unit = UnitProcess(self.name, wrapper=["ip", "netns", "exec", NETNS_SP])
        for note in self.unit.notes:
            print(f"  note: {note}", flush=True)
        return self.unit.start()

    def stop(self):
        code = self.unit.stop()
        self.unit = None
        return code

    def __exit__(self, *exc):
        if self.unit is not None:
            self.unit.stop()
        shutil.rmtree(self.dropin_dir, ignore_errors=True)
        self.env_file.unlink(missing_ok=True)
        if hasattr(self, "lock"):
            for ns in (NETNS_SP, NETNS_NODE):
                run(["ip", "netns", "del", ns])
            self.lock.close()
        return False


def dpdk_unit_test(tmp):
    """drasyl-sp-dpdk.service as its unit says, on net_af_packet over a veth whose other
    end is a node namespace: '+' preparation as root, the super peer as _drasyl-sp with
    the unit's four capabilities, nodes registering through the DPDK port."""
    with UnitInNamespace(DPDK_UNIT, sp_addr=None) as t:
        if not t.ok:
            return
        log(f"package: starting {DPDK_UNIT} as the unit would, in namespace {NETNS_SP}")
        proc = t.start(f"DRASYL_DPDK_EAL=-l 0-1 --no-pci --vdev=net_af_packet0,iface={VETH_SP}\n"
                       "DRASYL_DPDK_ADDR=10.96.0.1/24\n"
                       "DRASYL_UDP6_LISTEN=\nDRASYL_TCP6_LISTEN=\n"
                       "ARGS=--dpdk_tap=dsppkg --kx_threads=0\n")
        reader = OutputReader(proc)
        url, key = wait_banner(reader, proc)
        check("10.96.0.1:22527" in url, f"DPDK banner: {url[:40]}...")
        user = pwd.getpwnam(SERVICE_USER)
        mount = [l.split() for l in Path("/proc/mounts").read_text().splitlines()
                 if l.split()[1] == str(HUGE_DIR)]
        check(mount and mount[0][2] == "hugetlbfs" and f"uid={user.pw_uid}" in mount[0][3],
              f"ExecStartPre=+dpdk-prepare mounted hugetlbfs on {HUGE_DIR} for {SERVICE_USER}")
        status = proc_status(proc.pid)
        want = (1 << 10) | (1 << 12) | (1 << 13) | (1 << 14)
        check(int(status["Uid"][1]) == user.pw_uid and int(status["CapEff"][0], 16) == want,
              f"DPDK super peer runs as {SERVICE_USER} with NET_BIND_SERVICE, NET_ADMIN, NET_RAW, "
              f"IPC_LOCK only (CapEff {status['CapEff'][0]})")
        check(reader.wait_for(r"backend dpdk", 5) is not None, "the DPDK backend runs")
        ok, out = register_two(url, tmp / "identities-dpdk")
        check(ok, "nodes in another namespace register through the DPDK port (HELLO -> ACK)"
              + ("" if ok else f": {out.stdout}{out.stderr}\n{reader.text()}"))
        code = t.stop()
        check(code == 0, f"SIGTERM: DPDK super peer exited with code {code}")
        check(not any(l.split()[1] == str(HUGE_DIR) for l in Path("/proc/mounts").read_text().splitlines())
              and not HUGE_DIR.parent.exists(),
              "ExecStopPost=+dpdk-prepare unmounted hugetlbfs; the runtime directory is gone")
        check((STATE_DIR / "drasyl.identity").read_text().find(key) >= 0,
              "both units share the identity in the state directory")


def af_xdp_unit_test(tmp):
    """drasyl-sp-af-xdp.service as its unit says, on a veth that keeps its kernel address:
    refused without DRASYL_AF_XDP; then the super peer as _drasyl-sp with the unit's six
    capabilities, our XDP program on the interface, nodes registering through the AF_XDP
    socket, the program gone after SIGTERM."""
    with UnitInNamespace(AF_XDP_UNIT, sp_addr="10.96.0.1/24") as t:
        if not t.ok:
            return
        common = "DRASYL_UDP6_LISTEN=\nDRASYL_TCP6_LISTEN=\nARGS=--kx_threads=0\n"
        try:
            t.start(common)
            refused = ""
        except RuntimeError as e:
            refused = str(e)
        check("set DRASYL_AF_XDP=<interface>" in refused,
              f"{AF_XDP_UNIT} without DRASYL_AF_XDP refuses to start, saying what to set")

        log(f"package: starting {AF_XDP_UNIT} as the unit would, in namespace {NETNS_SP}")
        proc = t.start(common + f"DRASYL_AF_XDP={VETH_SP}\n")
        reader = OutputReader(proc)
        url, _ = wait_banner(reader, proc)
        check("10.96.0.1:22527" in url, f"AF_XDP banner shows the interface's kernel address: {url[:40]}...")
        status = proc_status(proc.pid)
        user = pwd.getpwnam(SERVICE_USER)
        want = (1 << 10) | (1 << 12) | (1 << 13) | (1 << 14) | (1 << 21) | (1 << 39)
        check(int(status["Uid"][1]) == user.pw_uid and int(status["CapEff"][0], 16) == want,
              f"AF_XDP super peer runs as {SERVICE_USER} with NET_BIND_SERVICE, NET_ADMIN, NET_RAW, "
              f"IPC_LOCK, SYS_ADMIN, BPF only (CapEff {status['CapEff'][0]})")
        check(reader.wait_for(r"backend af_xdp", 5) is not None, "the AF_XDP backend runs")
        link = netns(NETNS_SP, "ip", "-d", "link", "show", "dev", VETH_SP).stdout
        check("name drasyl_relay" in link, f"our XDP program is attached to {VETH_SP}")
        ok, out = register_two(url, tmp / "identities-af-xdp")
        check(ok, "nodes in another namespace register through the AF_XDP socket (HELLO -> ACK)"
              + ("" if ok else f": {out.stdout}{out.stderr}\n{reader.text()}"))
        code = t.stop()
        check(code == 0, f"SIGTERM: AF_XDP super peer exited with code {code}")
        link = netns(NETNS_SP, "ip", "-d", "link", "show", "dev", VETH_SP).stdout
        check("prog/xdp" not in link, f"the XDP program left {VETH_SP} with the super peer")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--deb", help="package to test (default: build it with scripts/package.sh)")
    args = ap.parse_args()
    started = time.monotonic()
    deb = Path(args.deb) if args.deb else build_package()
    if os.geteuid() != 0:
        print(f"SKIP: installing {deb.name} needs root (dpkg -i, a system user, setpriv); "
              "the package was built and passed lintian")
        return 0
    lock = open("/tmp/drasyl-sp-package-test.lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)
    if installed_status():
        raise TestFailure(f"{PACKAGE} is already installed here ({installed_status()}); "
                          "purge it first (dpkg --purge drasyl-sp): this test installs and purges it")
    if STATE_DIR.exists():
        raise TestFailure(f"{STATE_DIR} exists without the package; move it away first (it may hold an identity)")
    tmp = Path(tempfile.mkdtemp(prefix="drasyl-package-test-"))
    unit = None
    try:
        log(f"package: dpkg -i {deb}")
        r = run(["dpkg", "-i", str(deb)], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        check(r.returncode == 0, f"dpkg -i {deb.name}{'' if r.returncode == 0 else ': ' + r.stdout + r.stderr}")
        check(installed_status() == "install ok installed", "dpkg: installed")
        if Path("/run/systemd/system").is_dir():
            # With systemd running, postinst started the service with the default
            # settings: stop it; this test starts the unit's command itself.
            run(["systemctl", "stop", UNIT])
            shutil.rmtree(STATE_DIR, ignore_errors=True)
        check_contents()

        udp_port, metrics_port = free_ports_both(2)
        tcp_port = free_port(low=True)
        write_test_dropin(udp_port, tcp_port, metrics_port)
        verify_units()

        log(f"package: starting {UNIT} as the unit would (TCP fallback on low port {tcp_port})")
        unit, reader, url, key = start_service(tcp_port)
        check(f"tcpPort={tcp_port}" in url, f"banner URL {url} announces TCP port {tcp_port} (bound below 1024 with the unit's capability)")
        ids = tmp / "identities"
        register_nodes("/usr/bin/drasyl-loadgen", url, DIFFICULTY, str(ids))
        # The ACK may reach the node a moment before the gauges move: poll briefly.
        samples = wait_metrics(metrics_port, lambda s: metric_sum(s, "drasyl_peers", transport="udp") >= 2)
        registered = metric_sum(samples, "drasyl_peers_registered_total")
        udp_peers = metric_sum(samples, "drasyl_peers", transport="udp")
        check(registered == 2 and udp_peers == 2,
              f"installed drasyl-loadgen registered 2 nodes (super peer's /metrics: "
              f"{registered:.0f} registered, {udp_peers:.0f} udp peers)")

        identity = STATE_DIR / "drasyl.identity"
        check(identity.is_file(), f"identity in the state directory: {identity}")
        st = identity.stat()
        user = pwd.getpwnam(SERVICE_USER)
        check(stat.S_IMODE(st.st_mode) == 0o600, f"identity mode {oct(stat.S_IMODE(st.st_mode))} == 0600")
        check(st.st_uid == user.pw_uid, f"identity owned by {SERVICE_USER}")
        dst = STATE_DIR.stat()
        check(stat.S_IMODE(dst.st_mode) == 0o700 and dst.st_uid == user.pw_uid,
              f"{STATE_DIR}: mode {oct(stat.S_IMODE(dst.st_mode))}, owned by {SERVICE_USER}")
        content = identity.read_text()
        check(re.search(r"SecretKey = [0-9a-f]{128}", content) and key in content,
              "identity file holds the secret key whose public half the banner shows")

        code = unit.stop()
        check(code == 0, f"SIGTERM: super peer exited with code {code}")
        log("package: restart")
        unit, reader, url2, key2 = start_service(tcp_port)
        check(key2 == key, f"same public key after a restart ({key2[:16]}...)")
        check(identity.read_text() == content, "identity file unchanged by the restart")
        unit.stop()

        log("package: reinstall (upgrade path) with a changed /etc/default/drasyl-sp")
        DEFAULTS.write_text(DEFAULTS.read_text() + "# changed by the operator\n")
        r = run(["dpkg", "-i", str(deb)], env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        check(r.returncode == 0, "dpkg -i again (upgrade path)")
        check(DEFAULTS.read_text().endswith("# changed by the operator\n"), "the changed conffile is kept")
        check(identity.read_text() == content, "identity kept across the reinstall")
        unit, reader, url3, key3 = start_service(tcp_port)
        check(key3 == key, "same public key after the reinstall")
        unit.stop()
        unit = None

        dpdk_prepare_errors()
        dpdk_unit_test(tmp)
        af_xdp_unit_test(tmp)
    finally:
        if unit is not None:
            unit.stop()
        shutil.rmtree(DROPIN_DIR, ignore_errors=True)
        TEST_ENV.unlink(missing_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        if installed_status():
            log("package: dpkg --purge")
            r = run(["dpkg", "--purge", PACKAGE])
            check(r.returncode == 0, f"dpkg --purge {PACKAGE}{'' if r.returncode == 0 else ': ' + r.stdout + r.stderr}")
    check(installed_status() in ("", "unknown ok not-installed"), "dpkg: not installed after purge")
    for path in INSTALLED + [str(STATE_DIR), "/usr/share/drasyl-sp", "/usr/share/doc/drasyl-sp",
                             "/usr/libexec/drasyl-sp", "/usr/sbin/netsody-sp"]:
        check(not os.path.lexists(path), f"purged: {path}")
    print(f"package test: PASS in {time.monotonic() - started:.0f} s "
          f"(system user {SERVICE_USER} stays, as Debian keeps system users)")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"package test: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
