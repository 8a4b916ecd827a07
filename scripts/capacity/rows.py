"""The capacity report's rows, plot data, capacity.md and its self-check.

Input: OUT/logs/runs.jsonl, one record per load generator run
({"backend", "workers", "first_run", "metrics", "loadgen"}: the super peer's
counters after the run and drasyl-loadgen's --json line). The attack rows
are attacks.py's."""

import json
import os
import platform
import time

# The fields every capacity row must have, with their types.
REQUIRED = {"backend": str, "workers": int, "peers": int, "payload_bytes": int,
            "max_mpps": (int, float), "max_gbps": (int, float), "p99_us": (int, float),
            "bytes_per_peer": (int, float, type(None)), "hello_per_s": (int, float)}


def run_record(backend, workers, first_run, metrics, loadgen):
    """One line of runs.jsonl."""
    return {"backend": backend, "workers": int(workers), "first_run": bool(first_run),
            "metrics": metrics or {}, "loadgen": loadgen}


def make_rows(runs):
    """capacity.json's capacity rows from the runs. Registration figures and
    memory come from the first run against each super peer (later runs find
    the nodes registered)."""
    rows = []
    first_by_sp = {}
    for r in runs:
        lg = r["loadgen"]
        key = (r["backend"], r["workers"], lg["nodes"])
        if r["first_run"]:
            first_by_sp[key] = lg
        first = first_by_sp.get(key, lg)
        best = lg.get("max_lossless") or {}
        steps = sorted(lg["steps"], key=lambda s: s["offered_pps"])
        rows.append({
            "backend": r["backend"],
            "workers": r["workers"],
            "peers": lg["nodes"],
            "payload_bytes": lg["payload_bytes"],
            "max_mpps": round(best.get("relayed_pps", 0) / 1e6, 4),
            "max_gbps": round(best.get("relayed_bps", 0) / 1e9, 4),
            "p99_us": best.get("latency_us", {}).get("p99"),
            "bytes_per_peer": first.get("bytes_per_peer") or None,
            "hello_per_s": lg["hello_flood"]["per_s"],
            # extras
            "registrations_per_s": first["registration"]["per_s"],
            "registered": first["registration"]["registered"],
            "p50_us": best.get("latency_us", {}).get("p50"),
            "p999_us": best.get("latency_us", {}).get("p999"),
            "loss_pct_at_max": best.get("loss_pct"),
            "open_loop_offered_mpps": round(max([s["offered_pps"] for s in lg["steps"]
                                                 if s["target_pps"] == 0] or [0]) / 1e6, 4),
            "generator_limited": lg["generator_limited"],
            "hello_rtt_p99_us": lg["hello_rtt_traffic_us"]["p99"],
            "message_bytes": lg["message_bytes"],
            "sockets": lg["sockets"],
            "pattern": lg["pattern"],
            "difficulty": lg["difficulty"],
            "hello_interval_ms": lg["hello_interval_ms"],
            "sp_rss_kb": first["sp_rss_kb"],
            "sp_peers": r["metrics"].get("peers"),
            "sp_drops": r["metrics"].get("drops", {}),
            "steps": [{"target_pps": s["target_pps"], "offered_mpps": round(s["offered_pps"] / 1e6, 5),
                       "relayed_mpps": round(s["relayed_pps"] / 1e6, 5), "loss_pct": s["loss_pct"],
                       "p50_us": s["latency_us"]["p50"], "p99_us": s["latency_us"]["p99"],
                       "reordered": s["reordered"]} for s in steps],
        })
    return rows


def curves(rows):
    """(title, [(file name, curve name, data text)]): one curve per backend
    and worker count, at the first peer count and the smallest payload."""
    if not rows:
        return None, []
    base_peers = min(r["peers"] for r in rows)
    base_payload = min(r["payload_bytes"] for r in rows if r["peers"] == base_peers)
    out = []
    for r in rows:
        if r["peers"] != base_peers or r["payload_bytes"] != base_payload:
            continue
        name = f'{r["backend"]}, {r["workers"]} worker{"s" if r["workers"] > 1 else ""}'
        data = "# offered_mpps relayed_mpps p99_us loss_pct\n" + "".join(
            f'{s["offered_mpps"]} {s["relayed_mpps"]} {max(s["p99_us"] or 0, 0.1)} {s["loss_pct"]}\n'
            for s in r["steps"])
        out.append((f'curve-{r["backend"]}-w{r["workers"]}.dat', name, data))
    return f"{base_peers} peers, {base_payload}-byte payload", out


