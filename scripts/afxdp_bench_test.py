#!/usr/bin/env python3
"""Unit tests of afxdp_bench.py's pure parts (run by scripts/afxdp-bench.sh first)."""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import afxdp_bench as b  # noqa: E402
import afxdp_percore as pc  # noqa: E402


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


HZ = pc.USER_HZ


def sample(t, offered, relayed, idle_s, busy_s=0.0, worker_ns=0, napi_ns=0, net_rx=(0, 0)):
    """A sampler record at time t: CPU 1 idle for idle_s seconds so far (and
    busy_s seconds counted in ticks, as system), the veth counters."""
    cpu = {k: 0 for k in pc.STAT_FIELDS}
    cpu.update(idle=int(round(idle_s * HZ)), system=int(round(busy_s * HZ)))
    return {"t": t, "stat": {"cpu0": dict(cpu), "cpu1": cpu}, "offered": offered,
            "relayed": relayed, "sp_rx": offered, "sp_rx_dropped": 0, "sp_tx": relayed,
            "softirqs": {"NET_RX": list(net_rx), "NET_TX": [0, 0]},
            "threads": {"worker": worker_ns, "napi/veth0-1": napi_ns}}


def steady(t0, t1, pps, relayed_pps, busy, start=(0, 0, 0.0), dt=0.1):
    """Samples every dt from t0 to t1 at a steady rate and CPU 1 busy share."""
    out, (o, r, idle) = [], start
    t = t0
    while t <= t1 + 1e-9:
        out.append(sample(round(t, 3), int(o), int(r), idle))
        o += pps * dt
        r += relayed_pps * dt
        idle += (1 - busy) * dt
        t += dt
    return out, (o, r, idle)


