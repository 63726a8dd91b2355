// The detector conformance kit: what `passthru plugin test` runs against an author's .wasm, and what
// the bundled detectors' tests run against theirs (test/helpers/detector-fixtures.ts). Every check
// returns findings as text instead of throwing, so the CLI can print a report and the tests can
// expect an empty list.
//
// The module runs raw here, not through the sandbox's Detector: the kit must see a trap as a trap
// and an out-of-range result as such, where the sandbox would turn both into NO_MATCH plus a strike.
// It is still the fuel-instrumented module, so fuel is measured as the host will charge it.
import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PluginLoadError, PluginTestError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import {
  EXPORT_DETECT,
  EXPORT_FUEL,
  EXPORT_INPUT_CAP,
  EXPORT_INPUT_PTR,
  EXPORT_KEY_PTR,
  EXPORT_MEMORY,
  KEY_LEN_MASK,
  KEY_LEN_SHIFT,
  KEY_SEPARATOR,
  VERDICT_MASK,
} from './abi.js';
import { DEFAULT_FUEL, DEFAULT_MAX_MEMORY_PAGES, loadDetectorBytes } from './loader.js';
import { readMetadata, type DetectorMeta } from './metadata.js';
import { MAX_KEY_BYTES } from './sandbox.js';

export const NEED_MORE = 0;
export const MATCH = 1;
export const NO_MATCH = 2;
export const VERDICTS = { NEED_MORE, MATCH, NO_MATCH } as const;
export type VerdictName = keyof typeof VERDICTS;
export const VERDICT_NAMES: readonly VerdictName[] = ['NEED_MORE', 'MATCH', 'NO_MATCH'];

/** One entry of a fixtures/manifest.json (docs/plugins.md, "Fixtures"). */
export interface Fixture {
  /** File name in the fixtures directory: the raw bytes a client sent first. */
  file: string;
  verdict: VerdictName;
  /** The keys of a MATCH, in order; [] otherwise. */
  keys: string[];
  /** Smallest prefix with the final verdict; shorter prefixes are NEED_MORE. Absent: the whole file. */
  decidedAt?: number;
  /** Another protocol's capture, kept to show this detector rejects it; absent: the detector's own. */
  protocol?: string;
  captured?: string;
  notes?: string;
}

export interface LoadedFixture extends Fixture {
  bytes: Uint8Array;
  /** Where it came from, for messages (`tls/curl.bin`). */
  label: string;
}

