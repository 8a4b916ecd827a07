"""What scripts/memif-bench.sh reports, from testpmd's port statistics and
drasyl-loadgen's JSON: the link alone, the ceiling (testpmd forwarding), the
super peer's figures and their ratio, and the medians of several rounds.
A problem with the input raises ValueError with what is missing."""

import os
import platform
import re
import statistics
import time

STATS_BLOCK = re.compile(r"NIC statistics for port 0\s+#+(.*?)#{20,}", re.S)


def stats_blocks(text):
    """The bodies of testpmd's `show port stats 0` answers, in order."""
    return STATS_BLOCK.findall(text)


def field(block, name):
    m = re.search(name + r":\s+(\d+)", block)
    if not m:
        raise ValueError(f"no {name} in testpmd's port statistics")
    return int(m.group(1))


def window_rates(text, what):
    """(Rx-pps, Tx-pps) in Mpps of the second answer (its "since last show"
    rates: the window between the two, timed by testpmd's TSC)."""
    blocks = stats_blocks(text)
    if len(blocks) < 2:
        raise ValueError(f"expected 2 'show port stats 0' answers in {what}, found {len(blocks)}")
    return field(blocks[1], "Rx-pps") / 1e6, field(blocks[1], "Tx-pps") / 1e6


def link_alone(texts, frame):
    """Step 0's JSON from the four testpmd outputs: texts[(name, role)] with
    name oneway/roundtrip and role server/client."""
    o_rx, _ = window_rates(texts[("oneway", "server")], "raw-oneway-server.out")
    _, o_tx = window_rates(texts[("oneway", "client")], "raw-oneway-client.out")
    _, r_fwd = window_rates(texts[("roundtrip", "server")], "raw-roundtrip-server.out")
    r_rx, r_tx = window_rates(texts[("roundtrip", "client")], "raw-roundtrip-client.out")
    return {
        "frame_bytes": frame,
        "one_way": {"modes": "txonly (client, CPU 0) -> rxonly (server, CPU 1)",
                    "received_mpps": round(o_rx, 4), "sent_mpps": round(o_tx, 4)},
        "round_trip": {"modes": "flowgen (client, CPU 0: sends and receives) <-> io (server, CPU 1)",
                       "returned_mpps": round(r_rx, 4), "sent_mpps": round(r_tx, 4),
                       "forwarded_mpps": round(r_fwd, 4)},
    }


def ceiling(testpmd_text, lg, windows, floor_rate):
    """Step 1's JSON: testpmd's rates over each measuring window (`windows`:
    [(mode name, t0, t1)], two answers each) and the loadgen's floor step."""
    blocks = stats_blocks(testpmd_text)
    if len(windows) != 2 or len(blocks) != 4:
        raise ValueError(f"expected 4 'show port stats 0' answers in testpmd's output, found {len(blocks)}")
    open_loop = [s for s in lg["steps"] if s["target_pps"] == 0]
    if len(open_loop) != 2:
        raise ValueError("the loadgen did not run both open-loop steps")
    modes = {}
    for i, (name, t0, t1) in enumerate(windows):
        a, b = blocks[2 * i], blocks[2 * i + 1]
        dt = float(t1) - float(t0)
        rx = field(b, "RX-packets") - field(a, "RX-packets")
        tx = field(b, "TX-packets") - field(a, "TX-packets")
        modes[name] = {
            "window_s": round(dt, 3),
            # testpmd's own rates between the two answers (its TSC)
            "forwarded_mpps": round(field(b, "Tx-pps") / 1e6, 4),
            "received_mpps": round(field(b, "Rx-pps") / 1e6, 4),
            # the same from the counters over the script's clock
            "forwarded_mpps_counters": round(tx / dt / 1e6, 4),
            "received_mpps_counters": round(rx / dt / 1e6, 4),
            # io forwarding: what was received and not sent back was dropped at TX
            "tx_dropped_pct": round(100 * (rx - tx) / rx, 2) if rx else None,
            "loadgen_offered_mpps": round(open_loop[i]["offered_pps"] / 1e6, 4),
            "loadgen_tx_errors": open_loop[i]["tx_errors"],
        }
    best = max(modes, key=lambda m: modes[m]["forwarded_mpps"])
    floor = [s for s in lg["steps"] if s["target_pps"] == float(floor_rate)]
    if len(floor) != 1:
        raise ValueError("the loadgen did not run the floor step")
    f = floor[0]
    return {
        "tool": "dpdk-testpmd", "forward_mode": "io", "forwarding_lcores": 1,
        "forwarded_mpps": modes[best]["forwarded_mpps"], "best_of": best,
        "modes": modes, "registered": lg["registration"]["registered"],
        # the path without the super peer (testpmd 5tswap), measured by the loadgen
        "floor": {"forward_mode": "5tswap", "target_mpps": round(f["target_pps"] / 1e6, 4),
                  "offered_mpps": round(f["offered_pps"] / 1e6, 4),
                  "returned_mpps": round(f["relayed_pps"] / 1e6, 4), "loss_pct": f["loss_pct"],
                  "p50_us": f["latency_us"]["p50"], "p99_us": f["latency_us"]["p99"],
                  "p999_us": f["latency_us"]["p999"]},
    }


