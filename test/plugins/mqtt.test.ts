// The built MQTT detector (dist/plugins/mqtt.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'mqtt',
  protocol: 'MQTT',
  keyPattern: /^(CLIENTID [\x20-\x7e]*|USERNAME [\x20-\x7e]+)$/,
  seed: 0x5eed_1883,
  randomPrefix: Uint8Array.of(0x10, 0x20, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4),
});

/** An MQTT 5.0 CONNECT with this property block, flags and u16-prefixed payload fields. */
function connect5(props: number[], flags: number, ...fields: string[]): Uint8Array {
  const payload = fields.flatMap((f) => [f.length >> 8, f.length & 0xff, ...Buffer.from(f, 'latin1')]);
  const rest = [0, 4, 0x4d, 0x51, 0x54, 0x54, 5, flags, 0, 60, props.length, ...props, ...payload];
  return Uint8Array.from([0x10, rest.length, ...rest]);
}

describe('mqtt detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is CONNECT (0x10)', () => {
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(b === 0x10 ? NEED_MORE : NO_MATCH);
  });

  it('skips 5.0 connect properties and takes a password without a user name there', () => {
    expect(det().detect(connect5([0x11, 0, 0, 0, 10, 0x21, 0, 5], 0x02, 'p-1'), false)).toEqual({ verdict: MATCH, keys: ['CLIENTID p-1'] });
    expect(det().detect(connect5([], 0x42, 'p-2', 'secret'), false)).toEqual({ verdict: MATCH, keys: ['CLIENTID p-2'] });
  });

  it('skips 5.0 will properties, topic and payload before the user name', () => {
    const will = connect5([], 0x80 | 0x04, 'w-1');
    const withWill = Uint8Array.from([...will.subarray(0, will.length), 2, 0x01, 1, 0, 1, 0x74, 0, 0, 0, 3, 0x65, 0x76, 0x65]);
    withWill[1] = withWill.length - 2;
    expect(det().detect(withWill, false)).toEqual({ verdict: MATCH, keys: ['CLIENTID w-1', 'USERNAME eve'] });
  });

  it('decides a CONNECT with a user name only once the user name is in', () => {
    const c = connect5([], 0x80, 'c', 'usr');
    expect(det().detect(c.subarray(0, c.length - 1), false).verdict).toBe(NEED_MORE);
    expect(det().detect(c.subarray(0, c.length - 1), true).verdict).toBe(NO_MATCH);
    expect(det().detect(c, false).keys).toEqual(['CLIENTID c', 'USERNAME usr']);
  });
});
