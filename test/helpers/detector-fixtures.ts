// Shared checks for a built detector against captured fixtures: every fixture whole, at every
// split point, with and without eof; random and mutated windows never trap, never return an
// out-of-range result, never grow memory. Each test/plugins/NAME.test.ts calls describeDetector()
// and adds what is particular to its protocol. Build first: npm run build:plugins.

import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadDetectorFile, type RawDetector } from '../plugins/raw-runner.js';
import { KEY_LEN_MASK, KEY_LEN_SHIFT, VERDICT_MASK } from '../../host/plugin/abi.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const NEED_MORE = 0;
export const MATCH = 1;
export const NO_MATCH = 2;
export const VERDICTS = { NEED_MORE, MATCH, NO_MATCH } as const;

/** The module's key buffer (sdk/assembly/abi.ts KEY_CAP): no result may claim more. */
export const KEY_CAP = 1024;
/** Enough random windows to reach deep parser states many times over, still ~1 s per detector. */
const FUZZ_RUNS = 100_000;

export interface Fixture {
  file: string;
  verdict: keyof typeof VERDICTS;
  keys: string[];
  /** Smallest prefix with the final verdict; shorter prefixes are NEED_MORE. Absent: never decided. */
  decidedAt?: number;
  /** Set on a fixture of another protocol kept to show this detector rejects it; absent: the plugin's own. */
  protocol?: string;
  captured: string;
  notes: string;
}

export const wasmPath = (plugin: string) => `${ROOT}dist/plugins/${plugin}.wasm`;
export const fixtureDir = (plugin: string) => `${ROOT}plugins/${plugin}/fixtures/`;

export function loadManifest(plugin: string): Fixture[] {
  return JSON.parse(readFileSync(`${fixtureDir(plugin)}manifest.json`, 'utf8')) as Fixture[];
}

export function fixtureBytes(plugin: string, f: Fixture): Uint8Array {
  return new Uint8Array(readFileSync(fixtureDir(plugin) + f.file));
}

/** Every plugin folder with a fixtures/manifest.json. */
export function pluginsWithFixtures(): string[] {
  return readdirSync(`${ROOT}plugins`, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(`${fixtureDir(d.name)}manifest.json`))
    .map((d) => d.name)
    .sort();
}

