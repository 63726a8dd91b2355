// The built WIREGUARD detector (dist/plugins/wireguard.wasm) against its fixtures, every prefix of
// each (every byte of the record), and random or mutated windows (shared checks:
// test/helpers/detector-fixtures.ts), plus what is particular to it.

import { describe, it, expect, beforeAll } from 'vitest';
import { describeDetector, fixtureBytes, loadManifest, mulberry32, randomBytes, wasmPath, MATCH, NEED_MORE, NO_MATCH, VERDICTS } from '../helpers/detector-fixtures.js';
import { loadDetectorFile } from '../../host/plugin/loader.js';
import type { Detector } from '../../host/plugin/sandbox.js';

const { det } = describeDetector({
  plugin: 'wireguard',
  protocol: 'WIREGUARD',
  keyPattern: /^$/, // no keys at all
  seed: 0x5eed_51820,
  randomPrefix: Uint8Array.of(0x00, 0x94, 0x01, 0x00, 0x00, 0x00),
});

/** A 148-byte initiation record: the fixed header, then `fill` for the rest. */
const initiation = (rnd: () => number) => Uint8Array.of(0x00, 0x94, 0x01, 0x00, 0x00, 0x00, ...randomBytes(rnd, 144));

describe('wireguard detector decisions', () => {
  it('declares the datagram transport only, and no keys', () => {
    expect(det().meta.transports).toEqual(['datagram']);
    expect(det().meta.keys).toEqual({});
  });

  it('MATCHes any 148-byte type-1 record with zero reserved bytes, whatever the rest (nothing else can be checked without the peer key)', () => {
    const rnd = mulberry32(0x5eed_0148);
    for (let i = 0; i < 200; i++) expect(det().detect(initiation(rnd), false)).toEqual({ verdict: MATCH, keys: [] });
  });

  it('decides on the first bytes: a record length other than 148, a type other than 1, a reserved byte set', () => {
    for (let b = 0; b < 256; b++) {
      expect(det().detect(Uint8Array.of(b), false).verdict, `length high byte ${b}`).toBe(b === 0 ? NEED_MORE : NO_MATCH);
      expect(det().detect(Uint8Array.of(0, b), false).verdict, `length low byte ${b}`).toBe(b === 0x94 ? NEED_MORE : NO_MATCH);
      expect(det().detect(Uint8Array.of(0, 0x94, b), false).verdict, `type ${b}`).toBe(b === 1 ? NEED_MORE : NO_MATCH);
      expect(det().detect(Uint8Array.of(0, 0x94, 1, 0, b), false).verdict, `reserved ${b}`).toBe(b === 0 ? NEED_MORE : NO_MATCH);
    }
  });

  it('reads only the first record: later datagrams of the flow do not change the verdict', () => {
    const rnd = mulberry32(0x5eed_0149);
    const first = initiation(rnd);
    expect(det().detect(new Uint8Array([...first, 0x00, 0x03, 0xff, 0xff, 0xff]), false).verdict).toBe(MATCH);
    expect(det().detect(new Uint8Array([...first.subarray(0, 100)]), true).verdict).toBe(NO_MATCH);
  });
});

describe('wireguard detector through the host loader (metered sandbox)', () => {
  let sandboxed: Detector;
  beforeAll(async () => {
    sandboxed = await loadDetectorFile(wasmPath('wireguard'));
  });

  it('gives every fixture its manifest verdict, without a strike, for a few hundred fuel', () => {
    for (const f of loadManifest('wireguard')) {
      const r = sandboxed.detect(fixtureBytes('wireguard', f), false);
      expect(r.verdict, f.file).toBe(VERDICTS[f.verdict]);
      expect(sandboxed.stats.lastFuel, f.file).toBeLessThan(1000);
    }
    expect(sandboxed.stats.strikes).toBe(0);
  });
});
