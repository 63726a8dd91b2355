#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/dns/derive-fixtures.mjs

import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

// 0038 | ID b2bf | 01 20 (RD, AD) | QD 1 AN 0 NS 0 AR 1 | 03 www 07 example 03 com 00 | 0001 A | 0001 IN | OPT (cookie)
const a = read('dig-tcp-a.bin');
const mx = read('dig-tcp-mx.bin');
const udpA = read('dig-udp-a.bin');
const udpHttps = read('dig-udp-https.bin');

const at = (b, i, ...v) => {
  const c = Buffer.from(b);
  v.forEach((x, k) => (c[i + k] = x));
  return c;
};
/** A framed message: u16 length ‖ header ‖ QNAME of `labels` ‖ QTYPE ‖ QCLASS. */
const query = ({ flags = [0x01, 0x00], labels, type = 1, cls = 1, qd = 1 }) => {
  const name = Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
  const header = Buffer.from([0x4e, 0x21, ...flags, qd >> 8, qd & 0xff, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.from([type >> 8, type & 0xff, cls >> 8, cls & 0xff]);
  const msg = Buffer.concat([header, name, tail]);
  return Buffer.concat([Buffer.from([msg.length >> 8, msg.length & 0xff]), msg]);
};

write('dig-tcp-a-truncated.bin', a.subarray(0, 20));
// RFC 7766 §6.2.1.1: a client may pipeline queries on one connection; the first one decides.
write('dig-tcp-pipelined.bin', Buffer.concat([a, mx]));
// A UDP flow's window after its second datagram (two records): judged by the first.
write('dig-udp-two-records.bin', Buffer.concat([udpA, udpHttps]));
write('notify.bin', query({ flags: [0x24, 0x00], labels: ['example', 'com'], type: 6 })); // opcode 4, AA
write('name-253.bin', query({ labels: ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)] }));
write('response.bin', at(a, 4, 0x81));
write('opcode-iquery.bin', at(a, 4, 0x09));
write('opcode-status.bin', at(a, 4, 0x11));
write('truncated-flag.bin', at(a, 4, 0x03));
write('z-bit.bin', at(a, 5, 0x60));
write('rcode-nonzero.bin', at(a, 5, 0x21));
write('qdcount-0.bin', at(a, 6, 0, 0));
write('qdcount-too-many.bin', at(a, 6, 0x00, 0x0c)); // 12 questions of at least 5 bytes cannot fit 56 - 12 bytes
write('length-too-small.bin', at(a, 0, 0x00, 0x10));
write('compression-pointer.bin', at(a, 14, 0xc0, 0x0c));
write('label-64.bin', query({ labels: ['x'.repeat(64), 'com'] }));
write('name-too-long.bin', query({ labels: ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(63)] }));
write('name-past-message.bin', at(a, 0, 0x00, 0x14)); // 20 bytes: the header and a few of the name
write('qtype-0.bin', at(a, 31, 0, 0));
write('qclass-2.bin', at(a, 33, 0, 2));

// Other protocols' captures, to show the detector refuses them; the OpenVPN one shares the u16 framing.
const here = fileURLToPath(new URL('./fixtures/', import.meta.url));
for (const [from, to] of [
  ['http/fixtures/curl-get.bin', 'other-http-curl-get.bin'],
  ['tls/fixtures/curl.bin', 'other-tls-curl.bin'],
  ['ssh/fixtures/openssh.bin', 'other-ssh-openssh.bin'],
  ['rdp/fixtures/xfreerdp.bin', 'other-rdp-xfreerdp.bin'],
  ['openvpn/fixtures/openvpn-tcp-tls-auth.bin', 'other-openvpn-tcp-tls-auth.bin'],
]) {
  copyFileSync(fileURLToPath(new URL(`../${from}`, import.meta.url)), here + to);
  console.log(`${to} (copy of plugins/${from})`);
}
