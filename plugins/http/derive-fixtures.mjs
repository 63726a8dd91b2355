#!/usr/bin/env node
// Derives the edge-case fixtures from the captured ones, so each variant is reproducible and
// differs from a real client's bytes only where its manifest note says.
//   node plugins/http/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);
const PREFACE = 24;

/** Splits what follows the preface into frames. */
function frames(b) {
  const out = [];
  for (let pos = PREFACE; pos < b.length; ) {
    const len = b.readUIntBE(pos, 3);
    out.push({ type: b[pos + 3], flags: b[pos + 4], stream: b.readUInt32BE(pos + 5) & 0x7fffffff, payload: b.subarray(pos + 9, pos + 9 + len) });
    pos += 9 + len;
  }
  return out;
}
function frame({ type, flags, stream, payload }) {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}
const build = (preface, fs) => Buffer.concat([preface, ...fs.map(frame)]);

const get = read('curl-get.bin');
const h2c = read('curl-h2c.bin');
const preface = h2c.subarray(0, PREFACE);
const fr = frames(h2c);
const hi = fr.findIndex((f) => f.type === 1);
const hdrs = fr[hi];

write('curl-get-truncated.bin', get.subarray(0, 30));
write('curl-get-extra-byte.bin', Buffer.concat([get, Buffer.from('G')]));
write('curl-get-lf-only.bin', Buffer.from(get.toString('latin1').replaceAll('\r\n', '\n'), 'latin1'));
write('curl-get-empty-label-host.bin', Buffer.from(get.toString('latin1').replace('Host: a.test', 'Host: a..est'), 'latin1'));
write('curl-get-unknown-method.bin', Buffer.from(get.toString('latin1').replace('GET ', 'GETS '), 'latin1'));
write('curl-get-http2-version.bin', Buffer.from(get.toString('latin1').replace('HTTP/1.1', 'HTTP/2.0'), 'latin1'));
write('curl-get-space-before-colon.bin', Buffer.from(get.toString('latin1').replace('Host:', 'Host :'), 'latin1'));
// A head that does not end within the 16 KiB window (no Host before a huge field).
write('head-past-window.bin', Buffer.from(`GET / HTTP/1.1\r\nX-Big: ${'x'.repeat(17000)}\r\nHost: a.test\r\n\r\n`, 'latin1'));
write('h2c-preface-truncated.bin', h2c.subarray(0, 20));
write('curl-h2c-truncated.bin', h2c.subarray(0, h2c.length - 5));
// The header block split: HEADERS without END_HEADERS, then two CONTINUATION frames.
{
  const blk = hdrs.payload;
  const a = blk.subarray(0, 5), b = blk.subarray(5, 12), c = blk.subarray(12);
  write('curl-h2c-continuation.bin', build(preface, [
    ...fr.slice(0, hi),
    { ...hdrs, flags: hdrs.flags & ~0x4, payload: a },
    { type: 9, flags: 0, stream: hdrs.stream, payload: b },
    { type: 9, flags: 0x4, stream: hdrs.stream, payload: c },
  ]));
}
// HEADERS with PADDED (3 bytes of padding) and PRIORITY (dependency 0, weight 16).
{
  const payload = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 15]), hdrs.payload, Buffer.alloc(3)]);
  write('curl-h2c-padded-priority.bin', build(preface, [...fr.slice(0, hi), { ...hdrs, flags: hdrs.flags | 0x8 | 0x20, payload }]));
}
// A header block with plain (not Huffman) literals: ":authority" as a literal name, an upper-case
// IPv6 literal with a port as its value, and a PING frame skipped before it.
{
  const str = (s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
  const blk = Buffer.concat([Buffer.from([0x82, 0x86, 0x84, 0x00]), str(':authority'), str('[FE80::1]:8080')]);
  write('h2c-plain-literal-ipv6.bin', build(preface, [
    fr[0],
    { type: 6, flags: 0, stream: 0, payload: Buffer.alloc(8) },
    { type: 1, flags: 0x5, stream: 1, payload: blk },
  ]));
}
// No :authority, a host field instead (RFC 9113 §8.3.1 allows it), and :method PUT as a literal.
{
  const str = (s) => Buffer.concat([Buffer.from([s.length]), Buffer.from(s, 'latin1')]);
  const blk = Buffer.concat([Buffer.from([0x02]), str('PUT'), Buffer.from([0x86, 0x84, 0x0f, 0x17]), str('host.a.test')]);
  write('h2c-host-field.bin', build(preface, [fr[0], { type: 1, flags: 0x5, stream: 1, payload: blk }]));
}
// Huffman strings that must fail (RFC 7541 §5.2): an :authority of 32 one-bits, which holds the
// 30-bit EOS symbol; and "a" (00011) followed by 11 bits of padding, more than the 7 allowed.
write('h2c-huffman-eos.bin', build(preface, [fr[0], { type: 1, flags: 0x5, stream: 1, payload: Buffer.from([0x82, 0x86, 0x84, 0x41, 0x84, 0xff, 0xff, 0xff, 0xff]) }]));
write('h2c-huffman-long-padding.bin', build(preface, [fr[0], { type: 1, flags: 0x5, stream: 1, payload: Buffer.from([0x82, 0x86, 0x84, 0x41, 0x82, 0x1f, 0xff]) }]));
// A DATA frame on stream 0 before any request: not how an HTTP/2 client starts.
write('h2c-data-first.bin', build(preface, [fr[0], { type: 0, flags: 0, stream: 1, payload: Buffer.from('hi') }]));
// The preface without the SETTINGS frame it must be followed by (a HEADERS frame at once).
write('h2c-no-settings.bin', build(preface, [hdrs]));