/** Reads and checks a manifest; every problem names the entry. */
export async function readFixtures(dir: string, labelPrefix = ''): Promise<LoadedFixture[]> {
  const file = join(dir, 'manifest.json');
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    throw new PluginTestError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!Array.isArray(raw)) throw new PluginTestError(`${file}: must be a JSON array of fixtures`);
  const out: LoadedFixture[] = [];
  const problems: string[] = [];
  for (const [i, entry] of raw.entries()) {
    const at = `${file}[${i}]`;
    const e = entry as Record<string, unknown>;
    if (typeof e !== 'object' || e === null) {
      problems.push(`${at}: not an object`);
      continue;
    }
    if (typeof e.file !== 'string' || e.file === '' || /[/\\]/.test(e.file)) problems.push(`${at}.file: a file name in ${dir}`);
    if (!VERDICT_NAMES.includes(e.verdict as VerdictName)) problems.push(`${at}.verdict: one of ${VERDICT_NAMES.join(', ')}`);
    if (!Array.isArray(e.keys) || !e.keys.every((k) => typeof k === 'string')) problems.push(`${at}.keys: an array of strings`);
    else if (e.verdict !== 'MATCH' && e.keys.length) problems.push(`${at}.keys: only a MATCH has keys`);
    if (e.decidedAt !== undefined && (!Number.isInteger(e.decidedAt) || (e.decidedAt as number) < 0)) problems.push(`${at}.decidedAt: a byte count`);
    if (e.protocol !== undefined && typeof e.protocol !== 'string') problems.push(`${at}.protocol: a protocol name`);
    if (problems.length) continue;
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, e.file as string)));
    } catch (err) {
      problems.push(`${at}: ${e.file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      continue;
    }
    out.push({ ...(e as unknown as Fixture), bytes, label: `${labelPrefix}${e.file}` });
  }
  if (problems.length) throw new PluginTestError(`bad fixtures manifest:\n  ${problems.join('\n  ')}`);
  return out;
}

/** The bundled detectors' fixtures shipped in this package: other protocols' real captures. */
export async function bundledFixtures(root = PACKAGE_ROOT): Promise<Array<LoadedFixture & { protocol: string }>> {
  const dir = join(root, 'plugins');
  const out: Array<LoadedFixture & { protocol: string }> = [];
  let names: string[];
  try {
    names = (await readdir(dir)).sort();
  } catch {
    return out;
  }
  for (const name of names) {
    const fixtures = join(dir, name, 'fixtures');
    if (!existsSync(join(fixtures, 'manifest.json'))) continue;
    const meta = JSON.parse(await readFile(join(dir, name, 'detector.json'), 'utf8')) as { protocol: string };
    for (const f of await readFixtures(fixtures, `${name}/`)) out.push({ ...f, protocol: f.protocol ?? meta.protocol });
  }
  return out;
}

export interface DetectResult {
  verdict: 0 | 1 | 2;
  keys: string[];
}

/** A detector module run raw: results undecoded if wanted, traps as exceptions, fuel as the host counts it. */
export interface RawDetector {
  meta: DetectorMeta;
  inputCap: number;
  /** Fuel budget per call (0: not metered). */
  fuel: number;
  /** Fuel used by the last call (0 when not metered or when it trapped). */
  lastFuel: number;
  /** Decoded result; throws on a trap or a result the host would strike. */
  detect(window: Uint8Array, eof: boolean): DetectResult;
  /** detect()'s i32 as returned; a trap propagates. */
  detectRaw(window: Uint8Array, eof: boolean): number;
  /** detect(len, eof) on whatever the input buffer holds, with any len, even one a host would never pass. */
  callDetect(len: number, eof: number): number;
  /** Current size of the module's memory, to check that calls do not allocate. */
  memoryBytes(): number;
  /** After a trap, whether it was the fuel meter. */
  fuelExhausted(): boolean;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Instantiates `bytes` raw. With `fuel` > 0 the module is the host's instrumented one (from the fuel
 * cache), and the budget is set before every call as the sandbox does.
 */
export async function loadRaw(bytes: Uint8Array, source: string, fuel = 0): Promise<RawDetector> {
  let mod = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  const meta = readMetadata(mod);
  if (typeof meta === 'string') throw new PluginLoadError(source, meta);
  if (fuel > 0) {
    const { getInstrumented } = await import('./fuel-cache.js');
    mod = new WebAssembly.Module(await getInstrumented(bytes));
  }
  const inst = new WebAssembly.Instance(mod, {});
  const ex = inst.exports as Record<string, unknown>;
  const memory = ex[EXPORT_MEMORY] as WebAssembly.Memory;
  const detectFn = ex[EXPORT_DETECT] as (len: number, eof: number) => number;
  const meter = ex[EXPORT_FUEL] as WebAssembly.Global | undefined;
  const setFuel = () => {
    if (meter) meter.value = fuel;
  };
  setFuel();
  const inputPtr = (ex[EXPORT_INPUT_PTR] as () => number)();
  setFuel();
  const inputCap = (ex[EXPORT_INPUT_CAP] as () => number)();
  setFuel();
  const keyPtr = (ex[EXPORT_KEY_PTR] as () => number)();
  let written = 0;

  const det: RawDetector = {
    meta,
    inputCap,
    fuel: meter ? fuel : 0,
    lastFuel: 0,
    detectRaw(window, eof) {
      const n = Math.min(window.length, inputCap);
      const view = new Uint8Array(memory.buffer);
      view.set(window.subarray(0, n), inputPtr);
      // As the sandbox does: bytes past `len` from an earlier, longer window are cleared.
      if (n < written) view.fill(0, inputPtr + n, inputPtr + written);
      written = n;
      det.lastFuel = 0;
      setFuel();
      const r = detectFn(n, eof ? 1 : 0);
      if (meter) det.lastFuel = fuel - (meter.value as number);
      return r;
    },
    detect(window, eof) {
      return decodeResult(det.detectRaw(window, eof), memory, keyPtr);
    },
    callDetect(len, eof) {
      setFuel();
      return detectFn(len, eof);
    },
    memoryBytes: () => memory.buffer.byteLength,
    fuelExhausted: () => meter !== undefined && (meter.value as number) < 0,
  };
  return det;
}

/** Decodes a result as the host does; throws with the reason the host would strike it for. */
export function decodeResult(r: number, memory: WebAssembly.Memory, keyPtr: number): DetectResult {
  if (r >>> 24 !== 0 || r < 0) throw new Error(`bad result 0x${(r >>> 0).toString(16)} (bits 24-31 must be 0)`);
  const verdict = r & VERDICT_MASK;
  if (verdict > NO_MATCH) throw new Error(`bad verdict ${verdict}`);
  const keyLen = (r >>> KEY_LEN_SHIFT) & KEY_LEN_MASK;
  if (verdict !== MATCH) return { verdict: verdict as 0 | 2, keys: [] };
  if (keyLen > MAX_KEY_BYTES) throw new Error(`key length ${keyLen} exceeds the host's limit of ${MAX_KEY_BYTES} bytes`);
  if (keyPtr + keyLen > memory.buffer.byteLength) throw new Error(`key length ${keyLen} at ${keyPtr} runs past the end of memory`);
  let text: string;
  try {
    text = keyLen ? utf8.decode(new Uint8Array(memory.buffer, keyPtr, keyLen)) : '';
  } catch {
    throw new Error('keys are not valid UTF-8');
  }
  // As the host splits them: empty pieces are dropped.
  const keys = text.split(String.fromCharCode(KEY_SEPARATOR)).filter((k) => k !== '');
  return { verdict: MATCH, keys };
}

/** A call that may trap, as a result or the reason. */
function attempt(det: RawDetector, w: Uint8Array, eof: boolean): DetectResult | string {
  try {
    return det.detect(w, eof);
  } catch (err) {
    if (det.fuelExhausted()) return `fuel exhausted (budget ${det.fuel})`;
    return err instanceof Error ? `${err instanceof WebAssembly.RuntimeError ? 'trap: ' : err instanceof RangeError ? 'stack overflow: ' : ''}${err.message}` : String(err);
  }
}

const show = (r: DetectResult | string) => (typeof r === 'string' ? r : `${VERDICT_NAMES[r.verdict]}${r.verdict === MATCH ? ` ${JSON.stringify(r.keys)}` : ''}`);
const sameKeys = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((k, i) => k === b[i]);

/**
 * One of the detector's own fixtures: whole, with eof, and every prefix (NEED_MORE before decidedAt,
 * then the final verdict and keys; with eof a NEED_MORE becomes NO_MATCH). Returns the findings.
 */
export function checkFixture(det: RawDetector, f: LoadedFixture): string[] {
  const out: string[] = [];
  const want = VERDICTS[f.verdict];
  const expect = (got: DetectResult | string, verdict: number, what: string) => {
    if (typeof got === 'string' || got.verdict !== verdict || (verdict === MATCH && !sameKeys(got.keys, f.keys))) {
      const wanted = `${VERDICT_NAMES[verdict]}${verdict === MATCH ? ` ${JSON.stringify(f.keys)}` : ''}`;
      out.push(`${f.label}: ${what}: got ${show(got)}, expected ${wanted}`);
    }
  };
  expect(attempt(det, f.bytes, false), want, 'whole');
  expect(attempt(det, f.bytes, true), want === NEED_MORE ? NO_MATCH : want, 'whole with eof');
  const decidedAt = f.decidedAt ?? f.bytes.length;
  const end = Math.min(f.bytes.length, det.inputCap);
  for (let n = 0; n <= end && out.length < MAX_FINDINGS_PER_FIXTURE; n++) {
    const prefix = f.bytes.subarray(0, n);
    const expected = n < decidedAt ? NEED_MORE : want;
    expect(attempt(det, prefix, false), expected, `first ${n} bytes`);
    // A full input buffer can never see more, so NEED_MORE there is also final.
    expect(attempt(det, prefix, true), expected === NEED_MORE ? NO_MATCH : expected, `first ${n} bytes with eof`);
  }
  return out;
}
/** Enough to see the pattern of a failing fixture without drowning the report in 500 prefix lines. */
const MAX_FINDINGS_PER_FIXTURE = 6;

/** Key names a MATCH reported that the metadata does not declare (when it declares any). */
export function undeclaredKeys(meta: DetectorMeta, keys: readonly string[]): string[] {
  if (!meta.keys) return [];
  return keys.filter((k) => {
    const space = k.indexOf(' ');
    return !Object.hasOwn(meta.keys!, space < 0 ? k : k.slice(0, space));
  });
}

/** Same window, same answer: each window asked again after other windows were asked in between. */
export function checkDeterminism(det: RawDetector, windows: readonly LoadedFixture[]): string[] {
  const out: string[] = [];
  const first = windows.map((f) => show(attempt(det, f.bytes, false)));
  // Reverse order, so every window comes after a different one than the first time.
  for (let i = windows.length - 1; i >= 0; i--) {
    const again = show(attempt(det, windows[i]!.bytes, false));
    if (again !== first[i]) out.push(`${windows[i]!.label}: answered ${first[i]}, then ${again} for the same window (keeps state between calls?)`);
  }
  return out;
}

/** Every prefix is swept for captures up to this size; bigger ones are asked whole only, to keep the kit quick. */
const FOREIGN_PREFIX_SWEEP_MAX = 4096;

/**
 * Other protocols' captures: the detector must never MATCH them, whole, with eof, or any prefix.
 * One finding per protocol (how many of its captures, and the first one with the shortest prefix
 * that goes wrong), so a greedy detector gets a short report rather than one line per capture.
 */
export function checkForeign(det: RawDetector, fixtures: readonly (LoadedFixture & { protocol: string })[]): string[] {
  const byProtocol = new Map<string, { total: number; bad: string[] }>();
  for (const f of fixtures) {
    if (f.protocol === det.meta.protocol) continue;
    const entry = byProtocol.get(f.protocol) ?? { total: 0, bad: [] };
    byProtocol.set(f.protocol, entry);
    entry.total++;
    const problem = foreignProblem(det, f);
    if (problem) entry.bad.push(`${f.label}: ${problem}`);
  }
  const out: string[] = [];
  for (const [protocol, { total, bad }] of byProtocol) {
    if (bad.length) out.push(`${protocol}: wrong on ${bad.length} of ${total} captures, e.g. ${bad[0]} (a ${protocol} capture)`);
  }
  return out;
}

/** The first thing wrong with the answers on a foreign capture: shortest prefix first, then whole, then eof. */
function foreignProblem(det: RawDetector, f: LoadedFixture): string | undefined {
  const bad = (r: DetectResult | string) => typeof r === 'string' || r.verdict === MATCH;
  if (f.bytes.length <= FOREIGN_PREFIX_SWEEP_MAX) {
    for (let n = 1; n < f.bytes.length; n++) {
      const r = attempt(det, f.bytes.subarray(0, n), false);
      if (bad(r)) return `${show(r)} on its first ${n} bytes`;
    }
  }
  for (const eof of [false, true]) {
    const r = attempt(det, f.bytes, eof);
    if (bad(r)) return `${show(r)}${eof ? ' with eof' : ''}`;
  }
  return undefined;
}

export interface FuzzOptions {
  /** Windows to mutate (the detector's own fixtures). */
  seeds: readonly Uint8Array[];
  runs: number;
  /** Fixed so that a failure reproduces. */
  seed: number;
  /** Random windows that begin like this protocol, so the fuzzer reaches past the first byte. */
  randomPrefix?: Uint8Array;
  /** Every key a MATCH may report; absent: only the metadata's key names are checked. */
  keyPattern?: RegExp;
}

export interface FuzzResult {
  findings: string[];
  matches: number;
  /** Highest fuel of one call (0 when not metered). */
  maxFuel: number;
  /** The window that used it. */
  maxFuelWindow: number;
}

/** Stop collecting after this many: the first ones say what is wrong. */
const MAX_FUZZ_FINDINGS = 5;

/**
 * Random and mutated windows: no trap, no fuel exhaustion, no result the host would strike, no
 * memory growth, keys of declared names (and of `keyPattern`). One window in DETERMINISM_EVERY is
 * asked twice.
 */
export function fuzz(det: RawDetector, o: FuzzOptions): FuzzResult {
  const rnd = mulberry32(o.seed);
  const memBefore = det.memoryBytes();
  const res: FuzzResult = { findings: [], matches: 0, maxFuel: 0, maxFuelWindow: 0 };
  for (let i = 0; i < o.runs && res.findings.length < MAX_FUZZ_FINDINGS; i++) {
    const w = fuzzWindow(rnd, o.seeds, det.inputCap, o.randomPrefix);
    const eof = rnd() < 0.5;
    const where = () => `run ${i} (seed 0x${o.seed.toString(16)}), ${w.length} B${eof ? ' with eof' : ''} starting ${hex(w)}`;
    const r = attempt(det, w, eof);
    if (typeof r === 'string') {
      res.findings.push(`${r} on ${where()}`);
      continue;
    }
    if (det.lastFuel > res.maxFuel) {
      res.maxFuel = det.lastFuel;
      res.maxFuelWindow = w.length;
    }
    if (r.verdict === MATCH) {
      res.matches++;
      const bad = undeclaredKeys(det.meta, r.keys);
      if (bad.length) res.findings.push(`undeclared key ${JSON.stringify(bad[0])} on ${where()}`);
      else if (o.keyPattern) {
        const k = r.keys.find((key) => !o.keyPattern!.test(key));
        if (k !== undefined) res.findings.push(`unexpected key ${JSON.stringify(k)} on ${where()}`);
      }
    }
    if (i % DETERMINISM_EVERY === 0) {
      const again = attempt(det, w, eof);
      if (show(again) !== show(r)) res.findings.push(`answered ${show(r)}, then ${show(again)} on ${where()}`);
    }
  }
  if (det.memoryBytes() !== memBefore) res.findings.push(`memory grew from ${memBefore} to ${det.memoryBytes()} bytes during the fuzz run (allocates per call?)`);
  return res;
}
/** Asking every window twice would double the run; one in 16 still catches a detector that keeps state. */
const DETERMINISM_EVERY = 16;

/** Lengths the host should never pass: the module must still answer within the ABI, never trap. */
export function checkOddLengths(det: RawDetector): string[] {
  const out: string[] = [];
  for (const len of [-1, -0x8000_0000, det.inputCap + 1, 0x7fff_ffff]) {
    for (const eof of [0, 1, 7]) {
      let r: number;
      try {
        r = det.callDetect(len, eof);
      } catch (err) {
        out.push(`detect(${len}, ${eof}) trapped: ${(err as Error).message}`);
        continue;
      }
      const verdict = r & VERDICT_MASK;
      const keyLen = (r >>> KEY_LEN_SHIFT) & KEY_LEN_MASK;
      if (verdict > NO_MATCH || r >>> 24 !== 0 || keyLen > MAX_KEY_BYTES || (verdict !== MATCH && keyLen !== 0)) {
        out.push(`detect(${len}, ${eof}) returned 0x${(r >>> 0).toString(16)}`);
      }
    }
  }
  return out;
}

/**
 * V8 first runs wasm in its baseline tier, so calls are warmed up before the clock starts; then
 * batches are timed and the best batch mean is kept (least disturbed by GC and neighbours).
 */
const WARMUP_CALLS = 2000;
const BATCH_CALLS = 200;
const BATCHES = 15;

/** Best mean ns per call on `w` (with the fuel meter on, as the proxy runs it). */
export function nsPerCall(det: RawDetector, w: Uint8Array): number {
  for (let i = 0; i < WARMUP_CALLS; i++) det.detectRaw(w, false);
  let best = Infinity;
  for (let b = 0; b < BATCHES; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH_CALLS; i++) det.detectRaw(w, false);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / BATCH_CALLS);
  }
  return Math.round(best);
}

