// The bundled detectors' tests over the conformance kit (host/plugin/conformance.ts, the same
// checks `passthru plugin test` runs for authors): every fixture whole, at every split point, with
// and without eof; random and mutated windows never trap, never return an out-of-range result,
// never grow memory. Each test/plugins/NAME.test.ts calls describeDetector() and adds what is
// particular to its protocol. Build first: npm run build:plugins.

import { describe, it, expect, beforeAll } from 'vitest';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  checkFixture,
  checkOddLengths,
  fuzz,
  hex,
  loadRaw,
  mulberry32,
  randomBytes,
  readFixtures,
  undeclaredKeys,
  MATCH,
  type Fixture,
  type LoadedFixture,
  type RawDetector,
} from '../../host/plugin/conformance.js';

export { NEED_MORE, MATCH, NO_MATCH, VERDICTS, mulberry32, randomBytes, hex } from '../../host/plugin/conformance.js';
export type { Fixture, RawDetector } from '../../host/plugin/conformance.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Enough random windows to reach deep parser states many times over, still ~1 s per detector. */
const FUZZ_RUNS = 100_000;

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

/** The built module, raw and unmetered: results as the module returns them, traps as exceptions. */
export async function loadDetector(plugin: string): Promise<RawDetector> {
  const wasm = wasmPath(plugin);
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run npm run build:plugins`);
  return loadRaw(await readFile(wasm), wasm);
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
  let det: RawDetector;
  let fixtures: LoadedFixture[];

  beforeAll(async () => {
    det = await loadDetector(spec.plugin);
    fixtures = await readFixtures(fixtureDir(spec.plugin));
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
      for (const f of manifest) expect(undeclaredKeys(det.meta, f.keys), f.file).toEqual([]);
    });
  });

  describe.each(manifest)(`${spec.plugin} fixture $file`, (m) => {
    it(`${m.verdict} ${JSON.stringify(m.keys)}: whole, with eof, and every prefix (NEED_MORE until decidedAt)`, () => {
      expect(checkFixture(det, fixtures.find((f) => f.file === m.file)!)).toEqual([]);
    });
  });

  describe(`${spec.plugin} detector robustness`, () => {
    it(`${FUZZ_RUNS} random and mutated windows never trap, never return an out-of-range result, never allocate`, () => {
      const own = fixtures.filter((f) => !f.protocol).map((f) => f.bytes);
      const r = fuzz(det, { seeds: own, runs: FUZZ_RUNS, seed: spec.seed, randomPrefix: spec.randomPrefix, keyPattern: spec.keyPattern });
      expect(r.findings).toEqual([]);
      expect(r.matches).toBeGreaterThan(0); // the mutations must also reach the MATCH path
    });

    it('never MATCHes uniformly random bytes', () => {
      const rnd = mulberry32(spec.seed ^ 1);
      for (let i = 0; i < 5000; i++) {
        const w = randomBytes(rnd, 1 + Math.floor(rnd() * 256));
        if (det.detect(w, rnd() < 0.5).verdict === MATCH) expect.fail(`MATCH on random ${hex(w)}`);
      }
    });

    it('clamps a len the host should never pass', () => {
      expect(checkOddLengths(det)).toEqual([]);
    });
  });

  return { det: () => det };
}
