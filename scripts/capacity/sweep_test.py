"""Unit tests of the capacity report's options and sweep:
python3 -m unittest scripts/capacity/sweep_test.py"""
import contextlib
import io
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backends  # noqa: E402
import sweep  # noqa: E402

BINS = ["--sp-bin", "sp", "--lg-bin", "lg"]


def shape(runs):
    return [(r.tag, r.payloads) for r in runs]


class OptionsTest(unittest.TestCase):
    def test_quick_defaults(self):
        o = sweep.parse_options(["--quick"] + BINS)
        self.assertEqual((o.workers, o.peers, o.payloads, o.duration), ([1, 2], [1000, 20000], [64, 1024], "1"))
        self.assertEqual((o.refine, o.flood_ms, o.attack_seconds), (2, 1000, "3"))
        self.assertEqual([b.name for b in o.backends], ["socket", "dpdk"])
        self.assertEqual(o.attacks, "none forged sybil garbage tcp-idle replay".split())

    def test_full_defaults_and_both_option_spellings(self):
        o = sweep.parse_options(["--peers", "10 20", "--duration=5", "--difficulty", "12"] + BINS)
        self.assertEqual((o.peers, o.duration, o.refine, o.attack_seconds), ([10, 20], "5", 3, "10"))
        self.assertEqual(o.payloads, [64, 512, 1400])
        self.assertTrue(o.identities.endswith("identities-d12.bin"))
        self.assertTrue(o.sp_identity.endswith("super-peer-d12.identity"))

    def test_backend_selection(self):
        o = sweep.parse_options(["--no-dpdk"] + BINS)
        self.assertEqual([b.name for b in o.backends], ["socket"])
        self.assertEqual([b.name for b in o.not_selected], ["dpdk", "af_xdp"])
        o = sweep.parse_options(["--backends", "socket af_xdp"] + BINS)
        self.assertEqual([b.name for b in o.backends], ["socket", "af_xdp"])
        o = sweep.parse_options(["--backends", "dpdk"] + BINS)
        self.assertEqual([b.name for b in o.backends], ["dpdk"])
        self.assertEqual(o.attacks, [])  # the attack rows need the socket backend
        with self.assertRaises(SystemExit) as e, contextlib.redirect_stderr(io.StringIO()) as err:
            sweep.parse_options(["--backends", "socket carrier-pigeon"] + BINS)
        self.assertEqual(e.exception.code, 2)
        self.assertEqual(err.getvalue(), "capacity-report: unknown backend 'carrier-pigeon'\n")
        with self.assertRaises(SystemExit):
            sweep.parse_options(["--unknown"] + BINS)
        with self.assertRaises(SystemExit):
            sweep.parse_options(["--workers", "one"] + BINS)

    def test_attacks_can_be_turned_off(self):
        self.assertEqual(sweep.parse_options(["--attacks", ""] + BINS).attacks, [])


class PlanTest(unittest.TestCase):
    def test_quick_socket(self):
        o = sweep.parse_options(["--quick"] + BINS)
        self.assertEqual(shape(sweep.plan(o, backends.by_name("socket"), 2)),
                         [("socket-w1-p1000", [64]), ("socket-w2-p1000", [64, 1024]),
                          ("socket-w2-p20000", [64])])

    def test_quick_dpdk_one_worker_first_peers_on_two_cores(self):
        o = sweep.parse_options(["--quick"] + BINS)
        self.assertEqual(shape(sweep.plan(o, backends.by_name("dpdk"), 2)), [("dpdk-w1-p1000", [64])])
        self.assertEqual(shape(sweep.plan(o, backends.by_name("dpdk"), 8)),
                         [("dpdk-w1-p1000", [64]), ("dpdk-w2-p1000", [64, 1024])])

    def test_full_sweeps_payloads_at_the_first_peer_count_for_every_worker_count(self):
        o = sweep.parse_options(["--peers", "1000 1000000"] + BINS)
        self.assertEqual(shape(sweep.plan(o, backends.by_name("socket"), 2)),
                         [("socket-w1-p1000", [64, 512, 1400]), ("socket-w1-p1000000", [64]),
                          ("socket-w2-p1000", [64, 512, 1400]), ("socket-w2-p1000000", [64])])

    def test_hello_timing(self):
        self.assertEqual(sweep.hello_timing(1000), (5000, 600000))
        self.assertEqual(sweep.hello_timing(1000000), (50000, 600000))
        self.assertEqual(sweep.hello_timing(4000000), (200000, 1200000))

    def test_loadgen_command(self):
        o = sweep.parse_options(["--quick"] + BINS)
        run = sweep.plan(o, backends.by_name("socket"), 2)[0]
        cmd = sweep.loadgen_command(o, "udp://x", run, 64, ["--sp_pid=7"])
        self.assertEqual(cmd[:3], ["lg", "--url", "udp://x"])
        for flag in ("--nodes=1000", "--payload=64", "--search", "--search_refine=2", "--duration=1",
                     "--hello_flood_ms=1000", "--hello_interval_ms=5000", "--json"):
            self.assertIn(flag, cmd)
        self.assertEqual(cmd[-1], "--sp_pid=7")


if __name__ == "__main__":
    unittest.main()
