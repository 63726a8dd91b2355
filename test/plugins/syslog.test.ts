// The built SYSLOG detector (dist/plugins/syslog.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const FACILITIES = ['kern', 'user', 'mail', 'daemon', 'auth', 'syslog', 'lpr', 'news', 'uucp', 'cron', 'authpriv', 'ftp', 'ntp', 'audit', 'alert', 'clock',
  'local0', 'local1', 'local2', 'local3', 'local4', 'local5', 'local6', 'local7'];

const { det } = describeDetector({
  plugin: 'syslog',
  protocol: 'SYSLOG',
  keyPattern: new RegExp(`^FACILITY (${FACILITIES.join('|')})$`),
  seed: 0x5eed_0514,
  randomPrefix: new TextEncoder().encode('<'),
});

const enc = (s: string) => new TextEncoder().encode(s);

describe('syslog detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is < or a non-zero digit', () => {
    for (let b = 0; b < 256; b++) {
      const maybe = b === 0x3c || (b >= 0x31 && b <= 0x39);
      expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(maybe ? NEED_MORE : NO_MATCH);
    }
  });

  it('names every facility 0–23 for every severity', () => {
    for (let pri = 0; pri <= 191; pri++) {
      expect(det().detect(enc(`<${pri}>1 - - - - - -`), false), `PRI ${pri}`).toEqual({ verdict: MATCH, keys: [`FACILITY ${FACILITIES[pri >> 3]}`] });
    }
  });

  it('takes every RFC 3164 month and octet counting in front of either header', () => {
    for (const m of ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']) {
      expect(det().detect(enc(`<14>${m} 1 00:00:00 h t: x\n`), false).verdict, m).toBe(MATCH);
    }
    expect(det().detect(enc('30 <165>Aug 24 05:34:00 h t: x'), false).keys).toEqual(['FACILITY local4']);
    expect(det().detect(enc('jan <14>'), false).verdict).toBe(NO_MATCH);
  });
});
