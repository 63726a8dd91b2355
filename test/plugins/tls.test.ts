// The built TLS detector (dist/plugins/tls.wasm) against every fixture of its manifest, every
// prefix of every fixture, and random or mutated windows. Build first: npm run build:plugins.

import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
// Fixture tests go through the host's own loader and sandbox, as the proxy loads the detector.
import { loadDetectorFile } from '../../host/plugin/loader.js';
// The fuzz tests stay on the raw runner: they check the module's own results, which a loader
// would sanitise (a trap or a bad result becomes NO_MATCH there).
import { loadDetectorFile as loadRawDetector, type RawDetector } from './raw-runner.js';
import { KEY_LEN_MASK, KEY_LEN_SHIFT, VERDICT_MASK } from '../../host/plugin/abi.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WASM = `${ROOT}dist/plugins/tls.wasm`;
const FIXTURES = `${ROOT}plugins/tls/fixtures/`;

const NEED_MORE = 0;
const MATCH = 1;
const NO_MATCH = 2;
const VERDICTS = { NEED_MORE, MATCH, NO_MATCH } as const;

/** The module's key buffer (sdk/assembly/abi.ts KEY_CAP): no result may claim more. */
const KEY_CAP = 1024;
/** Enough random windows to reach deep parser states many times over, still ~1 s. */
const FUZZ_RUNS = 100_000;
/** Fixed so a failure reproduces; change it to explore. */
const FUZZ_SEED = 0x5eed_7150;

interface Fixture {
  file: string;
  verdict: keyof typeof VERDICTS;
  keys: string[];
  /** Smallest prefix with the final verdict; shorter prefixes are NEED_MORE. Absent: never decided. */
  decidedAt?: number;
  captured: string;
  notes: string;
}

type Detector = Awaited<ReturnType<typeof loadDetectorFile>>;

const manifest: Fixture[] = JSON.parse(readFileSync(`${FIXTURES}manifest.json`, 'utf8'));
const bytes = (f: Fixture) => new Uint8Array(readFileSync(FIXTURES + f.file));

let det: Detector;
let raw: RawDetector;

beforeAll(async () => {
  if (!existsSync(WASM)) throw new Error(`${WASM} is missing: run npm run build:plugins`);
  det = await loadDetectorFile(WASM);
  raw = await loadRawDetector(WASM);
});

describe('tls detector metadata', () => {
  it('carries detector.json in its custom section', () => {
    const meta = JSON.parse(readFileSync(`${ROOT}plugins/tls/detector.json`, 'utf8'));
    expect(det.meta).toEqual(meta);
    expect(det.meta).toMatchObject({ abi: 1, name: 'tls', protocol: 'TLS' });
  });

  it('has a manifest entry for every fixture file and a file for every entry', () => {
    for (const f of manifest) expect(existsSync(FIXTURES + f.file), f.file).toBe(true);
    expect(new Set(manifest.map((f) => f.file)).size).toBe(manifest.length);
  });
});

describe.each(manifest)('fixture $file', (f) => {
  const want = VERDICTS[f.verdict];

  it(`whole: ${f.verdict} ${JSON.stringify(f.keys)}`, () => {
    const r = det.detect(bytes(f), false);
    expect(r.verdict).toBe(want);
    if (want === MATCH) expect(r.keys).toEqual(f.keys);
  });

  it('whole with eof: same verdict, or NO_MATCH instead of NEED_MORE', () => {
    const r = det.detect(bytes(f), true);
    expect(r.verdict).toBe(want === NEED_MORE ? NO_MATCH : want);
    if (want === MATCH) expect(r.keys).toEqual(f.keys);
  });

  it('every prefix: NEED_MORE until decidedAt, then the final verdict; eof makes NEED_MORE a NO_MATCH', () => {
    const b = bytes(f);
    const decidedAt = f.decidedAt ?? Infinity;
    for (let n = 0; n < b.length; n++) {
      const prefix = b.subarray(0, n);
      const r = det.detect(prefix, false);
      const expected = n < decidedAt ? NEED_MORE : want;
      if (r.verdict !== expected) expect.fail(`prefix ${n}: verdict ${r.verdict}, expected ${expected}`);
      if (expected === MATCH) expect(r.keys, `prefix ${n}`).toEqual(f.keys);
      const e = det.detect(prefix, true);
      const expectedEof = expected === NEED_MORE ? NO_MATCH : expected;
      if (e.verdict !== expectedEof) expect.fail(`prefix ${n} with eof: verdict ${e.verdict}, expected ${expectedEof}`);
    }
  });
});

