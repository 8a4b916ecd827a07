#!/usr/bin/env python3
"""Side-by-side relay benchmark of three backends on one veth pair (issue #20).

One run, the same veth pair (dab-sp: veth0 <-> dab-lg: eth0), the same
offered load from build/drasyl-loadgen in dab-lg (many flows,
--pattern=random, so that segmentation offload cannot help), one worker core
each:

  socket     kernel sockets (WORKERS=1), the kernel keeps veth0's addresses
  af_xdp     --af_xdp=veth0: DPDK workers on AF_XDP sockets behind our XDP
             program, the kernel keeps veth0 and its addresses
  af_packet  --dpdk_eal=--vdev=net_af_packet0,iface=veth0 --dpdk_addr=...:
             the kernel's addresses removed, a TAP carries them

Pinning (2 cores): the super peer's worker on CPU 1 (DPDK: lcore 1; sockets:
the whole process, its control thread idle during traffic), the generator on
CPU 0 (DPDK's main lcore too). The super peer's receiving runs on CPU 1 as
well (RPS to CPU 1 on veth0; veth0's NAPI, which the XDP program brings,
threaded and pinned there), the generator's on CPU 0 (RPS on eth0; in the
sink run below only a drop, where the super peer sends): the worker core
carries all of the relay's kernel work, none of the generator's.

Two loadgen runs per backend: --rates (the generator receives and reports
loss and latency: the first table), then --sink_rates with the relayed
messages dropped at eth0's ingress, so that the one-core generator only
sends and offers more. afxdp_percore.py measures CPU 1 over each step of
the second: "relayed per CPU-1 second" (relayed / CPU 1's busy seconds),
the per-core capacity the goal is about (the second table).

Writes a JSON file (--out) and prints Markdown tables; the goal line says
whether af_xdp relays at least 3x what kernel sockets relay per worker core.
scripts/afxdp-bench.sh is the entry point (it takes the netns lock).
"""
import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import afxdp_percore as percore  # noqa: E402
import prom_text  # noqa: E402
import super_peer  # noqa: E402

SP_NS = "dab-sp"
LG_NS = "dab-lg"
SP_V4 = "10.98.7.1"
LG_V4 = "10.98.7.2"
PORT = 22527
BACKENDS = ("socket", "af_xdp", "af_packet")


# ---- pure parts (unit-tested in afxdp_bench_test.py) ----

def parse_rates(text):
    """'100k,1M,0' -> [100000, 1000000, 0]."""
    out = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        mult = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6}.get(part[-1], 1)
        out.append(int(float(part[:-1] if mult != 1 else part) * mult))
    return out


def metric_values(text, name):
    """{labels as 'k="v",...' (sorted): value} of one Prometheus metric."""
    return {",".join('%s="%s"' % kv for kv in sorted(labels)): value
            for (n, labels), value in prom_text.samples(text).items() if n == name}


def best_relayed(run):
    return max((s.get("relayed_pps", 0) for s in run.get("loadgen", {}).get("steps", [])),
               default=0)


def summarize(runs):
    """Per backend (its best round): relayed pps per step, the best step; ratios to sockets."""
    chosen = {}
    for r in runs:  # the best round of each backend, in first-seen order
        b = r["backend"]
        if b not in chosen or best_relayed(r) > best_relayed(chosen[b]):
            chosen[b] = r
    rows = []
    for r in chosen.values():
        steps = r.get("loadgen", {}).get("steps", [])
        best = best_relayed(r)
        rows.append({
            "backend": r["backend"],
            "workers": r.get("workers", 1),
            "error": r.get("error"),
            "steps": [{"target_pps": s.get("target_pps"), "offered_pps": s.get("offered_pps"),
                       "relayed_pps": s.get("relayed_pps"), "loss_pct": s.get("loss_pct"),
                       "p99_us": s.get("latency_us", {}).get("p99")} for s in steps],
            "best_relayed_pps": best,
            "per_worker_pps": best / max(1, r.get("workers", 1)),
            "kernel_udp_in": r.get("kernel_udp_in"),
            "xdp_verdicts": r.get("xdp_verdicts", {}),
            "rounds": sum(1 for x in runs if x["backend"] == r["backend"]),
        })
    base = next((x for x in rows if x["backend"] == "socket" and x["per_worker_pps"] > 0), None)
    for x in rows:
        x["vs_socket"] = (x["per_worker_pps"] / base["per_worker_pps"]) if base else None
    xdp = next((x for x in rows if x["backend"] == "af_xdp"), None)
    goal = None
    if base and xdp and xdp["vs_socket"] is not None:
        goal = {"target": 3.0, "ratio": xdp["vs_socket"], "met": xdp["vs_socket"] >= 3.0}
    return {"rows": rows, "goal": goal}


