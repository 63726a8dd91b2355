// The built PROXY detector (dist/plugins/proxy.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts). The header
// bytes are built here by hand from the spec, not with host/proxy-protocol.ts, so the two
// implementations check each other only through the fixtures HAProxy wrote.

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'proxy',
  protocol: 'PROXY',
  keyPattern: /^SOURCE ([0-9.]+(\/(8|16|24))?|[0-9a-f:]+(\/(32|48|64))?)$/,
  seed: 0x5eed_0bad,
  // The v2 signature, PROXY over INET: the fuzzer starts at the length and the addresses.
  randomPrefix: Uint8Array.of(0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, 0x21, 0x11),
});

const v1 = (line: string) => new TextEncoder().encode(line);
const SIG = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const v2 = (vc: number, ft: number, block: number[]) => Uint8Array.from([...SIG, vc, ft, block.length >> 8, block.length & 0xff, ...block]);
const v6src = (groups: number[]) => v2(0x21, 0x21, [...groups.flatMap((g) => [g >> 8, g & 0xff]), ...new Array(16 + 4).fill(0)]);

describe('proxy detector decisions', () => {
  it('says NO_MATCH at the first byte unless it is "P" (v1) or CR (v2)', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 0x50 || b === 0x0d ? NEED_MORE : NO_MATCH);
  });

  it('reports the source, then its networks; a rule can name the address or a /24, /16, /8', () => {
    expect(det().detect(v1('PROXY TCP4 10.20.30.40 10.0.0.1 5000 443\r\n'), false)).toEqual({
      verdict: MATCH,
      keys: ['SOURCE 10.20.30.40', 'SOURCE 10.20.30.0/24', 'SOURCE 10.20.0.0/16', 'SOURCE 10.0.0.0/8'],
    });
    expect(det().detect(v2(0x21, 0x11, [10, 20, 30, 40, 10, 0, 0, 1, 0x13, 0x88, 0x01, 0xbb]), false).keys).toEqual(
      ['SOURCE 10.20.30.40', 'SOURCE 10.20.30.0/24', 'SOURCE 10.20.0.0/16', 'SOURCE 10.0.0.0/8'],
    );
  });

  it('writes IPv6 sources in RFC 5952 form, v1 text and v2 bytes alike', () => {
    const cases: [number[], string][] = [
      [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'], // the first of two equal runs
      [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'], // a single zero group stays
      [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
      [[0xfe80, 0, 0, 0, 0xabc, 0xdef, 0, 0], 'fe80::abc:def:0:0'],
    ];
    for (const [g, text] of cases) expect(det().detect(v6src(g), false).keys[0], text).toBe(`SOURCE ${text}`);
    expect(det().detect(v1('PROXY TCP6 FE80:0:0:0:0ABC:DEF:: ::1 1 2\r\n'), false).keys[0]).toBe('SOURCE fe80::abc:def:0:0');
    expect(det().detect(v6src([0x2001, 0xdb8, 0x1234, 0x5678, 9, 9, 9, 9]), false).keys).toEqual([
      'SOURCE 2001:db8:1234:5678:9:9:9:9', 'SOURCE 2001:db8:1234:5678::/64', 'SOURCE 2001:db8:1234::/48', 'SOURCE 2001:db8::/32',
    ]);
  });

  it('refuses malformed v1 addresses and ports', () => {
    for (const bad of ['1.2.3', '1.2.3.4.5', '1..2.3', '::1', '1.2.3.4 ']) {
      expect(det().detect(v1(`PROXY TCP4 ${bad} 1.2.3.4 1 2\r\n`), false).verdict, bad).toBe(NO_MATCH);
    }
    for (const bad of ['1:2:3:4:5:6:7:8:9', '12345::1', ':1', '1:', '1:2:3:4:5:6:7:8::', '::1.2.3', '1.2.3.4::1']) {
      expect(det().detect(v1(`PROXY TCP6 ${bad} ::1 1 2\r\n`), false).verdict, bad).toBe(NO_MATCH);
    }
    for (const good of ['::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1::', '::']) {
      expect(det().detect(v1(`PROXY TCP6 ${good} ::1 1 2\r\n`), false).verdict, good).toBe(MATCH);
    }
    expect(det().detect(v1('PROXY TCP4 1.2.3.4 1.2.3.4 01 2\r\n'), false).verdict).toBe(NO_MATCH);
    expect(det().detect(v1('PROXY TCP4 1.2.3.4 1.2.3.4 0 65535\r\n'), false).verdict).toBe(MATCH);
  });

  it('takes every family/transport the spec defines and no other', () => {
    const defined = [0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32];
    for (let ft = 0; ft < 256; ft++) {
      const want = defined.includes(ft) ? MATCH : NO_MATCH;
      expect(det().detect(v2(0x21, ft, new Array(216).fill(1)), false).verdict, `family ${ft.toString(16)}`).toBe(want);
    }
  });
});
