// The built TLS detector (dist/plugins/tls.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts), plus what is
// particular to TLS. Build first: npm run build:plugins.

import { describe, it, expect, beforeAll } from 'vitest';
import { describeDetector, fixtureBytes, loadManifest, mulberry32, randomBytes, wasmPath, NEED_MORE, NO_MATCH, VERDICTS } from '../helpers/detector-fixtures.js';
// One suite goes through the host's own loader and sandbox (fuel-metered), as the proxy loads it.
import { loadDetectorFile } from '../../host/plugin/loader.js';
import type { Detector } from '../../host/plugin/sandbox.js';

const { det } = describeDetector({
  plugin: 'tls',
  protocol: 'TLS',
  keyPattern: /^(SNI [a-z0-9_.-]*|ALPN [\x21-\x7e]*)$/,
  seed: 0x5eed_7150,
  randomPrefix: Uint8Array.of(0x16, 0x03),
});

describe('tls detector decisions', () => {
  it('never MATCHes a window that does not start with a handshake record header', () => {
    const rnd = mulberry32(0x5eed_7150 ^ 1);
    for (let i = 0; i < 2000; i++) {
      const w = randomBytes(rnd, 1 + Math.floor(rnd() * 64));
      if (w[0] === 0x16 && w[1] === 0x03) continue;
      expect(det().detect(w, false).verdict).toBe(w.length < 2 && w[0] === 0x16 ? NEED_MORE : NO_MATCH);
    }
  });
});

describe('tls detector through the host loader (metered sandbox)', () => {
  let sandboxed: Detector;
  beforeAll(async () => {
    sandboxed = await loadDetectorFile(wasmPath('tls'));
  });

  it('gives every fixture its manifest verdict and keys, without a strike', () => {
    for (const f of loadManifest('tls')) {
      const r = sandboxed.detect(fixtureBytes('tls', f), false);
      expect(r.verdict, f.file).toBe(VERDICTS[f.verdict]);
      expect([...r.keys], f.file).toEqual(f.keys);
    }
    expect(sandboxed.stats.strikes).toBe(0);
  });
});