describe('tls detector robustness', () => {
  const tls = manifest.map(bytes).filter((b) => b[0] === 0x16);

  function check(r: number, what: () => string) {
    const verdict = r & VERDICT_MASK;
    const keyLen = (r >>> KEY_LEN_SHIFT) & KEY_LEN_MASK;
    if (verdict > NO_MATCH || r >>> 24 !== 0 || keyLen > KEY_CAP || (verdict !== MATCH && keyLen !== 0)) {
      expect.fail(`result 0x${(r >>> 0).toString(16)} out of range for ${what()}`);
    }
  }

  it('never MATCHes a window that does not start with a handshake record header', () => {
    const rnd = mulberry32(FUZZ_SEED ^ 1);
    for (let i = 0; i < 2000; i++) {
      const w = randomBytes(rnd, 1 + Math.floor(rnd() * 64));
      if (w[0] === 0x16 && w[1] === 0x03) continue;
      expect(det.detect(w, false).verdict).toBe(w.length < 2 && w[0] === 0x16 ? NEED_MORE : NO_MATCH);
    }
  });

  it(`${FUZZ_RUNS} random and mutated windows never trap, never return an out-of-range result, never allocate`, () => {
    const rnd = mulberry32(FUZZ_SEED);
    const memBefore = raw.memoryBytes();
    let matches = 0;
    for (let i = 0; i < FUZZ_RUNS; i++) {
      const w = fuzzWindow(rnd, tls, raw.inputCap);
      const eof = rnd() < 0.5;
      let r: number;
      try {
        r = raw.detectRaw(w, eof);
      } catch (err) {
        expect.fail(`run ${i} (seed ${FUZZ_SEED}): trap ${String(err)} on ${w.length} B starting ${hex(w)}`);
      }
      check(r, () => `run ${i}: ${w.length} B starting ${hex(w)}`);
      if ((r & VERDICT_MASK) === MATCH) {
        matches++;
        const { keys } = raw.detect(w, eof);
        for (const k of keys) expect(k).toMatch(/^(SNI [a-z0-9_.-]*|ALPN [\x21-\x7e]*)$/);
      }
    }
    expect(matches).toBeGreaterThan(0); // the mutations must also reach the MATCH path
    expect(raw.memoryBytes()).toBe(memBefore);
  });

  it('clamps a len the host should never pass', () => {
    for (const len of [-1, -0x8000_0000, raw.inputCap + 1, 0x7fff_ffff]) {
      for (const eof of [0, 1, 7]) check(raw.callDetect(len, eof), () => `len ${len} eof ${eof}`);
    }
  });
});

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomBytes(rnd: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** Random bytes behind a plausible record header, or a fixture with bytes flipped, lengths bent, and cut. */
function fuzzWindow(rnd: () => number, seeds: Uint8Array[], cap: number): Uint8Array {
  const kind = rnd();
  if (kind < 0.2) {
    const w = randomBytes(rnd, Math.floor(rnd() * rnd() * (cap + 64)));
    if (w.length > 1 && rnd() < 0.7) {
      w[0] = 0x16;
      w[1] = 0x03;
    }
    return w;
  }
  const seed = seeds[Math.floor(rnd() * seeds.length)]!;
  const w = Uint8Array.from(seed);
  const flips = 1 + Math.floor(rnd() * 8);
  for (let j = 0; j < flips; j++) {
    const at = Math.floor(rnd() * w.length);
    // Small deltas bend length fields by a little, which is where off-by-one bugs live.
    w[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : (w[at]! + (rnd() < 0.5 ? 1 : -1)) & 0xff;
  }
  return rnd() < 0.5 ? w.subarray(0, Math.floor(rnd() * (w.length + 1))) : w;
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 16)).toString('hex');
}