def fmt(v):
    if v is None:
        return "–"
    return f"{int(round(v)):,}".replace(",", " ")


def us(v):
    if v is None:
        return "–"
    return f"{v:.1f}" if v < 100 else fmt(v)


def cpu_model():
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def goals(rows):
    """The goal table's lines. The control-thread goals are judged per backend
    at the largest table it was measured with (small tables finish their
    HELLO wave in milliseconds and fit in cache)."""
    md = ["| goal | target | measured | met |", "|---|---|---|---|"]

    def goal(name, target, got, ok):
        md.append(f"| {name} | {target} | {got} | {ok} |")

    for backend in sorted({r["backend"] for r in rows}, key=lambda b: (b != "socket", b)):
        mine = [r for r in rows if r["backend"] == backend]
        top = max(r["peers"] for r in mine)
        at_top = [r for r in mine if r["peers"] == top]
        h = max(r["hello_per_s"] for r in at_top)
        g = max(r["registrations_per_s"] for r in at_top)
        goal(f"control thread, HELLO/s of registered nodes ({backend})", "≥ 100 000",
             f"{fmt(h)} (at {fmt(top)} peers)", "yes" if h >= 100000 else "no")
        goal(f"control thread, new registrations/s ({backend})", "≥ 10 000",
             f"{fmt(g)} (at {fmt(top)} peers)", "yes" if g >= 10000 else "no")
    mem = [r for r in rows if r["workers"] == 2 and r["peers"] >= 1000000 and r["bytes_per_peer"]]
    if mem:
        for r in mem:
            b = r["bytes_per_peer"]
            goal(f'memory per registered peer, 2 workers, 1 000 000 peers ({r["backend"]})', "≤ 512 B",
                 f"{fmt(b)} B", "yes" if b <= 512 else "no")
    else:
        big = sorted([r for r in rows if r["bytes_per_peer"]], key=lambda r: (-r["peers"], -r["workers"]))
        got = (f'{fmt(big[0]["bytes_per_peer"])} B at {fmt(big[0]["peers"])} peers, '
               f'{big[0]["workers"]} worker(s)') if big else "–"
        goal("memory per registered peer, 2 workers, 1 000 000 peers", "≤ 512 B", got,
             "not measured at 1 000 000 peers (run the full sweep)")
    return md


def markdown(rows, meta, skipped, curves_title):
    """capacity.md's text. `meta`: quick, load_start, load_end, difficulty,
    send_unites, duration."""
    md = []
    md.append("# Super peer capacity report\n")
    md.append(f"{time.strftime('%Y-%m-%d %H:%M %Z')} on {platform.node()}: {os.cpu_count()} cores "
              f"({cpu_model()}), Linux {platform.release()}; {'quick' if meta['quick'] else 'full'} sweep. "
              f"Load average {meta['load_start']} at the start, {meta['load_end']} at the end "
              "(other work on the machine lowers every figure).\n")
    md.append("Super peer and load generator share this machine and talk over loopback, so every "
              "figure is a floor for a super peer on its own cores and NICs. Node identities have "
              f"proof-of-work difficulty {meta['difficulty']} (the super peer's MIN_POW_DIFFICULTY is "
              "set to match; checking a proof costs the same at any difficulty). "
              f"SEND_UNITES={meta['send_unites']}; APP traffic between every ordered pair of nodes in "
              f"turn; {meta['duration']} s per step.\n")
    md.append("| backend | workers | peers | payload B | max Mpps | max Gbit/s | p50 µs | p99 µs | "
              "HELLO/s (known) | registrations/s | bytes/peer | limit |")
    md.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        limit = "generator" if r["generator_limited"] else "super peer"
        md.append(f'| {r["backend"]} | {r["workers"]} | {fmt(r["peers"])} | {r["payload_bytes"]} | '
                  f'{r["max_mpps"]:.3f} | {r["max_gbps"]:.3f} | {us(r["p50_us"])} | {us(r["p99_us"])} | '
                  f'{fmt(r["hello_per_s"])} | {fmt(r["registrations_per_s"])} | '
                  f'{fmt(r["bytes_per_peer"])} | {limit} |')
    md.append("")
    md.append("* **max Mpps / Gbit/s**: the highest relayed rate at which less than 0.1 % of the offered "
              "APP messages were lost (Gbit/s counts whole drasyl messages: 79-byte header + payload). "
              "**p50/p99**: one-way latency node → super peer → node at that rate (sockets: send time "
              "to the kernel's receive timestamp; DPDK: TSC when the burst is handed to the port to TSC "
              "when the burst comes back, the generator polling without pause). Over DPDK, messages the "
              "port refuses (memif's ring to the super peer full, where a NIC would overflow) count as "
              "lost. **limit** says who gave out first: *generator* means the load generator "
              "could not offer more and the super peer lost nothing, so the super peer can do more.")
    md.append("* **HELLO/s (known)**: HELLOs of registered nodes answered per second (control thread). "
              "**registrations/s**: new peers per second during the initial HELLO wave (each costs the "
              "control thread an X25519 key exchange). **bytes/peer**: growth of the super peer's VmRSS "
              "from start to all peers registered, divided by the peers (meaningful from ~100 000 peers; "
              "small tables are dominated by fixed costs and page granularity).")
    md.append("")
    md.append("## Goals\n")
    md.extend(goals(rows))
    md.append("")
    if skipped:
        md.append("## Skipped\n")
        for s in skipped:
            md.append(f"* {s}")
        md.append("")
    md.append("## Files\n")
    md.append("* `capacity.json`: these rows, with every step of each rate search (`steps`) and the "
              "super peer's own counters (`sp_peers`, `sp_drops`).")
    md.append("* `capacity.png`: relayed Mpps and p99 latency against offered load"
              + (f" ({curves_title})" if curves_title else "") + ".")
    md.append("* `logs/`: the super peer's and the load generator's output of every run.")
    return "\n".join(md) + "\n"


