import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import prom_text  # noqa: E402

TEXT = """# HELP drasyl_drops_total Dropped messages by reason.
# TYPE drasyl_drops_total counter
drasyl_drops_total{reason="bad_tag"} 7
drasyl_drops_total{reason="quote\\"d",worker="1"} 2
drasyl_peers{transport="udp"} 1000
drasyl_peers{transport="tcp"} 3
drasyl_up 1
drasyl_up_not_a_number{a="b"} NaNx
this is no sample
"""


class SamplesTest(unittest.TestCase):
    def test_names_labels_values(self):
        s = prom_text.samples(TEXT)
        self.assertEqual(s[("drasyl_up", frozenset())], 1.0)
        self.assertEqual(s[("drasyl_peers", frozenset({("transport", "udp")}))], 1000.0)
        self.assertEqual(s[("drasyl_drops_total",
                            frozenset({("reason", 'quote\\"d'), ("worker", "1")}))], 2.0)
        self.assertEqual(len(s), 5)  # no comments, no broken lines

    def test_total_and_by_label(self):
        s = prom_text.samples(TEXT)
        self.assertEqual(prom_text.total(s, "drasyl_peers"), 1003)
        self.assertEqual(prom_text.total(s, "drasyl_peers", transport="udp"), 1000)
        self.assertEqual(prom_text.total(s, "drasyl_missing"), 0)
        self.assertEqual(prom_text.by_label(s, "drasyl_drops_total", "reason"),
                         {"bad_tag": 7.0, 'quote\\"d': 2.0})


if __name__ == "__main__":
    unittest.main()
