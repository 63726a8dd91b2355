#!/usr/bin/env node
// Derives the WireGuard variants from the wireguard-go capture (capture.sh), each differing from the
// real initiation only where its manifest note says; the other message types are built from the
// WireGuard paper's layouts (§5.4.3 response, §5.4.7 cookie reply, §5.4.6 transport data).
//   node plugins/wireguard/derive-fixtures.mjs

import { fixtureIO } from '../../scripts/fixture-io.mjs';

const { read, write } = fixtureIO(import.meta.url);

const cap = read('wireguard-go-initiation.bin');
const first = cap.subarray(2, 2 + cap.readUInt16BE(0)); // the first initiation, 148 bytes
const frame = (d) => Buffer.concat([Buffer.from([d.length >> 8, d.length & 0xff]), d]);
const at = (b, i, v) => {
  const c = Buffer.from(b);
  c[i] = v;
  return c;
};
/** A message of `type` with zero reserved bytes and `len` bytes in all, the rest taken from the initiation's random-looking bytes. */
const message = (type, len) => {
  const m = Buffer.alloc(len);
  m[0] = type;
  first.copy(m, 4, 4, Math.min(len, 148));
  return m;
};

write('wireguard-go-truncated.bin', frame(first).subarray(0, 100));
// Under load a responder answers with a cookie and the initiator then fills mac2: not checked.
const mac2 = Buffer.from(first);
for (let i = 132; i < 148; i++) mac2[i] = (i * 37) & 0xff;
write('mac2-set.bin', frame(mac2));
write('initiation-149-bytes.bin', frame(Buffer.concat([first, Buffer.from([0])])));
write('initiation-147-bytes.bin', frame(first.subarray(0, 147)));
write('reserved-byte-set.bin', frame(at(first, 2, 1)));
write('response-message.bin', frame(message(2, 92)));
write('cookie-reply-message.bin', frame(message(3, 64)));
// Transport data is 32 + 16n bytes, never 148; this one has the initiation's length and type 4.
write('transport-type-in-148-bytes.bin', frame(at(first, 0, 4)));
