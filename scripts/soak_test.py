"""Unit tests of the soak's checks (scripts/soak_checks.py): python3 -m unittest scripts/soak_test.py"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import soak_checks as soak  # noqa: E402

METRICS = """\
# HELP drasyl_rx_packets_total Datagrams/frames received.
drasyl_rx_packets_total{worker="0"} 100
drasyl_rx_packets_total{worker="1"} 50
drasyl_rx_packets_total{worker="control"} 0
drasyl_relayed_packets_total{worker="0"} 60
drasyl_relayed_packets_total{worker="1"} 10
drasyl_to_control_total{worker="0"} 30
drasyl_to_control_total{worker="1"} 20
drasyl_drops_total{reason="bad_magic"} 30
drasyl_worker_drops_total{worker="0",reason="bad_magic"} 10
drasyl_worker_drops_total{worker="0",reason="tx_failed"} 5
drasyl_worker_drops_total{worker="1",reason="bad_magic"} 20
drasyl_worker_drops_total{worker="control",reason="bad_tag"} 7
"""


class ParseAndBalance(unittest.TestCase):
    def test_parses_per_worker_series(self):
        m = soak.parse_metrics(METRICS)
        self.assertEqual(m["0"], {"rx": 100, "relayed": 60, "to_control": 30, "drops": 10,
                                  "tx_failed": 5})
        self.assertEqual(m["1"]["drops"], 20)
        self.assertEqual(m["control"]["drops"], 7)

    def test_balanced_workers_pass(self):
        self.assertEqual(soak.check_balance(soak.parse_metrics(METRICS), 0), [])

    def test_tx_failed_is_not_counted_twice(self):
        # tx_failed messages are in relayed already: counting them again
        # would make worker 0 look off by 5.
        m = soak.parse_metrics(METRICS)
        self.assertEqual(m["0"]["rx"], m["0"]["relayed"] + m["0"]["drops"] + m["0"]["to_control"])

    def test_unbalanced_worker_is_reported_beyond_slack(self):
        m = soak.parse_metrics(METRICS.replace('{worker="1"} 50', '{worker="1"} 58'))
        errors = soak.check_balance(m, 0)
        self.assertEqual(len(errors), 1)
        self.assertIn("worker 1", errors[0])
        self.assertEqual(soak.check_balance(m, 8), [])

    def test_no_worker_series_is_no_error_but_nothing_checked(self):
        self.assertEqual(soak.check_balance(soak.parse_metrics("drasyl_info 1\n"), 0), [])


class Reregistration(unittest.TestCase):
    def test_peers_gauge_is_parsed(self):
        text = 'drasyl_peers{transport="udp"} 180\ndrasyl_peers{transport="tcp"} 3\n'
        self.assertEqual(soak.parse_peers_udp(text), 180)
        self.assertIsNone(soak.parse_peers_udp("drasyl_info 1\n"))

    def test_nodes_back_after_a_restart_pass(self):
        samples = [(29.0, 200), (31.0, 0), (32.0, 40), (34.0, 195)]
        self.assertEqual(soak.check_reregistered(samples, [30.5], 100, 10), [])

    def test_nodes_not_back_fail(self):
        samples = [(31.0, 0), (35.0, 20), (39.0, 30), (45.0, 200)]
        errors = soak.check_reregistered(samples, [30.5], 100, 10)
        self.assertEqual(len(errors), 1)
        self.assertIn("at most 30", errors[0])

    def test_restart_without_samples_is_not_judged(self):
        self.assertEqual(soak.check_reregistered([(10.0, 0)], [30.5], 100, 10), [])


class Rss(unittest.TestCase):
    def series(self, pid, values, t0=0.0):
        return [(t0 + i, pid, v) for i, v in enumerate(values)]

    def test_flat_after_warmup_passes(self):
        samples = self.series(1, [10000, 30000, 31000, 31000] + [32000] * 12)
        errors, fig = soak.check_rss(samples)
        self.assertEqual(errors, [])
        self.assertEqual(fig[1]["warmup_max_kb"], 31000)

    def test_growth_beyond_bound_fails(self):
        samples = self.series(1, [30000] * 4 + [30000 + 1000 * i for i in range(12)])
        errors, _ = soak.check_rss(samples)  # ends at 41000 > 30000 * 1.1 + 2048
        self.assertEqual(len(errors), 1)
        self.assertIn("pid 1", errors[0])

    def test_each_process_is_judged_on_its_own(self):
        # A restarted process starts small again: not a drop to hide growth
        # of the first one, and its own warm-up is its first quarter.
        first = self.series(1, [50000] * 8)
        second = self.series(2, [5000, 20000, 30000, 30000] + [31000] * 8, t0=8)
        errors, fig = soak.check_rss(first + second)
        self.assertEqual(errors, [])
        self.assertEqual(set(fig), {1, 2})

    def test_too_short_a_life_is_not_judged(self):
        errors, fig = soak.check_rss(self.series(3, [1000, 90000]))
        self.assertEqual((errors, fig), ([], {}))


class Probes(unittest.TestCase):
    def probe(self, start, registered=2, hellos=20, unanswered=0):
        return {"start": start, "end": start + 2.5, "nodes": 2, "registered": registered,
                "hellos": hellos, "unanswered": unanswered}

    def test_answered_probes_pass(self):
        errors, judged = soak.check_probes([self.probe(0), self.probe(5, unanswered=5)], [])
        self.assertEqual((errors, judged), ([], 2))

    def test_unanswered_probe_fails(self):
        errors, _ = soak.check_probes([self.probe(0, unanswered=15)], [])
        self.assertEqual(len(errors), 1)
        errors, _ = soak.check_probes([self.probe(0, registered=1)], [])
        self.assertEqual(len(errors), 1)
        errors, _ = soak.check_probes([self.probe(0, hellos=0)], [])
        self.assertEqual(len(errors), 1)

    def test_probe_during_restart_is_not_judged(self):
        errors, judged = soak.check_probes([self.probe(10, registered=0), self.probe(20)],
                                           [(11.0, 14.0)])
        self.assertEqual((errors, judged), ([], 1))

    def test_no_judged_probe_is_an_error(self):
        errors, judged = soak.check_probes([self.probe(10)], [(0.0, 100.0)])
        self.assertEqual(judged, 0)
        self.assertEqual(len(errors), 1)


class AliveAndSchedule(unittest.TestCase):
    def test_only_unexpected_exits_fail(self):
        exits = [{"t": 5.0, "code": -9, "expected": True}, {"t": 9.0, "code": -11, "expected": False}]
        errors = soak.check_alive(exits)
        self.assertEqual(len(errors), 1)
        self.assertIn("-11", errors[0])

    def test_crashed_or_hung_clients_fail_others_do_not(self):
        clients = [{"kind": "relay", "start": 1, "rc": 0}, {"kind": "forged", "start": 2, "rc": 1},
                   {"kind": "sybil", "start": 3, "rc": -11, "log": "x"},
                   {"kind": "probe", "start": 4, "rc": "timeout"}]
        errors = soak.check_clients(clients)
        self.assertEqual(len(errors), 2)
        self.assertIn("signal 11", errors[0])
        self.assertIn("hung", errors[1])

    def test_restart_schedule(self):
        self.assertEqual(soak.restart_times(1), [30.0])
        self.assertEqual(soak.restart_times(30), [600.0, 1200.0])
        self.assertEqual(soak.restart_times(0.2), [])


if __name__ == "__main__":
    unittest.main()