class PerCore(unittest.TestCase):
    def test_parse_proc_stat_and_busy(self):
        text = ("cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 4 0 4 50 0 0 0 0 0 0\n"
                "cpu1 6 1 6 50 2 3 4 5 0 0\nintr 1 2\n")
        st = pc.parse_proc_stat(text)
        self.assertEqual(sorted(st), ["cpu0", "cpu1"])
        self.assertEqual(st["cpu1"]["steal"], 5)
        self.assertEqual(pc.busy_ticks(st["cpu1"]), 6 + 1 + 6 + 3 + 4)

    def test_busy_share_is_wall_time_minus_idle_iowait_steal(self):
        a = pc.parse_proc_stat("cpu1 0 0 0 100 10 0 0 5")
        b = pc.parse_proc_stat("cpu1 0 0 0 %d %d 0 0 %d" % (100 + HZ // 4, 10 + HZ // 10,
                                                            5 + HZ // 20))
        # 2 s: idle 0.25 s + iowait 0.1 s + steal 0.05 s -> 80 % busy,
        # though no busy tick was counted (ticks stop while a CPU idles).
        self.assertAlmostEqual(pc.busy_share(a, b, 2.0), 0.8)
        self.assertEqual(pc.busy_share(a, b, 0), 0.0)

    def test_parse_net_dev_and_softirqs(self):
        text = ("Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame "
                "compressed multicast|bytes packets errs drop fifo colls carrier compressed\n"
                "    lo: 1 2 0 0 0 0 0 0 1 2 0 0 0 0 0 0\n"
                "  eth0: 100 7 0 3 0 0 0 0 200 9 0 4 0 0 0 0\n")
        self.assertEqual(pc.parse_net_dev(text, "eth0"), (7, 3, 9, 4))
        self.assertIsNone(pc.parse_net_dev(text, "veth0"))
        soft = pc.parse_softirqs("       CPU0  CPU1\n  NET_RX: 5 7\n  NET_TX: 1 2\n")
        self.assertEqual(soft, {"NET_RX": [5, 7], "NET_TX": [1, 2]})

    def test_traffic_windows_are_the_inner_samples_of_each_step(self):
        samples, st = steady(0.0, 1.0, 100, 100, 0.0)          # idle, HELLOs
        more, st = steady(1.1, 1.3, 50000, 50000, 0.2, st)     # registration blip
        samples += more
        more, st = steady(1.4, 2.0, 100, 100, 0.0, st)
        samples += more
        first = len(samples)
        more, st = steady(2.1, 5.0, 50000, 50000, 0.5, st)     # step 1
        samples += more
        more, st = steady(5.1, 5.5, 100, 100, 0.0, st)         # drain
        samples += more
        second = len(samples)
        more, st = steady(5.6, 8.5, 200000, 150000, 1.0, st)   # step 2
        samples += more
        more, st = steady(8.6, 9.0, 0, 0, 0.0, st)
        samples += more
        w = pc.traffic_windows(samples, 2, min_pps=15000, min_len_s=1.8)
        self.assertEqual(len(w), 2)
        self.assertGreater(w[0][0], first)      # partial first interval cut
        self.assertLess(w[0][1], second - 1)
        self.assertGreater(w[1][0], second)
        self.assertIsNone(pc.traffic_windows(samples, 3, min_pps=15000, min_len_s=1.8))
        f1 = pc.window_figures(samples, w[0])
        f2 = pc.window_figures(samples, w[1])
        self.assertAlmostEqual(f1["offered_pps"], 50000, delta=500)
        self.assertAlmostEqual(f1["busy_share"], 0.5, delta=0.02)
        self.assertAlmostEqual(f1["per_core_pps"], 100000, delta=3000)
        self.assertAlmostEqual(f2["relayed_pps"], 150000, delta=1500)
        self.assertAlmostEqual(f2["per_core_pps"], 150000, delta=3000)

    def test_window_figures_threads_softirqs_and_no_busy(self):
        a = sample(0.0, 0, 0, 0.0, worker_ns=0, napi_ns=0, net_rx=(10, 100))
        b = sample(2.0, 200000, 100000, 1.0, busy_s=0.8, worker_ns=6e8, napi_ns=2e8,
                   net_rx=(30, 2100))
        f = pc.window_figures([a, b], (0, 1))
        self.assertAlmostEqual(f["busy_share"], 0.5)
        self.assertAlmostEqual(f["busy_ticks_share"], 0.4)
        self.assertAlmostEqual(f["thread_share"], 0.4)
        self.assertAlmostEqual(f["outside_threads_share"], 0.1)
        self.assertAlmostEqual(f["per_thread_second_pps"], 125000)
        self.assertAlmostEqual(f["softirqs_per_s"]["NET_RX"], 1000)
        self.assertAlmostEqual(f["net_rx_other_cpu_per_s"]["NET_RX"], 10)
        idle = pc.window_figures([a, sample(2.0, 10, 10, 2.0)], (0, 1))
        self.assertIsNone(idle["per_core_pps"])

    @staticmethod
    def fig(per_core, busy=0.5, relayed=50000):
        return {"offered_pps": relayed, "relayed_pps": relayed, "busy_share": busy,
                "per_core_pps": per_core, "thread_share": busy, "per_thread_second_pps": None,
                "sp_rx_dropped_pps": 0, "busy_ticks_share": busy, "outside_threads_share": 0,
                "split": {"user": 0.1, "system": 0.9}}

    def test_median_steps_over_rounds(self):
        rounds = [[self.fig(100), self.fig(300)], [self.fig(200), None],
                  [self.fig(600), self.fig(500)]]
        med = pc.median_steps(rounds)
        self.assertEqual(med[0]["per_core_pps"], 200)
        self.assertEqual(med[0]["per_core_range"], (100, 600))
        self.assertEqual(med[1]["per_core_pps"], 400)
        self.assertEqual(med[1]["rounds"], 2)
        self.assertIsNone(pc.median_steps([[None], [None]])[0])

    def test_summary_best_of_each_backend_and_goal(self):
        f = self.fig
        s = pc.per_core_summary({
            "socket": [[f(120), f(140, 0.7), f(60, 1.0)]],
            "af_xdp": [[f(50, 1.0), f(100, 1.0), f(450, 1.0)]],
            "af_packet": [[f(60), None, f(170, 0.99)]]}, ["50k", "100k", "open loop, sink"])
        self.assertEqual(s["best"]["socket"]["per_core_pps"], 140)
        self.assertEqual(s["best"]["socket"]["label"], "100k")
        self.assertFalse(s["best"]["socket"]["saturated"])
        self.assertTrue(s["best"]["af_xdp"]["saturated"])
        self.assertAlmostEqual(s["best"]["af_xdp"]["vs_socket"], 450 / 140)
        self.assertAlmostEqual(s["ratios"][2]["af_xdp"], 7.5)
        self.assertIsNone(s["ratios"][1]["af_packet"])
        self.assertTrue(s["goal"]["met"])
        md = pc.per_core_markdown(s, ["50k", "100k", "open loop, sink"],
                                  {"socket": {"before": [0.01], "idle": [0.02],
                                              "others": [0.05]}})
        self.assertIn("| af_packet | 100k | no window |", md)
        self.assertIn("3.21x, met", md)
        self.assertIn("| socket | 0.000 Mpps | 100k | 70 % | 1.00x | 1 % | 2 % | 0.05 CPU |", md)
        s = pc.per_core_summary({"socket": [[f(140)], [f(160)]], "af_xdp": [[f(400)], [None]]},
                                ["100k"])
        self.assertFalse(s["goal"]["met"])
        self.assertEqual(s["goal"]["per_round"], [400 / 140])  # round 2: no af_xdp figure
        md = pc.per_core_markdown(s, ["100k"], {})
        self.assertIn("2.67x, NOT met", md)  # medians: 400 / 150
        self.assertIn("per round (af_xdp's best / sockets' best of the same round): 2.86x", md)
        self.assertIsNone(pc.per_core_summary({"af_xdp": [[f(400)]]}, ["100k"])["goal"])

    def test_others_cpu_seconds(self):
        before = {(1, 1): ("cc1plus", 1e9), (2, 2): ("kworker/1:1-events", 5e9),
                  (3, 3): ("drasyl-loadgen", 0)}
        after = {(1, 1): ("cc1plus", 3e9), (2, 2): ("kworker/1:1-mm_percpu_wq", 5.5e9),
                 (3, 3): ("drasyl-loadgen", 9e9), (4, 4): ("ld", 0.25e9)}
        total, top = pc.others_cpu_seconds(before, after, exclude_comms=("drasyl-loadgen",))
        self.assertAlmostEqual(total, 2.75)
        self.assertEqual(top[0], ("cc1plus", 2.0))
        self.assertIn(("kworker/1:1", 0.5), top)


if __name__ == "__main__":
    unittest.main()
