// The built XMPP detector (dist/plugins/xmpp.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'xmpp',
  protocol: 'XMPP',
  keyPattern: /^DOMAIN [a-z0-9._-]+$/,
  seed: 0x5eed_5222,
  randomPrefix: new TextEncoder().encode("<stream:stream to='"),
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('xmpp detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is "<" or XML whitespace (allowed before the root without a declaration)', () => {
    const maybe = new Set([0x3c, 0x20, 0x09, 0x0d, 0x0a]);
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(maybe.has(b) ? NEED_MORE : NO_MATCH);
  });

  it('finds to among the attributes in any position, with spaces around =', () => {
    expect(det().detect(enc("<stream:stream to = 'a.test'>"), false)).toEqual({ verdict: MATCH, keys: ['DOMAIN a.test'] });
    expect(det().detect(enc('<stream:stream xmlns="jabber:client" version="1.0" to="b.test">'), false).keys).toEqual(['DOMAIN b.test']);
    // An attribute that merely ends in "to" is not to.
    expect(det().detect(enc("<stream:stream xto='c.test'>"), false)).toEqual({ verdict: MATCH, keys: [] });
  });

  it('allows whitespace between the declaration and the stream tag, nothing else', () => {
    expect(det().detect(enc("<?xml version='1.0'?>\r\n<stream:stream to='a.test'>"), false).verdict).toBe(MATCH);
    expect(det().detect(enc("<?xml version='1.0'?>x<stream:stream to='a.test'>"), false).verdict).toBe(NO_MATCH);
  });

  it('accepts a start tag of 4096 bytes and rejects a longer one', () => {
    const at = (n: number) => enc(`<stream:stream to='a.test' p='${'x'.repeat(n - 32)}'>`);
    expect(at(4096).length).toBe(4096);
    expect(det().detect(at(4096), false).verdict).toBe(MATCH);
    expect(det().detect(at(4097), false).verdict).toBe(NO_MATCH);
  });
});