export interface ConformanceOptions {
  fixturesDir: string;
  fuel?: number;
  maxMemoryPages?: number;
  fuzzRuns?: number;
  seed?: number;
  /** Other protocols' fixtures; default: the bundled detectors' shipped with this package. */
  foreign?: Array<LoadedFixture & { protocol: string }>;
}

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';
export interface CheckResult {
  name: string;
  status: CheckStatus;
  summary: string;
  details: string[];
}

export interface ConformanceReport {
  file: string;
  meta?: DetectorMeta;
  checks: CheckResult[];
  ok: boolean;
}

/** Fuzz windows by default: ~1-3 s for a typical detector, quick enough for an author's CI. */
export const DEFAULT_FUZZ_RUNS = 20_000;
/** The default fuzz seed (any value; fixed so a CI failure reproduces locally). */
export const DEFAULT_FUZZ_SEED = 0x5eed_0001;
/**
 * Above this share of the budget a detector is warned about: the bundled ones peak near 1 %, and a
 * detector close to its budget will strike on some input the fuzzer did not find.
 */
const FUEL_WARN_SHARE = 0.1;

/** Runs the whole kit on one module. Never throws for a bad module: that is a failed check. */
export async function runConformance(file: string, o: ConformanceOptions): Promise<ConformanceReport> {
  const fuel = o.fuel ?? DEFAULT_FUEL;
  const checks: CheckResult[] = [];
  const report: ConformanceReport = { file, checks, ok: false };
  const add = (name: string, details: string[], pass: string, failWord = 'failed') => {
    checks.push({ name, status: details.length ? 'fail' : 'pass', summary: details.length ? `${details.length} ${failWord}` : pass, details });
  };

  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (err) {
    throw new PluginTestError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const fixtures = await readFixtures(o.fixturesDir);

  try {
    await loadDetectorBytes(bytes, file, { fuel, maxMemoryPages: o.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES });
  } catch (err) {
    checks.push({ name: 'load checks', status: 'fail', summary: 'refused by the host', details: [(err as PluginLoadError).reason ?? (err as Error).message] });
    return report;
  }
  const det = await loadRaw(bytes, file, fuel);
  report.meta = det.meta;
  checks.push({ name: 'load checks', status: 'pass', summary: `loads (${det.meta.name} ${det.meta.version}, protocol ${det.meta.protocol})`, details: [] });

  const own = fixtures.filter((f) => !f.protocol || f.protocol === det.meta.protocol);
  const mine = own.filter((f) => f.verdict === 'MATCH');
  if (!mine.length) {
    checks.push({ name: 'fixtures', status: 'fail', summary: 'no MATCH fixture of its own protocol', details: [`add a capture of a real ${det.meta.protocol} client to ${o.fixturesDir}/manifest.json`] });
  } else {
    const findings: string[] = [];
    for (const f of own) findings.push(...checkFixture(det, f));
    for (const f of mine) {
      const bad = undeclaredKeys(det.meta, f.keys);
      if (bad.length) findings.push(`${f.label}: key ${JSON.stringify(bad[0])} is not declared in the metadata's keys`);
    }
    add('fixtures', findings, `${own.length} fixtures, every split point`);
  }
  add('determinism', checkDeterminism(det, fixtures), 'same window, same answer');
  const foreignFixtures = [...(o.foreign ?? (await bundledFixtures())), ...fixtures.filter((f) => f.protocol && f.protocol !== det.meta.protocol).map((f) => ({ ...f, protocol: f.protocol! }))];
  const foreignCount = foreignFixtures.filter((f) => f.protocol !== det.meta.protocol).length;
  add('other protocols', checkForeign(det, foreignFixtures), `no MATCH on ${foreignCount} captures of other protocols`);
  add('odd lengths', checkOddLengths(det), 'answers within the ABI for lengths no host passes');

  const runs = o.fuzzRuns ?? DEFAULT_FUZZ_RUNS;
  const seeds = (own.length ? own : fixtures).map((f) => f.bytes);
  const fz = fuzz(det, { seeds: seeds.length ? seeds : [new Uint8Array(0)], runs, seed: o.seed ?? DEFAULT_FUZZ_SEED });
  add('fuzz', fz.findings, `${runs} random and mutated windows: no trap, no bad result, no allocation (${fz.matches} MATCH)`, 'problem(s)');

  let peak = fz.maxFuel;
  for (const f of own) {
    det.detectRaw(f.bytes, false);
    peak = Math.max(peak, det.lastFuel);
  }
  const share = peak / fuel;
  checks.push({
    name: 'fuel',
    status: share > FUEL_WARN_SHARE ? 'warn' : 'pass',
    summary: `peak ${peak} of the budget ${fuel} (${(share * 100).toFixed(2)} %)${share > FUEL_WARN_SHARE ? `; above ${FUEL_WARN_SHARE * 100} %: some input may exhaust it` : ''}`,
    details: [],
  });
  const timed = mine.slice(0, 3).map((f) => `${f.label} ${nsPerCall(det, f.bytes)} ns`);
  checks.push({ name: 'time', status: 'pass', summary: timed.length ? `per call, fuel meter on: ${timed.join(', ')}` : 'no MATCH fixture to time', details: [] });

  report.ok = checks.every((c) => c.status !== 'fail');
  return report;
}

export function formatConformance(r: ConformanceReport): string {
  const lines = [`${r.file}${r.meta ? `: ${r.meta.name} ${r.meta.version} (${r.meta.protocol})` : ''}`];
  const mark: Record<CheckStatus, string> = { pass: 'PASS', fail: 'FAIL', warn: 'WARN', skip: 'SKIP' };
  for (const c of r.checks) {
    lines.push(`  ${mark[c.status]}  ${c.name.padEnd(16)}${c.summary}`);
    for (const d of c.details.slice(0, MAX_DETAILS)) lines.push(`          ${d}`);
    if (c.details.length > MAX_DETAILS) lines.push(`          … ${c.details.length - MAX_DETAILS} more`);
  }
  lines.push(r.ok ? 'conformance: PASS' : 'conformance: FAIL');
  return lines.join('\n') + '\n';
}
/** Lines per failed check in the report: the first ones say what is wrong. */
const MAX_DETAILS = 12;

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

/** Random bytes behind the protocol's usual start, or a seed with bytes flipped, bent by ±1, and cut. */
export function fuzzWindow(rnd: () => number, seeds: readonly Uint8Array[], cap: number, prefix?: Uint8Array): Uint8Array {
  if (rnd() < 0.2 || seeds.length === 0) {
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

/** The first bytes of a window, for messages. */
export function hex(b: Uint8Array, max = 32): string {
  return Buffer.from(b.subarray(0, max)).toString('hex') + (b.length > max ? '…' : '');
}
