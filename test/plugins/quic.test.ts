// The built QUIC detector (dist/plugins/quic.wasm) against its fixtures (every prefix of each: every
// record boundary and every byte inside a record), random and mutated windows (shared checks:
// test/helpers/detector-fixtures.ts), plus what is particular to QUIC: datagram transport, no
// MATCH on any damaged packet, and the fuel one call costs through the host's metered sandbox.
// Its crypto on the standard vectors: test/plugins/quic-crypto.test.ts.

import { describe, it, expect, beforeAll } from 'vitest';
import { describeDetector, fixtureBytes, loadManifest, wasmPath, MATCH, NEED_MORE, NO_MATCH, VERDICTS } from '../helpers/detector-fixtures.js';
import { loadDetectorFile, DEFAULT_FUEL } from '../../host/plugin/loader.js';
import type { Detector } from '../../host/plugin/sandbox.js';
import { nsPerCall, loadRaw } from '../../host/plugin/conformance.js';
import { readFile } from 'node:fs/promises';

const { det } = describeDetector({
  plugin: 'quic',
  protocol: 'QUIC',
  keyPattern: /^(SNI [a-z0-9_.-]*|ALPN [\x21-\x7e]*)$/,
  seed: 0x5eed_0443,
  // A 1200-byte record and a v1 Initial's first bytes (long header, version 1, 8-byte DCID), so
  // random windows reach the key derivation and the AEAD.
  randomPrefix: Uint8Array.of(0x04, 0xb0, 0xc3, 0x00, 0x00, 0x00, 0x01, 0x08),
});

const manifest = loadManifest('quic');
const bytes = (file: string) => fixtureBytes('quic', manifest.find((f) => f.file === file)!);

/** The `u16 BE length ‖ datagram` records of a window. */
function records(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let o = 0; o + 2 <= b.length; ) {
    const n = (b[o]! << 8) | b[o + 1]!;
    out.push(b.subarray(o + 2, o + 2 + n));
    o += 2 + n;
  }
  return out;
}
const frame = (...ds: Uint8Array[]) => new Uint8Array(ds.flatMap((d) => [d.length >> 8, d.length & 0xff, ...d]));

describe('quic detector decisions', () => {
  it('declares the datagram transport only', () => {
    expect(det().meta.transports).toEqual(['datagram']);
  });

  it('answers NEED_MORE at every record boundary before the ClientHello completes, then MATCH', () => {
    for (const file of ['ngtcp2-v1-ffdhe8192-two-datagrams.bin', 'derived-three-datagrams-reordered.bin', 'ngtcp2-ffdhe-second-bad-then-good.bin']) {
      const rs = records(bytes(file));
      const decidedAt = manifest.find((f) => f.file === file)!.decidedAt!;
      let end = 0;
      for (let i = 1; i <= rs.length; i++) {
        end += 2 + rs[i - 1]!.length;
        const r = det().detect(frame(...rs.slice(0, i)), false);
        expect(r.verdict, `${file}, ${i} datagrams`).toBe(end < decidedAt ? NEED_MORE : MATCH);
      }
    }
  });

  it('never MATCHes a first datagram with any one byte changed (header, ciphertext or tag: authentication fails)', () => {
    for (const file of ['ngtcp2-v1.bin', 'rfc9001-a2-client-initial.bin', 'rfc9369-a2-client-initial.bin', 'derived-v2-ngtcp2-hello.bin']) {
      const d = records(bytes(file))[0]!;
      for (let i = 0; i < d.length; i++) {
        const bad = Uint8Array.from(d);
        bad[i] = bad[i]! ^ 0x01;
        const r = det().detect(frame(bad), false);
        if (r.verdict === MATCH) expect.fail(`${file}: MATCH with byte ${i} flipped`);
      }
    }
  });

  it('ignores a later datagram that fails authentication and takes the good one after it', () => {
    const [a, b] = records(bytes('ngtcp2-v1-ffdhe8192-two-datagrams.bin'));
    const bad = Uint8Array.from(b!);
    bad[100] = bad[100]! ^ 0x80;
    expect(det().detect(frame(a!, bad), false).verdict).toBe(NEED_MORE);
    expect(det().detect(frame(a!, bad), true).verdict).toBe(NO_MATCH);
    expect(det().detect(frame(a!, bad, b!), false)).toEqual({ verdict: MATCH, keys: ['SNI a.test', 'ALPN h3'] });
    // Other protocols' datagrams in the flow after the first are skipped the same way.
    const dns = records(bytes('other-dns-dig.bin'))[0]!;
    expect(det().detect(frame(a!, dns, b!), false).verdict).toBe(MATCH);
  });

  it('stops waiting after MAX_DATAGRAMS = 8 datagrams', () => {
    const [a] = records(bytes('ngtcp2-v1-ffdhe8192-two-datagrams.bin'));
    expect(det().detect(frame(...Array<Uint8Array>(7).fill(a!)), false).verdict).toBe(NEED_MORE);
    expect(det().detect(frame(...Array<Uint8Array>(8).fill(a!)), false).verdict).toBe(NO_MATCH);
  });
});

describe('quic detector through the host loader (metered sandbox)', () => {
  let sandboxed: Detector;
  beforeAll(async () => {
    sandboxed = await loadDetectorFile(wasmPath('quic'));
  });

  it('gives every fixture its manifest verdict and keys, without a strike', () => {
    for (const f of manifest) {
      const r = sandboxed.detect(fixtureBytes('quic', f), false);
      expect(r.verdict, f.file).toBe(VERDICTS[f.verdict]);
      expect([...r.keys], f.file).toEqual(f.keys);
    }
    expect(sandboxed.stats.strikes).toBe(0);
  });

  it('spends well under the default fuel budget on two full 1200-byte datagrams (under 10 %)', () => {
    sandboxed.detect(bytes('ngtcp2-v1-ffdhe8192-two-datagrams.bin'), false);
    const two = sandboxed.stats.lastFuel;
    sandboxed.detect(bytes('derived-three-datagrams-reordered.bin'), false);
    const three = sandboxed.stats.lastFuel;
    expect(two).toBeGreaterThan(0);
    expect(two).toBeLessThan(DEFAULT_FUEL / 10);
    expect(three).toBeLessThan(DEFAULT_FUEL / 10);
    // The figures the README quotes (fuel units and ns per call with the meter on).
    console.log(`quic fuel per call: 2 datagrams ${two}, 3 datagrams ${three} (budget ${DEFAULT_FUEL})`);
  });

  it('times a call (README figure)', async () => {
    const metered = await loadRaw(await readFile(wasmPath('quic')), 'quic.wasm', DEFAULT_FUEL);
    const one = nsPerCall(metered, records(bytes('ngtcp2-v1.bin')).map((d) => frame(d))[0]!);
    const two = nsPerCall(metered, bytes('ngtcp2-v1-ffdhe8192-two-datagrams.bin').subarray(0, 2404));
    console.log(`quic ns per call, fuel meter on: 1 datagram ${one} ns, 2 datagrams ${two} ns`);
    expect(one).toBeGreaterThan(0);
  });
});
