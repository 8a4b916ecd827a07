// SPDX-License-Identifier: GPL-2.0
// Someone else's XDP program (tests): --af_xdp must leave it alone and say so.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int foreign_pass(struct xdp_md* ctx) { return XDP_PASS; }

char _license[] SEC("license") = "GPL";
