#!/usr/bin/env python3
"""Attack rows of the capacity report (scripts/capacity-report.sh).

Each row comes from one `drasyl-loadgen --attack=KIND --json` run against a
super peer of its own with default limits (logs/attack-KIND.json) and that
super peer's drop counters afterwards (logs/attack-KIND.metrics.json). The
rows go into capacity.json (marked by an "attack" key, next to the capacity
rows) and a table into capacity.md, with issue 16's goals beside them:

  collect OUT   append the rows and the table to OUT/capacity.json and .md
  check OUT     exit 1 when the attack rows are missing or malformed
"""

import glob
import json
import os
import sys

GOAL_WITHIN_1S_PCT = 99.0
GOAL_RTT_P99_MS = 5.0
# Drop reasons that show a defence at work (or its absence), reported per row.
DEFENCE_DROPS = ("replayed_hello", "source_rate_limited", "source_peer_limit",
                 "source_key_exchange_limit", "control_ring_full", "peer_table_full", "bad_tag")
ORDER = ("none", "forged", "sybil", "garbage", "tcp-idle", "replay")


def row_from_run(lg, metrics):
    """One attack row from the load generator's JSON and the super peer's
    counters ({"drops": {reason: n}, ...})."""
    kind = lg["attack"]
    row = {
        "attack": kind,
        "transport": lg.get("transport"),
        "attack_bind": lg.get("attack_bind"),
        "attack_identities": lg.get("attack_identities"),
        "seconds": lg.get("seconds"),
        "attack_sent": lg.get("attack_sent"),
        "attack_rate_per_s": lg.get("attack_rate_per_s"),
        "attacker_acks": lg.get("attacker_acks"),
        "fresh_nodes": lg.get("fresh_nodes"),
        "fresh_registered_within_1s_pct": lg.get("fresh_registered_within_1s_pct"),
        "fresh_registration_p50_ms": lg.get("fresh_registration_p50_ms"),
        "fresh_registration_p99_ms": lg.get("fresh_registration_p99_ms"),
        "registered_nodes": lg.get("registered_nodes"),
        "registered_hello_rtt_p50_ms": lg.get("registered_hello_rtt_p50_ms"),
        "registered_hello_rtt_p99_ms": lg.get("registered_hello_rtt_p99_ms"),
        "registered_hellos_unanswered": lg.get("registered_hellos_unanswered"),
        "sp_drops": {k: v for k, v in (metrics.get("drops") or {}).items() if k in DEFENCE_DROPS},
    }
    if kind == "tcp-idle":
        row["attack_connections_peak"] = lg.get("attack_connections_peak")
        row["attack_connections_closed_by_sp"] = lg.get("attack_connections_closed_by_sp")
    if kind == "replay":
        row["victim_apps_sent"] = lg.get("victim_apps_sent")
        row["victim_apps_to_victim"] = lg.get("victim_apps_to_victim")
        row["victim_apps_to_attacker"] = lg.get("victim_apps_to_attacker")
        row["replay"] = lg.get("replay")
    row["goals_met"] = goals_met(row)
    return row


def goals_met(row):
    """Whether the row meets issue 16's goals: for replay, every APP to the
    victim reached it and none the attacker; for the others, >= 99 % of the
    fresh nodes registered within 1 s and the registered nodes' HELLO round
    trip p99 <= 5 ms (an unanswered HELLO counts as infinitely slow)."""
    if row["attack"] == "replay":
        sent = row.get("victim_apps_sent") or 0
        return sent > 0 and row.get("victim_apps_to_attacker") == 0 and \
            row.get("victim_apps_to_victim") == sent
    within = row.get("fresh_registered_within_1s_pct")
    p99 = row.get("registered_hello_rtt_p99_ms")
    return within is not None and within >= GOAL_WITHIN_1S_PCT and \
        p99 is not None and p99 <= GOAL_RTT_P99_MS


def fmt_ms(v):
    if v is None:
        return "never"
    return f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_int(v):
    return "–" if v is None else f"{int(round(v)):,}".replace(",", " ")


