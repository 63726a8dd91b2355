#!/bin/sh
# Captures the WireGuard fixtures from a real wireguard-go 0.0.20220316 (Debian 12 package
# wireguard-go, configured with wg from wireguard-tools) against scripts/capture-datagrams.mjs,
# which records the datagrams framed as the detector sees them and never answers, so the
# initiator sends its handshake initiation and, REKEY_TIMEOUT (5 s) plus jitter later, a new one.
#
#   sh plugins/wireguard/capture.sh            (as root: wireguard-go needs /dev/net/tun)
#
# Everything runs in a private network namespace (unshare -n): the TUN interface and the loopback
# the packets cross exist only there, and vanish with it.
set -eu
cd "$(dirname "$0")/../.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/run.sh" <<INNER
set -eu
ip link set lo up
node scripts/capture-datagrams.mjs plugins/wireguard/fixtures/wireguard-go-initiation.bin --port 51820 --max 2 --idle 7000 > $T/log &
cap=\$!
while ! grep -q listening $T/log; do sleep 0.05; done
wg genkey > $T/a.key
wg genkey > $T/b.key
WG_PROCESS_FOREGROUND=1 wireguard-go wgcap0 > /dev/null 2>&1 &
wgp=\$!
while [ ! -S /var/run/wireguard/wgcap0.sock ]; do sleep 0.05; done
# A peer at the capture listener with a persistent keepalive: the device initiates a handshake at once.
wg set wgcap0 private-key $T/a.key peer "\$(wg pubkey < $T/b.key)" endpoint 127.0.0.1:51820 allowed-ips 10.99.0.2/32 persistent-keepalive 1
ip link set wgcap0 up
wait \$cap
kill \$wgp
cat $T/log
INNER
(umask 077 && unshare -n sh "$T/run.sh")
