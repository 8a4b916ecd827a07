// SPDX-License-Identifier: GPL-2.0
// The XDP program of --af_xdp: sends to the super peer's AF_XDP sockets only
// what the relay serves, UDP to a listener port on one of the interface's
// own addresses (and the IP fragments of such datagrams), and passes
// everything else to the kernel untouched: ARP, ND, ICMP, SSH, the TCP
// fallback, other addresses, other ports. A frame for a queue without a
// socket (none yet, or the super peer is gone) goes to the kernel too.
//
// Userspace (dataplane/afxdp/xdp_owner.cc) fills drasyl_dests with the
// addresses and reads drasyl_verdicts for /metrics; DPDK's net_af_xdp puts
// its sockets into xsks_map (it looks for that name).
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "dataplane/afxdp/relay_filter_maps.h"

struct {
  __uint(type, BPF_MAP_TYPE_XSKMAP);
  __uint(max_entries, DRASYL_XDP_MAX_QUEUES);
  __type(key, __u32);
  __type(value, __u32);
} xsks_map SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, DRASYL_XDP_MAX_DESTS);
  __type(key, struct drasyl_dest_key);
  __type(value, struct drasyl_dest_value);
} drasyl_dests SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, DRASYL_VERDICT_COUNT);
  __type(key, __u32);
  __type(value, __u64);
} drasyl_verdicts SEC(".maps");

// Fragmented datagrams whose first fragment was seen: where their other
// fragments go (1: the workers, 0: the kernel).
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, DRASYL_XDP_MAX_FRAGMENTED);
  __type(key, struct drasyl_frag_key);
  __type(value, __u8);
} drasyl_frags SEC(".maps");

static __always_inline int verdict(__u32 which, int action) {
  __u64* n = bpf_map_lookup_elem(&drasyl_verdicts, &which);
  if (n) *n += 1;
  return action;
}

static __always_inline int to_workers(struct xdp_md* ctx, __u32 which) {
  const int action = bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS);
  return verdict(action == XDP_REDIRECT ? which : DRASYL_PASS_NO_SOCKET, action);
}

// A UDP fragment to one of our addresses: the first one shows the port and
// decides for the datagram; a later one follows that decision, and goes to
// the workers when it came before its first fragment (their reassembly
// wants every piece; such reordering is rare).
static __always_inline int fragment(struct xdp_md* ctx, struct drasyl_frag_key* key, int first,
                                    int ours) {
  if (first) {
    __u8 v = ours ? 1 : 0;
    bpf_map_update_elem(&drasyl_frags, key, &v, BPF_ANY);
    return ours ? to_workers(ctx, DRASYL_TO_WORKERS_FRAGMENT)
                : verdict(DRASYL_PASS_OTHER_PORT, XDP_PASS);
  }
  __u8* v = bpf_map_lookup_elem(&drasyl_frags, key);
  if (v && *v == 0) return verdict(DRASYL_PASS_OTHER_PORT, XDP_PASS);
  return to_workers(ctx, DRASYL_TO_WORKERS_FRAGMENT);
}

SEC("xdp")
int drasyl_relay(struct xdp_md* ctx) {
  void* data = (void*)(long)ctx->data;
  void* end = (void*)(long)ctx->data_end;
  struct ethhdr* eth = data;
  if ((void*)(eth + 1) > end) return verdict(DRASYL_PASS_NOT_IP, XDP_PASS);
  struct drasyl_dest_key dk = {};
  struct drasyl_frag_key fk = {};

  if (eth->h_proto == bpf_htons(ETH_P_IP)) {
    struct iphdr* ip = (void*)(eth + 1);
    if ((void*)(ip + 1) > end) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
    if (ip->protocol != IPPROTO_UDP) return verdict(DRASYL_PASS_OTHER_PROTOCOL, XDP_PASS);
    dk.addr[10] = 0xff;
    dk.addr[11] = 0xff;
    __builtin_memcpy(&dk.addr[12], &ip->daddr, 4);
    struct drasyl_dest_value* d = bpf_map_lookup_elem(&drasyl_dests, &dk);
    if (!d) return verdict(DRASYL_PASS_OTHER_ADDRESS, XDP_PASS);
    const __u16 frag = bpf_ntohs(ip->frag_off);
    const int first = (frag & 0x1fff) == 0;
    const unsigned ihl = ip->ihl * 4u;
    if (ihl < sizeof(*ip)) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
    struct udphdr* udp = (void*)ip + ihl;
    int ours = 0;
    if (first) {
      if ((void*)(udp + 1) > end) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
      ours = udp->dest == d->port_be;
    }
    if ((frag & 0x3fff) == 0) {  // not a fragment
      return ours ? to_workers(ctx, DRASYL_TO_WORKERS_UDP)
                  : verdict(DRASYL_PASS_OTHER_PORT, XDP_PASS);
    }
    fk.family = 4;
    __builtin_memcpy(&fk.src[12], &ip->saddr, 4);
    fk.id = ip->id;
    return fragment(ctx, &fk, first, ours);
  }

  if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
    struct ipv6hdr* ip6 = (void*)(eth + 1);
    if ((void*)(ip6 + 1) > end) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
    const __u8 next = ip6->nexthdr;
    if (next != IPPROTO_UDP && next != IPPROTO_FRAGMENT) {
      return verdict(DRASYL_PASS_OTHER_PROTOCOL, XDP_PASS);
    }
    __builtin_memcpy(dk.addr, &ip6->daddr, 16);
    struct drasyl_dest_value* d = bpf_map_lookup_elem(&drasyl_dests, &dk);
    if (!d) return verdict(DRASYL_PASS_OTHER_ADDRESS, XDP_PASS);
    if (next == IPPROTO_UDP) {
      struct udphdr* udp = (void*)(ip6 + 1);
      if ((void*)(udp + 1) > end) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
      return udp->dest == d->port_be ? to_workers(ctx, DRASYL_TO_WORKERS_UDP)
                                     : verdict(DRASYL_PASS_OTHER_PORT, XDP_PASS);
    }
    // Fragment header: next header, reserved, offset+flags, identification.
    __u8* fh = (void*)(ip6 + 1);
    if ((void*)(fh + 8) > end) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
    if (fh[0] != IPPROTO_UDP) return verdict(DRASYL_PASS_OTHER_PROTOCOL, XDP_PASS);
    const __u16 off = (__u16)((fh[2] << 8) | fh[3]) & 0xfff8;
    const int first = off == 0;
    int ours = 0;
    if (first) {
      struct udphdr* udp = (void*)(fh + 8);
      if ((void*)(udp + 1) > end) return verdict(DRASYL_PASS_MALFORMED, XDP_PASS);
      ours = udp->dest == d->port_be;
    }
    fk.family = 6;
    __builtin_memcpy(fk.src, &ip6->saddr, 16);
    __builtin_memcpy(&fk.id, fh + 4, 4);
    return fragment(ctx, &fk, first, ours);
  }
  return verdict(DRASYL_PASS_NOT_IP, XDP_PASS);
}

char _license[] SEC("license") = "GPL";