def markdown(summary, offered):
    lines = ["| backend | " + " | ".join(
        "offered %s" % ("open loop" if r == 0 else "%.0fk" % (r / 1e3)) for r in offered) +
        " | best relayed / worker core | vs kernel sockets |",
        "|---|" + "---|" * (len(offered) + 2)]
    for x in summary["rows"]:
        if x["error"]:
            lines.append("| %s | %s | failed: %s |" % (
                x["backend"], " | ".join("-" for _ in offered), x["error"]))
            continue
        cells = []
        for s in x["steps"]:
            cells.append("%.3f Mpps (loss %.2f %%)" % ((s["relayed_pps"] or 0) / 1e6,
                                                     s["loss_pct"] or 0))
        cells += ["-"] * (len(offered) - len(cells))
        ratio = "%.2fx" % x["vs_socket"] if x["vs_socket"] is not None else "-"
        lines.append("| %s | %s | %.3f Mpps | %s |" % (x["backend"], " | ".join(cells),
                                                       x["per_worker_pps"] / 1e6, ratio))
    g = summary["goal"]
    if g:
        lines.append("")
        lines.append("goal: af_xdp >= %.0fx kernel sockets per worker core: %.2fx, %s" % (
            g["target"], g["ratio"], "met" if g["met"] else "NOT met"))
    return "\n".join(lines)


# ---- the run ----

def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True).stdout


def ns(name, cmd, check=True):
    return sh("ip netns exec %s %s" % (name, cmd), check)


def setup(generator):
    teardown()
    sh("ip netns add %s && ip netns add %s" % (SP_NS, LG_NS))
    sh("ip link add veth0 netns %s type veth peer name eth0 netns %s" % (SP_NS, LG_NS))
    for n, dev in ((SP_NS, "veth0"), (LG_NS, "eth0")):
        ns(n, "ip link set lo up")
        # Checksums complete on the wire (AF_PACKET and XDP see what the
        # sender left), segmentation off: the same for every backend.
        ns(n, "ethtool -K %s rx off tx off tso off gso off gro off" % dev, check=False)
        ns(n, "sysctl -qw net.ipv6.conf.%s.accept_dad=0" % dev)
    # What the super peer sends reaches the generator's stack on the
    # sending CPU (veth); RPS moves that work to the generator's CPU 0, so
    # that no backend's worker core pays for the generator's receiving.
    ns(LG_NS, "sh -c 'echo 1 > /sys/class/net/eth0/queues/rx-0/rps_cpus'", check=False)
    # The super peer's receiving on its worker core, CPU 1, for every
    # backend: RPS where veth0 has no NAPI (sockets, net_af_packet: the
    # backlog, IP/UDP, the socket queue or the packet ring), threaded NAPI
    # pinned there where it has one (the XDP program and its copy into the
    # UMEM; the threads appear when the program is attached). "threaded"
    # can be set only while a NAPI exists (veth0 up, GRO on for a moment);
    # veth0 keeps it for the NAPI the XDP program brings.
    ns(SP_NS, "sh -c 'echo 2 > /sys/class/net/veth0/queues/rx-0/rps_cpus'")
    if generator == "socket":
        ns(LG_NS, "ip addr add %s/24 dev eth0" % LG_V4)
    else:  # DPDK's net_af_packet owns eth0: the kernel stays off it
        ns(LG_NS, "sysctl -qw net.ipv6.conf.eth0.disable_ipv6=1")
    ns(LG_NS, "ip link set eth0 up")
    ns(SP_NS, "ip link set veth0 up")
    ns(SP_NS, "ethtool -K veth0 gro on")
    ns(SP_NS, "sh -c 'echo 1 > /sys/class/net/veth0/threaded'")
    ns(SP_NS, "ethtool -K veth0 gro off")
    # A process in each namespace: /proc/PID/net/dev shows its interfaces.
    return {n: subprocess.Popen(["ip", "netns", "exec", n, "sleep", "1000000"]).pid
            for n in (SP_NS, LG_NS)}


def pin_napi_threads(cpu=1):
    """Pins veth0's NAPI threads to `cpu`; {comm: allowed CPUs} after."""
    out = {}
    for comm, pid in percore.kthreads(("napi/veth0-",)).items():
        try:
            os.sched_setaffinity(pid, {cpu})
        except OSError:
            pass
        out[comm] = sorted(os.sched_getaffinity(pid))
    return out


