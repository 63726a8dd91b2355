// The built TINC detector (dist/plugins/tinc.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'tinc',
  protocol: 'TINC',
  keyPattern: /^NAME [A-Za-z0-9_]+$/,
  seed: 0x5eed_0655,
  randomPrefix: new TextEncoder().encode('0 '),
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('tinc detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is "0"', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 0x30 ? NEED_MORE : NO_MATCH);
  });

  it('accepts a name of 2048 bytes and rejects 2049', () => {
    expect(det().detect(enc(`0 ${'n'.repeat(2048)} 17\n`), false).verdict).toBe(MATCH);
    expect(det().detect(enc(`0 ${'n'.repeat(2049)} 17\n`), false).verdict).toBe(NO_MATCH);
  });

  it('takes versions of one to three digits, with or without a minor', () => {
    expect(det().detect(enc('0 a 1\n'), false)).toEqual({ verdict: MATCH, keys: ['NAME a'] });
    expect(det().detect(enc('0 a 999.999\n'), false).verdict).toBe(MATCH);
    expect(det().detect(enc('0 a 17.\n'), false).verdict).toBe(NO_MATCH);
    expect(det().detect(enc('0 a .7\n'), false).verdict).toBe(NO_MATCH);
  });
});
