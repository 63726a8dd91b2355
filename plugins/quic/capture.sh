#!/bin/sh
# Captures the QUIC fixtures from Debian 12's ngtcp2 client (package ngtcp2-client, binary
# gtlsclient, ngtcp2 0.12.1 on GnuTLS): each client runs against scripts/capture-datagrams.mjs,
# which records the flow's datagrams framed as the detector sees them and never answers, so the
# client sends its first flight and then retransmits it on its PTO timer.
#
#   sh plugins/quic/capture.sh            (as root: see the hosts note below)
#
# ngtcp2's client sends its <HOST> argument as the SNI (an IP literal becomes "localhost", and its
# --sni option is not used by this version), so the names must resolve: the client runs in a
# private mount namespace with /etc/hosts bound to a file that maps them to 127.0.0.1 (unshare -m
# needs root; nothing outside the namespace changes).
set -eu
cd "$(dirname "$0")/../.."
F=plugins/quic/fixtures
T=$(mktemp -d)
trap 'kill $SRV 2>/dev/null || true; rm -rf "$T"' EXIT
SRV=
printf '127.0.0.1 localhost\n127.0.0.1 a.test www.example.test\n' > "$T/hosts"

# capture OUT PORT MAX IDLE_MS CLIENT...: the capture listener, then the client in the namespace.
capture() {
  out=$1 port=$2 max=$3 idle=$4
  shift 4
  node scripts/capture-datagrams.mjs "$F/$out" --port "$port" --max "$max" --idle "$idle" > "$T/log" &
  cap=$!
  while ! grep -q listening "$T/log"; do sleep 0.05; done
  unshare -m sh -c "mount --bind $T/hosts /etc/hosts && exec timeout 6 $*" > /dev/null 2>&1 || true
  wait $cap
  cat "$T/log"
}

# The first Initial and its retransmission one PTO later (~1 s).
capture ngtcp2-v1.bin 47401 2 1500 gtlsclient -q --timeout=3s a.test 47401 https://a.test/
# A ClientHello over two datagrams: an 8192-bit FFDHE key share (1024 bytes, about the size of a
# post-quantum ML-KEM-768 share) makes it 1323 bytes, sent as CRYPTO 0-1131 and 1132-1322, then
# the first part again on the PTO timer.
capture ngtcp2-v1-ffdhe8192-two-datagrams.bin 47402 3 1800 gtlsclient -q --timeout=4s \
  --groups=-GROUP-ALL:+GROUP-FFDHE8192:+GROUP-FFDHE6144:+GROUP-X25519 a.test 47402 https://a.test/
# Upper-case host name: the SNI key is lower-cased.
capture ngtcp2-v1-uppercase-sni.bin 47403 1 800 gtlsclient -q --timeout=3s WWW.Example.TEST 47403 https://WWW.Example.TEST/
# QUIC v2 as this ngtcp2 has it: draft version 0x709a50c4 (draft salt), not RFC 9369's 0x6b3343cf.
capture ngtcp2-v2draft.bin 47404 1 800 gtlsclient -q --timeout=3s -v v2draft a.test 47404 https://a.test/

# Resumption with 0-RTT: a full handshake against a real ngtcp2 server (gtlsserver, package
# ngtcp2-server) stores the ticket and transport parameters; the second connection then coalesces
# an Initial (ClientHello with a PSK) and a 0-RTT packet in its first datagram.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
  -days 1 -subj /CN=a.test -addext subjectAltName=DNS:a.test > /dev/null 2>&1
gtlsserver -q 127.0.0.1 47405 "$T/key.pem" "$T/cert.pem" > /dev/null 2>&1 &
SRV=$!
sleep 0.3
unshare -m sh -c "mount --bind $T/hosts /etc/hosts && exec timeout 6 gtlsclient -q --exit-on-all-streams-close \
  --session-file=$T/sess --tp-file=$T/tp a.test 47405 https://a.test/" > /dev/null 2>&1
kill $SRV
SRV=
capture ngtcp2-v1-0rtt-coalesced.bin 47406 1 800 gtlsclient -q --timeout=3s --session-file="$T/sess" --tp-file="$T/tp" \
  a.test 47406 https://a.test/

# Other protocols over UDP, kept to show the detector rejects them (framed the same way).
capture other-dns-dig.bin 47407 1 800 dig @127.0.0.1 -p 47407 +tries=1 +timeout=1 a.test A
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/ovpn.key" -out "$T/ovpn.pem" -days 1 -subj /CN=client > /dev/null 2>&1
capture other-openvpn-udp.bin 47408 1 800 openvpn --client --proto udp --remote 127.0.0.1 47408 --dev null \
  --ifconfig-noexec --route-noexec --ca "$T/ovpn.pem" --cert "$T/ovpn.pem" --key "$T/ovpn.key" --connect-retry-max 1 --verb 0
