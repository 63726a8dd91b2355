#!/usr/bin/env node
// What fuel metering costs: ns per call instrumented vs plain (same run, interleaved, medians),
// instrumentation ms per module, size delta, and a cache hit in a fresh process (no binaryen); and
// what it buys: how long hostile loops run before the default budget cuts them off.
//
//   npm run build:host && node bench/fuel-overhead.mjs
//   PASSTHRU_DIST=/other/outdir node bench/fuel-overhead.mjs     (compiled host elsewhere)
//
// Not a test: figures vary ±30 % on a shared 2-core machine; compare within one run only.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import tls from 'node:tls';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIST = resolve(process.env.PASSTHRU_DIST ?? join(ROOT, 'dist'));
const hostModule = (rel) => pathToFileURL(join(DIST, 'host', rel)).href;

if (!existsSync(join(DIST, 'host', 'plugin', 'fuel.js'))) {
  console.error(`no compiled host under ${DIST}: run "npm run build:host" first (or set PASSTHRU_DIST)`);
  process.exit(2);
}

// Child mode: a fresh process that only asks the cache, to show that a hit never loads binaryen.
if (process.argv[2] === '--cache-hit-child') {
  const t0 = performance.now();
  const { getInstrumented } = await import(hostModule('plugin/fuel-cache.js'));
  const { binaryenLoaded } = await import(hostModule('plugin/fuel.js'));
  const tImport = performance.now();
  const out = await getInstrumented(await readFile(process.argv[4]), { dir: process.argv[3] });
  const t1 = performance.now();
  console.log(JSON.stringify({ importMs: tImport - t0, hitMs: t1 - tImport, bytes: out.length, binaryenLoaded: binaryenLoaded() }));
  process.exit(0);
}

const { instrumentFuel } = await import(hostModule('plugin/fuel.js'));
const { getInstrumented } = await import(hostModule('plugin/fuel-cache.js'));
const { DEFAULT_FUEL } = await import(hostModule('plugin/loader.js'));
const BUDGET = DEFAULT_FUEL;
const wabt = await (await import('wabt')).default();

const median = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
const fmt = (x, d = 1) => x.toFixed(d);

function wat(text) {
  const m = wabt.parseWat('bench.wat', text, { bulk_memory: true, sat_float_to_int: true });
  try {
    return new Uint8Array(m.toBinary({}).buffer);
  } finally {
    m.destroy();
  }
}

const SCAN = `(module
  (memory (export "memory") 1 1)
  (func (export "scan") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc)))`;

/** ns per call of each variant, rounds interleaved so drift hits both alike; median of rounds. */
function compare(variants, iterations, rounds = 15) {
  const samples = variants.map(() => []);
  for (const v of variants) for (let i = 0; i < iterations; i++) v.call(); // warm-up / tier-up
  for (let r = 0; r < rounds; r++) {
    variants.forEach((v, k) => {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iterations; i++) v.call();
      samples[k].push(Number(process.hrtime.bigint() - t0) / iterations);
    });
  }
  return samples.map(median);
}

async function timeInstrument(bytes, times = 7) {
  const ms = [];
  let out;
  for (let i = 0; i < times; i++) {
    const t0 = performance.now();
    out = await instrumentFuel(bytes);
    ms.push(performance.now() - t0);
  }
  return { out, ms: median(ms) };
}

// --- instrumentation cost (the first call also imports binaryen) ---
const scan = wat(SCAN);
let t0 = performance.now();
await instrumentFuel(scan);
const firstMs = performance.now() - t0;
const scanI = await timeInstrument(scan);
console.log(`first instrumentFuel (includes importing binaryen): ${fmt(firstMs)} ms`);
console.log(`scan.wat: instrument ${fmt(scanI.ms, 2)} ms, ${scan.length} -> ${scanI.out.length} B (+${fmt((scanI.out.length / scan.length - 1) * 100)} %)`);

