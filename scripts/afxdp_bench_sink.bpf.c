// scripts/afxdp_bench.py's sink: at the generator's eth0 ingress (tc,
// direct action), drops IPv4 UDP datagrams of one length, the relayed APP
// messages, so that the generator's one core only sends; everything else
// (HELLO ACKs, ARP) passes. The length comes from clang -DSINK_UDP_LEN=N;
// afxdp_bench.py builds it and attaches it with tc.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>

#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#ifndef SINK_UDP_LEN
#error "build with -DSINK_UDP_LEN=<UDP length of the relayed APP messages>"
#endif

SEC("tc")
int sink(struct __sk_buff *skb) {
  void *data = (void *)(long)skb->data;
  void *end = (void *)(long)skb->data_end;
  struct ethhdr *eth = data;
  if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP)) return TC_ACT_OK;
  struct iphdr *ip = (void *)(eth + 1);
  if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP || ip->ihl != 5) return TC_ACT_OK;
  struct udphdr *udp = (void *)(ip + 1);
  if ((void *)(udp + 1) > end) return TC_ACT_OK;
  return udp->len == bpf_htons(SINK_UDP_LEN) ? TC_ACT_SHOT : TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
