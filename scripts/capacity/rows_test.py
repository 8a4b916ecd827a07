"""Unit tests of the capacity report's rows, markdown and self-check:
python3 -m unittest scripts/capacity/rows_test.py"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rows  # noqa: E402


def step(target, offered, relayed, loss=0.0, p99=12.0):
    return {"target_pps": target, "offered_pps": offered, "relayed_pps": relayed, "loss_pct": loss,
            "latency_us": {"p50": 5.0, "p99": p99, "p999": 30.0}, "reordered": 0, "tx_errors": 0}


def loadgen(nodes=1000, payload=64, best_pps=400000, bytes_per_peer=300, registrations=20000):
    steps = [step(0, 900000, 500000, loss=44.4), step(400000, 400000, 400000),
             step(450000, 450000, 440000, loss=2.2)]
    best = steps[1] | {"relayed_bps": best_pps * 143 * 8} if best_pps else None
    if best:
        best["relayed_pps"] = best_pps
    return {"nodes": nodes, "payload_bytes": payload, "message_bytes": 79 + payload,
            "max_lossless": best, "steps": steps, "hello_flood": {"per_s": 150000},
            "registration": {"per_s": registrations, "registered": nodes},
            "bytes_per_peer": bytes_per_peer, "generator_limited": False,
            "hello_rtt_traffic_us": {"p99": 80.0}, "sockets": 4, "pattern": "all", "difficulty": 8,
            "hello_interval_ms": 5000, "sp_rss_kb": 12345}


def record(backend="socket", workers=1, first=True, **kw):
    return rows.run_record(backend, workers, first, {"peers": 1000, "drops": {"x": 1}}, loadgen(**kw))


META = {"quick": True, "load_start": "0.1 0.2 0.3", "load_end": "1 1 1", "difficulty": 8,
        "send_unites": "-1", "duration": "1"}


class RowsTest(unittest.TestCase):
    def test_row_figures(self):
        (r,) = rows.make_rows([record()])
        self.assertEqual(r["max_mpps"], 0.4)
        self.assertEqual(r["max_gbps"], round(400000 * 143 * 8 / 1e9, 4))
        self.assertEqual(r["p99_us"], 12.0)
        self.assertEqual(r["open_loop_offered_mpps"], 0.9)
        self.assertEqual(r["sp_drops"], {"x": 1})
        self.assertEqual([s["offered_mpps"] for s in r["steps"]], [0.4, 0.45, 0.9])  # sorted by offered
        self.assertEqual(rows.check_rows([r]), [])

    def test_later_runs_take_registration_and_memory_from_the_first(self):
        runs = [record(payload=64, bytes_per_peer=300, registrations=20000),
                record(payload=1024, first=False, bytes_per_peer=0, registrations=5)]
        a, b = rows.make_rows(runs)
        self.assertEqual(b["bytes_per_peer"], 300)
        self.assertEqual(b["registrations_per_s"], 20000)
        self.assertEqual(b["payload_bytes"], 1024)

    def test_no_lossless_rate_is_zero_and_fails_the_check(self):
        (r,) = rows.make_rows([record(best_pps=0)])
        self.assertEqual(r["max_mpps"], 0)
        self.assertIsNone(r["p99_us"])
        errors = rows.check_rows([r])
        self.assertIn("capacity.json: no configuration relayed anything without loss", errors)
        self.assertIn("capacity.json[0].p99_us: bad value None", errors)

    def test_check_rows_names_missing_fields_and_ignores_attack_rows(self):
        good = rows.make_rows([record()])[0]
        bad = dict(good)
        del bad["peers"]
        bad["workers"] = True
        errors = rows.check_rows([good, bad, {"attack": "none"}])
        self.assertCountEqual(errors, ["capacity.json[1]: missing peers",
                                       "capacity.json[1].workers: bad value True"])
        self.assertEqual(rows.check_rows([]), ["capacity.json: expected a non-empty array"])

    def test_curves_one_per_backend_and_workers_at_the_base_configuration(self):
        rs = rows.make_rows([record(workers=1), record(workers=2), record(workers=2, payload=1024, first=False),
                             record(workers=2, nodes=20000), record(backend="dpdk")])
        title, cs = rows.curves(rs)
        self.assertEqual(title, "1000 peers, 64-byte payload")
        self.assertEqual([(n, label) for n, label, _ in cs],
                         [("curve-socket-w1.dat", "socket, 1 worker"), ("curve-socket-w2.dat", "socket, 2 workers"),
                          ("curve-dpdk-w1.dat", "dpdk, 1 worker")])
        self.assertEqual(cs[0][2].splitlines()[1], "0.4 0.4 12.0 0.0")

    def test_markdown_table_goals_and_skipped(self):
        rs = rows.make_rows([record(), record(workers=2, nodes=20000, registrations=5000)])
        md = rows.markdown(rs, META, ["dpdk: needs root"], "1000 peers, 64-byte payload")
        self.assertIn("| socket | 1 | 1 000 | 64 | 0.400 | 0.458 | 5.0 | 12.0 | 150 000 | 20 000 | 300 | super peer |", md)
        # goals judged at the largest table: 5000 registrations/s there
        self.assertIn("| control thread, new registrations/s (socket) | ≥ 10 000 | 5 000 (at 20 000 peers) | no |", md)
        self.assertIn("| control thread, HELLO/s of registered nodes (socket) | ≥ 100 000 | 150 000 (at 20 000 peers) | yes |", md)
        self.assertIn("not measured at 1 000 000 peers", md)
        self.assertIn("## Skipped\n\n* dpdk: needs root\n", md)
        self.assertIn("quick sweep", md)
        self.assertIn("(1000 peers, 64-byte payload).", md)

    def test_memory_goal_at_a_million_peers(self):
        rs = rows.make_rows([record(workers=2, nodes=1000000, bytes_per_peer=600)])
        self.assertIn("| memory per registered peer, 2 workers, 1 000 000 peers (socket) | ≤ 512 B | 600 B | no |",
                      "\n".join(rows.goals(rs)))

    def test_write_report_and_check_report(self):
        with tempfile.TemporaryDirectory() as out:
            os.makedirs(os.path.join(out, "logs"))
            with open(os.path.join(out, "logs", "runs.jsonl"), "w") as f:
                f.write(json.dumps(record()) + "\n" + json.dumps(record(workers=2)) + "\n")
            title = rows.write_report(out, META, [])
            self.assertEqual(title, "1000 peers, 64-byte payload")
            self.assertEqual(len(json.load(open(os.path.join(out, "capacity.json")))), 2)
            index = open(os.path.join(out, "logs", "curves.txt")).read().splitlines()
            self.assertEqual(len(index), 3)
            self.assertTrue(os.path.exists(index[1].split("\t")[0]))
            # no PNG yet: the check says so, and nothing else
            (error,) = rows.check_report(out)
            self.assertTrue(error.startswith("capacity.png: "), error)
            with open(os.path.join(out, "capacity.png"), "wb") as f:
                f.write(b"\x89PNG\r\n\x1a\n" + bytes(3000))
            self.assertEqual(rows.check_report(out), [])
            with open(os.path.join(out, "capacity.md"), "w") as f:
                f.write("# nothing\n")
            self.assertEqual(rows.check_report(out), ["capacity.md: table missing or short"])


if __name__ == "__main__":
    unittest.main()
