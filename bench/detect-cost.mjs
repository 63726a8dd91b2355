#!/usr/bin/env node
// Detection cost alone: ns per detect() call for every bundled detector on each of its MATCH
// fixtures (plugins/NAME/fixtures/manifest.json), three ways, interleaved in one process:
//   raw       the dist/plugins/NAME.wasm instantiated directly; copy the window in + detect()
//   sandboxed through loadDetectorFile() of the compiled host (bounds checks, key decoding)
//   fuelled   the same with fuel metering on (the module instrumented by binaryen at load)
//
//   npm run build && node bench/detect-cost.mjs [--json] [--quick]
//   PASSTHRU_DIST=/other/outdir node bench/detect-cost.mjs
//
// Not a test: figures vary ±30 % on a shared 2-core machine; compare within one run only.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { nsPerCall } from './detect-tls.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = resolve(process.env.PASSTHRU_DIST ?? join(ROOT, 'dist'));
/** Fuel per call when metered: the instrumenter's own default budget, far above what a real ClientHello uses. */
const FUEL = 1_000_000;

export async function detectCost({ quick = false } = {}) {
  // The fuel cache would otherwise land in the user's ~/.cache.
  const cacheDir = mkdtempSync(join(tmpdir(), 'passthru-bench-fuel-'));
  process.env.PASSTHRU_CACHE_DIR = cacheDir;
  try {
    const { loadDetectorFile } = await import(pathToFileURL(join(DIST, 'host', 'plugin', 'loader.js')).href);
    const timing = quick ? { calls: 5000, rounds: 5, warmup: 20_000 } : { calls: 20_000, rounds: 11, warmup: 100_000 };
    const rows = [];
    for (const plugin of readdirSync(join(ROOT, 'plugins')).sort()) {
      const manifestFile = join(ROOT, 'plugins', plugin, 'fixtures', 'manifest.json');
      const wasmFile = join(DIST, 'plugins', `${plugin}.wasm`);
      if (!existsSync(manifestFile)) continue;
      if (!existsSync(wasmFile)) {
        rows.push({ plugin, skipped: `${wasmFile} not built` });
        continue;
      }
      const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
      const wasm = readFileSync(wasmFile);
      const raw = new WebAssembly.Instance(new WebAssembly.Module(wasm), {}).exports;
      const sandboxed = await loadDetectorFile(wasmFile);
      let fuelled;
      try {
        fuelled = await loadDetectorFile(wasmFile, { fuel: FUEL });
      } catch (err) {
        fuelled = null;
        rows.push({ plugin, note: `fuel metering unavailable: ${err.message}` });
      }
      for (const entry of manifest.filter((e) => e.verdict === 'MATCH')) {
        const bytes = new Uint8Array(readFileSync(join(ROOT, 'plugins', plugin, 'fixtures', entry.file)));
        const cap = raw.input_cap();
        const len = Math.min(cap, bytes.length);
        const window = bytes.subarray(0, len);
        const calls = timing.calls;
        const rawCall = () => {
          let acc = 0;
          for (let i = 0; i < calls; i++) {
            new Uint8Array(raw.memory.buffer, raw.input_ptr(), len).set(window);
            acc ^= raw.detect(len, 0);
          }
          return acc;
        };
        const boxCall = (d) => () => {
          let acc = 0;
          for (let i = 0; i < calls; i++) acc ^= d.detect(window, false).verdict;
          return acc;
        };
        const check = sandboxed.detect(window, false);
        const keysOk = check.verdict === 1 && JSON.stringify(check.keys) === JSON.stringify(entry.keys);
        const row = {
          plugin,
          fixture: entry.file,
          bytes: len,
          keysOk,
          raw: nsPerCall(rawCall, timing).median,
          sandboxed: nsPerCall(boxCall(sandboxed), timing).median,
          fuelled: fuelled ? nsPerCall(boxCall(fuelled), timing).median : null,
        };
        rows.push(row);
      }
    }
    return rows;
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
}

export function detectCostMarkdown(rows) {
  const f = (x) => (x == null ? 'n/a' : x.toFixed(0));
  const lines = [
    '| detector | fixture (MATCH) | bytes | raw ns/call | sandboxed ns/call | fuelled ns/call | sandbox ÷ raw | fuel ÷ raw |',
    '|---|---|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    if (r.skipped || r.note) {
      lines.push(`| ${r.plugin} | ${r.skipped ?? r.note} | | | | | | |`);
      continue;
    }
    lines.push(
      `| ${r.plugin} | ${r.fixture}${r.keysOk ? '' : ' (keys differ from manifest!)'} | ${r.bytes} | ${f(r.raw)} | ${f(r.sandboxed)} | ${f(r.fuelled)} | ` +
        `${(r.sandboxed / r.raw).toFixed(2)} | ${r.fuelled ? (r.fuelled / r.raw).toFixed(2) : 'n/a'} |`,
    );
  }
  const measured = rows.filter((r) => r.raw);
  if (measured.length) {
    const med = (k) => {
      const xs = measured.map((r) => r[k]).filter((x) => x != null).sort((a, b) => a - b);
      return xs.length ? xs[xs.length >> 1] : null;
    };
    lines.push(`| **median** | | | **${f(med('raw'))}** | **${f(med('sandboxed'))}** | **${f(med('fuelled'))}** | | |`);
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await detectCost({ quick: process.argv.includes('--quick') });
  if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(rows)}\n`);
  else console.log(detectCostMarkdown(rows));
}
