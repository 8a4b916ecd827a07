#!/usr/bin/env bash
# Network-namespace testbed for the DPDK backend (no NIC needed).
#
#   scripts/testbed.sh up       create (idempotent: an existing testbed is rebuilt)
#   scripts/testbed.sh up full  the same plus a second DPDK port and a VLAN (below)
#   scripts/testbed.sh up afxdp the kernel keeps veth0 with 10.99.0.1/24 and
#                               fd99::1/64 (for --af_xdp=veth0: a shared NIC)
#   scripts/testbed.sh down     remove everything it created
#   scripts/testbed.sh status   show what exists
#
# Layout (all names prefixed dsp-, nothing in the root namespace):
#
#   dsp-sp  (super peer)            dsp-sw (switch)             dsp-n1 / dsp-n2 (nodes)
#   veth0 ---------------------- sp [br0] n1 -------------------- eth0 10.99.0.2/24 fd99::2/64
#   (no kernel IP: DPDK's              n2 -------------------- eth0 10.99.0.3/24 fd99::3/64
#    net_af_packet runs on it;
#    drasyl-sp's TAP appears here)
#
# Run the super peer inside dsp-sp:
#   ip netns exec dsp-sp build/drasyl-sp \
#     --dpdk_eal='-l 0-1 --no-pci --vdev=net_af_packet0,iface=veth0' \
#     --dpdk_addr=10.99.0.1/24,fd99::1/64
# and the nodes with `ip netns exec dsp-n1 ...`.
#
# `up full` adds a second super peer port on a subnet of its own, and a node
# in VLAN 100 behind the first port's link (a trunk: br0 carries VLAN 100
# tagged next to the untagged 10.99.0.0/24):
#
#   dsp-sp veth1 ------------- sp1 [br1] n3 ------------- dsp-n3 eth0 10.97.0.2/24 fd97::2/64
#   (DPDK port 1)
#   dsp-n4 eth0 10.98.0.2/24 fd98::2/64 --- n4 (access port, VLAN 100) v100t --- v100 [br0]
#
# The access port between n4 and v100t is a userspace 802.1Q tagger that the
# tests run (tests/support/vlan_access_port.h: tags what n4 sends, passes
# VLAN 100 frames to n4 untagged), since the kernel may lack 8021q and
# bridge VLAN filtering. The super peer then runs with
#   --dpdk_eal='... --vdev=net_af_packet0,iface=veth0 --vdev=net_af_packet1,iface=veth1'
#   --dpdk_addr=10.99.0.1/24,fd99::1/64,10.98.0.1/24@vlan100,fd98::1/64@vlan100,\
#               10.97.0.1/24@port1,fd97::1/64@port1
set -euo pipefail

SP=dsp-sp
SW=dsp-sw
N1=dsp-n1
N2=dsp-n2
N3=dsp-n3
N4=dsp-n4
ALL_NS=("$SP" "$SW" "$N1" "$N2" "$N3" "$N4")

ns() { ip netns exec "$1" "${@:2}"; }

# Checksum and segmentation offloads off: a veth passes packets with partial
# checksums (CHECKSUM_PARTIAL) and TSO/GSO super-frames straight to an
# AF_PACKET socket, which DPDK's net_af_packet then sees unfinished.
offloads_off() {
  local netns=$1 dev=$2
  if command -v ethtool >/dev/null; then
    ns "$netns" ethtool -K "$dev" rx off tx off tso off gso off gro off >/dev/null 2>&1 ||
      ns "$netns" ethtool -K "$dev" tx off >/dev/null 2>&1 || true
  else
    echo "testbed: ethtool not found: checksum offloads stay on (UDP checksums may be wrong)" >&2
  fi
}

down() {
  for n in "${ALL_NS[@]}"; do
    if [[ -e /var/run/netns/$n ]]; then
      # A super peer still running in the namespace keeps its TAP alive; the
      # namespace goes away with its last process.
      ip netns pids "$n" 2>/dev/null | xargs -r kill 2>/dev/null || true
      ip netns del "$n" 2>/dev/null || true
    fi
  done
}

