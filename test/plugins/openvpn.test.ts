// The built OPENVPN detector (dist/plugins/openvpn.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'openvpn',
  protocol: 'OPENVPN',
  keyPattern: /^OPCODE P_CONTROL_HARD_RESET_CLIENT_V[23]$/,
  seed: 0x5eed_1194,
  randomPrefix: Uint8Array.of(0x00, 0x0e, 0x38),
});

/** An unwrapped P_CONTROL_HARD_RESET_CLIENT_V2 record with `payload` after the message packet_id. */
const reset = (payload = 0) => {
  const p = Buffer.concat([Buffer.from([0x38]), Buffer.alloc(8, 0x11), Buffer.alloc(5), Buffer.alloc(payload, 0x22)]);
  return new Uint8Array(Buffer.concat([Buffer.from([p.length >> 8, p.length & 0xff]), p]));
};

describe('openvpn detector decisions', () => {
  it('says NO_MATCH at the first length byte above 6 (a record over MAX_PACKET)', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b <= 6 ? NEED_MORE : NO_MATCH);
  });

  it('takes records up to 1600 bytes and refuses 1601', () => {
    expect(reset(1600 - 14).length).toBe(1602);
    expect(det().detect(reset(1600 - 14), false).verdict).toBe(MATCH);
    expect(det().detect(reset(1601 - 14), false).verdict).toBe(NO_MATCH);
  });

  it('reads only the first record: a datagram window of two records is judged by the first', () => {
    const two = new Uint8Array([...reset(), ...Uint8Array.of(0, 3, 0xff, 0xff, 0xff)]);
    expect(det().detect(two, false)).toEqual({ verdict: MATCH, keys: ['OPCODE P_CONTROL_HARD_RESET_CLIENT_V2'] });
  });

  it('declares both transports (issue 13: TCP framing and UDP records have the same shape)', () => {
    expect(det().meta.transports).toEqual(['stream', 'datagram']);
  });
});