def link_alone_lines(raw):
    return [f"memif-bench: the link alone, one way (testpmd txonly -> rxonly): "
            f"{raw['one_way']['received_mpps']:.3f} Mpps",
            f"memif-bench: the link alone, round trip (testpmd flowgen <-> io): "
            f"{raw['round_trip']['returned_mpps']:.3f} Mpps back "
            f"({raw['round_trip']['sent_mpps']:.3f} Mpps sent)"]


def ceiling_lines(c):
    f = c["floor"]
    lines = [f"memif-bench: floor, testpmd 5tswap at {f['target_mpps']:.3f} Mpps: "
             f"{f['returned_mpps']:.3f} Mpps back, loss {f['loss_pct']} %, latency p50 {f['p50_us']} us, "
             f"p99 {f['p99_us']} us"]
    for name, m in c["modes"].items():
        lines.append(f"memif-bench: ceiling, testpmd {name.replace('_', ' ')}: forwarded "
                     f"{m['forwarded_mpps']:.3f} Mpps (received {m['received_mpps']:.3f}, "
                     f"{m['tx_dropped_pct']} % dropped at TX; loadgen offered "
                     f"{m['loadgen_offered_mpps']:.3f} Mpps)")
    return lines


def result(lg, c, raw, run, goal):
    """The JSON of --out. `run`: nodes, payload, duration, load_start,
    load_end, elapsed, search (bool)."""
    search = run["search"]
    ol = max((s for s in lg["steps"] if s["target_pps"] == 0), key=lambda s: s["relayed_pps"])
    best = lg.get("max_lossless") or {}
    ceil = c["forwarded_mpps"]
    sp_ol = ol["relayed_pps"] / 1e6
    sp_ll = best.get("relayed_pps", 0) / 1e6 if best else None

    def ratio(x):
        return round(100 * x / ceil, 1) if ceil > 0 and x is not None else None
    res = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "host": platform.node(), "cpus": os.cpu_count(),
        "load_average": {"start": run["load_start"], "end": run["load_end"]},
        "elapsed_s": int(run["elapsed"]),
        "nodes": int(run["nodes"]), "payload_bytes": int(run["payload"]),
        "message_bytes": lg["message_bytes"],
        "step_seconds": float(run["duration"]), "memif": {"loadgen_role": "client", "rsize": 14},
        "pinning": {"lcore1": "testpmd forwarding lcore / super peer worker",
                    "lcore0": "loadgen (taskset -c 0, EAL -l 0), testpmd main lcore, super peer control thread"},
        "link_alone": raw,
        "ceiling": c,
        "super_peer": {
            "workers": 1,
            "open_loop": {"offered_mpps": round(ol["offered_pps"] / 1e6, 4),
                          "relayed_mpps": round(sp_ol, 4), "loss_pct": ol["loss_pct"],
                          "p99_us": ol["latency_us"]["p99"]},
            "max_lossless_mpps": round(sp_ll, 4) if sp_ll is not None and search else None,
            "max_lossless_p99_us": best.get("latency_us", {}).get("p99") if search else None,
            "max_lossless_p50_us": best.get("latency_us", {}).get("p50") if search else None,
            "generator_limited": lg["generator_limited"] if search else None,
            "steps": [{"target_pps": s["target_pps"], "offered_mpps": round(s["offered_pps"] / 1e6, 4),
                       "relayed_mpps": round(s["relayed_pps"] / 1e6, 4), "loss_pct": s["loss_pct"]}
                      for s in lg["steps"]],
        },
        # the super peer's open-loop relayed rate against the best testpmd mode
        "ratio_pct": ratio(sp_ol),
        "ratio_lossless_pct": ratio(sp_ll) if search else None,
        "ratio_vs_plain_io_pct": round(100 * sp_ol / c["modes"]["io"]["forwarded_mpps"], 1)
                                 if c["modes"]["io"]["forwarded_mpps"] > 0 else None,
        "note": "the generator sends and receives on lcore 0 alone, so both figures can be "
                "bounded by what it absorbs (compare received_mpps with forwarded_mpps)",
        "goal_pct": goal,
    }
    res["goal_met"] = res["ratio_pct"] is not None and res["ratio_pct"] >= goal
    return res


