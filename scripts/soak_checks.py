"""The soak's checks (scripts/soak.py runs the soak; soak_test.py tests these).

Pure functions over what the soak recorded: /metrics pages, VmRSS samples,
probe results, exits, client runs. Each returns a list of errors (empty:
the check passed), some with figures beside.
"""

import prom_text

RSS_GROWTH = 0.10
RSS_SLACK_KB = 2048
BALANCE_SLACK = 4096  # messages a worker may have counted as received but not yet decided
PROBE_MIN_ANSWERED = 0.5
RESTART_GRACE_S = 3.0  # after a restart the probe may still be registering
REREGISTER_WITHIN_S = 10.0  # relay nodes re-HELLO every 2 s
REREGISTER_WANT = 100       # of the relay run's 200 nodes
SIGTERM_LIMIT_S = 5.0       # a hang; issue 16's goal is 2 s (reported beside)


def parse_metrics(text):
    """Per-worker counters from a Prometheus text page:
    {worker: {"rx": n, "relayed": n, "to_control": n, "drops": n, "tx_failed": n}}."""
    out = {}
    want = {"drasyl_rx_packets_total": "rx", "drasyl_relayed_packets_total": "relayed",
            "drasyl_to_control_total": "to_control"}
    for (name, labels), value in prom_text.samples(text).items():
        labels = dict(labels)
        if "worker" not in labels:
            continue
        entry = out.setdefault(labels["worker"], {"rx": 0, "relayed": 0, "to_control": 0,
                                                  "drops": 0, "tx_failed": 0})
        if name in want:
            entry[want[name]] += int(value)
        elif name == "drasyl_worker_drops_total":
            entry["tx_failed" if labels.get("reason") == "tx_failed" else "drops"] += int(value)
    return out


def parse_peers_udp(text):
    """drasyl_peers{transport="udp"} from a Prometheus text page (None: absent)."""
    value = prom_text.samples(text).get(("drasyl_peers", frozenset({("transport", "udp")})))
    return int(value) if value is not None else None


def check_reregistered(peer_samples, restarts, want, within_s):
    """After each restart (t_back), the relay nodes must be registered again
    on their next HELLO: some sample in [t_back, t_back + within_s] shows at
    least `want` UDP peers. peer_samples: [(t, peers)]. Restarts with no
    sample in that window (nothing scraped) are not judged."""
    errors = []
    for t_back in restarts:
        window = [p for t, p in peer_samples if t_back <= t <= t_back + within_s]
        if window and max(window) < want:
            errors.append(f"after the restart at {t_back:.1f}s: at most {max(window)} UDP peers "
                          f"registered again within {within_s:g} s (want {want})")
    return errors


def check_balance(snapshot, slack):
    """Errors where a worker's received != relayed + dropped + to control
    (beyond `slack`). The control thread's own series are not a worker's."""
    errors = []
    for worker, c in sorted(snapshot.items()):
        if worker == "control":
            continue
        accounted = c["relayed"] + c["drops"] + c["to_control"]
        if abs(c["rx"] - accounted) > slack:
            errors.append(f'worker {worker}: received {c["rx"]} != relayed {c["relayed"]} + '
                          f'dropped {c["drops"]} + to control {c["to_control"]} = {accounted}')
    return errors


def check_rss(samples, growth=RSS_GROWTH, slack_kb=RSS_SLACK_KB):
    """samples: [(t, pid, rss_kb)]. Per pid: the first quarter of its samples
    (by time) is warm-up; later ones must stay <= (1 + growth) x its highest
    RSS + slack_kb. Returns (errors, figures per pid)."""
    errors, figures = [], {}
    by_pid = {}
    for t, pid, rss in samples:
        if rss > 0:
            by_pid.setdefault(pid, []).append((t, rss))
    for pid, pts in by_pid.items():
        pts.sort()
        t0, t1 = pts[0][0], pts[-1][0]
        cut = t0 + (t1 - t0) / 4
        warm = [r for t, r in pts if t <= cut]
        later = [r for t, r in pts if t > cut]
        if len(warm) < 2 or not later:
            continue  # too short a life to judge
        ref = max(warm)
        bound = ref * (1 + growth) + slack_kb
        peak = max(later)
        figures[pid] = {"warmup_max_kb": ref, "later_max_kb": peak, "bound_kb": round(bound),
                        "end_kb": pts[-1][1], "seconds": round(t1 - t0, 1)}
        if peak > bound:
            errors.append(f"super peer pid {pid}: VmRSS grew to {peak} KiB after warm-up "
                          f"(warm-up max {ref} KiB, bound {bound:.0f} KiB)")
    return errors, figures


def overlaps(start, end, windows):
    return any(start < w_end and end > w_start for w_start, w_end in windows)


def check_probes(probes, down_windows, min_answered=PROBE_MIN_ANSWERED):
    """probes: [{"start", "end", "registered", "nodes", "hellos", "unanswered"}];
    down_windows: [(t_kill, t_back + grace)]. Probes overlapping a window are
    not judged. Returns (errors, judged count)."""
    errors, judged = [], 0
    for p in probes:
        if overlaps(p["start"], p["end"], down_windows):
            continue
        judged += 1
        hellos = p.get("hellos") or 0
        answered = (hellos - (p.get("unanswered") or 0)) / hellos if hellos else 0.0
        if p.get("registered", 0) < p.get("nodes", 1) or answered < min_answered:
            errors.append(f'probe at {p["start"]:.1f}s: {p.get("registered", 0)}/{p.get("nodes")} '
                          f'registered, {answered:.0%} of {hellos} HELLOs answered')
    if probes and judged == 0:
        errors.append("no probe ran outside a restart window")
    return errors, judged


def check_alive(exits):
    """exits: [{"t", "code", "expected"}]: unexpected ones are errors."""
    return [f'super peer exited by itself at {e["t"]:.1f}s with status {e["code"]}'
            for e in exits if not e["expected"]]


def check_clients(clients):
    """A client run that crashed (killed by a signal) or hung is an error; one
    that exited non-zero is not (e.g. its nodes could not register during a
    restart or under an attack the super peer does not withstand yet)."""
    errors = []
    for c in clients:
        rc = c.get("rc")
        if rc == "timeout" or (isinstance(rc, int) and rc < 0):
            errors.append(f'{c["kind"]} run at {c["start"]}s: {"hung" if rc == "timeout" else f"killed by signal {-rc}"} '
                          f'(see {c.get("log")})')
    return errors


def restart_times(minutes):
    """When to SIGKILL (seconds into the soak): half time for short runs,
    every 10 minutes for long ones."""
    total = minutes * 60
    if total <= 20:
        return []
    if total < 1200:
        return [total / 2]
    return [float(t) for t in range(600, int(total) - 60, 600)]
