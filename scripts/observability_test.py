#!/usr/bin/env python3
"""Tests the alert rules and the Grafana dashboard of packaging/ against reality.

  scripts/observability_test.py [--build build]

1. `promtool check rules` and `promtool test rules` (input series for every
   alert, packaging/prometheus/drasyl-sp-rules.test.yml).
2. Runs build/drasyl-sp on loopback (free ports, temporary directory),
   registers two nodes with build/drasyl-loadgen, and checks that every metric
   name the rules and the dashboard use, and every label value they match
   on, exists in its /metrics.
3. Runs a real Prometheus server (Debian's package) on loopback with a
   temporary data directory, scraping that super peer as job "drasyl-sp" and
   loading the rules, then asks its HTTP API for the peer count (PromQL) and
   for the rules' health.
Everything it starts is stopped at the end; it takes about 10-20 s.
"""

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sp_testlib import (OutputReader, TestFailure, check, fetch_metrics, free_port,  # noqa: E402
                        free_ports_both, log, metric_samples, metric_sum, register_nodes,
                        wait_banner, wait_metrics)

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "packaging/prometheus/drasyl-sp-rules.yml"
RULES_TEST = ROOT / "packaging/prometheus/drasyl-sp-rules.test.yml"
DASHBOARD = ROOT / "packaging/grafana/drasyl-sp-dashboard.json"
DIFFICULTY = 6
METRIC = re.compile(r"\b(drasyl_[a-z0-9_]+)")
# name{...} selectors and label="value" matchers inside them.
SELECTOR = re.compile(r"\b(drasyl_[a-z0-9_]+)\{([^}]*)\}")
EQUALITY = re.compile(r'\b([a-z_]+)="([^"$]*)"')


def promtool():
    for args in (["check", "rules", str(RULES)], ["test", "rules", str(RULES_TEST)]):
        r = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"promtool {' '.join(args[:2])} {Path(args[2]).name}"
              + ("" if r.returncode == 0 else f":\n{r.stdout}{r.stderr}"))
    alerts = set(re.findall(r"^\s*- alert: (\w+)", RULES.read_text(), re.M))
    tested = set(re.findall(r"^\s*alertname: (\w+)", RULES_TEST.read_text(), re.M))
    check(alerts and alerts <= tested, f"every alert has a unit test ({len(alerts)} alerts; untested: {sorted(alerts - tested)})")
    return alerts


def expressions():
    """(where, PromQL text) of the rules and every dashboard query."""
    # The whole rules file counts (expressions, and names in annotations).
    exprs = [("rules", RULES.read_text())]
    dash = json.loads(DASHBOARD.read_text())
    for panel in dash["panels"]:
        for t in panel.get("targets", []):
            exprs.append((f"dashboard panel '{panel['title']}'", t["expr"]))
    for var in dash["templating"]["list"]:
        exprs.append((f"dashboard variable '{var['name']}'", var["definition"]))
    return exprs


def check_names_exist(metrics_text, exprs):
    samples = metric_samples(metrics_text)
    names = {n for n, _ in samples}
    used = {}
    for where, e in exprs:
        for name in METRIC.findall(e):
            used.setdefault(name, set()).add(where)
    missing = {n: sorted(w) for n, w in used.items() if n not in names}
    check(len(used) >= 10 and not missing,
          f"all {len(used)} metric names of the rules and the dashboard are in /metrics (missing: {missing})")
    bad = []
    for where, e in exprs:
        for name, matchers in SELECTOR.findall(e):
            for label, value in EQUALITY.findall(matchers):
                if not any(n == name and (label, value) in ls for n, ls in samples):
                    bad.append(f'{where}: {name}{{{label}="{value}"}}')
    check(not bad, f"every label value the rules and the dashboard match on exists in /metrics (missing: {bad})")


def prometheus_query(port, query):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    with urllib.request.urlopen(url, timeout=5) as r:
        body = json.load(r)
    if body.get("status") != "success":
        raise TestFailure(f"PromQL {query}: {body}")
    return body["data"]["result"]


