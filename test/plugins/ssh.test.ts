// The built SSH detector (dist/plugins/ssh.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'ssh',
  protocol: 'SSH',
  keyPattern: /^SOFTWARE [\x21-\x7e]*$/,
  seed: 0x5eed_0022,
  randomPrefix: new TextEncoder().encode('SSH-2.0-'),
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('ssh detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is "S"', () => {
    for (let b = 0; b < 256; b++) {
      const r = det().detect(Uint8Array.of(b), false);
      expect(r.verdict, `byte ${b}`).toBe(b === 0x53 ? NEED_MORE : NO_MATCH);
    }
  });

  it('takes softwareversion up to the space, CR or LF', () => {
    expect(det().detect(enc('SSH-2.0-PuTTY_Release_0.78\r\n'), false).keys).toEqual(['SOFTWARE PuTTY_Release_0.78']);
    expect(det().detect(enc('SSH-2.0-Go\n'), false).keys).toEqual(['SOFTWARE Go']);
    expect(det().detect(enc('SSH-2.0-\r\n'), false)).toEqual({ verdict: MATCH, keys: ['SOFTWARE '] });
  });

  it('accepts a line of exactly 255 bytes with CR LF and rejects one byte more', () => {
    const at = (n: number) => enc(`SSH-2.0-${'x'.repeat(n - 10)}\r\n`);
    expect(at(255).length).toBe(255);
    expect(det().detect(at(255), false).verdict).toBe(MATCH);
    expect(det().detect(at(256), false).verdict).toBe(NO_MATCH);
  });

  it('rejects a NUL in the comments (RFC 4253 §4.2)', () => {
    expect(det().detect(enc('SSH-2.0-x a\0b\r\n'), false).verdict).toBe(NO_MATCH);
  });
});
