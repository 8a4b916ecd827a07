"""Unit tests of the capacity report's plot script:
python3 -m unittest scripts/capacity/plot_test.py"""
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import plot  # noqa: E402


class PlotTest(unittest.TestCase):
    def test_script_plots_each_curve_twice(self):
        s = plot.gnuplot_script("set terminal png", "/o/capacity.png", "1000 peers, 64-byte payload",
                                [("/o/a.dat", "socket, 1 worker"), ("/o/b.dat", "dpdk, 1 worker")])
        lines = s.splitlines()
        self.assertEqual(lines[0], "set terminal png")
        self.assertIn("set output '/o/capacity.png'", lines)
        self.assertIn("set multiplot layout 2,1 title 'drasyl-sp capacity: 1000 peers, 64-byte payload'", lines)
        self.assertIn("plot '/o/a.dat' using 1:2 with linespoints title 'socket, 1 worker', "
                      "'/o/b.dat' using 1:2 with linespoints title 'dpdk, 1 worker'", lines)
        self.assertIn("plot '/o/a.dat' using 1:3 with linespoints title 'socket, 1 worker', "
                      "'/o/b.dat' using 1:3 with linespoints title 'dpdk, 1 worker'", lines)
        self.assertEqual(lines[-1], "unset multiplot")

    def test_read_curves(self):
        with tempfile.TemporaryDirectory() as logs:
            self.assertEqual(plot.read_curves(logs), (None, []))
            with open(os.path.join(logs, "curves.txt"), "w") as f:
                f.write("title\n/x/a.dat\tsocket, 1 worker\n")
            self.assertEqual(plot.read_curves(logs), ("title", [("/x/a.dat", "socket, 1 worker")]))


if __name__ == "__main__":
    unittest.main()
