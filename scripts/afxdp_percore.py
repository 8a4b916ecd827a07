"""Relay capacity per worker core for scripts/afxdp_bench.py (issue #20).

A sampler reads, every 0.1 s from CPU 0, what the kernel counts: CPU 1's
times (/proc/stat; busy = wall time - idle - iowait - steal, see
window_figures), the packets on both ends of the veth pair (/proc/PID/net/dev
of a process in each namespace), NET_RX/NET_TX softirqs per CPU, and the run
time of the threads that work for the relay on CPU 1
(/proc/PID/task/TID/schedstat, in ns). Each traffic step of drasyl-loadgen
shows as a run of samples with traffic; its inner samples (a partial
interval cut off at each end) are the step's window.

"relayed per CPU-1 second" = packets back at the generator's interface in
the window / CPU 1's busy seconds in the window. Where CPU 1 is saturated it
is the capacity of one core, measured; below, what one fully used core would
relay if the cost per packet held (more load batches more, so it is lower
than the capacity). A backend that polls keeps CPU 1 busy without work: its
figure below saturation is not its cost.
"""
import os
import statistics
import threading
import time

USER_HZ = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
BUSY_FIELDS = ("user", "nice", "system", "irq", "softirq")
STAT_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


# ---- pure parts (unit-tested in afxdp_bench_test.py) ----

def parse_proc_stat(text):
    """{"cpu1": {"user": ticks, ...}} of the per-CPU lines of /proc/stat."""
    out = {}
    for line in text.splitlines():
        f = line.split()
        if f and f[0].startswith("cpu") and f[0] != "cpu":
            out[f[0]] = dict(zip(STAT_FIELDS, (int(x) for x in f[1:1 + len(STAT_FIELDS)])))
    return out


def busy_ticks(cpu):
    return sum(cpu.get(k, 0) for k in BUSY_FIELDS)


def parse_net_dev(text, iface):
    """(rx_packets, rx_dropped, tx_packets, tx_dropped) of `iface` in a
    /proc/net/dev text, or None."""
    for line in text.splitlines():
        name, sep, rest = line.partition(":")
        if sep and name.strip() == iface:
            f = rest.split()
            return int(f[1]), int(f[3]), int(f[9]), int(f[11])
    return None


def parse_softirqs(text):
    """{"NET_RX": [per CPU], ...} of /proc/softirqs."""
    out = {}
    for line in text.splitlines()[1:]:
        name, sep, rest = line.partition(":")
        if sep:
            out[name.strip()] = [int(x) for x in rest.split()]
    return out


def traffic_windows(samples, steps, min_pps, min_len_s):
    """The window (i, j) of samples of each of `steps` traffic steps: the
    runs of intervals whose packet rate towards the super peer (sample
    "offered") is at least `min_pps` and that last at least `min_len_s`,
    without the first and last interval of each run (partly outside the
    step). The last `steps` runs count (registration before may show as a
    short run). None when fewer runs are found."""
    runs, start = [], None
    for k in range(1, len(samples) + 1):
        on = False
        if k < len(samples):
            dt = samples[k]["t"] - samples[k - 1]["t"]
            on = dt > 0 and (samples[k]["offered"] - samples[k - 1]["offered"]) / dt >= min_pps
        if on and start is None:
            start = k - 1
        elif not on and start is not None:
            if samples[k - 1]["t"] - samples[start]["t"] >= min_len_s:
                runs.append((start + 1, k - 2))
            start = None
    runs = [(i, j) for i, j in runs if j > i]
    if len(runs) < steps:
        return None
    return runs[len(runs) - steps:]


