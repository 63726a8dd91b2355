#!/usr/bin/env node
// Derives the QUIC fixtures that no client here sends, from the captures (capture.sh) and from the
// RFCs' sample packets, so each variant is reproducible and differs from a real client's bytes only
// where its manifest note says.
//   node plugins/quic/derive-fixtures.mjs
//
// Protection is redone with node:crypto (an independent implementation of the detector's HKDF,
// AES-ECB and AES-GCM): a packet re-protected here that the detector opens also cross-checks the
// detector's crypto. The RFC samples are built from the RFCs' stated inputs and must equal the
// bytes the RFCs print (checked below, or the script fails).

import { createCipheriv, createDecipheriv, createHmac } from 'node:crypto';
import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const V1 = 0x00000001;
const V2 = 0x6b3343cf;
const VERSIONS = {
  [V1]: { salt: '38762cf7f55934b34d179ae6a4c80cadccbb7f0a', prefix: 'quic ', initialType: 0 },
  [V2]: { salt: '0dede3def700a6db819381be6e269dcbf9bd2ed9', prefix: 'quicv2 ', initialType: 1 },
};

const hmac = (key, data) => createHmac('sha256', key).update(data).digest();
/** HKDF-Expand-Label with an empty context, one block (RFC 8446 §7.1). */
const expandLabel = (secret, label, n) => {
  const full = Buffer.from(`tls13 ${label}`);
  return hmac(secret, Buffer.concat([Buffer.from([n >> 8, n & 0xff, full.length]), full, Buffer.from([0, 1])])).subarray(0, n);
};
export function clientKeys(dcid, version) {
  const v = VERSIONS[version];
  const secret = expandLabel(hmac(Buffer.from(v.salt, 'hex'), dcid), 'client in', 32);
  return { key: expandLabel(secret, `${v.prefix}key`, 16), iv: expandLabel(secret, `${v.prefix}iv`, 12), hp: expandLabel(secret, `${v.prefix}hp`, 16) };
}

const varint = (b, o) => {
  const n = 1 << (b[o] >> 6);
  let v = b[o] & 0x3f;
  for (let i = 1; i < n; i++) v = v * 256 + b[o + i];
  return [v, o + n];
};
const varint2 = (v) => Buffer.from([0x40 | (v >> 8), v & 0xff]);

/** The fields of a protected Initial packet at the start of `pkt`. */
function longHeader(pkt) {
  const dcid = pkt.subarray(6, 6 + pkt[5]);
  let o = 6 + pkt[5];
  o += 1 + pkt[o]; // SCID
  const [tokenLen, t] = varint(pkt, o);
  const [len, pnOff] = varint(pkt, t + tokenLen);
  return { dcid, lengthAt: t + tokenLen, pnOff, end: pnOff + len, version: pkt.readUInt32BE(1) };
}

/** Removes protection: the unprotected header (up to the packet number's end), the packet number, the plaintext. */
export function unprotect(pkt) {
  const h = longHeader(pkt);
  const k = clientKeys(h.dcid, h.version);
  const mask = createCipheriv('aes-128-ecb', k.hp, null).update(pkt.subarray(h.pnOff + 4, h.pnOff + 20));
  const hdr = Buffer.from(pkt.subarray(0, h.pnOff + 4));
  hdr[0] ^= mask[0] & 0x0f;
  const pnLen = (hdr[0] & 3) + 1;
  let pn = 0;
  for (let i = 0; i < pnLen; i++) pn = pn * 256 + (hdr[h.pnOff + i] ^= mask[1 + i]);
  const d = createDecipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
  d.setAAD(hdr.subarray(0, h.pnOff + pnLen));
  d.setAuthTag(pkt.subarray(h.end - 16, h.end));
  const plain = Buffer.concat([d.update(pkt.subarray(h.pnOff + pnLen, h.end - 16)), d.final()]);
  return { header: hdr.subarray(0, h.pnOff + pnLen), pn, pnLen, plain, dcid: h.dcid, version: h.version, end: h.end };
}

function nonce(iv, pn) {
  const n = Buffer.from(iv);
  for (let i = 0; i < 6; i++) n[11 - i] ^= Math.floor(pn / 2 ** (8 * i)) & 0xff;
  return n;
}

/**
 * Protects `plain` as a client Initial (RFC 9001 §5.3, §5.4) with an unprotected `header` that
 * ends with a 2-byte Length field and a `pnLen`-byte packet number; the Length is rewritten here.
 */
export function protect(header, pnLen, pn, plain, keysFor) {
  const h = Buffer.from(header);
  const pnOff = h.length - pnLen;
  h.set(varint2(pnLen + plain.length + 16), pnOff - 2);
  const k = keysFor;
  const c = createCipheriv('aes-128-gcm', k.key, nonce(k.iv, pn));
  c.setAAD(h);
  const ct = Buffer.concat([c.update(plain), c.final(), c.getAuthTag()]);
  const pkt = Buffer.concat([h, ct]);
  const mask = createCipheriv('aes-128-ecb', k.hp, null).update(pkt.subarray(pnOff + 4, pnOff + 20));
  pkt[0] ^= mask[0] & 0x0f;
  for (let i = 0; i < pnLen; i++) pkt[pnOff + i] ^= mask[1 + i];
  return pkt;
}

