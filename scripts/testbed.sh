#!/usr/bin/env bash
# Network-namespace testbed for the DPDK backend (no NIC needed).
#
#   scripts/testbed.sh up     create (idempotent: an existing testbed is rebuilt)
#   scripts/testbed.sh down   remove everything it created
#   scripts/testbed.sh status show what exists
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
set -euo pipefail

SP=dsp-sp
SW=dsp-sw
N1=dsp-n1
N2=dsp-n2
ALL_NS=("$SP" "$SW" "$N1" "$N2")

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

up() {
  down
  for n in "${ALL_NS[@]}"; do
    ip netns add "$n"
    ns "$n" ip link set lo up
  done

  # Switch.
  ns "$SW" ip link add br0 type bridge stp_state 0 forward_delay 0 mcast_snooping 0
  ns "$SW" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
  ns "$SW" ip link set br0 up

  # Super peer's port: the kernel must stay out of the way (it sees every
  # frame on veth0 too): no IPv6 at all, no ARP answers and a strict reverse
  # path filter so it never processes what arrives there for the TAP's
  # addresses.
  ip link add veth0 netns "$SP" type veth peer name sp netns "$SW"
  ns "$SP" sysctl -qw net.ipv6.conf.veth0.disable_ipv6=1
  ns "$SP" sysctl -qw net.ipv4.conf.all.rp_filter=1
  ns "$SP" sysctl -qw net.ipv4.conf.veth0.rp_filter=1
  ns "$SP" sysctl -qw net.ipv4.conf.veth0.arp_ignore=8
  # The TAP drasyl-sp creates inherits "default": no DAD, so IPv6 works at once.
  ns "$SP" sysctl -qw net.ipv6.conf.default.accept_dad=0
  ns "$SP" sysctl -qw net.ipv6.conf.all.accept_dad=0
  ns "$SP" sysctl -qw net.ipv6.conf.default.accept_ra=0
  ns "$SP" sysctl -qw net.ipv6.conf.default.router_solicitations=0
  offloads_off "$SP" veth0
  offloads_off "$SW" sp
  ns "$SW" ip link set sp master br0 up
  ns "$SP" ip link set veth0 up

  # Nodes.
  local i=2
  for n in "$N1" "$N2"; do
    local port=n$((i - 1))
    ip link add eth0 netns "$n" type veth peer name "$port" netns "$SW"
    ns "$n" sysctl -qw net.ipv6.conf.all.accept_dad=0
    ns "$n" sysctl -qw net.ipv6.conf.default.accept_dad=0
    ns "$n" sysctl -qw net.ipv6.conf.eth0.accept_dad=0
    ns "$n" sysctl -qw net.ipv6.conf.eth0.accept_ra=0
    offloads_off "$n" eth0
    offloads_off "$SW" "$port"
    ns "$SW" ip link set "$port" master br0 up
    ns "$n" ip addr add "10.99.0.$i/24" dev eth0
    ns "$n" ip addr add "fd99::$i/64" dev eth0 nodad
    ns "$n" ip link set eth0 up
    i=$((i + 1))
  done
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
  up) up ;;
  down) down ;;
  status) status ;;
  *)
    echo "usage: $0 up|down|status" >&2
    exit 2
    ;;
esac