def window_figures(samples, window, cpu="cpu1"):
    """What a window of samples shows: relayed packets and CPU `cpu`'s busy
    seconds, the figure per CPU-second, its split, softirqs and threads.

    Busy = wall time - idle - iowait - steal. The kernel (NO_HZ idle) counts
    idle from clock readings, the busy fields only at ticks, which stop
    while the CPU idles: a worker that wakes for short bursts is under-
    counted there (the split, in ticks, is only a proportion)."""
    a, b = samples[window[0]], samples[window[1]]
    secs = b["t"] - a["t"]
    d = {k: (b["stat"][cpu][k] - a["stat"][cpu][k]) / USER_HZ for k in STAT_FIELDS}
    busy = max(0.0, secs - d["idle"] - d["iowait"] - d["steal"])
    ticks = (busy_ticks(b["stat"][cpu]) - busy_ticks(a["stat"][cpu])) / USER_HZ
    relayed = b["relayed"] - a["relayed"]
    offered = b["offered"] - a["offered"]
    threads = {n: (b["threads"].get(n, 0) - a["threads"].get(n, 0)) / 1e9
               for n in b["threads"] if n in a["threads"]}
    thread_s = sum(threads.values())
    n = int(cpu[3:])
    soft = {k: b["softirqs"][k][n] - a["softirqs"][k][n] for k in ("NET_RX", "NET_TX")
            if k in a["softirqs"] and k in b["softirqs"]}
    soft_other = {k: b["softirqs"][k][1 - n] - a["softirqs"][k][1 - n]
                  for k in ("NET_RX",) if k in a["softirqs"] and len(a["softirqs"][k]) > 1}
    return {
        "seconds": secs,
        "offered_pps": offered / secs if secs > 0 else 0,
        "relayed_pps": relayed / secs if secs > 0 else 0,
        "busy_share": busy / secs if secs > 0 else 0,
        "busy_ticks_share": ticks / secs if secs > 0 else 0,
        "split": {k: d[k] / ticks for k in ("user", "system", "softirq", "irq") if ticks > 0},
        "sp_rx_pps": (b["sp_rx"] - a["sp_rx"]) / secs if secs > 0 else 0,
        "sp_rx_dropped_pps": (b["sp_rx_dropped"] - a["sp_rx_dropped"]) / secs if secs > 0 else 0,
        "per_core_pps": relayed / busy if busy > 0 else None,
        "thread_seconds": threads,
        "thread_share": thread_s / secs if secs > 0 else 0,
        # CPU 1 busy outside the relay threads: interrupt work while the
        # idle task was current (RPS backlog) and other processes.
        "outside_threads_share": (busy - thread_s) / secs if secs > 0 else 0,
        "per_thread_second_pps": relayed / thread_s if thread_s > 0 else None,
        "softirqs_per_s": {k: v / secs for k, v in soft.items()} if secs > 0 else {},
        "net_rx_other_cpu_per_s": {k: v / secs for k, v in soft_other.items()} if secs > 0 else {},
    }


def busy_share(before, after, seconds, cpu="cpu1"):
    """CPU `cpu`'s busy share over `seconds` between two /proc/stat parses
    (not idle, iowait or steal; see window_figures)."""
    d = sum(after[cpu][k] - before[cpu][k] for k in ("idle", "iowait", "steal")) / USER_HZ
    return max(0.0, min(1.0, 1.0 - d / seconds)) if seconds > 0 else 0.0


def cpu1_busy_over(seconds):
    """CPU 1's busy share over the next `seconds`."""
    a, t0 = parse_proc_stat(read("/proc/stat")), time.monotonic()
    time.sleep(seconds)
    b, t1 = parse_proc_stat(read("/proc/stat")), time.monotonic()
    return busy_share(a, b, t1 - t0)


def median_steps(rounds):
    """Per step index: the median of each round's figures (a round: a list
    of window_figures() dicts or None, in step order)."""
    out = []
    for i in range(max((len(r) for r in rounds), default=0)):
        vals = [r[i] for r in rounds if i < len(r) and r[i] and r[i].get("per_core_pps")]
        if not vals:
            out.append(None)
            continue
        med = {}
        for k in ("offered_pps", "relayed_pps", "busy_share", "per_core_pps", "thread_share",
                  "per_thread_second_pps", "sp_rx_dropped_pps", "busy_ticks_share",
                  "outside_threads_share"):
            xs = [v[k] for v in vals if v.get(k) is not None]
            med[k] = statistics.median(xs) if xs else None
        med["rounds"] = len(vals)
        med["per_core_range"] = (min(v["per_core_pps"] for v in vals),
                                 max(v["per_core_pps"] for v in vals))
        med["split"] = {k: statistics.median(v["split"].get(k, 0) for v in vals)
                        for k in vals[0]["split"]}
        out.append(med)
    return out


def per_core_summary(by_backend, labels):
    """The comparison per worker core. Per backend: the medians per step
    (median_steps) and its best, the most it relayed per CPU-1 second in
    any step (the median of the rounds); per step the ratios to sockets at
    the same offered load; the goal on the best figures."""
    med = {b: median_steps(r) for b, r in by_backend.items()}
    best = {}
    for b, steps in med.items():
        cands = [(m["per_core_pps"], i) for i, m in enumerate(steps) if m]
        if cands:
            pps, i = max(cands)
            best[b] = {"per_core_pps": pps, "step": i,
                       "label": labels[i] if i < len(labels) else "?",
                       "busy_share": steps[i]["busy_share"],
                       "saturated": steps[i]["busy_share"] >= 0.95}
    ratios = []
    for i in range(len(labels)):
        base = med.get("socket", [])[i] if i < len(med.get("socket", [])) else None
        ratios.append({b: (med[b][i]["per_core_pps"] / base["per_core_pps"])
                       if base and i < len(med[b]) and med[b][i] else None for b in med})
    for b in best:
        best[b]["vs_socket"] = (best[b]["per_core_pps"] / best["socket"]["per_core_pps"]) \
            if "socket" in best else None
    goal = None
    if "socket" in best and "af_xdp" in best:
        r = best["af_xdp"]["vs_socket"]
        goal = {"target": 3.0, "ratio": r, "met": r >= 3.0,
                "per_round": round_ratios(by_backend.get("af_xdp", []),
                                          by_backend.get("socket", []))}
    return {"medians": med, "ratios": ratios, "best": best, "goal": goal}