def markdown(rows):
    """The attack table and its notes (a list of lines)."""
    if not rows:
        return []
    md = ["## Attacks\n",
          "One address (the attacker's) against a super peer with default limits "
          "(MIN_POW_DIFFICULTY = the identities' difficulty), while 64 fresh nodes from other "
          "addresses register (each re-sending its HELLO every 250 ms until acknowledged) and 16 "
          "nodes registered before the attack send a HELLO every 100 ms. "
          f"Goals (issue 16): ≥ {GOAL_WITHIN_1S_PCT:.0f} % of fresh nodes registered within 1 s, "
          f"registered nodes' HELLO round trip p99 ≤ {GOAL_RTT_P99_MS:.0f} ms; replay: every APP "
          "to the victim reaches it, none the attacker.\n",
          "| attack | sent/s | attacker ACKs | fresh ≤ 1 s | fresh p50 ms | fresh p99 ms | "
          "HELLO RTT p50 ms | HELLO RTT p99 ms | defence drops | goals met |",
          "|---|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for r in rows:
        drops = ", ".join(f"{k} {fmt_int(v)}" for k, v in sorted(r["sp_drops"].items())) or "–"
        if r["attack"] == "replay":
            over = sorted({c.get("transport", "udp").upper() for c in (r.get("replay") or [])})
            md.append(f'| replay (newest and older HELLO; {" and ".join(over) or "UDP"}) | – | {fmt_int(r["attacker_acks"])} | '
                      f'– | – | – | – | – | {drops} | '
                      f'{"yes" if r["goals_met"] else "no"}: {fmt_int(r.get("victim_apps_to_victim"))}'
                      f' of {fmt_int(r.get("victim_apps_sent"))} APPs reached the victim, '
                      f'{fmt_int(r.get("victim_apps_to_attacker"))} the attacker |')
            continue
        name = r["attack"]
        rate = fmt_int(r["attack_rate_per_s"])
        if name == "tcp-idle":
            name += f' (TCP nodes; {fmt_int(r.get("attack_connections_peak"))} open at most)'
            rate += " conn."
        within = r["fresh_registered_within_1s_pct"]
        md.append(f'| {name} | {rate} | {fmt_int(r["attacker_acks"])} | '
                  f'{"–" if within is None else f"{within:.1f} %"} | '
                  f'{fmt_ms(r["fresh_registration_p50_ms"])} | {fmt_ms(r["fresh_registration_p99_ms"])} | '
                  f'{fmt_ms(r["registered_hello_rtt_p50_ms"])} | {fmt_ms(r["registered_hello_rtt_p99_ms"])} | '
                  f'{drops} | {"yes" if r["goals_met"] else "no"} |')
    md.append("")
    md.append("* **sent/s**: the attacker's datagrams (tcp-idle: connection attempts) per second, "
              "from one core. **never**: the quantile fell on a node that never registered or a "
              "HELLO that was never answered. **defence drops**: the super peer's "
              "`drasyl_drops_total` of the reasons that show admission at work. "
              "`none` is the same measurement without an attack. Reproduce one row: "
              "`drasyl-loadgen --url <url> --attack=<kind> --json` (README, sizing).")
    md.append("")
    return md


def load_rows(out):
    rows = []
    for path in glob.glob(os.path.join(out, "logs", "attack-*.json")):
        if path.endswith(".metrics.json"):
            continue
        try:
            lines = open(path).read().strip().splitlines()
            lg = json.loads(lines[-1]) if lines else None
        except (OSError, ValueError):
            lg = None
        if not lg or "attack" not in lg:
            continue
        try:
            metrics = json.load(open(path[:-len(".json")] + ".metrics.json"))
        except (OSError, ValueError):
            metrics = {}
        rows.append(row_from_run(lg, metrics))
    rank = {k: i for i, k in enumerate(ORDER)}
    rows.sort(key=lambda r: rank.get(r["attack"], len(ORDER)))
    return rows


def check(rows, expected):
    """Errors when an expected attack has no row or a row lacks its figures."""
    errors = []
    kinds = {r["attack"] for r in rows}
    for k in expected:
        if k not in kinds:
            errors.append(f"no attack row for {k}")
    for r in rows:
        if r["attack"] == "replay":
            if not r.get("victim_apps_sent"):
                errors.append("replay row: no APP was sent to the victim")
            continue
        if r["attack"] != "none" and not r.get("attack_sent"):
            errors.append(f'{r["attack"]} row: the attacker sent nothing')
        if not r.get("fresh_nodes") or not r.get("registered_nodes"):
            errors.append(f'{r["attack"]} row: no fresh or registered nodes measured')
    return errors


def main(argv):
    if len(argv) < 2 or argv[0] not in ("collect", "check"):
        print(__doc__, file=sys.stderr)
        return 2
    out = argv[1]
    rows = load_rows(out)
    if argv[0] == "check":
        expected = argv[2].split() if len(argv) > 2 else []
        errors = check(rows, expected)
        for e in errors:
            print(f"capacity-report: attacks: {e}", file=sys.stderr)
        return 1 if errors else 0
    cap_path = os.path.join(out, "capacity.json")
    cap = json.load(open(cap_path)) if os.path.exists(cap_path) else []
    cap = [r for r in cap if "attack" not in r] + rows
    with open(cap_path, "w") as f:
        json.dump(cap, f, indent=1)
        f.write("\n")
    md_path = os.path.join(out, "capacity.md")
    text = open(md_path).read() if os.path.exists(md_path) else ""
    table = "\n".join(markdown(rows))
    # Before the goals of the capacity rows, else at the end.
    marker = "## Goals\n"
    text = text.replace(marker, table + "\n" + marker, 1) if marker in text else text + "\n" + table
    with open(md_path, "w") as f:
        f.write(text if text.endswith("\n") else text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