// --- ns per call of the scanner, plain vs metered (fuel reset per call, as the host does) ---
{
  const plain = (await WebAssembly.instantiate(scan, {})).instance.exports;
  const metered = (await WebAssembly.instantiate(scanI.out, {})).instance.exports;
  for (const ex of [plain, metered]) new Uint8Array(ex.memory.buffer).fill(0x5a, 0, 16384);
  const fuel = metered.passthru_fuel;
  for (const n of [64, 517, 16384]) {
    const iterations = Math.max(2000, Math.floor(4e6 / n));
    let used = 0;
    const [p, m] = compare(
      [
        { call: () => plain.scan(n) },
        {
          call: () => {
            fuel.value = BUDGET;
            metered.scan(n);
            used = BUDGET - fuel.value;
          },
        },
      ],
      iterations,
    );
    console.log(`scan ${n} B: plain ${fmt(p)} ns/call, metered ${fmt(m)} ns/call (+${fmt(m - p)} ns, +${fmt((m / p - 1) * 100)} %), fuel ${used}`);
  }
}

// --- the real TLS detector, if built ---
const tlsWasm = join(ROOT, 'dist', 'plugins', 'tls.wasm');
if (existsSync(tlsWasm)) {
  const bytes = new Uint8Array(await readFile(tlsWasm));
  const r = await timeInstrument(bytes);
  console.log(
    `tls.wasm: instrument ${fmt(r.ms, 2)} ms, ${bytes.length} -> ${r.out.length} B (+${fmt((r.out.length / bytes.length - 1) * 100)} %), ` +
      `WebAssembly.validate ${WebAssembly.validate(r.out)}`,
  );
  const hellos = await clientHellos();
  const plain = (await WebAssembly.instantiate(bytes, {})).instance.exports;
  const metered = (await WebAssembly.instantiate(r.out, {})).instance.exports;
  for (const [name, hello] of hellos) {
    let used = 0;
    let verdicts = [];
    const load = (ex) => {
      const cap = ex.input_cap();
      const len = Math.min(cap, hello.length);
      new Uint8Array(ex.memory.buffer, ex.input_ptr(), len).set(hello.subarray(0, len));
      return len;
    };
    const lp = load(plain);
    const lm = load(metered);
    verdicts = [plain.detect(lp, 0), (metered.passthru_fuel.value = BUDGET, metered.detect(lm, 0))];
    const [p, m] = compare(
      [
        { call: () => plain.detect(lp, 0) },
        {
          call: () => {
            metered.passthru_fuel.value = BUDGET;
            metered.detect(lm, 0);
            used = BUDGET - metered.passthru_fuel.value;
          },
        },
      ],
      20000,
    );
    console.log(
      `tls detect on ${name} (${hello.length} B): plain ${fmt(p)} ns/call, metered ${fmt(m)} ns/call (+${fmt(m - p)} ns), ` +
        `fuel ${used}, same verdict ${verdicts[0] === verdicts[1]} (0x${verdicts[0].toString(16)})`,
    );
  }
} else {
  console.log('tls.wasm: not built (npm run build:plugins); skipped');
}

