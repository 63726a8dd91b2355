#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/tls/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

/** Offset of the server_name extension's host_name bytes in a single-record ClientHello. */
function hostNameOffset(b, name) {
  const at = b.indexOf(Buffer.from(name, 'latin1'));
  if (at < 0) throw new Error(`"${name}" not in capture`);
  return at;
}

const curl = read('curl.bin');
const opensslAlpn = read('openssl-alpn.bin');
const nodeAlpn = read('node-alpn.bin');

// Cut inside the extensions: the record header promises 512 bytes, 295 arrive.
write('curl-truncated.bin', curl.subarray(0, 300));

// One byte after the ClientHello (the type byte of a ChangeCipherSpec record a client may send next).
write('curl-extra-byte.bin', Buffer.concat([curl, Buffer.from([0x14])]));

// The five bytes that crashed the Go original: a handshake record of length 0.
write('crash-16030100-00.bin', Buffer.from([0x16, 0x03, 0x01, 0x00, 0x00]));

// curl's handshake message re-framed into 3-byte records: the 4-byte handshake header itself
// spans two records, which real stacks rarely do but RFC 8446 §5.1 allows.
{
  const FRAG = 3;
  const msg = curl.subarray(5, 5 + curl.readUInt16BE(3));
  const parts = [];
  for (let i = 0; i < msg.length; i += FRAG) {
    const frag = msg.subarray(i, i + FRAG);
    const hdr = Buffer.from([0x16, 0x03, 0x01, 0, 0]);
    hdr.writeUInt16BE(frag.length, 3);
    parts.push(hdr, frag);
  }
  write('curl-records-of-3.bin', Buffer.concat(parts));
}

// Same-length corruptions of the host_name: a control byte, then an empty label.
{
  const b = Buffer.from(opensslAlpn);
  b[hostNameOffset(b, 'a.test') + 1] = 0x01;
  write('openssl-alpn-control-byte-sni.bin', b);
}
{
  const b = Buffer.from(opensslAlpn);
  const at = hostNameOffset(b, 'a.test');
  b.write('a..est', at, 'latin1');
  write('openssl-alpn-empty-label-sni.bin', b);
}

// msg_type 2 (server_hello) instead of 1: a handshake record, but not a ClientHello.
{
  const b = Buffer.from(curl);
  b[5] = 0x02;
  write('curl-serverhello-type.bin', b);
}

// server_name_list length one more than its extension holds: framing that does not add up.
{
  const b = Buffer.from(nodeAlpn);
  const at = hostNameOffset(b, 'a.test');
  const listLenAt = at - 5; // list length(2) name_type(1) name length(2) precede the name
  b.writeUInt16BE(b.readUInt16BE(listLenAt) + 1, listLenAt);
  write('node-alpn-bad-sni-list-length.bin', b);
}