def kernel_keeps_addresses(keep):
    if keep:
        ns(SP_NS, "sysctl -qw net.ipv4.conf.veth0.arp_ignore=0")
        ns(SP_NS, "ip addr replace %s/24 dev veth0" % SP_V4)
    else:
        ns(SP_NS, "ip addr flush dev veth0")
        ns(SP_NS, "sysctl -qw net.ipv4.conf.veth0.arp_ignore=8")
        ns(SP_NS, "sysctl -qw net.ipv4.conf.veth0.rp_filter=1")
    ns(LG_NS, "ip neigh flush dev eth0", check=False)


def teardown():
    for n in (SP_NS, LG_NS):
        if os.path.exists("/var/run/netns/" + n):
            for pid in sh("ip netns pids %s" % n, check=False).split():
                sh("kill %s" % pid, check=False)
            sh("ip netns del %s" % n, check=False)


def kernel_udp_in():
    text = ns(SP_NS, "cat /proc/net/snmp", check=False).splitlines()
    for i in range(len(text) - 1):
        if text[i].startswith("Udp: ") and text[i + 1].startswith("Udp: "):
            d = dict(zip(text[i].split()[1:], text[i + 1].split()[1:]))
            return sum(int(d.get(k, 0)) for k in ("InDatagrams", "NoPorts", "InErrors"))
    return None


def start_sp(args, backend, logdir):
    """The super peer in SP_NS with the capacity settings (scripts/super_peer.py),
    one worker core, on `backend`; started (raises SuperPeerError if not)."""
    if backend == "socket":
        listen = {"DRASYL_UDP4_LISTEN": "%s:%d" % (SP_V4, PORT)}
        prefix = ["ip", "netns", "exec", SP_NS, "taskset", "-c", "1"]
    elif backend == "af_xdp":
        listen = super_peer.af_xdp_listen(SP_V4, "veth0", "0,1")
        prefix = ["ip", "netns", "exec", SP_NS]
    else:
        listen = {"DRASYL_UDP4_LISTEN": "%s:%d" % (SP_V4, PORT),
                  "DRASYL_DPDK_ADDR": "%s/24" % SP_V4,
                  "DRASYL_DPDK_EAL": "-l 0,1 --no-pci --vdev=net_af_packet0,iface=veth0"}
        prefix = ["ip", "netns", "exec", SP_NS]
    env = super_peer.sp_environment(os.path.join(logdir, "sp.identity"), args.difficulty, 1,
                                    listen)
    sp = super_peer.SuperPeer(os.path.join(args.build, "drasyl-sp"), logdir, backend, env,
                              "socket" if backend == "socket" else "af_xdp" if backend == "af_xdp"
                              else "dpdk", prefix)
    return sp.start(start_s=60, backend_s=10)


def metrics(sp):
    """/metrics of the super peer in SP_NS (its loopback is the namespace's)."""
    if not sp.metrics_url:
        return ""
    try:
        return ns(SP_NS, "python3 -c \"import urllib.request,sys; sys.stdout.write("
                  "urllib.request.urlopen('%s', timeout=3).read().decode())\"" % sp.metrics_url,
                  check=False)
    except Exception:  # noqa: BLE001 - metrics are extra information
        return ""


def build_sink(udp_len, logdir):
    """scripts/afxdp_bench_sink.bpf.c for APP messages of UDP length `udp_len`."""
    obj = os.path.join(logdir, "sink-%d.bpf.o" % udp_len)
    arch = sh("gcc -print-multiarch", check=False).strip() or "x86_64-linux-gnu"
    sh("clang -O2 -Wall -target bpf -I/usr/include/%s -DSINK_UDP_LEN=%d -c %s -o %s" % (
        arch, udp_len, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    "afxdp_bench_sink.bpf.c"), obj))
    return obj


def sink(obj):
    """With a sink object (build_sink): the relayed APP messages dropped at
    eth0's ingress in dab-lg (tc), HELLO ACKs pass, so that the one-core
    generator only sends and offers more; its own loss figures then mean
    nothing, eth0's receive counter (before tc) still counts what came
    back. No RPS on eth0 meanwhile: the drop runs where the super peer
    sends, on CPU 1, as a NIC's freeing of sent packets would, instead of
    an inter-processor interrupt per burst to CPU 0 (a VM exit on this VM,
    13 % of CPU 1 in a perf profile). None: the sink removed, RPS back."""
    ns(LG_NS, "tc qdisc del dev eth0 clsact", check=False)
    ns(LG_NS, "sh -c 'echo %d > /sys/class/net/eth0/queues/rx-0/rps_cpus'" % (0 if obj else 1))
    if obj:
        ns(LG_NS, "tc qdisc add dev eth0 clsact")
        ns(LG_NS, "tc filter add dev eth0 ingress bpf da obj %s sec tc" % obj)


