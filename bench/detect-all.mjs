#!/usr/bin/env node
// Cost of one detect() call for every built detector (dist/plugins/*.wasm) on its main fixture:
// by default the first MATCH entry of plugins/NAME/fixtures/manifest.json, or NAME=FILE given
// with --fixture. Plain modules (no fuel), the window already in memory, as bench/detect-tls.mjs.
// Prints module size and the median ns/call over several rounds. Not a test: numbers vary by machine.
//   npm run build:plugins && node bench/detect-all.mjs [--rounds N] [--calls N] [--fixture tls=curl.bin]...

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nsPerCall } from './detect-tls.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const argv = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : dflt;
};
/** Rounds to take a median over: enough to see past a noisy neighbour on a shared 2-core machine. */
const ROUNDS = arg('rounds', 15);
/** Calls per round: tens of ms per round at 50–500 ns/call, long enough for timer resolution not to matter. */
const CALLS = arg('calls', 200_000);
const overrides = Object.fromEntries(argv.flatMap((a, i) => (argv[i - 1] === '--fixture' ? [a.split('=')] : [])));

const VERDICT = ['NEED_MORE', 'MATCH', 'NO_MATCH'];

for (const file of readdirSync(`${ROOT}dist/plugins`).filter((f) => f.endsWith('.wasm')).sort()) {
  const name = file.slice(0, -'.wasm'.length);
  const manifestFile = `${ROOT}plugins/${name}/fixtures/manifest.json`;
  if (!existsSync(manifestFile)) continue;
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const fixture = overrides[name] ?? manifest.find((f) => f.verdict === 'MATCH' && !f.protocol)?.file;
  if (!fixture) continue;
  const wasm = readFileSync(`${ROOT}dist/plugins/${file}`);
  const bytes = readFileSync(`${ROOT}plugins/${name}/fixtures/${fixture}`);
  const { exports: ex } = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  new Uint8Array(ex.memory.buffer, ex.input_ptr(), ex.input_cap()).set(bytes);
  const len = bytes.length;
  const r = ex.detect(len, 0);
  if ((r & 0xff) !== 1) throw new Error(`${name}: ${fixture} gave ${VERDICT[r & 0xff] ?? r}, not MATCH`);
  const fn = () => {
    let acc = 0;
    for (let i = 0; i < CALLS; i++) acc ^= ex.detect(len, 0);
    return acc;
  };
  const ns = nsPerCall(fn, { calls: CALLS, rounds: ROUNDS });
  const f = (x) => x.toFixed(1);
  console.log(
    `${name.padEnd(6)} ${String(wasm.length).padStart(6)} B  median ${f(ns.median)} ns/call  ` +
      `min ${f(ns.min)}  max ${f(ns.max)}  (${fixture}, ${len} B, ${ROUNDS} × ${CALLS} calls)`,
  );
}
