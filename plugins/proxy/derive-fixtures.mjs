#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones (and, for headers HAProxy 2.6 does not
// send, builds them from the PROXY protocol spec), so each variant is reproducible and differs
// from a real sender's bytes only where its manifest note says.
//   node plugins/proxy/derive-fixtures.mjs

import { copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

// "PROXY TCP4 127.1.2.3 127.0.0.1 44002 47611\r\n" ‖ curl's GET
const v1 = read('haproxy-send-proxy-curl.bin');
const v1Line = v1.subarray(0, v1.indexOf('\r\n') + 2);
const get = v1.subarray(v1Line.length);
// signature ‖ 21 (v2, PROXY) ‖ 11 (INET, STREAM) ‖ 000c ‖ 7f010203 7f000001 ‖ sport ‖ dport ‖ curl's GET
const v2 = read('haproxy-send-proxy-v2-curl.bin');
const SIG = v2.subarray(0, 12);

const line = (s) => Buffer.concat([Buffer.from(s, 'latin1'), get]);
const at = (b, i, v) => {
  const c = Buffer.from(b);
  c[i] = v;
  return c;
};
/** A v2 header: version/command, family/transport, address block (the length fixed up), then curl's GET. */
const header2 = (vc, ft, block) => Buffer.concat([SIG, Buffer.from([vc, ft, block.length >> 8, block.length & 0xff]), block, get]);
const ip6 = (groups) => Buffer.concat(groups.map((g) => Buffer.from([g >> 8, g & 0xff])));
const ports = Buffer.from([0xc0, 0x01, 0x01, 0xbb]);

write('v1-truncated.bin', v1.subarray(0, 20));
write('v1-tcp6-full-form.bin', line('PROXY TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 2001:db8::2 49153 443\r\n'));
write('v1-tcp6-v4-mapped.bin', line('PROXY TCP6 ::ffff:192.0.2.7 ::ffff:192.0.2.1 49153 443\r\n'));
write('v1-unknown.bin', line('PROXY UNKNOWN\r\n'));
const f = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
write('v1-unknown-107.bin', line(`PROXY UNKNOWN ${f} ${f} 65535 65535\r\n`)); // the spec's worst case, exactly 107 bytes
write('v1-lowercase.bin', line('proxy tcp4 127.1.2.3 127.0.0.1 44002 47611\r\n'));
write('v1-udp4.bin', line('PROXY UDP4 127.1.2.3 127.0.0.1 44002 47611\r\n'));
write('v1-octet-256.bin', line('PROXY TCP4 127.1.2.256 127.0.0.1 44002 47611\r\n'));
write('v1-leading-zero.bin', line('PROXY TCP4 127.001.2.3 127.0.0.1 44002 47611\r\n'));
write('v1-tcp4-with-ipv6.bin', line('PROXY TCP4 ::1 127.0.0.1 44002 47611\r\n'));
write('v1-port-65536.bin', line('PROXY TCP4 127.1.2.3 127.0.0.1 65536 47611\r\n'));
write('v1-bare-lf.bin', line('PROXY TCP4 127.1.2.3 127.0.0.1 44002 47611\n'));
write('v1-double-space.bin', line('PROXY TCP4  127.1.2.3 127.0.0.1 44002 47611\r\n'));
write('v1-two-gaps.bin', line('PROXY TCP6 2001::1::2 ::1 44002 47611\r\n'));
write('v1-unknown-no-crlf.bin', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}`, 'latin1'));

write('v2-truncated.bin', v2.subarray(0, 18));
write('v2-udp4.bin', header2(0x21, 0x12, Buffer.concat([Buffer.from([198, 51, 100, 7, 192, 0, 2, 1]), ports])));
write('v2-tcp6-global.bin', header2(0x21, 0x21, Buffer.concat([ip6([0x2001, 0xdb8, 0x85a3, 0, 0, 0x8a2e, 0x370, 0x7334]), ip6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]), ports])));
write('v2-tcp6-v4-mapped.bin', header2(0x21, 0x21, Buffer.concat([ip6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0207]), ip6([0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201]), ports])));
write('v2-unix.bin', header2(0x21, 0x31, Buffer.concat([Buffer.from('/run/client.sock'.padEnd(108, '\0')), Buffer.from('/run/server.sock'.padEnd(108, '\0'))])));
write('v2-proxy-unspec.bin', header2(0x21, 0x00, Buffer.alloc(0)));
write('v2-version-1.bin', at(v2, 12, 0x11));
write('v2-command-2.bin', at(v2, 12, 0x22));
write('v2-family-4.bin', at(v2, 13, 0x41));
write('v2-inet-transport-0.bin', at(v2, 13, 0x10));
write('v2-length-short.bin', at(v2, 15, 11));
write('v2-bad-signature.bin', at(v2, 10, 0x58)); // QUIX

// Other protocols' captures, to show the detector refuses them.
const here = fileURLToPath(new URL('./fixtures/', import.meta.url));
for (const [from, to] of [
  ['http/fixtures/curl-get.bin', 'other-http-curl-get.bin'],
  ['tls/fixtures/curl.bin', 'other-tls-curl.bin'],
  ['ssh/fixtures/openssh.bin', 'other-ssh-openssh.bin'],
  ['rdp/fixtures/xfreerdp.bin', 'other-rdp-xfreerdp.bin'],
]) {
  copyFileSync(fileURLToPath(new URL(`../${from}`, import.meta.url)), here + to);
  console.log(`${to} (copy of plugins/${from})`);
}
