// `passthru plugin inspect FILE.wasm`: what a detector is (metadata, exports, imports, memory), whether
// this host would load it and why not, and what it does with a few windows under the real sandbox.
// A detector's own protocol samples are unknown in general, so the samples are built in: common
// first flights of other protocols, noise, and an empty window at EOF.
import { readFile } from 'node:fs/promises';
import { PluginLoadError } from '../errors.js';
import { WASM_PAGE } from '../plugin/abi.js';
import { getInstrumented } from '../plugin/fuel-cache.js';
import { loadDetectorBytes } from '../plugin/loader.js';
import { readMetadata, type DetectorMeta } from '../plugin/metadata.js';
import type { Detector } from '../plugin/sandbox.js';
import { definedMemories, type MemoryLimits } from '../plugin/wasm-memory.js';

export interface InspectOptions {
  file: string;
  fuel: number;
  maxMemoryPages: number;
  json: boolean;
}

export interface Sample {
  name: string;
  bytes: Uint8Array;
  eof: boolean;
}

export interface SampleResult {
  name: string;
  bytes: number;
  eof: boolean;
  verdict: 'NEED_MORE' | 'MATCH' | 'NO_MATCH';
  keys: string[];
  /** Fuel of one call; absent when the call trapped (no meaningful count). */
  fuel?: number;
  /** Wall time per call in ns: best batch mean over repeated calls; the one call's time when it strikes. */
  ns: number;
  /** Why the sandbox struck the call, when it did. */
  strike?: string;
}

export interface InspectReport {
  file: string;
  size: number;
  /** The metadata, or why it is unusable. */
  metadata: DetectorMeta | { error: string } | null;
  exports: Array<{ name: string; kind: string }>;
  imports: Array<{ module: string; name: string; kind: string }>;
  memories: MemoryLimits[];
  /** The module does not even compile (then most fields are empty). */
  compileError?: string;
  load: { ok: true } | { ok: false; reason: string };
  limits: { fuel: number; maxMemoryPages: number };
  instrumentedSize?: number;
  samples: SampleResult[];
}

// openssl s_client -servername a.test -alpn h2,http/1.1 (plugins/tls/fixtures/openssl-alpn.bin),
// embedded because the fixtures are not part of the installed package.
const TLS_CLIENT_HELLO = Buffer.from(
  'FgMBAUUBAAFBAwMbfQSzIw03TLYpJeLxuiHKIUZfEixSJIMxwO6bDkaeXSAUl3ZrZGWp3hpoWn2I350TK3jGvnq8Ix1GEkZb' +
    'JaGRpAA+EwITAxMBwCzAMACfzKnMqMyqwCvALwCewCTAKABrwCPAJwBnwArAFAA5wAnAEwAzAJ0AnAA9ADwANQAvAP8BAAC6' +
    'AAAACwAJAAAGYS50ZXN0AAsABAMAAQIACgAWABQAHQAXAB4AGQAYAQABAQECAQMBBAAjAAAAEAAOAAwCaDIIaHR0cC8xLjEA' +
    'FgAAABcAAAANACoAKAQDBQMGAwgHCAgICQgKCAsIBAgFCAYEAQUBBgEDAwMBAwIEAgUCBgIAKwAJCAMEAwMDAgMBAC0AAgEB' +
    'ADMAJgAkAB0AIHj8v0jh3XGrDK0/QR5DKgF1+ygGMaaGzpBTaSCR3VQx',
  'base64',
);

