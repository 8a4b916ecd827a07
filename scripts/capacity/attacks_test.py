"""Unit tests of the capacity report's attack rows: python3 -m unittest scripts/capacity/attacks_test.py"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import attacks  # noqa: E402


def run(kind, **kw):
    lg = {"tool": "drasyl-loadgen", "attack": kind, "transport": "udp", "attack_bind": "127.0.0.66",
          "attack_identities": 20000, "seconds": 3.0, "attack_sent": 300000,
          "attack_rate_per_s": 100000, "attacker_acks": 0, "fresh_nodes": 64,
          "fresh_registered_within_1s_pct": 100, "fresh_registration_p50_ms": 0.4,
          "fresh_registration_p99_ms": 2.0, "registered_nodes": 16,
          "registered_hello_rtt_p50_ms": 0.2, "registered_hello_rtt_p99_ms": 1.5,
          "registered_hellos_unanswered": 0}
    lg.update(kw)
    return lg


class Rows(unittest.TestCase):
    def test_goals_met_when_both_figures_are_within(self):
        self.assertTrue(attacks.row_from_run(run("forged"), {})["goals_met"])

    def test_goal_missed_on_slow_or_unregistered_fresh_nodes(self):
        self.assertFalse(attacks.row_from_run(run("forged", fresh_registered_within_1s_pct=98.4), {})["goals_met"])
        self.assertFalse(attacks.row_from_run(run("sybil", fresh_registered_within_1s_pct=None), {})["goals_met"])

    def test_unanswered_hello_p99_misses_the_goal(self):
        self.assertFalse(attacks.row_from_run(run("forged", registered_hello_rtt_p99_ms=None), {})["goals_met"])
        self.assertFalse(attacks.row_from_run(run("forged", registered_hello_rtt_p99_ms=5.01), {})["goals_met"])
        self.assertTrue(attacks.row_from_run(run("forged", registered_hello_rtt_p99_ms=5.0), {})["goals_met"])

    def test_replay_goal_is_every_app_to_the_victim(self):
        ok = run("replay", victim_apps_sent=40, victim_apps_to_victim=40, victim_apps_to_attacker=0)
        hijacked = run("replay", victim_apps_sent=40, victim_apps_to_victim=0, victim_apps_to_attacker=40)
        self.assertTrue(attacks.row_from_run(ok, {})["goals_met"])
        self.assertFalse(attacks.row_from_run(hijacked, {})["goals_met"])

    def test_only_defence_drops_are_kept(self):
        row = attacks.row_from_run(run("forged"), {"drops": {"bad_magic": 5, "source_rate_limited": 7}})
        self.assertEqual(row["sp_drops"], {"source_rate_limited": 7})

    def test_markdown_has_a_line_per_row_and_says_never(self):
        rows = [attacks.row_from_run(run("none"), {}),
                attacks.row_from_run(run("sybil", fresh_registration_p99_ms=None), {}),
                attacks.row_from_run(run("replay", victim_apps_sent=40, victim_apps_to_victim=0,
                                         victim_apps_to_attacker=40), {})]
        md = attacks.markdown(rows)
        table = [l for l in md if l.startswith("| ") and not l.startswith("| attack |")]
        self.assertEqual(len(table), 3)
        self.assertIn("never", table[1])
        self.assertIn("0 of 40 APPs reached the victim, 40 the attacker", table[2])
        self.assertEqual(attacks.markdown([]), [])

    def test_check_names_missing_and_empty_rows(self):
        rows = [attacks.row_from_run(run("forged", attack_sent=0), {})]
        errors = attacks.check(rows, ["forged", "replay"])
        self.assertIn("no attack row for replay", errors)
        self.assertTrue(any("sent nothing" in e for e in errors))
        self.assertEqual(attacks.check([attacks.row_from_run(run("forged"), {})], ["forged"]), [])


class Collect(unittest.TestCase):
    def test_collect_appends_rows_and_table_before_the_goals(self):
        with tempfile.TemporaryDirectory() as out:
            os.makedirs(os.path.join(out, "logs"))
            for kind in ("sybil", "none"):
                with open(os.path.join(out, "logs", f"attack-{kind}.json"), "w") as f:
                    f.write("progress line\n" + json.dumps(run(kind)) + "\n")
            with open(os.path.join(out, "logs", "attack-sybil.metrics.json"), "w") as f:
                json.dump({"drops": {"source_peer_limit": 3}}, f)
            with open(os.path.join(out, "capacity.json"), "w") as f:
                json.dump([{"backend": "socket", "max_mpps": 1.0}], f)
            with open(os.path.join(out, "capacity.md"), "w") as f:
                f.write("# report\n\n| backend |\n\n## Goals\n\nx\n")
            self.assertEqual(attacks.main(["collect", out]), 0)
            self.assertEqual(attacks.main(["collect", out]), 0)  # idempotent for the JSON
            cap = json.load(open(os.path.join(out, "capacity.json")))
            self.assertEqual([r.get("attack") for r in cap], [None, "none", "sybil"])
            self.assertEqual(cap[2]["sp_drops"], {"source_peer_limit": 3})
            md = open(os.path.join(out, "capacity.md")).read()
            self.assertLess(md.index("## Attacks"), md.index("## Goals"))
            self.assertEqual(attacks.main(["check", out, "none sybil"]), 0)
            self.assertEqual(attacks.main(["check", out, "none sybil replay"]), 1)


if __name__ == "__main__":
    unittest.main()
