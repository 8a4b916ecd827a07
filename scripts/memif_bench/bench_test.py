"""Unit tests of the memif benchmark's options: python3 -m unittest scripts/memif_bench/bench_test.py"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402

BINS = ["--sp-bin", "sp", "--lg-bin", "lg"]


class OptionsTest(unittest.TestCase):
    def test_defaults(self):
        o = bench.parse_options(BINS)
        self.assertEqual((o.nodes, o.payload, o.duration, o.floor_rate, o.rounds), (1000, 64, "2", 5000000, 1))
        self.assertTrue(o.search and o.raw)
        self.assertEqual(o.out, os.path.join(os.environ.get("BUILD_DIR", "build"), "memif-bench.json"))
        o = bench.parse_options(["--build=/b", "--no-search", "--no-raw", "--duration", "1.5"] + BINS)
        self.assertEqual(o.out, "/b/memif-bench.json")
        self.assertFalse(o.search or o.raw)
        self.assertEqual(o.duration, "1.5")

    def test_bad_values(self):
        for args, what in ((["--duration=11"], "--duration"), (["--duration=0.5"], "--duration"),
                           (["--nodes=1"], "--nodes"), (["--nodes=100001"], "--nodes"),
                           (["--payload=x"], "--payload"), (["--floor-rate=0"], "--floor-rate"),
                           (["--rounds=21"], "--rounds")):
            with self.assertRaisesRegex(bench.Failed, what):
                bench.parse_options(args + BINS)

    def test_logs_next_to_the_json(self):
        self.assertEqual(bench.base("/x/memif-bench.json"), "/x/memif-bench")
        self.assertEqual(bench.base("/x/out"), "/x/out")


if __name__ == "__main__":
    unittest.main()
