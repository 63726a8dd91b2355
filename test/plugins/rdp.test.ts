// The built RDP detector (dist/plugins/rdp.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'rdp',
  protocol: 'RDP',
  keyPattern: /^(COOKIE|TOKEN) [\x20-\x7e]*$/,
  seed: 0x5eed_0d09,
  randomPrefix: Uint8Array.of(0x03, 0x00, 0x00, 0x2b, 0x26, 0xe0, 0, 0, 0, 0, 0),
});

/** A Connection Request around `variable`, with the TPKT length and LI it implies. */
function connReq(variable: Uint8Array): Uint8Array {
  const b = new Uint8Array(11 + variable.length);
  b.set([0x03, 0x00, b.length >> 8, b.length & 0xff, b.length - 5, 0xe0]);
  b.set(variable, 11);
  return b;
}
const enc = (s: string) => new TextEncoder().encode(s);

describe('rdp detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is the TPKT version 3', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 3 ? NEED_MORE : NO_MATCH);
  });

  it('waits for exactly the TPKT length', () => {
    const b = connReq(enc('Cookie: mstshash=bob\r\n'));
    expect(det().detect(b.subarray(0, b.length - 1), false).verdict).toBe(NEED_MORE);
    expect(det().detect(b, false)).toEqual({ verdict: MATCH, keys: ['COOKIE bob'] });
  });

  it('rejects TPKT lengths shorter than a Connection Request or longer than the window', () => {
    const b = connReq(new Uint8Array(0));
    b[3] = 10;
    expect(det().detect(b, false).verdict).toBe(NO_MATCH);
    const big = Uint8Array.of(0x03, 0x00, 0x40, 0x01); // 16385
    expect(det().detect(big, false).verdict).toBe(NO_MATCH);
  });

  it('an old client with no variable part at all matches with `COOKIE `', () => {
    expect(det().detect(connReq(new Uint8Array(0)), false)).toEqual({ verdict: MATCH, keys: ['COOKIE '] });
  });

  it('rejects bytes after RDP_NEG_REQ that are not a correlation info', () => {
    const neg = [0x01, 0x00, 0x08, 0x00, 0x03, 0x00, 0x00, 0x00];
    expect(det().detect(connReq(Uint8Array.from([...enc('Cookie: mstshash=a\r\n'), ...neg, 0x99])), false).verdict).toBe(NO_MATCH);
  });
});