def run_loadgen(args, backend, url, rates, phase, logdir, sampler_args):
    """One drasyl-loadgen run (steps at `rates`) under a percore.Sampler;
    (its JSON or None, the step windows' figures, the error or None)."""
    lg = os.path.join(args.build, "drasyl-loadgen")
    io = ""
    if args.generator == "dpdk":
        io = ("--backend=dpdk '--dpdk_eal=--no-pci -l 0 --vdev=%s,iface=eth0' "
              "--dpdk_local_ip=%s" % (args.generator_vdev, LG_V4))
    cmd = ("ip netns exec %s taskset -c 0 %s --url '%s' --nodes=%d --identities=%s "
           "--difficulty=%d --payload=%d --pattern=random --rates=%s --duration=%s "
           "--hello_flood_ms=0 --progress=false --json %s" % (
               LG_NS, lg, url, args.nodes, args.identities, args.difficulty, args.payload,
               ",".join(str(r) for r in rates), args.duration, io))
    log = os.path.join(logdir, "lg-%s-%s.log" % (backend, phase))
    # Other processes on this shared machine meanwhile: every task that may
    # run on CPU 1 but the super peer's, the generator's and ours.
    mine = {os.getpid()} | set(sampler_args[:2]) | {pid for pid, _ in sampler_args[2].values()}
    tasks0, t0 = percore.task_times(mine), time.monotonic()
    forks0 = percore.forks()
    with open(log, "w") as err, percore.Sampler(*sampler_args) as sampler:
        p = subprocess.run(cmd, shell=True, stdout=subprocess.PIPE, stderr=err, text=True)
    tasks1, t1 = percore.task_times(mine), time.monotonic()
    other_s, top = percore.others_cpu_seconds(tasks0, tasks1, exclude_comms=("drasyl-loadgen",))
    others = {"phase": phase, "seconds": t1 - t0, "other_cpu_s": other_s, "top": top,
              "forks": percore.forks() - forks0}
    out, error = None, None
    if p.returncode != 0 or not p.stdout.strip():
        error = "drasyl-loadgen exit %d (see %s)" % (p.returncode, log)
    else:
        out = json.loads(p.stdout)
    windows = percore.traffic_windows(
        sampler.samples, len(rates), min_pps=0.3 * min([r for r in rates if r] or [20000]),
        min_len_s=0.6 * float(args.duration))
    figures = [percore.window_figures(sampler.samples, w) for w in windows] if windows \
        else [None] * len(rates)
    return out, figures, error, others


def run_backend(args, backend, logdir, anchors):
    kernel_keeps_addresses(backend != "af_packet")
    result = {"backend": backend, "workers": 1}
    # Other work on this shared machine: CPU 1 in a second before the start.
    result["cpu1_background"] = percore.quiet_cpu1(args.quiet_wait)
    result["load_avg"] = os.getloadavg()
    sp = start_sp(args, backend, logdir)
    try:
        result["napi_threads"] = pin_napi_threads(1)
        result["cpu1_sp_idle"] = percore.cpu1_busy_over(1.0)
        threads, others = percore.worker_core_threads(sp.pid)
        result["worker_core_threads"] = sorted(threads)
        result["other_sp_threads"] = others
        sampler_args = (anchors[SP_NS], anchors[LG_NS], threads)
        udp_before = kernel_udp_in()
        out, result["steps_windows"], err, others = run_loadgen(
            args, backend, sp.url, parse_rates(args.rates), "steps", logdir, sampler_args)
        result["others"] = [others]
        result["windows"] = []
        if err:
            result["error"] = err
        else:
            result["loadgen"] = out
        sink_rates = parse_rates(args.sink_rates)
        if sink_rates:
            sink(build_sink(8 + 79 + args.payload, logdir))
            try:
                out, windows, err, others = run_loadgen(args, backend, sp.url, sink_rates,
                                                        "sink", logdir, sampler_args)
                result["others"].append(others)
            finally:
                sink(None)
            result["windows"] = windows
            result["sink_error"] = err
        result["napi_threads_after"] = {c: sorted(os.sched_getaffinity(pid)) for c, pid in
                                        percore.kthreads(("napi/veth0-",)).items()}
        udp_after = kernel_udp_in()
        if udp_before is not None and udp_after is not None:
            result["kernel_udp_in"] = udp_after - udp_before
        result["xdp_verdicts"] = metric_values(metrics(sp), "drasyl_xdp_verdicts_total")
    finally:
        sp.stop()
    return result