/** The same bytes on every run, so outputs can be compared. */
function noise(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

export const BUILTIN_SAMPLES: readonly Sample[] = [
  { name: 'tls-clienthello', bytes: TLS_CLIENT_HELLO, eof: false },
  { name: 'ssh-banner', bytes: Buffer.from('SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u6\r\n'), eof: false },
  { name: 'http-get', bytes: Buffer.from('GET / HTTP/1.1\r\nHost: a.test\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n'), eof: false },
  { name: 'random-512', bytes: noise(512, 0x9e3779b9), eof: false },
  { name: 'empty-eof', bytes: new Uint8Array(0), eof: true },
];

/**
 * Timing: V8 first runs wasm in its baseline tier, so calls are warmed up before the clock starts;
 * then batches are timed and the best batch mean is reported (least disturbed by GC and the OS).
 * Bounded in time, so a slow detector does not stall the command.
 */
const WARMUP_CALLS = 1000;
const BATCH_CALLS = 100;
const BATCHES = 20;
const TIMING_BUDGET_NS = 100_000_000n;

const VERDICT_NAMES = ['NEED_MORE', 'MATCH', 'NO_MATCH'] as const;

export async function inspectPlugin(
  file: string,
  limits: { fuel: number; maxMemoryPages: number },
  samples: readonly Sample[] = BUILTIN_SAMPLES,
): Promise<InspectReport> {
  const bytes = new Uint8Array(await readFile(file));
  const report: InspectReport = {
    file,
    size: bytes.length,
    metadata: null,
    exports: [],
    imports: [],
    memories: [],
    load: { ok: true },
    limits,
    samples: [],
  };

  try {
    const module = new WebAssembly.Module(bytes);
    report.exports = WebAssembly.Module.exports(module).map((e) => ({ name: e.name, kind: e.kind }));
    report.imports = WebAssembly.Module.imports(module).map((i) => ({ module: i.module, name: i.name, kind: i.kind }));
    const meta = readMetadata(module);
    report.metadata = typeof meta === 'string' ? { error: meta } : meta;
    report.memories = definedMemories(bytes);
  } catch (err) {
    report.compileError = (err as Error).message;
  }

  let lastStrike: string | undefined;
  let detector: Detector;
  try {
    detector = await loadDetectorBytes(bytes, file, {
      ...limits,
      // Every sample gets its verdict, however often the detector misbehaves.
      strikeLimit: Number.MAX_SAFE_INTEGER,
      events: { strike: (_d, reason) => (lastStrike = reason), quarantine() {} },
    });
  } catch (err) {
    report.load = { ok: false, reason: err instanceof PluginLoadError ? err.reason : (err as Error).message };
    return report;
  }
  // The loader just stored it in the cache: this is a read.
  if (limits.fuel > 0) report.instrumentedSize = (await getInstrumented(bytes)).length;

  for (const s of samples) {
    lastStrike = undefined;
    const t0 = process.hrtime.bigint();
    const first = detector.detect(s.bytes, s.eof);
    const elapsed = process.hrtime.bigint() - t0;
    const result: SampleResult = {
      name: s.name,
      bytes: s.bytes.length,
      eof: s.eof,
      verdict: VERDICT_NAMES[first.verdict],
      keys: [...first.keys],
      ns: Number(elapsed),
    };
    if (lastStrike !== undefined) {
      result.strike = lastStrike;
    } else {
      result.fuel = detector.stats.lastFuel;
      const ns = timeCalls(detector, s, () => lastStrike !== undefined);
      if (ns !== undefined) result.ns = ns;
      // Same window, different outcome: the detector keeps state between calls.
      if (lastStrike !== undefined) result.strike = `on a repeated call: ${lastStrike}`;
    }
    report.samples.push(result);
  }
  return report;
}

/** Best mean ns per call over timed batches; undefined when a call struck (timing then means nothing). */
function timeCalls(d: Detector, s: Sample, struck: () => boolean): number | undefined {
  const deadline = process.hrtime.bigint() + TIMING_BUDGET_NS;
  for (let i = 0; i < WARMUP_CALLS && !struck(); i++) {
    d.detect(s.bytes, s.eof);
    if ((i & 63) === 0 && process.hrtime.bigint() > deadline) break;
  }
  let best = Infinity;
  for (let b = 0; b < BATCHES && !struck(); b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < BATCH_CALLS; i++) d.detect(s.bytes, s.eof);
    const t1 = process.hrtime.bigint();
    best = Math.min(best, Number(t1 - t0) / BATCH_CALLS);
    if (t1 > deadline) break;
  }
  return struck() || best === Infinity ? undefined : Math.round(best);
}