/** `u16 BE length ‖ datagram` records. */
const frame = (...datagrams) => Buffer.concat(datagrams.flatMap((d) => [Buffer.from([d.length >> 8, d.length & 0xff]), d]));
const records = (b) => {
  const out = [];
  for (let o = 0; o < b.length; ) {
    const n = b.readUInt16BE(o);
    out.push(b.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
};
const flip = (b, i, x = 1) => {
  const c = Buffer.from(b);
  c[i] ^= x;
  return c;
};
const must = (cond, what) => {
  if (!cond) throw new Error(`derive-fixtures: ${what}`);
};

// RFC 9001 Appendix A.2 and RFC 9369 Appendix A.2: the client's Initial for DCID 8394c8f03e515708,
// packet number 2, a CRYPTO frame with the ClientHello below and PADDING to a 1162-byte payload.
const RFC_DCID = Buffer.from('8394c8f03e515708', 'hex');
const RFC_CRYPTO = Buffer.from(
  '060040f1010000ed0303ebf8fa56f12939b9584a3896472ec40bb863cfd3e86804fe3a47f06a2b69484c00000413011302010000c000000010000e00000b6578616d706c652e636f6dff01000100000a00080006001d0017001800100007000504616c706e000500050100000000003300260024001d00209370b2c9caa47fbabaf4559fedba753de171fa71f50f1ce15d43e994ec74d748002b0003020304000d0010000e0403050306030203080408050806002d00020101001c00024001003900320408ffffffffffffffff05048000ffff07048000ffff0801100104800075300901100f088394c8f03e51570806048000ffff',
  'hex',
);
const rfcPlain = Buffer.concat([RFC_CRYPTO, Buffer.alloc(1162 - RFC_CRYPTO.length)]);
const rfcV1 = protect(Buffer.from('c300000001088394c8f03e5157080000449e00000002', 'hex'), 4, 2, rfcPlain, clientKeys(RFC_DCID, V1));
must(rfcV1.subarray(0, 32).toString('hex') === 'c000000001088394c8f03e5157080000449e7b9aec34d1b1c98dd7689fb8ec11', 'RFC 9001 A.2 packet start');
must(rfcV1.subarray(-16).toString('hex') === 'e221af44860018ab0856972e194cd934', 'RFC 9001 A.2 packet end');
const rfcV2 = protect(Buffer.from('d36b3343cf088394c8f03e5157080000449e00000002', 'hex'), 4, 2, rfcPlain, clientKeys(RFC_DCID, V2));
must(rfcV2.subarray(0, 32).toString('hex') === 'd76b3343cf088394c8f03e5157080000449ea0c95e82ffe67b6abcdb4298b485', 'RFC 9369 A.2 packet start');
must(rfcV2.subarray(-16).toString('hex') === 'a18b2faa745b6fe189cf772a9f84cbfc', 'RFC 9369 A.2 packet end');
write('rfc9001-a2-client-initial.bin', frame(rfcV1));
write('rfc9369-a2-client-initial.bin', frame(rfcV2));

// ngtcp2's first Initial, opened, to re-protect in other shapes.
const cap = records(read('ngtcp2-v1.bin'));
const first = cap[0];
const open1 = unprotect(first);
must(open1.plain[0] === 0x06, 'ngtcp2-v1.bin starts with a CRYPTO frame');
const [, cOff] = varint(open1.plain, 1); // offset 0
const [helloLen, helloAt] = varint(open1.plain, cOff);
const hello = open1.plain.subarray(helloAt, helloAt + helloLen);

/** ngtcp2's Source Connection ID, from its header: version(4) after the first byte, DCID, then SCID. */
const scid = open1.header.subarray(7 + open1.dcid.length, 7 + open1.dcid.length + open1.header[6 + open1.dcid.length]);

/**
 * An Initial with ngtcp2's connection IDs, no token, a 2-byte Length and a 4-byte packet number
 * (ngtcp2 itself sends a 4-byte Length and a 1-byte number), and `plain` padded to fill a
 * 1200-byte datagram.
 */
function ngtcp2Initial(plain, pn = 0, version = V1) {
  const first = 0xc0 | (VERSIONS[version].initialType << 4) | 3;
  const v = Buffer.alloc(4);
  v.writeUInt32BE(version);
  const pnBytes = Buffer.alloc(4);
  pnBytes.writeUInt32BE(pn);
  const h = Buffer.concat([Buffer.from([first]), v, Buffer.from([open1.dcid.length]), open1.dcid, Buffer.from([scid.length]), scid, Buffer.from([0]), varint2(0), pnBytes]);
  const room = 1200 - h.length - 16;
  must(plain.length <= room, 'payload fits a 1200-byte datagram');
  return protect(h, 4, pn, Buffer.concat([plain, Buffer.alloc(room - plain.length)]), clientKeys(open1.dcid, version));
}
const crypto = (off, data) => Buffer.concat([Buffer.from([0x06]), varint2(off), varint2(data.length), data]);

// QUIC v2 (RFC 9369): ngtcp2's ClientHello in a v2 Initial (version 0x6b3343cf, type bits 01, v2 keys).
write('derived-v2-ngtcp2-hello.bin', frame(ngtcp2Initial(crypto(0, hello), 0, V2)));

// The ClientHello scattered as Chrome does ("chaos protection"): CRYPTO pieces out of order, one
// repeated, with PING, PADDING and an ACK frame between them.
const cuts = [0, 5, 90, 91, 200, 333, hello.length];
const pieces = cuts.slice(0, -1).map((c, i) => crypto(c, hello.subarray(c, cuts[i + 1])));
const ack = Buffer.from([0x02, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00]); // largest 0, delay 0, 1 range, first 0, gap 1 length 0
const scattered = Buffer.concat([pieces[4], Buffer.from([0x01]), pieces[1], Buffer.alloc(3), pieces[5], ack, pieces[0], pieces[2], pieces[1], Buffer.from([0x01]), pieces[3]]);
write('derived-scattered-crypto.bin', frame(ngtcp2Initial(scattered)));

// The same ClientHello over three datagrams, the last piece first: NEED_MORE until the third.
write('derived-three-datagrams-reordered.bin', frame(ngtcp2Initial(crypto(300, hello.subarray(300)), 2), ngtcp2Initial(crypto(0, hello.subarray(0, 150)), 0), ngtcp2Initial(crypto(150, hello.subarray(150, 300)), 1)));

// A frame an Initial packet may not carry (STREAM, type 0x08): PROTOCOL_VIOLATION, NO_MATCH.
write('derived-stream-frame-in-initial.bin', frame(ngtcp2Initial(Buffer.concat([crypto(0, hello), Buffer.from([0x08, 0x00, 0x01, 0x61])]))));
// CONNECTION_CLOSE from the client: it is giving up, NO_MATCH.
write('derived-connection-close.bin', frame(ngtcp2Initial(Buffer.concat([Buffer.from([0x1c, 0x01, 0x00, 0x00]), crypto(0, hello)]))));
// A CRYPTO stream that starts with another handshake message (ServerHello type 2): NO_MATCH.
write('derived-serverhello-in-crypto.bin', frame(ngtcp2Initial(crypto(0, Buffer.concat([Buffer.from([0x02]), hello.subarray(1)])))));

// Damaged on the way: the last byte of the tag, one ciphertext byte, one DCID byte (the keys and the
// associated data change): authentication fails, NO_MATCH from the first datagram.
write('ngtcp2-v1-bad-tag.bin', frame(flip(first, first.length - 1)));
write('ngtcp2-v1-bad-ciphertext.bin', frame(flip(first, 600)));
write('ngtcp2-v1-bad-dcid.bin', frame(flip(first, 8)));
// Cut inside the first datagram: NEED_MORE (the record is not whole yet).
write('ngtcp2-v1-truncated.bin', frame(first).subarray(0, 700));

// The two-datagram ClientHello whose second datagram fails authentication: discarded, as a server
// does, so NEED_MORE; then the same with the intact second datagram arriving after it: MATCH.
const two = records(read('ngtcp2-v1-ffdhe8192-two-datagrams.bin'));
const badSecond = flip(two[1], two[1].length - 1);
write('ngtcp2-ffdhe-second-bad-tag.bin', frame(two[0], badSecond));
write('ngtcp2-ffdhe-second-bad-then-good.bin', frame(two[0], badSecond, two[1]));

// Not a client Initial: a short-header packet (first byte 0x40 | bits), a datagram under 1200
// bytes, an unknown version (draft-29's 0xff00001d), a v1 Handshake packet type.
const short = Buffer.from(first);
short[0] = 0x43;
write('short-header.bin', frame(short));
write('datagram-1199-bytes.bin', frame(first.subarray(0, 1199)));
const draft29 = Buffer.from(first);
draft29.writeUInt32BE(0xff00001d, 1);
write('version-draft-29.bin', frame(draft29));
const handshake = Buffer.from(first);
handshake[0] = (handshake[0] & 0xcf) | (2 << 4);
write('handshake-packet-type.bin', frame(handshake));

// Random bytes behind a plausible v1 Initial header: the header passes, the tag cannot.
let seed = 0x5eed;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 0xff;
const random = Buffer.from(Array.from({ length: 1200 }, rnd));
Buffer.from('c00000000108', 'hex').copy(random, 0);
random[14] = 0; // SCID length 0
random[15] = 0; // token length 0
random.set(varint2(1200 - 18), 16);
write('other-random-after-initial-header.bin', frame(random));

// MAX_DATAGRAMS: the first half of the two-datagram ClientHello and then only its retransmissions,
// eight datagrams in all: the detector stops waiting at the eighth (NO_MATCH).
write('ngtcp2-ffdhe-first-half-eight-times.bin', frame(...Array(8).fill(two[0])));