def per_core(runs, labels):
    """percore.per_core_summary() of the successful runs, and per backend
    what else ran: CPU 1's busy share before each start and with the super
    peer idle, other processes' CPU seconds per second of each run."""
    by_backend, context = {}, {}
    for r in runs:
        if r.get("error"):
            continue
        by_backend.setdefault(r["backend"], []).append(r.get("windows") or [])
        c = context.setdefault(r["backend"], {"before": [], "idle": [], "others": []})
        c["before"].append(r.get("cpu1_background", 0))
        c["idle"].append(r.get("cpu1_sp_idle", 0))
        c["others"] += [o["other_cpu_s"] / o["seconds"] for o in r.get("others", [])
                        if o.get("seconds")]
    return percore.per_core_summary(by_backend, labels), context


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", default=os.environ.get("BUILD_DIR", "build"))
    ap.add_argument("--out", default=None, help="JSON result (default BUILD/afxdp-bench.json)")
    ap.add_argument("--nodes", type=int, default=1000)
    ap.add_argument("--payload", type=int, default=64)
    ap.add_argument("--rates", default="100k,200k,400k,0",
                    help="offered APP rates, the same for every backend (0: open loop)")
    ap.add_argument("--sink_rates", default="50k,100k,150k,200k,300k,400k,0",
                    help="offered rates of the second run per backend, the one the figures per "
                         "worker core come from: the generator drops what comes back at eth0's "
                         "ingress and only sends (0: open loop); '' skips it")
    ap.add_argument("--duration", default="2")
    ap.add_argument("--difficulty", type=int, default=8)
    ap.add_argument("--identities", default=os.path.expanduser(
        "~/.cache/drasyl-loadgen/identities-d8.bin"))
    ap.add_argument("--backends", default=" ".join(BACKENDS))
    ap.add_argument("--generator", choices=("dpdk", "socket"), default="socket",
                    help="drasyl-loadgen's I/O: kernel sockets, or DPDK on eth0 (--generator_vdev)")
    ap.add_argument("--generator_vdev", default="net_af_xdp0",
                    help="the DPDK generator's port on eth0: net_af_xdp0 or net_af_packet0")
    ap.add_argument("--quiet_wait", type=float, default=60,
                    help="seconds to wait for a second in which CPU 1 is busy < 5 %% before "
                         "each backend (a shared machine)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="run the backends in turn this often; each one's best round counts "
                         "(a shared machine's noise)")
    args = ap.parse_args()
    out = args.out or os.path.join(args.build, "afxdp-bench.json")
    logdir = os.path.splitext(out)[0] + ".logs"
    os.makedirs(logdir, exist_ok=True)
    if os.geteuid() != 0:
        sys.exit("afxdp-bench: needs root (network namespaces, AF_XDP)")
    runs = []
    anchors = setup(args.generator)
    try:
        for rnd in range(args.rounds):
            for backend in args.backends.split():
                print("afxdp-bench: round %d: %s ..." % (rnd + 1, backend), file=sys.stderr,
                      flush=True)
                try:
                    runs.append(run_backend(args, backend, logdir, anchors))
                except Exception as e:  # noqa: BLE001 - a failed backend is a row, not the end
                    runs.append({"backend": backend, "error": str(e)})
    finally:
        teardown()
    summary = summarize(runs)
    offered = parse_rates(args.rates)
    labels = [percore.rate_label(r) for r in parse_rates(args.sink_rates)]
    pc, context = per_core(runs, labels)
    doc = {"tool": "afxdp-bench", "rounds": args.rounds, "generator": args.generator,
           "load_avg": os.getloadavg(),
           "nodes": args.nodes, "payload": args.payload,
           "pattern": "random", "rates": offered, "duration_s": float(args.duration),
           "sink_rates": parse_rates(args.sink_rates), "summary": summary, "per_core": pc,
           "runs": runs}
    with open(out, "w") as f:
        json.dump(doc, f, indent=1)
    print(markdown(summary, offered))
    print()
    print(percore.per_core_markdown(pc, labels, context))
    print("afxdp-bench: wrote %s (logs in %s)" % (out, logdir), file=sys.stderr)
    return 0 if all(not r["error"] for r in summary["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
