// The built POSTGRES detector (dist/plugins/postgres.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'postgres',
  protocol: 'POSTGRES',
  keyPattern: /^((SSL|GSSENC|CANCEL) |(DATABASE|USER|APPLICATION) [\x20-\x7e]+)$/,
  seed: 0x5eed_5432,
  randomPrefix: Uint8Array.of(0, 0, 0, 0x30, 0, 3, 0, 0),
});

/** A protocol 3.0 StartupMessage with these parameters. */
function startup(params: [string, string][]): Uint8Array {
  const body = Buffer.from(`${params.map(([k, v]) => `${k}\0${v}\0`).join('')}\0`, 'latin1');
  const head = Buffer.alloc(8);
  head.writeUInt32BE(8 + body.length, 0);
  head.writeUInt32BE(0x00030000, 4);
  return new Uint8Array(Buffer.concat([head, body]));
}

describe('postgres detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is 0 (no first message is 16 MiB long)', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 0 ? NEED_MORE : NO_MATCH);
  });

  it('keeps parameters it does not route by out of the keys, in any order', () => {
    const r = det().detect(startup([['client_encoding', 'UTF8'], ['application_name', 'app'], ['user', 'u'], ['options', '-c x=1'], ['database', 'd']]), false);
    expect(r).toEqual({ verdict: MATCH, keys: ['DATABASE d', 'USER u', 'APPLICATION app'] });
  });

  it('gives no key for an empty value or one with a control byte, and takes spaces', () => {
    expect(det().detect(startup([['user', 'a b'], ['database', ''], ['application_name', 'x\ny']]), false).keys).toEqual(['USER a b']);
  });

  it('accepts a packet of exactly 10000 bytes and rejects 10001', () => {
    const at = (n: number) => startup([['user', 'u'], ['options', 'x'.repeat(n - 8 - 'user\0u\0options\0\0\0'.length)]]);
    expect(at(10000).length).toBe(10000);
    expect(det().detect(at(10000), false).verdict).toBe(MATCH);
    expect(det().detect(at(10001), false).verdict).toBe(NO_MATCH);
  });
});