export function formatReport(r: InspectReport): string {
  const lines: string[] = [];
  const row = (label: string, value: string) => lines.push(`${label.padEnd(14)}${value}`);
  row('file', `${r.file} (${r.size} bytes)`);
  if (r.compileError) row('module', `not valid WebAssembly: ${r.compileError}`);
  if (r.metadata && 'error' in r.metadata) row('metadata', `unusable: ${r.metadata.error}`);
  else if (r.metadata) {
    const m = r.metadata;
    row('metadata', `name ${m.name}, protocol ${m.protocol}, version ${m.version}, abi ${m.abi}`);
    row('  keys', m.keys ? Object.entries(m.keys).map(([k, kind]) => `${k} (${kind})`).join(', ') : 'undeclared (every key compared exactly)');
  }
  if (!r.compileError) {
    lines.push(r.exports.length ? 'exports' : `${'exports'.padEnd(14)}none`);
    for (const e of r.exports) lines.push(`  ${e.name.padEnd(20)}${e.kind}`);
    lines.push(r.imports.length ? 'imports' : `${'imports'.padEnd(14)}none`);
    for (const i of r.imports) lines.push(`  ${`${i.module}.${i.name}`.padEnd(20)}${i.kind}`);
    if (r.memories.length === 0) row('memory', 'none defined');
    for (const m of r.memories) {
      const max = m.maximum === undefined ? 'no maximum' : `maximum ${pages(m.maximum)}`;
      row('memory', `initial ${pages(m.initial)}, ${max}${m.shared ? ', shared' : ''}${m.memory64 ? ', 64-bit' : ''} (host cap ${pages(r.limits.maxMemoryPages)})`);
    }
  }
  row('load checks', r.load.ok ? 'passed' : `REFUSED: ${r.load.reason}`);
  if (r.instrumentedSize !== undefined) {
    const growth = ((r.instrumentedSize / r.size - 1) * 100).toFixed(1);
    row('instrumented', `${r.instrumentedSize} bytes (+${growth} %), fuel budget ${r.limits.fuel} per call`);
  }
  if (r.samples.length) {
    lines.push('samples (built in; verdict, keys and fuel of one call; ns/call: best mean over repeated calls):');
    lines.push(`  ${'sample'.padEnd(17)}${'bytes'.padStart(6)}  ${'eof'.padEnd(4)}${'verdict'.padEnd(10)}${'fuel'.padStart(8)}${'ns/call'.padStart(10)}  keys`);
    for (const s of r.samples) {
      const fuel = s.fuel === undefined ? '-' : String(s.fuel);
      const tail = s.strike ? `STRIKE: ${s.strike}` : JSON.stringify(s.keys);
      lines.push(`  ${s.name.padEnd(17)}${String(s.bytes).padStart(6)}  ${(s.eof ? 'yes' : 'no').padEnd(4)}${s.verdict.padEnd(10)}${fuel.padStart(8)}${String(s.ns).padStart(10)}  ${tail}`);
    }
  }
  return lines.join('\n') + '\n';
}

const pages = (n: number) => `${n} page${n === 1 ? '' : 's'} (${(n * WASM_PAGE) / 1024} KiB)`;

/** Exit status: 0 when this host would load the module, 1 when it would refuse it. */
export async function runPluginInspect(options: InspectOptions, out: NodeJS.WritableStream): Promise<number> {
  let report: InspectReport;
  try {
    report = await inspectPlugin(options.file, { fuel: options.fuel, maxMemoryPages: options.maxMemoryPages });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    process.stderr.write(`passthru plugin inspect: ${options.file}: cannot read: ${code ?? (err as Error).message}\n`);
    return 1;
  }
  out.write(options.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.load.ok ? 0 : 1;
}