def write_report(out, meta, skipped):
    """capacity.json, capacity.md and the plot data (logs/curve-*.dat,
    logs/curves.txt) from logs/runs.jsonl; the curves' title (None: no curve)."""
    logs = os.path.join(out, "logs")
    with open(os.path.join(logs, "runs.jsonl")) as f:
        runs = [json.loads(l) for l in f if l.strip()]
    rows = make_rows(runs)
    with open(os.path.join(out, "capacity.json"), "w") as f:
        json.dump(rows, f, indent=1)
        f.write("\n")
    title, cs = curves(rows)
    if rows:
        with open(os.path.join(logs, "curves.txt"), "w") as index:
            index.write(f"{title}\n")
            for name, label, data in cs:
                path = os.path.join(logs, name)
                with open(path, "w") as f:
                    f.write(data)
                index.write(f"{path}\t{label}\n")
    with open(os.path.join(out, "capacity.md"), "w") as f:
        f.write(markdown(rows, meta, skipped, title if cs else None))
    return title if cs else None


def check_rows(rows):
    """Errors of capacity.json's content (the attack rows are attacks.py's)."""
    errors = []
    if not isinstance(rows, list) or not rows:
        return ["capacity.json: expected a non-empty array"]
    rows = [r for r in rows if "attack" not in r]
    for i, r in enumerate(rows):
        for k, t in REQUIRED.items():
            if k not in r:
                errors.append(f"capacity.json[{i}]: missing {k}")
            elif not isinstance(r[k], t) or isinstance(r[k], bool):
                errors.append(f"capacity.json[{i}].{k}: bad value {r[k]!r}")
    if not any(r.get("max_mpps", 0) > 0 for r in rows):
        errors.append("capacity.json: no configuration relayed anything without loss")
    if not any(isinstance(r.get("bytes_per_peer"), (int, float)) and r["bytes_per_peer"] > 0
               for r in rows):
        errors.append("capacity.json: no memory-per-peer figure")
    return errors


def check_report(out):
    """Errors of the report files in `out` (empty: complete and well-formed)."""
    errors = []
    rows = None
    try:
        with open(os.path.join(out, "capacity.json")) as f:
            rows = json.load(f)
        errors += check_rows(rows)
    except Exception as e:
        errors.append(f"capacity.json: {e}")
    capacity_rows = [r for r in rows if "attack" not in r] if isinstance(rows, list) else []
    try:
        with open(os.path.join(out, "capacity.md")) as f:
            md = f.read()
        lines = [l for l in md.splitlines() if l.startswith("| ") and " | " in l]
        if "| backend | workers | peers |" not in md or (capacity_rows and len(lines) < len(capacity_rows) + 1):
            errors.append("capacity.md: table missing or short")
    except OSError as e:
        errors.append(f"capacity.md: {e}")
    try:
        with open(os.path.join(out, "capacity.png"), "rb") as f:
            png = f.read()
        if not png.startswith(b"\x89PNG\r\n\x1a\n") or len(png) < 2000:
            errors.append("capacity.png: not a PNG image")
    except OSError as e:
        errors.append(f"capacity.png: {e}")
    return errors
