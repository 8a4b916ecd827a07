"""Unit tests of the capacity report's backend table:
python3 -m unittest scripts/capacity/backends_test.py"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import backends  # noqa: E402


def host(cpus):
    return backends.Host(lg_bin="lg", logs="/nonexistent", cpus=cpus, root=True, memif_sock="/tmp/m.memif")


class BackendsTest(unittest.TestCase):
    def test_names_are_unique(self):
        self.assertEqual(len(set(backends.NAMES)), len(backends.BACKENDS))
        self.assertEqual(backends.NAMES[0], "socket")

    def test_socket(self):
        b = backends.by_name("socket")
        self.assertEqual(b.sp_listen(host(2), 2), {"DRASYL_UDP4_LISTEN": "127.0.0.1:0"})
        self.assertEqual(b.lg_flags(host(2), 2), [])
        self.assertIsNone(b.unavailable(host(2)))
        self.assertFalse(b.optional)

    def test_dpdk_memif_server_with_one_lcore_per_worker(self):
        b = backends.by_name("dpdk")
        env = b.sp_listen(host(4), 2)
        self.assertEqual(env["DRASYL_DPDK_EAL"], "--no-pci -l 0-2 --vdev=net_memif0,role=server,socket=/tmp/m.memif")
        self.assertEqual(env["DRASYL_UDP4_LISTEN"], "10.99.78.1:22527")
        self.assertEqual(env["DRASYL_DPDK_ADDR"], "10.99.78.1/24")
        self.assertTrue(b.optional)

    def test_dpdk_generator_off_the_workers_cpus(self):
        b = backends.by_name("dpdk")
        self.assertIn("--dpdk_eal=--no-pci -l 0 --vdev=net_memif0,role=client,socket=/tmp/m.memif,rsize=14",
                      b.lg_flags(host(2), 1))
        self.assertIn("--dpdk_eal=--no-pci -l 2 --vdev=net_memif0,role=client,socket=/tmp/m.memif,rsize=14",
                      b.lg_flags(host(4), 1))
        self.assertIn("--dpdk_local_ip=10.99.78.2", b.lg_flags(host(4), 1))

    def test_af_xdp_on_a_veth_with_the_generator_in_a_namespace(self):
        b = backends.by_name("af_xdp")
        env = b.sp_listen(host(2), 1)
        self.assertEqual(env["DRASYL_AF_XDP"], "dcapxdp0")
        self.assertEqual(env["DRASYL_DPDK_EAL"], "-l 0-1")
        self.assertEqual(env["DRASYL_UDP4_LISTEN"], "10.99.79.1:22527")
        self.assertNotIn("DRASYL_DPDK_ADDR", env)  # the kernel's address
        self.assertEqual(b.lg_prefix(host(2)), ["ip", "netns", "exec", "dcap-xdp-lg"])
        self.assertEqual(b.lg_flags(host(2), 1), ["--bind=10.99.79.2"])
        self.assertTrue(b.optional)
        self.assertIsNotNone(b.prepare)
        self.assertIsNotNone(b.cleanup)

    def test_af_xdp_only_when_named(self):
        self.assertIn("af_xdp", backends.NAMES)
        self.assertNotIn("af_xdp", backends.DEFAULT_NAMES)
        self.assertEqual(backends.DEFAULT_NAMES, ["socket", "dpdk"])
        self.assertEqual(backends.by_name("socket").lg_prefix(host(2)), [])

    def test_af_xdp_needs_root(self):
        h = backends.Host(lg_bin="lg", logs="/nonexistent", cpus=2, root=False, memif_sock="/m")
        self.assertIn("root", backends.by_name("af_xdp").unavailable(h))

    def test_unknown_backend(self):
        with self.assertRaises(KeyError):
            backends.by_name("carrier-pigeon")


if __name__ == "__main__":
    unittest.main()