def run_prometheus(tmp, metrics_port, expected_peers):
    web_port = free_port()
    config = tmp / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files:\n  - {RULES}\n"
        "scrape_configs:\n  - job_name: drasyl-sp\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{metrics_port}']\n")
    cmd = ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}",
           f"--web.listen-address=127.0.0.1:{web_port}", "--storage.tsdb.retention.time=1h",
           "--log.level=warn"]
    log(f"observability: {' '.join(cmd)}")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    reader = OutputReader(proc)
    try:
        deadline = time.monotonic() + 60
        peers, up = None, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                up = prometheus_query(web_port, 'up{job="drasyl-sp"}')
                result = prometheus_query(web_port, 'sum(drasyl_peers{job="drasyl-sp"})')
                if result:
                    peers = float(result[0]["value"][1])
                    if peers == expected_peers:
                        break
            except (OSError, TestFailure):
                pass  # not ready yet
            time.sleep(0.5)
        check(proc.poll() is None, "prometheus is running" + ("" if proc.poll() is None else ":\n" + reader.text()))
        if proc.poll() is None:
            # Asked again: the scrape that brought the peers may have come
            # between the two queries of the loop's last turn.
            up = prometheus_query(web_port, 'up{job="drasyl-sp"}')
        check(up and up[0]["value"][1] == "1", "Prometheus scrapes the super peer: up{job=\"drasyl-sp\"} == 1")
        check(peers == expected_peers,
              f"PromQL sum(drasyl_peers{{job=\"drasyl-sp\"}}) through the HTTP API = {peers} (expected {expected_peers})")
        # The rules loaded by the server evaluate without errors on real data.
        rules_ok = False
        while time.monotonic() < deadline:
            with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/api/v1/rules", timeout=5) as r:
                groups = json.load(r)["data"]["groups"]
            rules = [rule for g in groups for rule in g["rules"]]
            rules_ok = rules and all(rule.get("health") == "ok" for rule in rules)
            if rules_ok:
                break
            time.sleep(0.5)
        check(rules_ok, f"Prometheus evaluates all {len(rules)} rules with health ok: "
              + ", ".join(f"{r['name']}={r.get('health')}" for r in rules if r.get("health") != "ok"))
        firing = prometheus_query(web_port, 'ALERTS{alertstate="firing"}')
        check(not firing, f"no alert fires for a healthy super peer ({[a['metric'].get('alertname') for a in firing]})")
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=str(ROOT / "build"), help="build directory with drasyl-sp, drasyl-loadgen")
    args = ap.parse_args()
    started = time.monotonic()
    for tool in ("promtool", "prometheus"):
        if shutil.which(tool) is None:
            raise TestFailure(f"{tool} missing: scripts/setup.sh installs Debian's prometheus package")
    promtool()

    build = Path(args.build)
    tmp = Path(tempfile.mkdtemp(prefix="drasyl-observability-test-"))
    udp_port, metrics_port = free_ports_both(2)
    cmd = [str(build / "drasyl-sp"), f"--min_pow_difficulty={DIFFICULTY}",
           f"--udp4_listen=127.0.0.1:{udp_port}", "--udp6_listen=", "--tcp4_listen=", "--tcp6_listen=",
           f"--prometheus_listen=127.0.0.1:{metrics_port}", "--hello_timeout=300000",
           "--workers=1", "--kx_threads=1", f"--identity_file={tmp / 'sp.identity'}"]
    log(f"observability: {' '.join(cmd)}")
    sp = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        reader = OutputReader(sp)
        url, _ = wait_banner(reader, sp)
        register_nodes(str(build / "drasyl-loadgen"), url, DIFFICULTY, str(tmp / "identities"))
        samples = wait_metrics(metrics_port, lambda s: metric_sum(s, "drasyl_peers") >= 2)
        check(metric_sum(samples, "drasyl_peers") == 2, "super peer reports 2 registered peers")
        check_names_exist(fetch_metrics(metrics_port), expressions())
        run_prometheus(tmp, metrics_port, expected_peers=2)
    finally:
        sp.terminate()
        try:
            sp.wait(10)
        except subprocess.TimeoutExpired:
            sp.kill()
            sp.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"observability test: PASS in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except TestFailure as e:
        print(f"observability test: FAIL: {e}", file=sys.stderr)
        sys.exit(1)