def round_best(windows):
    return max((w["per_core_pps"] for w in windows if w and w.get("per_core_pps")), default=None)


def round_ratios(rounds, base_rounds):
    """Per round k: the best figure of `rounds`[k] over that of
    `base_rounds`[k] (the backends ran in turn: round k's are neighbours in
    time, so they share the machine's state)."""
    out = []
    for w, bw in zip(rounds, base_rounds):
        x, b = round_best(w), round_best(bw)
        if x and b:
            out.append(x / b)
    return out


def rate_label(r):
    return "open loop" if r == 0 else "%.0fk" % (r / 1e3)


def shares(xs):
    return ", ".join("%.0f %%" % (100 * v) for v in xs) or "-"


def per_core_markdown(summary, labels, context):
    """The per-core tables: a row per backend and step (medians of the
    rounds), then the best of each with what else ran (`context`: per
    backend lists "before" and "idle", CPU 1's busy share before the start
    and with the super peer idle, and "others", other processes' CPU
    seconds per second during the runs)."""
    lines = ["| backend | offered | relayed | CPU 1 busy | relayed per CPU-1 second "
             "(min-max) | vs sockets (same load) | relay threads | CPU 1 outside them | "
             "dropped at veth0 |",
             "|---|---|---|---|---|---|---|---|---|"]
    for b, steps in summary["medians"].items():
        for i, m in enumerate(steps[:len(labels)]):
            if not m:
                lines.append("| %s | %s | no window | | | | | | |" % (b, labels[i]))
                continue
            ratio = summary["ratios"][i].get(b)
            lo, hi = m["per_core_range"]
            lines.append(
                "| %s | %s (%.3f Mpps) | %.3f Mpps | %.0f %% | %.3f Mpps (%.3f-%.3f) | %s | "
                "%.0f %% | %.0f %% | %.3f Mpps |" % (
                    b, labels[i], m["offered_pps"] / 1e6, m["relayed_pps"] / 1e6,
                    100 * m["busy_share"], m["per_core_pps"] / 1e6, lo / 1e6, hi / 1e6,
                    "%.2fx" % ratio if ratio is not None else "-", 100 * (m["thread_share"] or 0),
                    100 * (m["outside_threads_share"] or 0),
                    (m.get("sp_rx_dropped_pps") or 0) / 1e6))
    lines += ["", "| backend | best relayed per CPU-1 second | at | CPU 1 busy there | "
              "vs sockets | CPU 1 busy before start | CPU 1 busy, super peer idle | "
              "other processes during the runs |",
              "|---|---|---|---|---|---|---|---|"]
    for b, x in summary["best"].items():
        c = context.get(b, {})
        lines.append("| %s | %.3f Mpps | %s | %.0f %%%s | %s | %s | %s | %s |" % (
            b, x["per_core_pps"] / 1e6, x["label"], 100 * x["busy_share"],
            " (saturated)" if x["saturated"] else "",
            "%.2fx" % x["vs_socket"] if x["vs_socket"] is not None else "-",
            shares(c.get("before", [])), shares(c.get("idle", [])),
            ", ".join("%.2f CPU" % v for v in c.get("others", [])) or "-"))
    g = summary["goal"]
    lines.append("")
    if g:
        lines.append("goal: af_xdp >= %.0fx kernel sockets per worker core (the best relayed "
                     "per CPU-1 second of each): %.2fx, %s" % (
                         g["target"], g["ratio"], "met" if g["met"] else "NOT met"))
        if g.get("per_round"):
            lines.append("per round (af_xdp's best / sockets' best of the same round): %s" %
                         ", ".join("%.2fx" % r for r in g["per_round"]))
    else:
        lines.append("goal: no per-core figure of sockets and af_xdp")
    return "\n".join(lines)


# ---- reading the kernel's counters ----

def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def schedstat_ns(pid, tid=None):
    text = read("/proc/%d/task/%d/schedstat" % (pid, tid) if tid else "/proc/%d/schedstat" % pid)
    return int(text.split()[0]) if text else None


def allowed_cpus(pid, tid):
    for line in read("/proc/%d/task/%d/status" % (pid, tid)).splitlines():
        if line.startswith("Cpus_allowed_list:"):
            return line.split(":", 1)[1].strip()
    return ""


