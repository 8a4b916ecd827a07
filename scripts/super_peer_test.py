"""Unit tests of the benchmarks' super peer settings and counters:
python3 -m unittest scripts/super_peer_test.py"""
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import super_peer  # noqa: E402

METRICS = """\
# HELP drasyl_peers Peers.
drasyl_peers{transport="udp"} 1000
drasyl_peers{transport="tcp"} 3
drasyl_relayed_packets_total{worker="0"} 60
drasyl_relayed_packets_total{worker="1"} 10
drasyl_drops_total{worker="0",reason="bad_tag"} 5
drasyl_drops_total{worker="1",reason="bad_tag"} 2
drasyl_drops_total{worker="1",reason="replayed_hello"} 0
drasyl_drops_total{worker="control"} 1
"""


class EnvironmentTest(unittest.TestCase):
    def test_capacity_settings_turn_limits_off(self):
        env = super_peer.sp_environment("/id", 8, 2, super_peer.socket_listen(), hello_timeout_ms=5000)
        self.assertEqual(env["DRASYL_UDP4_LISTEN"], "127.0.0.1:0")
        for k in ("DRASYL_MAX_PEERS", "DRASYL_MAX_PEERS_PER_SOURCE", "DRASYL_CONTROL_RATE_PER_SOURCE",
                  "DRASYL_MAX_TCP_CONNECTIONS_PER_SOURCE"):
            self.assertEqual(env[k], "0", k)
        self.assertEqual(env["DRASYL_TCP4_LISTEN"], "")
        self.assertEqual(env["DRASYL_HELLO_TIMEOUT"], "5000")
        self.assertEqual((env["DRASYL_WORKERS"], env["DRASYL_MIN_POW_DIFFICULTY"]), ("2", "8"))
        self.assertEqual((env["DRASYL_SEND_UNITES"], env["DRASYL_PEERS_PRINT_INTERVAL"]), ("-1", "0"))
        self.assertEqual(env["DRASYL_IDENTITY_FILE"], "/id")

    def test_attack_settings_keep_the_defaults(self):
        env = super_peer.sp_environment("/id", 8, 1, super_peer.socket_listen(), mode="attack")
        self.assertEqual(env["DRASYL_TCP4_LISTEN"], "127.0.0.1:0")
        self.assertNotIn("DRASYL_MAX_PEERS_PER_SOURCE", env)
        self.assertNotIn("DRASYL_HELLO_TIMEOUT", env)
        with self.assertRaises(ValueError):
            super_peer.sp_environment("/id", 8, 1, {}, mode="fast")

    def test_dpdk_memif(self):
        env = super_peer.dpdk_memif_listen("10.0.0.1", "0-1", "/tmp/s.memif")
        self.assertEqual(env, {"DRASYL_UDP4_LISTEN": "10.0.0.1:22527", "DRASYL_DPDK_ADDR": "10.0.0.1/24",
                               "DRASYL_DPDK_EAL": "--no-pci -l 0-1 --vdev=net_memif0,role=server,socket=/tmp/s.memif"})


class MetricsTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(super_peer.parse_metrics(METRICS),
                         {"peers": 1000, "relayed_packets": 70, "drops": {"bad_tag": 7, "?": 1}})

    def test_no_url(self):
        self.assertEqual(super_peer.scrape_metrics(None), {})


class FilesTest(unittest.TestCase):
    def test_wait_for_gives_up_when_the_process_exits(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "out")
            proc = subprocess.Popen(["sh", "-c", f"echo 'a udp://127.0.0.1:5?publicKey=ab b' > {path}"])
            m = super_peer.wait_for(path, super_peer.URL_RE, 10, proc)
            self.assertEqual(m.group(0), "udp://127.0.0.1:5?publicKey=ab")
            proc = subprocess.Popen(["true"])
            proc.wait()
            self.assertIsNone(super_peer.wait_for(path, "never", 10, proc))

    def test_stop_process_ends_a_stopped_process(self):
        proc = subprocess.Popen(["sleep", "60"])
        proc.send_signal(super_peer.signal.SIGSTOP)
        self.assertEqual(super_peer.stop_process(proc), -super_peer.signal.SIGTERM)
        self.assertIsNone(super_peer.stop_process(None))

    def test_last_error_line_skips_info(self):
        with tempfile.NamedTemporaryFile("w", delete=False) as f:
            f.write("I started\nE bad thing\nI more\n")
        try:
            self.assertEqual(super_peer.last_error_line(f.name), "E bad thing")
        finally:
            os.unlink(f.name)


if __name__ == "__main__":
    unittest.main()
