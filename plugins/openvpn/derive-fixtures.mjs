#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/openvpn/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const plain = read('openvpn-tcp.bin'); // 000e | 38 | session id (8) | 00 | 00000000
const auth = read('openvpn-tcp-tls-auth.bin'); // 002a | 38 | session id | HMAC-SHA1 (20) | 00000001 | time | 00 | 00000000
const v2 = read('openvpn-tcp-tls-crypt-v2.bin');
const at = (b, i, v) => {
  const c = Buffer.from(b);
  c[i] = v;
  return c;
};
/** A record with its u16 length fixed up. */
const record = (packet) => {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(packet.length);
  return Buffer.concat([len, packet]);
};

write('openvpn-tcp-truncated.bin', plain.subarray(0, 10));
// The client waits for the server's reset; a byte after the record is ignored.
write('openvpn-tcp-extra-byte.bin', Buffer.concat([plain, Buffer.from([0x00])]));
// --auth SHA256 instead of SHA1: 12 more HMAC bytes, same layout.
write('tls-auth-sha256.bin', record(Buffer.concat([auth.subarray(2, 31), Buffer.alloc(12, 0xa5), auth.subarray(31)])));
// An early-negotiation TLV payload after an unwrapped reset (type 1 EARLY_NEG_FLAGS, length 2, RESEND_WKC).
write('plain-with-payload.bin', record(Buffer.concat([plain.subarray(2), Buffer.from([0, 1, 0, 2, 0, 1])])));
write('key-id-1.bin', at(plain, 2, 0x39));
write('server-reset-opcode.bin', at(plain, 2, 8 << 3));
write('data-v2-opcode.bin', at(plain, 2, 9 << 3));
write('length-too-small.bin', Buffer.concat([Buffer.from([0, 13]), plain.subarray(2, 15)]));
write('length-too-big.bin', Buffer.concat([Buffer.from([0x07, 0x00]), plain.subarray(2)]));
write('plain-ack-nonzero.bin', at(plain, 11, 1));
write('tls-auth-packet-id-2.bin', at(auth, 34, 2));
write('tls-crypt-v2-bad-wkc-length.bin', at(at(v2, v2.length - 2, 0xff), v2.length - 1, 0xff));