def kthreads(prefixes):
    """{comm: pid} of the kernel threads whose name starts with one of `prefixes`."""
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            comm = read("/proc/%s/comm" % d).strip()
            if comm.startswith(prefixes):
                out[comm] = int(d)
    return out


def worker_core_threads(sp_pid, cpu=1, napi_prefix="napi/veth0-"):
    """{name: (pid, tid)} of the threads that work on CPU `cpu` for the relay:
    the super peer's threads allowed only there, the NAPI threads of veth0,
    ksoftirqd/CPU. Threads of the super peer allowed elsewhere are listed in
    the returned `others`."""
    threads, others = {}, {}
    for t in sorted(os.listdir("/proc/%d/task" % sp_pid), key=int):
        tid = int(t)
        name = "sp:%s:%d" % (read("/proc/%d/task/%d/comm" % (sp_pid, tid)).strip(), tid)
        if allowed_cpus(sp_pid, tid) == str(cpu):
            threads[name] = (sp_pid, tid)
        else:
            others[name] = allowed_cpus(sp_pid, tid)
    for comm, pid in kthreads((napi_prefix, "ksoftirqd/%d" % cpu)).items():
        if comm.startswith(napi_prefix) or comm == "ksoftirqd/%d" % cpu:
            threads[comm] = (pid, pid)
    return threads, others


def task_times(exclude_pids=()):
    """{(pid, tid): (comm, run time in ns)} of every task that may run on
    CPU 1, except those of `exclude_pids` (processes)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) in exclude_pids:
            continue
        pid = int(d)
        try:
            tids = os.listdir("/proc/%d/task" % pid)
        except OSError:
            continue
        for t in tids:
            tid = int(t)
            cpus = allowed_cpus(pid, tid)
            if not cpus or cpus == "0":
                continue
            ns = schedstat_ns(pid, tid)
            if ns is not None:
                out[(pid, tid)] = (read("/proc/%d/task/%d/comm" % (pid, tid)).strip(), ns)
    return out


def others_cpu_seconds(before, after, exclude_comms=()):
    """CPU seconds of the tasks in `after` (task_times) between the two
    surveys, without those named in `exclude_comms`; tasks new in `after`
    count whole (a kworker's name changes with its work: the key is the
    id). The top five as (comm, seconds) too."""
    per = {}
    for key, (comm, ns) in after.items():
        if comm in exclude_comms:
            continue
        d = (ns - before.get(key, ("", 0))[1]) / 1e9
        if d > 0:
            name = comm.split("-")[0] if comm.startswith("kworker") else comm
            per[name] = per.get(name, 0) + d
    top = sorted(per.items(), key=lambda kv: -kv[1])[:5]
    return sum(per.values()), top


class Sampler:
    """Samples every `interval` s in a thread of its own on CPU 0."""

    def __init__(self, sp_anchor, lg_anchor, threads, interval=0.1):
        self.sp_anchor, self.lg_anchor, self.threads = sp_anchor, lg_anchor, threads
        self.interval = interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self):
        lg = parse_net_dev(read("/proc/%d/net/dev" % self.lg_anchor), "eth0") or (0, 0, 0, 0)
        sp = parse_net_dev(read("/proc/%d/net/dev" % self.sp_anchor), "veth0") or (0, 0, 0, 0)
        th = {}
        for name, (pid, tid) in self.threads.items():
            ns = schedstat_ns(pid, tid)
            if ns is not None:
                th[name] = ns
        return {"t": time.monotonic(), "stat": parse_proc_stat(read("/proc/stat")),
                # Sent by the generator: into veth0's queue, or dropped
                # there (its backlog or NAPI ring full: the super peer's
                # core too slow to take it).
                "offered": lg[2] + lg[3], "relayed": lg[0], "sp_rx": sp[0],
                "sp_rx_dropped": lg[3],
                "sp_tx": sp[2],
                "softirqs": parse_softirqs(read("/proc/softirqs")), "threads": th}

    def _run(self):
        try:
            os.sched_setaffinity(threading.get_native_id(), {0})
        except OSError:
            pass
        nxt = time.monotonic()
        while not self._stop.is_set():
            self.samples.append(self.sample())
            nxt += self.interval
            self._stop.wait(max(0.0, nxt - time.monotonic()))

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def quiet_cpu1(max_wait_s=60, limit=0.05):
    """Waits (up to `max_wait_s`) for a second in which CPU 1 is busy less
    than `limit`; returns the busy share of the last second measured."""
    deadline = time.monotonic() + max_wait_s
    while True:
        share = cpu1_busy_over(1.0)
        if share < limit or time.monotonic() > deadline:
            return share


def forks():
    """Processes created since boot (/proc/stat): compile jobs show here."""
    for line in read("/proc/stat").splitlines():
        if line.startswith("processes "):
            return int(line.split()[1])
    return 0
