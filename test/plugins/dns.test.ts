// The built DNS detector (dist/plugins/dns.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'dns',
  protocol: 'DNS',
  keyPattern: /^(QNAME [a-z0-9_-]+(\.[a-z0-9_-]+)*|QTYPE ([A-Z][A-Z0-9]*|\d+))$/,
  seed: 0x5eed_0053,
  // Length 0x40, an ID, flags 01 00, QDCOUNT 1: the fuzzer starts at the question.
  randomPrefix: Uint8Array.of(0x00, 0x40, 0x12, 0x34, 0x01, 0x00, 0x00, 0x01),
});

/** A framed query for `name` (dotted, or its labels as given) with this QTYPE, flag bytes and QCLASS. */
function query(name: string | string[], type = 1, flags: [number, number] = [0x01, 0x00], cls = 1): Uint8Array {
  const labels = Array.isArray(name) ? name : name === '' ? [] : name.split('.');
  const qname = [...labels.flatMap((l) => [l.length, ...Buffer.from(l, 'latin1')]), 0];
  const msg = [0xab, 0xcd, ...flags, 0, 1, 0, 0, 0, 0, 0, 0, ...qname, type >> 8, type & 0xff, cls >> 8, cls & 0xff];
  return Uint8Array.from([msg.length >> 8, msg.length & 0xff, ...msg]);
}

describe('dns detector decisions', () => {
  it('says NO_MATCH at the first flag byte for a response or an opcode a client does not open with', () => {
    for (let b = 0; b < 256; b++) {
      const op = (b >> 3) & 0x0f;
      const client = (b & 0x80) === 0 && (b & 0x02) === 0 && (op === 0 || op === 4 || op === 5);
      expect(det().detect(Uint8Array.of(0, 0x40, 0x12, 0x34, b), false).verdict, `flags ${b}`).toBe(client ? NEED_MORE : NO_MATCH);
    }
  });

  it('reports QNAME lower-cased and dotted, then QTYPE by mnemonic or number', () => {
    expect(det().detect(query('WWW.Example.COM', 28), false)).toEqual({ verdict: MATCH, keys: ['QNAME www.example.com', 'QTYPE AAAA'] });
    expect(det().detect(query('example.com', 257), false).keys).toEqual(['QNAME example.com', 'QTYPE CAA']);
    expect(det().detect(query('example.com', 4242), false).keys).toEqual(['QNAME example.com', 'QTYPE 4242']);
  });

  it('gives no QNAME for a label a host-name rule cannot name (a dot, a space, binary), still MATCH', () => {
    for (const label of ['a.b', 'a b', 'caf\xe9', '\x00\x01']) {
      expect(det().detect(query([label, 'example', 'com']), false), JSON.stringify(label)).toEqual({ verdict: MATCH, keys: ['QTYPE A'] });
    }
  });

  it('takes the classes IN, CH, HS, NONE, ANY and refuses the others', () => {
    for (let c = 0; c < 260; c++) {
      const want = [1, 3, 4, 254, 255].includes(c) ? MATCH : NO_MATCH;
      expect(det().detect(query('a.example', 1, [0x01, 0x00], c), false).verdict, `class ${c}`).toBe(want);
    }
  });

  it('declares both transports (issue 13: TCP framing and UDP records have the same shape)', () => {
    expect(det().meta.transports).toEqual(['stream', 'datagram']);
  });
});