# A super peer port: the kernel must stay out of the way (it sees every
# frame on it too): no IPv6 at all, no ARP answers and a strict reverse path
# filter so it never processes what arrives there for the TAP's addresses.
sp_port() {
  local dev=$1 sw_end=$2 bridge=$3
  ip link add "$dev" netns "$SP" type veth peer name "$sw_end" netns "$SW"
  ns "$SP" sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
  ns "$SP" sysctl -qw "net.ipv4.conf.$dev.rp_filter=1"
  ns "$SP" sysctl -qw "net.ipv4.conf.$dev.arp_ignore=8"
  offloads_off "$SP" "$dev"
  offloads_off "$SW" "$sw_end"
  ns "$SW" ip link set "$sw_end" master "$bridge" up
  ns "$SP" ip link set "$dev" up
}

# A node namespace whose eth0 (with addresses $3 and $4) is veth-paired with
# $2 in the switch; $5 names the bridge to join (empty: none).
node() {
  local n=$1 port=$2 v4=$3 v6=$4 bridge=$5
  ip link add eth0 netns "$n" type veth peer name "$port" netns "$SW"
  ns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0
  ns "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0
  ns "$n" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
  ns "$n" sysctl -qw net.ipv6.conf.eth0.accept_ra=0
  offloads_off "$n" eth0
  offloads_off "$SW" "$port"
  if [[ -n $bridge ]]; then
    ns "$SW" ip link set "$port" master "$bridge" up
  else
    ns "$SW" ip link set "$port" up
  fi
  ns "$n" ip addr add "$v4" dev eth0
  ns "$n" ip addr add "$v6" dev eth0 nodad
  ns "$n" ip link set eth0 up
}

up() {
  local layout=${1:-}
  case "$layout" in
    "" | full | afxdp) ;;
    *)
      echo "testbed: unknown layout '$layout' (expected: full or afxdp)" >&2
      exit 2
      ;;
  esac
  down
  local spaces=("$SP" "$SW" "$N1" "$N2")
  [[ $layout == full ]] && spaces+=("$N3" "$N4")
  for n in "${spaces[@]}"; do
    ip netns add "$n"
    ns "$n" ip link set lo up
  done

  # Switch.
  ns "$SW" ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ns "$SW" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ns "$SW" ip link set br0 up

  # Super peer's port(s). The TAPs drasyl-sp creates inherit "default": no
  # DAD, so IPv6 works at once.
  ns "$SP" sysctl -qw net.ipv4.conf.all.rp_filter=1
  ns "$SP" sysctl -qw net.ipv6.conf.default.accept_dad=0
  ns "$SP" sysctl -qw net.ipv6.conf.all.accept_dad=0
  ns "$SP" sysctl -qw net.ipv6.conf.default.accept_ra=0
  ns "$SP" sysctl -qw net.ipv6.conf.default.router_solicitations=0
  if [[ $layout == afxdp ]]; then
    # A NIC the kernel keeps: its addresses, ARP, ND.
    ip link add veth0 netns "$SP" type veth peer name sp netns "$SW"
    offloads_off "$SP" veth0
    offloads_off "$SW" sp
    ns "$SW" ip link set sp master br0 up
    ns "$SP" ip addr add 10.99.0.1/24 dev veth0
    ns "$SP" ip addr add fd99::1/64 dev veth0 nodad
    ns "$SP" ip link set veth0 up
  else
    sp_port veth0 sp br0
  fi

  # Nodes.
  node "$N1" n1 10.99.0.2/24 fd99::2/64 br0
  node "$N2" n2 10.99.0.3/24 fd99::3/64 br0

  if [[ $layout == full ]]; then
    # Port 1 on a switch (and subnet) of its own.
    ns "$SW" ip link add br1 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
    ns "$SW" ip link set br1 up
    sp_port veth1 sp1 br1
    node "$N3" n3 10.97.0.2/24 fd97::2/64 br1
    # VLAN 100: n4's access port (n4 <-> v100t, the tagger) and the trunk
    # side v100 on br0.
    node "$N4" n4 10.98.0.2/24 fd98::2/64 ""
    ns "$SW" ip link add v100 type veth peer name v100t
    offloads_off "$SW" v100
    offloads_off "$SW" v100t
    ns "$SW" ip link set v100 master br0 up
    ns "$SW" ip link set v100t up
  fi
}

status() {
  for n in "${ALL_NS[@]}"; do
    if [[ -e /var/run/netns/$n ]]; then
      echo "== $n"
      ns "$n" ip -brief addr
    else
      echo "== $n (absent)"
    fi
  done
}

case "${1:-}" in
  up) up "${2:-}" ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
