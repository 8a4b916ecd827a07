#!/usr/bin/env python3
"""Unit tests of afxdp_bench.py's pure parts (run by scripts/afxdp-bench.sh first)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import afxdp_bench as b  # noqa: E402


def run(backend, pps_list, workers=1, **extra):
    r = {"backend": backend, "workers": workers,
         "loadgen": {"steps": [{"target_pps": 0, "offered_pps": p * 2, "relayed_pps": p,
                                "loss_pct": 1.0, "latency_us": {"p99": 10}} for p in pps_list]}}
    r.update(extra)
    return r


class PureParts(unittest.TestCase):
    def test_parse_rates(self):
        self.assertEqual(b.parse_rates("100k, 1.5M,0,"), [100000, 1500000, 0])

    def test_metric_values(self):
        text = ('# HELP x\ndrasyl_xdp_verdicts_total{interface="veth0",verdict="pass_not_ip"} 3\n'
                'drasyl_xdp_verdicts_total_other 9\ndrasyl_up 1\n')
        self.assertEqual(b.metric_values(text, "drasyl_xdp_verdicts_total"),
                         {'interface="veth0",verdict="pass_not_ip"': 3.0})
        self.assertEqual(b.metric_values(text, "drasyl_up"), {"": 1.0})

    def test_summary_ratio_per_worker_core_and_goal(self):
        s = b.summarize([run("socket", [100, 200]), run("af_xdp", [300, 700], workers=1),
                         run("af_packet", [400], workers=2)])
        rows = {r["backend"]: r for r in s["rows"]}
        self.assertEqual(rows["socket"]["best_relayed_pps"], 200)
        self.assertAlmostEqual(rows["af_xdp"]["vs_socket"], 3.5)
        self.assertAlmostEqual(rows["af_packet"]["per_worker_pps"], 200)
        self.assertAlmostEqual(rows["af_packet"]["vs_socket"], 1.0)
        self.assertTrue(s["goal"]["met"])
        s = b.summarize([run("socket", [100]), run("af_xdp", [250])])
        self.assertFalse(s["goal"]["met"])

    def test_best_round_of_each_backend_counts(self):
        s = b.summarize([run("socket", [100]), run("af_xdp", [200]), run("socket", [150]),
                         run("af_xdp", [600])])
        rows = {r["backend"]: r for r in s["rows"]}
        self.assertEqual([r["backend"] for r in s["rows"]], ["socket", "af_xdp"])
        self.assertEqual(rows["socket"]["best_relayed_pps"], 150)
        self.assertEqual(rows["af_xdp"]["rounds"], 2)
        self.assertAlmostEqual(rows["af_xdp"]["vs_socket"], 4.0)

    def test_failed_runs_have_no_ratio_and_show_in_the_table(self):
        s = b.summarize([{"backend": "socket", "error": "boom"}, run("af_xdp", [10])])
        self.assertIsNone(s["goal"])
        md = b.markdown(s, [0])
        self.assertIn("failed: boom", md)
        self.assertIn("| af_xdp | 0.000 Mpps (loss 1.00 %) | 0.000 Mpps | - |", md)


if __name__ == "__main__":
    unittest.main()
