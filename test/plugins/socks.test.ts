// The built SOCKS detector (dist/plugins/socks.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'socks',
  protocol: 'SOCKS',
  keyPattern: /^(HOST [a-z0-9._-]+|VERSION [45])$/,
  seed: 0x5eed_0050,
  randomPrefix: Uint8Array.of(0x04, 0x01),
});

const socks4a = (user: string, host: string) => Uint8Array.from([4, 1, 0, 80, 0, 0, 0, 9, ...Buffer.from(`${user}\0${host}\0`, 'latin1')]);

describe('socks detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is 4 or 5', () => {
    for (let b = 0; b < 256; b++) {
      expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 4 || b === 5 ? NEED_MORE : NO_MATCH);
    }
  });

  it('reports DSTIP of a SOCKS 4 request dotted, every octet in decimal', () => {
    expect(det().detect(Uint8Array.of(4, 1, 0, 22, 192, 168, 0, 255, 0), false)).toEqual({ verdict: MATCH, keys: ['HOST 192.168.0.255', 'VERSION 4'] });
  });

  it('takes any 0.0.0.x with x != 0 as SOCKS 4A and 0.0.0.0 as a plain address', () => {
    expect(det().detect(socks4a('bob', 'db.internal'), false).keys).toEqual(['HOST db.internal', 'VERSION 4']);
    expect(det().detect(Uint8Array.of(4, 1, 0, 22, 0, 0, 0, 0, 0), false).keys).toEqual(['HOST 0.0.0.0', 'VERSION 4']);
  });

  it('accepts a USERID and a 4A host name of 255 bytes and rejects 256', () => {
    const name = (n: number) => `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(n - 192)}`;
    expect(name(253).length).toBe(253);
    expect(det().detect(socks4a('u'.repeat(255), name(253)), false).verdict).toBe(MATCH);
    expect(det().detect(socks4a('u'.repeat(256), 'x'), false).verdict).toBe(NO_MATCH);
    expect(det().detect(socks4a('', 'h'.repeat(256)), false).verdict).toBe(NO_MATCH);
    // 255 bytes is within the limit but no DNS name (one label of 255): SOCKS, without HOST.
    expect(det().detect(socks4a('', 'h'.repeat(255)), false)).toEqual({ verdict: MATCH, keys: ['VERSION 4'] });
  });

  it('offers of all 255 methods are a SOCKS 5 greeting only if every method is assigned or private', () => {
    const all = [...Array(10).keys(), ...Array.from({ length: 127 }, (_, i) => 0x80 + i)];
    expect(det().detect(Uint8Array.from([5, all.length, ...all]), false).verdict).toBe(MATCH);
    expect(det().detect(Uint8Array.from([5, 3, 0, 2, 0x7f]), false).verdict).toBe(NO_MATCH);
  });

  it('takes a greeting followed by anything but a pipelined request (VER 5) for a coincidence', () => {
    // Not a fixture: its 4-byte prefix is a whole greeting and MATCHes, which the kit would call early.
    expect(det().detect(Uint8Array.of(5, 2, 0, 1, 0x47), false).verdict).toBe(NO_MATCH);
    expect(det().detect(Uint8Array.of(5, 2, 0, 1, 5), false).verdict).toBe(MATCH);
  });
});