// --- hostile loops: time until the default budget cuts them off (first call, then warm) ---
{
  const loop = (locals, step, n, extra = '') => `(module (memory 16 16) ${extra} (func (export "f") ${locals} (loop $l ${step.repeat(n)} (br $l))))`;
  const shapes = [
    ['spin', loop('', '', 0)],
    ['1 MiB memory.fill per pass', loop('', '(memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576))', 1)],
    ['overlapping 1 MiB memory.copy per pass', loop('(local $n i32)', '(memory.copy (i32.const 1) (i32.const 0) (i32.or (local.get $n) (i32.const 1048575)))', 1)],
    ['empty memory.fill per pass', loop('(local $n i32)', '(memory.fill (local.get $n) (i32.const 1) (local.get $n))', 1)],
    ['20k-step straight-line body', loop('(local $x i32)', '(local.set $x (i32.xor (local.get $x) (i32.load8_u (i32.and (i32.add (local.get $x) (i32.const 7)) (i32.const 0xffff)))))', 20000)],
    ['dependent loads', loop('(local $x i32)', '(local.set $x (i32.load (local.get $x)))', 2000)],
    ['i64.rem chain', loop('(local $x i64)', '(local.set $x (i64.rem_s (i64.const 0x7fffffffffffffff) (i64.or (local.get $x) (i64.const 3))))', 2000)],
    ['trunc_sat/convert chain', loop('(local $x i32)', '(local.set $x (i32.trunc_sat_f64_s (f64.convert_i32_s (local.get $x))))', 2000)],
    ['call chain', loop('(local $x i32)', '(local.set $x (call $g (local.get $x)))', 2000, '(func $g (param i32) (result i32) (local.get 0))')],
    ['memory.grow 0 per pass', loop('', '(drop (memory.grow (i32.const 0)))', 1)],
  ];
  for (const [name, text] of shapes) {
    const mod = new WebAssembly.Module(await instrumentFuel(wat(text)));
    const ms = [];
    for (let k = 0; k < 5; k++) {
      const ex = new WebAssembly.Instance(mod, {}).exports;
      ex.passthru_fuel.value = BUDGET;
      const t0 = performance.now();
      try {
        ex.f();
      } catch {
        // the trap is the point
      }
      ms.push(performance.now() - t0);
    }
    console.log(`hostile ${name}: cut off at budget ${BUDGET} after ${fmt(ms[0])} ms (first call), ${fmt(median(ms.slice(1)))} ms (median of 4 more)`);
  }
}

// --- a cache hit in a fresh process ---
{
  const dir = await mkdtemp(join(tmpdir(), 'passthru-fuel-bench-'));
  try {
    const input = existsSync(tlsWasm) ? tlsWasm : null;
    const file = input ?? join(dir, 'scan.wasm');
    if (!input) await (await import('node:fs/promises')).writeFile(file, scan);
    await getInstrumented(new Uint8Array(await readFile(file)), { dir }); // fill
    const cacheDir = dir;
    const runs = [];
    for (let i = 0; i < 3; i++) {
      const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--cache-hit-child', cacheDir, file], {
        env: { ...process.env, PASSTHRU_DIST: DIST },
        encoding: 'utf8',
      });
      runs.push(JSON.parse(r.stdout.trim().split('\n').pop()));
    }
    const hit = runs.map((r) => r.hitMs);
    console.log(
      `cache hit in a fresh process: ${fmt(median(hit), 2)} ms (module imports ${fmt(median(runs.map((r) => r.importMs)), 1)} ms), ` +
        `binaryen loaded: ${runs.some((r) => r.binaryenLoaded)}; entries: ${(await readdir(dir)).join(', ')}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Fixtures under plugins/tls/fixtures (*.bin raw, *.hex), else ClientHellos captured from node:tls. */
async function clientHellos() {
  const dir = join(ROOT, 'plugins', 'tls', 'fixtures');
  const out = [];
  if (existsSync(dir)) {
    for (const f of (await readdir(dir)).sort()) {
      const raw = await readFile(join(dir, f));
      if (f.endsWith('.bin')) out.push([f, new Uint8Array(raw)]);
      else if (f.endsWith('.hex')) out.push([f, new Uint8Array(Buffer.from(raw.toString('utf8').replace(/[^0-9a-fA-F]/g, ''), 'hex'))]);
    }
  }
  if (out.length === 0) out.push(['node:tls ClientHello (captured)', await captureClientHello('bench.example.com')]);
  return out;
}

function captureClientHello(servername) {
  return new Promise((resolveHello, reject) => {
    const server = net.createServer((sock) => {
      sock.once('data', (d) => {
        resolveHello(new Uint8Array(d));
        sock.destroy();
        server.close();
      });
    });
    server.listen(0, '127.0.0.1', () => {
      const c = tls.connect({ port: server.address().port, host: '127.0.0.1', servername, ALPNProtocols: ['h2', 'http/1.1'] });
      c.on('error', () => undefined);
      setTimeout(() => c.destroy(), 1000).unref();
    });
    server.on('error', reject);
  });
}