def result_lines(res, lg, search):
    """The summary printed at the end of a round."""
    raw, c = res["link_alone"], res["ceiling"]
    ol = max((s for s in lg["steps"] if s["target_pps"] == 0), key=lambda s: s["relayed_pps"])
    best = lg.get("max_lossless") or {}
    sp_ll = best.get("relayed_pps", 0) / 1e6 if best else None
    lines = []
    if raw:
        lines.append(f"link alone, testpmd txonly -> rxonly:    {raw['one_way']['received_mpps']:.3f} Mpps one way")
        lines.append(f"link alone, testpmd flowgen <-> io:      {raw['round_trip']['returned_mpps']:.3f} Mpps round trip")
    fl = c["floor"]
    lines.append(f"floor, loadgen <-> testpmd 5tswap:       {fl['returned_mpps']:.3f} Mpps at "
                 f"{fl['target_mpps']:.3f}, loss {fl['loss_pct']} %, p50 {fl['p50_us']} us, p99 {fl['p99_us']} us")
    for name, m in c["modes"].items():
        label = f"testpmd {name.replace('_', ' ')}, 1 lcore:"
        lines.append(f"ceiling, {label:<32}{m['forwarded_mpps']:.3f} Mpps forwarded "
                     f"(loadgen offered {m['loadgen_offered_mpps']:.3f} Mpps)")
    lines.append(f"super peer (DPDK, 1 worker), open loop:  {ol['relayed_pps'] / 1e6:.3f} Mpps relayed "
                 f"(offered {ol['offered_pps'] / 1e6:.3f} Mpps, loss {ol['loss_pct']:.2f} %)")
    if search:
        lines.append(f"super peer, loss < 0.1 %:                {sp_ll or 0:.3f} Mpps relayed"
                     + (f", p50 {best['latency_us']['p50']} us, p99 {best['latency_us']['p99']} us" if best else "")
                     + (" (generator-limited)" if lg["generator_limited"] else ""))
    lines.append(f"ratio: {res['ratio_pct']} % of the ceiling ({c['forwarded_mpps']:.3f} Mpps, testpmd "
                 f"{c['best_of'].replace('_', ' ')}) open loop"
                 + (f", {res['ratio_lossless_pct']} % without loss" if search else "")
                 + f"; {res['ratio_vs_plain_io_pct']} % of plain io"
                 + f" (goal >= {res['goal_pct']} %: {'met' if res['goal_met'] else 'not met'})")
    return lines


def rounds_result(rounds, paths, goal):
    """The medians of several rounds' results (None where no round has the figure)."""
    def med(get):
        xs = [x for x in (get(r) for r in rounds) if x is not None]
        return round(statistics.median(xs), 4) if xs else None
    res = {
        "rounds": len(rounds), "round_files": paths,
        "ceiling_mpps": med(lambda r: r["ceiling"]["forwarded_mpps"]),
        "super_peer_open_loop_mpps": med(lambda r: r["super_peer"]["open_loop"]["relayed_mpps"]),
        "super_peer_max_lossless_mpps": med(lambda r: r["super_peer"]["max_lossless_mpps"]),
        # the median of the per-round ratios: each round's two figures ran seconds apart
        "ratio_pct": med(lambda r: r["ratio_pct"]),
        "ratio_pct_per_round": [r["ratio_pct"] for r in rounds],
        "ratio_lossless_pct": med(lambda r: r["ratio_lossless_pct"]),
        "goal_pct": goal,
    }
    res["goal_met"] = res["ratio_pct"] is not None and res["ratio_pct"] >= goal
    return res


def rounds_lines(res):
    return [f"{res['rounds']} rounds, medians: ceiling {res['ceiling_mpps']} Mpps, super peer open loop "
            f"{res['super_peer_open_loop_mpps']} Mpps"
            + (f", loss < 0.1 % {res['super_peer_max_lossless_mpps']} Mpps"
               if res["super_peer_max_lossless_mpps"] is not None else ""),
            f"ratio: median {res['ratio_pct']} % of the ceiling (rounds: "
            f"{', '.join(str(x) for x in res['ratio_pct_per_round'])}) "
            f"(goal >= {res['goal_pct']} %: {'met' if res['goal_met'] else 'not met'})"]
