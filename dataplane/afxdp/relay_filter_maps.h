// The maps of relay_filter.bpf.c as userspace sees them: shared by the BPF
// program (C, clang -target bpf) and the loader (C++).
#ifndef DRASYL_DATAPLANE_AFXDP_RELAY_FILTER_MAPS_H_
#define DRASYL_DATAPLANE_AFXDP_RELAY_FILTER_MAPS_H_

#include <linux/types.h>

#define DRASYL_XDP_MAX_QUEUES 256
#define DRASYL_XDP_MAX_DESTS 64
#define DRASYL_XDP_MAX_FRAGMENTED 4096

// One of the interface's addresses, IPv4 as ::ffff:a.b.c.d.
struct drasyl_dest_key {
  __u8 addr[16];
};
// The listener port of that address's family, network byte order.
struct drasyl_dest_value {
  __u16 port_be;
  __u16 pad;
};
// A fragmented datagram: its source and identification.
struct drasyl_frag_key {
  __u8 src[16];
  __u32 id;
  __u8 family;
  __u8 pad[3];
};

// Per-CPU verdict counters (index into drasyl_verdicts).
enum drasyl_verdict {
  DRASYL_TO_WORKERS_UDP = 0,       // UDP to a listener port on our address
  DRASYL_TO_WORKERS_FRAGMENT = 1,  // a fragment of such a datagram
  DRASYL_PASS_NOT_IP = 2,          // ARP, LLDP, VLAN-tagged, ...
  DRASYL_PASS_OTHER_PROTOCOL = 3,  // ICMP, ND, TCP (SSH, the TCP fallback), ...
  DRASYL_PASS_OTHER_ADDRESS = 4,   // UDP to an address the super peer does not serve
  DRASYL_PASS_OTHER_PORT = 5,      // UDP to our address, another port
  DRASYL_PASS_NO_SOCKET = 6,       // ours, but no AF_XDP socket on that queue
  DRASYL_PASS_MALFORMED = 7,       // headers cut short: the kernel judges
  DRASYL_VERDICT_COUNT = 8,
};

#endif  // DRASYL_DATAPLANE_AFXDP_RELAY_FILTER_MAPS_H_
