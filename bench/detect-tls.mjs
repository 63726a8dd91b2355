#!/usr/bin/env node
// Cost of one TLS detect() call on curl's 517-byte ClientHello (plain module, no fuel).
// Prints the median ns/call over several rounds and the spread, for detect() alone and for
// copy-into-memory + detect() (what a host pays per chunk). Not a test: numbers vary by machine.
//   npm run build:plugins && node bench/detect-tls.mjs [--rounds N] [--calls N]

import { readFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
};
/** Rounds to take a median over: enough to see past a noisy neighbour on a shared 2-core machine. */
const ROUNDS = arg('rounds', 15);
/** Calls per round: ~40 ms per round at ~200 ns/call, long enough for timer resolution not to matter. */
const CALLS = arg('calls', 200_000);
/** Untimed calls first so that V8 has tiered the module up (Liftoff → TurboFan). */
const WARMUP = 100_000;

/**
 * ns per call of `fn`, which makes `calls` calls per invocation: untimed warm-up first, then the
 * median (and spread) of `rounds` timed invocations. Shared with detect-cost.mjs.
 */
export function nsPerCall(fn, { calls = CALLS, rounds = ROUNDS, warmup = WARMUP } = {}) {
  for (let done = 0; done < warmup; done += calls) fn();
  const ns = [];
  for (let round = 0; round < rounds; round++) {
    const t0 = process.hrtime.bigint();
    fn();
    ns.push(Number(process.hrtime.bigint() - t0) / calls);
  }
  ns.sort((a, b) => a - b);
  return { median: ns[Math.floor(ns.length / 2)], min: ns[0], max: ns[ns.length - 1] };
}

function main() {
  const wasm = readFileSync(`${ROOT}dist/plugins/tls.wasm`);
  const hello = readFileSync(`${ROOT}plugins/tls/fixtures/curl.bin`);
  const { exports: ex } = new WebAssembly.Instance(new WebAssembly.Module(wasm), {});
  const input = new Uint8Array(ex.memory.buffer, ex.input_ptr(), ex.input_cap());
  input.set(hello);
  const len = hello.length;
  const r = ex.detect(len, 0);
  if ((r & 0xff) !== 1) throw new Error(`curl.bin did not MATCH (result ${r})`);

  function detectOnly() {
    let acc = 0;
    for (let i = 0; i < CALLS; i++) acc ^= ex.detect(len, 0);
    return acc;
  }
  function copyAndDetect() {
    let acc = 0;
    for (let i = 0; i < CALLS; i++) {
      input.set(hello);
      acc ^= ex.detect(len, 0);
    }
    return acc;
  }

  function measure(name, fn) {
    const { median, min, max } = nsPerCall(fn);
    const f = (x) => x.toFixed(1);
    console.log(
      `${name.padEnd(16)} median ${f(median)} ns/call  min ${f(min)}  max ${f(max)}  ` +
        `(${ROUNDS} rounds × ${CALLS} calls, ${len}-byte ClientHello, ${wasm.length}-byte module)`,
    );
  }

  measure('detect', detectOnly);
  measure('copy + detect', copyAndDetect);
}

// Run as a script, not when imported for nsPerCall.
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