export async function loadDetector(plugin: string): Promise<RawDetector> {
  const wasm = wasmPath(plugin);
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run npm run build:plugins`);
  return loadDetectorFile(wasm);
}

/** Throws unless `r` is a result the ABI allows (verdict 0–2, key length only with MATCH, within KEY_CAP). */
export function checkResult(r: number, what: () => string): void {
  const verdict = r & VERDICT_MASK;
  const keyLen = (r >>> KEY_LEN_SHIFT) & KEY_LEN_MASK;
  if (verdict > NO_MATCH || r >>> 24 !== 0 || keyLen > KEY_CAP || (verdict !== MATCH && keyLen !== 0)) {
    expect.fail(`result 0x${(r >>> 0).toString(16)} out of range for ${what()}`);
  }
}

export interface DetectorSpec {
  /** Folder under plugins/ and base name of the .wasm. */
  plugin: string;
  /** The metadata's protocol. */
  protocol: string;
  /** Every key a MATCH on any input may report. */
  keyPattern: RegExp;
  /** Fuzzing seed; fixed so a failure reproduces. */
  seed: number;
  /** Random windows that begin like this protocol, so the fuzzer reaches past the first byte. */
  randomPrefix?: Uint8Array;
}

/** Declares the shared suites for one detector. */
export function describeDetector(spec: DetectorSpec): { det: () => RawDetector } {
  const manifest = loadManifest(spec.plugin);
  const bytes = (f: Fixture) => fixtureBytes(spec.plugin, f);
  let det: RawDetector;

  beforeAll(async () => {
    det = await loadDetector(spec.plugin);
  });

  describe(`${spec.plugin} detector metadata`, () => {
    it('carries detector.json in its custom section', () => {
      const meta = JSON.parse(readFileSync(`${ROOT}plugins/${spec.plugin}/detector.json`, 'utf8'));
      expect(det.meta).toEqual(meta);
      expect(det.meta).toMatchObject({ abi: 1, name: spec.plugin, protocol: spec.protocol });
    });

    it('has a manifest entry for every fixture file and a file for every entry', () => {
      for (const f of manifest) expect(existsSync(fixtureDir(spec.plugin) + f.file), f.file).toBe(true);
      const files = readdirSync(fixtureDir(spec.plugin)).filter((n) => n.endsWith('.bin')).sort();
      expect(manifest.map((f) => f.file).sort()).toEqual(files);
    });

    it('declares every key name it reports', () => {
      const names = new Set(Object.keys(det.meta.keys ?? {}));
      for (const f of manifest) for (const k of f.keys) expect(names.has(k.slice(0, k.indexOf(' '))), k).toBe(true);
    });
  });

  describe.each(manifest)(`${spec.plugin} fixture $file`, (f) => {
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
      const end = Math.min(b.length, det.inputCap);
      for (let n = 0; n <= end; n++) {
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

  describe(`${spec.plugin} detector robustness`, () => {
    const own = manifest.filter((f) => !f.protocol).map(bytes);

    it(`${FUZZ_RUNS} random and mutated windows never trap, never return an out-of-range result, never allocate`, () => {
      const rnd = mulberry32(spec.seed);
      const memBefore = det.memoryBytes();
      let matches = 0;
      for (let i = 0; i < FUZZ_RUNS; i++) {
        const w = fuzzWindow(rnd, own, det.inputCap, spec.randomPrefix);
        const eof = rnd() < 0.5;
        let r: number;
        try {
          r = det.detectRaw(w, eof);
        } catch (err) {
          expect.fail(`run ${i} (seed ${spec.seed}): trap ${String(err)} on ${w.length} B starting ${hex(w)}`);
        }
        checkResult(r, () => `run ${i}: ${w.length} B starting ${hex(w)}`);
        if ((r & VERDICT_MASK) === MATCH) {
          matches++;
          const { keys } = det.detect(w, eof);
          for (const k of keys) if (!spec.keyPattern.test(k)) expect.fail(`run ${i}: key ${JSON.stringify(k)} on ${hex(w)}`);
        }
      }
      expect(matches).toBeGreaterThan(0); // the mutations must also reach the MATCH path
      expect(det.memoryBytes()).toBe(memBefore);
    });

    it('never MATCHes uniformly random bytes', () => {
      const rnd = mulberry32(spec.seed ^ 1);
      for (let i = 0; i < 5000; i++) {
        const w = randomBytes(rnd, 1 + Math.floor(rnd() * 256));
        if (det.detect(w, rnd() < 0.5).verdict === MATCH) expect.fail(`MATCH on random ${hex(w)}`);
      }
    });

    it('clamps a len the host should never pass', () => {
      for (const len of [-1, -0x8000_0000, det.inputCap + 1, 0x7fff_ffff]) {
        for (const eof of [0, 1, 7]) checkResult(det.callDetect(len, eof), () => `len ${len} eof ${eof}`);
      }
    });
  });

  return { det: () => det };
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(rnd: () => number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rnd() * 256);
  return b;
}

/** Random bytes behind the protocol's usual start, or a fixture with bytes flipped, bent by ±1, and cut. */
function fuzzWindow(rnd: () => number, seeds: Uint8Array[], cap: number, prefix?: Uint8Array): Uint8Array {
  if (rnd() < 0.2) {
    const w = randomBytes(rnd, Math.floor(rnd() * rnd() * (cap + 64)));
    if (prefix && rnd() < 0.7) w.set(prefix.subarray(0, Math.min(prefix.length, w.length)));
    return w;
  }
  const seed = seeds[Math.floor(rnd() * seeds.length)]!;
  const w = Uint8Array.from(seed);
  const flips = 1 + Math.floor(rnd() * 8);
  for (let j = 0; j < flips && w.length; j++) {
    const at = Math.floor(rnd() * w.length);
    // Small deltas bend length fields by a little, which is where off-by-one bugs live.
    w[at] = rnd() < 0.5 ? Math.floor(rnd() * 256) : (w[at]! + (rnd() < 0.5 ? 1 : -1)) & 0xff;
  }
  return rnd() < 0.5 ? w.subarray(0, Math.floor(rnd() * (w.length + 1))) : w;
}

export function hex(b: Uint8Array): string {
  return Buffer.from(b.subarray(0, 24)).toString('hex');
}
