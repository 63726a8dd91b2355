#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/socks/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const s4 = read('curl-socks4.bin'); // 04 01 1f90 0a010203 00: CONNECT 10.1.2.3:8080, empty USERID
const s4a = read('curl-socks4a.bin'); // 04 01 0050 00000001 00 "web.test" 00
const s5 = read('curl-socks5.bin'); // 05 02 00 01: no auth, GSSAPI
const at = (b, i, v) => {
  const c = Buffer.from(b);
  c[i] = v;
  return c;
};
const socks4a = (user, host) => Buffer.concat([s4a.subarray(0, 8), Buffer.from(`${user}\0${host}\0`, 'latin1')]);

write('socks4a-truncated.bin', s4a.subarray(0, 12));
// The first byte of the HTTP request curl sends once the proxy has answered.
write('socks4a-extra-byte.bin', Buffer.concat([s4a, Buffer.from('G')]));
write('socks4-userid.bin', Buffer.concat([s4.subarray(0, 8), Buffer.from('alice\0')]));
write('socks4a-uppercase-host.bin', socks4a('', 'WEB.Test'));
write('socks4a-not-a-dns-name.bin', socks4a('', 'web..test'));
write('socks4a-empty-host.bin', socks4a('', ''));
write('socks4a-control-byte-in-host.bin', socks4a('', 'web\x01test'));
write('socks4-bind.bin', at(s4, 1, 2));
write('socks4-bad-command.bin', at(s4, 1, 3));
write('socks4-port-zero.bin', Buffer.concat([Buffer.from([4, 1, 0, 0]), s4.subarray(4)]));
write('socks4-overlong-userid.bin', Buffer.concat([s4.subarray(0, 8), Buffer.from(`${'u'.repeat(300)}\0`)]));
write('socks5-truncated.bin', s5.subarray(0, 3));
// curl waits for the method choice; a client that pipelines its CONNECT request (05 01 00 03 …) is still SOCKS 5.
write('socks5-pipelined-request.bin', Buffer.concat([s5, Buffer.from([5, 1, 0, 3, 8]), Buffer.from('web.test'), Buffer.from([0, 80])]));
write('socks5-no-methods.bin', Buffer.from([5, 0]));
write('socks5-method-ff.bin', Buffer.from([5, 2, 0, 0xff]));
write('socks5-unassigned-method.bin', Buffer.from([5, 1, 0x0a]));
write('socks5-private-method.bin', Buffer.from([5, 2, 0, 0x80]));
