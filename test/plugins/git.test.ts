// The built GIT detector (dist/plugins/git.wasm) against its fixtures, every prefix of each,
// and random or mutated windows (shared checks: test/helpers/detector-fixtures.ts).

import { describe, it, expect } from 'vitest';
import { describeDetector, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const { det } = describeDetector({
  plugin: 'git',
  protocol: 'GIT',
  keyPattern: /^(HOST [a-z0-9._-]+|REPO [\x21-\x7e]+)$/,
  seed: 0x5eed_9418,
  randomPrefix: new TextEncoder().encode('0040git-upload-pack /'),
});

/** A pkt-line with this payload. */
const pkt = (payload: string) => new TextEncoder().encode((payload.length + 4).toString(16).padStart(4, '0') + payload);

describe('git detector decisions', () => {
  it('says NO_MATCH from the first byte unless it is a hex digit', () => {
    for (let b = 0; b < 256; b++) {
      const hex = /[0-9a-fA-F]/.test(String.fromCharCode(b));
      expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(hex ? NEED_MORE : NO_MATCH);
    }
  });

  it('keeps a bare host name, drops the port of a name and of an IPv4 address', () => {
    expect(det().detect(pkt('git-upload-pack /r\0host=example.org\0'), false).keys).toEqual(['HOST example.org', 'REPO /r']);
    expect(det().detect(pkt('git-upload-pack /r\0host=10.1.2.3:9418\0'), false).keys).toEqual(['HOST 10.1.2.3', 'REPO /r']);
  });

  it('gives no REPO for a path with a space or a control byte, still MATCH', () => {
    expect(det().detect(pkt('git-upload-pack /my repo\0host=a\0'), false)).toEqual({ verdict: MATCH, keys: ['HOST a'] });
    expect(det().detect(pkt('git-upload-pack /a\x01\0'), false)).toEqual({ verdict: MATCH, keys: [] });
  });

  it('takes ~user paths as git daemon does', () => {
    expect(det().detect(pkt('git-upload-pack /~alice/dots.git\0host=h\0'), false).keys).toEqual(['HOST h', 'REPO /~alice/dots.git']);
  });

  it('refuses a line shorter than the shortest request', () => {
    expect(det().detect(new TextEncoder().encode('0010git-upload-pa'), false).verdict).toBe(NO_MATCH);
  });
});
