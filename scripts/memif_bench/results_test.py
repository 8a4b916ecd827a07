"""Unit tests of the memif benchmark's figures: python3 -m unittest scripts/memif_bench/results_test.py"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import results  # noqa: E402


def stats(rx_packets, tx_packets, rx_pps, tx_pps):
    """One answer of testpmd 22.11's `show port stats 0`."""
    return f"""
  ######################## NIC statistics for port 0  ########################
  RX-packets: {rx_packets}    RX-missed: 0          RX-bytes:  {rx_packets * 185}
  RX-errors: 0
  RX-nombuf:  0
  TX-packets: {tx_packets}    TX-errors: 0          TX-bytes:  {tx_packets * 185}

  Throughput (since last show)
  Rx-pps:      {rx_pps}          Rx-bps:   {rx_pps * 1480}
  Tx-pps:      {tx_pps}          Tx-bps:   {tx_pps * 1480}
  ############################################################################
testpmd> """


def step(target, offered, relayed, loss=0.0):
    return {"target_pps": target, "offered_pps": offered, "relayed_pps": relayed, "loss_pct": loss,
            "latency_us": {"p50": 4.0, "p99": 9.0, "p999": 20.0}, "tx_errors": 3, "reordered": 0}


LG = {"steps": [step(20000, 20000, 20000), step(5000000, 4900000, 4800000, 2.0),
                step(0, 9000000, 7000000, 22.2), step(0, 8000000, 7500000, 6.25)],
      "registration": {"registered": 1000}, "message_bytes": 143, "generator_limited": False,
      "max_lossless": {"relayed_pps": 6000000, "latency_us": {"p50": 5.0, "p99": 11.0}}}


class ResultsTest(unittest.TestCase):
    def test_window_rates_take_the_second_answer(self):
        text = "banner" + stats(10, 10, 1, 2) + stats(5000000, 4000000, 3000000, 2500000)
        self.assertEqual(results.window_rates(text, "x"), (3.0, 2.5))
        with self.assertRaisesRegex(ValueError, "expected 2 'show port stats 0' answers in x, found 1"):
            results.window_rates(stats(1, 1, 1, 1), "x")

    def test_link_alone(self):
        texts = {("oneway", "server"): stats(0, 0, 0, 0) + stats(0, 0, 9000000, 0),
                 ("oneway", "client"): stats(0, 0, 0, 0) + stats(0, 0, 0, 9500000),
                 ("roundtrip", "server"): stats(0, 0, 0, 0) + stats(0, 0, 6000000, 5000000),
                 ("roundtrip", "client"): stats(0, 0, 0, 0) + stats(0, 0, 4000000, 7000000)}
        raw = results.link_alone(texts, 185)
        self.assertEqual(raw["one_way"]["received_mpps"], 9.0)
        self.assertEqual(raw["one_way"]["sent_mpps"], 9.5)
        self.assertEqual(raw["round_trip"]["forwarded_mpps"], 5.0)
        self.assertEqual((raw["round_trip"]["returned_mpps"], raw["round_trip"]["sent_mpps"]), (4.0, 7.0))
        self.assertIn("9.000 Mpps", results.link_alone_lines(raw)[0])

    def test_ceiling_best_mode_counters_and_floor(self):
        text = (stats(1000000, 900000, 1, 1) + stats(8000000, 6900000, 7000000, 6000000)
                + stats(9000000, 9000000, 1, 1) + stats(15000000, 15000000, 6500000, 6500000))
        windows = [("io", 10.0, 11.0), ("io_retry", 20.0, 21.0)]
        c = results.ceiling(text, LG, windows, 5000000)
        self.assertEqual(c["best_of"], "io_retry")
        self.assertEqual(c["forwarded_mpps"], 6.5)
        io = c["modes"]["io"]
        self.assertEqual((io["received_mpps_counters"], io["forwarded_mpps_counters"]), (7.0, 6.0))
        self.assertEqual(io["tx_dropped_pct"], round(100 / 7, 2))
        self.assertEqual(io["loadgen_offered_mpps"], 9.0)
        self.assertEqual(c["modes"]["io_retry"]["loadgen_offered_mpps"], 8.0)
        self.assertEqual(c["floor"]["returned_mpps"], 4.8)
        self.assertEqual(c["floor"]["loss_pct"], 2.0)
        self.assertEqual(c["registered"], 1000)
        with self.assertRaisesRegex(ValueError, "found 2"):
            results.ceiling(text[:len(text) // 2], LG, windows, 5000000)
        with self.assertRaisesRegex(ValueError, "floor step"):
            results.ceiling(text, LG, windows, 123)

    def test_result_ratio_and_goal(self):
        c = {"forwarded_mpps": 10.0, "best_of": "io", "floor": {"returned_mpps": 1, "target_mpps": 1,
             "loss_pct": 0, "p50_us": 1, "p99_us": 2}, "modes": {"io": {"forwarded_mpps": 10.0,
                                                                        "loadgen_offered_mpps": 9.0}}}
        run = {"nodes": 1000, "payload": 64, "duration": "2", "load_start": "1 1 1", "load_end": "2 2 2",
               "elapsed": 60, "search": True}
        res = results.result(LG, c, None, run, 70)
        self.assertEqual(res["super_peer"]["open_loop"]["relayed_mpps"], 7.5)  # the better probe
        self.assertEqual(res["ratio_pct"], 75.0)
        self.assertEqual(res["ratio_lossless_pct"], 60.0)
        self.assertTrue(res["goal_met"])
        self.assertEqual(res["step_seconds"], 2.0)
        lines = results.result_lines(res, LG, True)
        self.assertTrue(lines[-1].startswith("ratio: 75.0 % of the ceiling (10.000 Mpps, testpmd io) open loop, 60.0 %"))
        self.assertIn("(goal >= 70 %: met)", lines[-1])
        res = results.result(LG, c, None, run | {"search": False}, 80)
        self.assertIsNone(res["ratio_lossless_pct"])
        self.assertIsNone(res["super_peer"]["max_lossless_mpps"])
        self.assertFalse(res["goal_met"])
        self.assertNotIn("without loss", results.result_lines(res, LG, False)[-1])

    def test_rounds_medians(self):
        def r(ceil, ratio, ll):
            return {"ceiling": {"forwarded_mpps": ceil}, "super_peer": {"open_loop": {"relayed_mpps": ceil * ratio / 100},
                    "max_lossless_mpps": ll}, "ratio_pct": ratio, "ratio_lossless_pct": None}
        res = results.rounds_result([r(10, 60, None), r(12, 80, None), r(11, 75, None)], ["a", "b", "c"], 70)
        self.assertEqual((res["ceiling_mpps"], res["ratio_pct"]), (11, 75))
        self.assertEqual(res["ratio_pct_per_round"], [60, 80, 75])
        self.assertIsNone(res["super_peer_max_lossless_mpps"])
        self.assertTrue(res["goal_met"])
        self.assertIn("rounds: 60, 80, 75", results.rounds_lines(res)[1])


if __name__ == "__main__":
    unittest.main()
