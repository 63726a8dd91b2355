// The built ADB detector (dist/plugins/adb.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { describeDetector, fixtureDir, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'adb',
  protocol: 'ADB',
  keyPattern: /^$/, // no keys
  seed: 0x5eed_5555,
  randomPrefix: new TextEncoder().encode('CNXN'),
});

const capture = readFileSync(`${fixtureDir('adb')}adb-connect.bin`);

describe('adb detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is "C"', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 0x43 ? NEED_MORE : NO_MATCH);
  });

  it('takes a payload of exactly 4096 bytes and reports no keys', () => {
    const p = Buffer.alloc(4096, 0x61);
    p.write('host::', 0, 'latin1');
    const h = Buffer.from(capture.subarray(0, 24));
    h.writeUInt32LE(p.length, 12);
    h.writeUInt32LE(0, 16);
    expect(det().detect(new Uint8Array(Buffer.concat([h, p])), false)).toEqual({ verdict: MATCH, keys: [] });
  });
});
