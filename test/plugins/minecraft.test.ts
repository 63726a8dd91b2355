// The built MINECRAFT detector (dist/plugins/minecraft.wasm) against its fixtures (built from the
// protocol documentation: Debian has no Minecraft client), every prefix of each, and random or
// mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'minecraft',
  protocol: 'MINECRAFT',
  keyPattern: /^HOST [a-z0-9_-]+(\.[a-z0-9_-]+)*$/,
  seed: 0x5eed_63dd,
  // Packet length 0x15, Handshake id, protocol 769: the fuzzer starts at the address.
  randomPrefix: Uint8Array.of(0x15, 0x00, 0x81, 0x06),
});

const varint = (v: number): number[] => {
  let u = v >>> 0;
  const out: number[] = [];
  do {
    const b = u & 0x7f;
    u >>>= 7;
    out.push(u ? b | 0x80 : b);
  } while (u);
  return out;
};
/** A Handshake packet: protocol version, address (raw bytes), port 25565, intent. */
function handshake(address: string, intent = 1, version = 769): Uint8Array {
  const a = [...Buffer.from(address, 'latin1')];
  const body = [0x00, ...varint(version), ...varint(a.length), ...a, 0x63, 0xdd, intent];
  return Uint8Array.from([...varint(body.length), ...body]);
}

describe('minecraft detector decisions', () => {
  it('says NO_MATCH at the first byte for a packet length no handshake has', () => {
    for (let b = 0; b < 256; b++) {
      const want = b >= 7 ? NEED_MORE : NO_MATCH; // 0x80 and up start a 2-byte length
      expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(want);
    }
  });

  it('takes every intent 1–3 and every protocol version, -1 and 0 included', () => {
    for (const intent of [1, 2, 3]) expect(det().detect(handshake('a.example', intent), false).verdict).toBe(MATCH);
    for (const v of [-1, 0, 5, 47, 769, 0x7fffffff]) expect(det().detect(handshake('a.example', 1, v), false), `version ${v}`).toEqual({ verdict: MATCH, keys: ['HOST a.example'] });
  });

  it('cuts the address at its first NUL and keys only a host name', () => {
    expect(det().detect(handshake('A.Example\0FML2\0'), false).keys).toEqual(['HOST a.example']);
    expect(det().detect(handshake('\0FML\0'), false)).toEqual({ verdict: MATCH, keys: [] });
    expect(det().detect(handshake('my server'), false)).toEqual({ verdict: MATCH, keys: [] });
    expect(det().detect(handshake('[::1]'), false)).toEqual({ verdict: MATCH, keys: [] });
  });

  it('takes an address of 765 bytes (String(255) in UTF-8) and refuses 766', () => {
    expect(det().detect(handshake('x'.repeat(765)), false).verdict).toBe(MATCH);
    expect(det().detect(handshake('x'.repeat(766)), false).verdict).toBe(NO_MATCH);
  });
});
