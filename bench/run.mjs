#!/usr/bin/env node
// Passthru against direct connections, sslh, HAProxy and nginx on one job (TLS by SNI → TLS backend,
// anything else → plain backend), round robin, fresh proxy per repetition, medians.
// See bench/README.md for what each figure means.
//
//   npm run bench                      full run → bench/RESULTS.md, bench/ratios.svg
//   BENCH_QUICK=1 npm run bench        < 2 min → bench/RESULTS-quick.md, bench/ratios-quick.svg
//
// Environment (defaults full / quick):
//   BENCH_REPS (5/1) BENCH_TLS_MIB (1024/64) BENCH_PLAIN_MIB (2048/128) BENCH_STREAMS (2)
//   BENCH_CONNS (3000/300) BENCH_CONCURRENCY (8) BENCH_LATENCY (1000/200) BENCH_IDLE (1000,10000/1000)
//   BENCH_WARMUP_CONNS (500/100) BENCH_PEERS (comma list of: passthru,passthru-fast,passthru-portable,sslh,sslh-select,haproxy,nginx)
//   BENCH_OUT (results file; the svg goes beside it) PASSTHRU_DIST (compiled host, default dist/)

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { detectCostMarkdown } from './detect-cost.mjs';
import { CORES, MAX_IDLE, NOFILE, freePort, pinningNote, proxyCpuGroup, sleep, snapshotDist, startBackends, startLoad, startProxy, stopProxy } from './lib/harness.mjs';
import { PEERS, SNI, VERSION_COMMANDS, findBinary } from './lib/peers.mjs';
import { treeMemoryKiB } from './lib/proc.mjs';
import { ratiosSvg } from './lib/svg.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const SOURCE_DIST = resolve(process.env.PASSTHRU_DIST ?? join(ROOT, 'dist'));
/** Set in main(): the run's private copy of SOURCE_DIST. */
let DIST = SOURCE_DIST;
const QUICK = process.env.BENCH_QUICK === '1';
const env = (name, full, quick) => {
  const v = process.env[name];
  return v === undefined || v === '' ? (QUICK ? quick : full) : v;
};
const P = {
  reps: Number(env('BENCH_REPS', 5, 1)),
  tlsBytes: Number(env('BENCH_TLS_MIB', 1024, 64)) * 2 ** 20,
  plainBytes: Number(env('BENCH_PLAIN_MIB', 2048, 128)) * 2 ** 20,
  streams: Number(env('BENCH_STREAMS', 2, 2)),
  conns: Number(env('BENCH_CONNS', 3000, 300)),
  concurrency: Number(env('BENCH_CONCURRENCY', 8, 8)),
  latency: Number(env('BENCH_LATENCY', 1000, 200)),
  idle: [...new Set(String(env('BENCH_IDLE', '1000,10000', '1000')).split(',').map(Number).filter((n) => n > 0).map((n) => Math.min(n, MAX_IDLE)))].sort((a, b) => a - b),
  warmupConns: Number(env('BENCH_WARMUP_CONNS', 500, 100)),
};
const OUT = resolve(process.env.BENCH_OUT ?? join(HERE, QUICK ? 'RESULTS-quick.md' : 'RESULTS.md'));
const SVG = join(dirname(OUT), basename(OUT) === 'RESULTS.md' ? 'ratios.svg' : basename(OUT).replace(/^RESULTS/, 'ratios').replace(/\.md$/, '.svg'));
const wanted = process.env.BENCH_PEERS ? new Set(process.env.BENCH_PEERS.split(',').map((s) => s.trim())) : null;

const GiB = 2 ** 30;
const median = (xs) => {
  const v = xs.filter((x) => x != null && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
};

/** The table's rows. `added`: µs over direct connections alternated with the proxied ones. */
const METRICS = [
  { key: 'cpuTlsGiB', label: 'proxy CPU per GiB, TLS-by-SNI bulk', unit: 'ms', better: 'low', proxyOnly: true },
  { key: 'cpuPlainGiB', label: 'proxy CPU per GiB, plain bulk (CATCHALL)', unit: 'ms', better: 'low', proxyOnly: true },
  { key: 'cpuTlsConn', label: 'proxy CPU per TLS connection (handshake + 16 B echo)', unit: 'µs', better: 'low', proxyOnly: true },
  { key: 'cpuPlainConn', label: 'proxy CPU per plain connection (16 B echo)', unit: 'µs', better: 'low', proxyOnly: true },
  { key: 'mbpsTls', label: 'TLS bulk throughput', unit: 'MB/s', better: 'high' },
  { key: 'mbpsPlain', label: 'plain bulk throughput', unit: 'MB/s', better: 'high' },
  { key: 'cpsTls', label: `TLS connections/s (${P.concurrency} concurrent)`, unit: 'conn/s', better: 'high' },
  { key: 'cpsPlain', label: `plain connections/s (${P.concurrency} concurrent)`, unit: 'conn/s', better: 'high' },
  { key: 'latPlainP50', label: 'added latency to first byte, plain, p50', unit: 'µs', better: 'low', added: true },
  { key: 'latPlainP99', label: 'added latency to first byte, plain, p99', unit: 'µs', better: 'low', added: true },
  { key: 'latTlsP50', label: 'added TLS handshake time, p50', unit: 'µs', better: 'low', added: true },
  { key: 'latTlsP99', label: 'added TLS handshake time, p99', unit: 'µs', better: 'low', added: true },
  ...P.idle.map((n) => ({ key: `mem${n}`, label: `memory per idle forwarded connection at ${n >= 1000 ? `${n / 1000}k` : n}`, unit: 'KiB', better: 'low', proxyOnly: true })),
];

function log(msg) {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

async function main() {
  if (!existsSync(join(SOURCE_DIST, 'host', 'cli.js'))) {
    console.error(`no compiled host at ${SOURCE_DIST}/host/cli.js: run "npm run build" first (npm run bench does)`);
    process.exit(2);
  }
  const build = buildInfo();
  const snapshot = snapshotDist(ROOT, SOURCE_DIST);
  DIST = snapshot.dist;
  const dir = mkdtempSync(join(tmpdir(), 'passthru-bench-'));
  const notes = [...pinningNote()];
  const started = Date.now();
  const peers = [{ name: 'direct', label: 'direct' }, ...PEERS.filter((p) => !wanted || wanted.has(p.name))];
  const skipped = new Map();
  const samples = new Map(peers.map((p) => [p.name, {}]));
  const errors = new Map(peers.map((p) => [p.name, []]));

  log(`bench ${QUICK ? '(quick)' : ''}: ${JSON.stringify(P)}; work dir ${dir}`);
  const backends = await startBackends(dir);
  const load = startLoad();
  const send = async (cmd) => {
    const r = await load.send(cmd);
    if (r.error) throw new Error(`load generator: ${r.error}`);
    return r;
  };

  try {
    for (let rep = 0; rep < P.reps; rep++) {
      // Rotate the order too, so that no proxy always runs right after the same other one.
      const order = peers.map((_, i) => peers[(i + rep) % peers.length]);
      for (const peer of order) {
        if (skipped.has(peer.name)) continue;
        const got = await runOne(peer, rep, { dir, backends, send, skipped, errors });
        if (!got) continue;
        const s = samples.get(peer.name);
        for (const [k, v] of Object.entries(got)) (s[k] ??= [])[rep] = v;
      }
    }
    log('detection cost (raw vs sandboxed)');
  } finally {
    await load.close();
    backends.child.kill('SIGTERM');
  }
  const detect = runDetectCost();
  snapshot.remove();

  const { table, ratios } = buildTable(peers.filter((p) => !skipped.has(p.name)), samples);
  for (const [name, why] of skipped) notes.push(`${name}: skipped: ${why}`);
  for (const [name, errs] of errors) for (const e of new Set(errs)) notes.push(`${name}: ${e}`);
  const md = renderResults({ table, notes, detect, build, seconds: (Date.now() - started) / 1000 });
  writeFileSync(OUT, md);
  writeFileSync(SVG, ratiosSvg(ratios, { title: `Passthru ÷ best peer (${new Date().toISOString().slice(0, 10)}${QUICK ? ', quick mode' : ''})` }));
  proxyCpuGroup()?.remove();
  process.stdout.write(`${table}\n\n`);
  if (notes.length) process.stdout.write(`${notes.map((n) => `- ${n}`).join('\n')}\n\n`);
  process.stdout.write(`${detect.markdown}\n\nwrote ${OUT} and ${SVG} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  rmSync(dir, { recursive: true, force: true });
}

/** One repetition of one peer: fresh proxy, warm-up, then every figure. Returns metric → value. */
async function runOne(peer, rep, { dir, backends, send, skipped, errors }) {
  let proxy = null;
  let targets;
  let spec;
  let listenPort;
  if (peer.name === 'direct') {
    targets = {
      tls: { port: backends.tlsPort, tls: true, servername: SNI },
      plain: { port: backends.plainPort, tls: false },
    };
  } else {
    listenPort = await freePort();
    spec = peer.prepare({ dir, listenPort, tlsPort: backends.tlsPort, plainPort: backends.plainPort, dist: DIST, nofile: NOFILE });
    if (spec.skip) {
      skipped.set(peer.name, spec.skip);
      log(`${peer.name}: skipped: ${spec.skip}`);
      return null;
    }
    try {
      proxy = await startProxy({ ...spec, port: listenPort }, dir, `${peer.name}-${rep}`);
    } catch (err) {
      errors.get(peer.name).push(`did not start: ${err.message.split('\n')[0]}`);
      log(`${peer.name}: ${err.message}`);
      return null;
    }
    targets = {
      tls: { port: listenPort, tls: true, servername: SNI },
      plain: { port: listenPort, tls: false },
    };
  }
  log(`rep ${rep + 1}/${P.reps} ${peer.name}${proxy ? ` (pid ${proxy.pid})` : ''}`);
  const out = {};
  const fail = (what, detail) => errors.get(peer.name).push(`${what}: ${detail}`);
  /** Runs `fn` and returns [result, proxy CPU seconds it caused] (null without a proxy). */
  const metered = async (fn) => {
    const c0 = proxy ? proxy.cpuSeconds() : 0;
    const r = await fn();
    return [r, proxy ? proxy.cpuSeconds() - c0 : null];
  };
  try {
    // Warm-up, not measured: JIT tiers and buffer pools settle, as they would in a long-running proxy.
    await send({ op: 'conns', target: targets.tls, n: P.warmupConns, concurrency: P.concurrency });
    await send({ op: 'conns', target: targets.plain, n: P.warmupConns, concurrency: P.concurrency });
    await send({ op: 'bulk', target: targets.tls, bytes: 16 * 2 ** 20, streams: P.streams });
    await send({ op: 'bulk', target: targets.plain, bytes: 16 * 2 ** 20, streams: P.streams });

    for (const [kind, bytes] of [['Tls', P.tlsBytes], ['Plain', P.plainBytes]]) {
      const [r, cpu] = await metered(() => send({ op: 'bulk', target: targets[kind.toLowerCase()], bytes, streams: P.streams }));
      if (r.errors.length) {
        fail(`${kind} bulk`, r.errors.join('; '));
        continue;
      }
      out[`mbps${kind}`] = r.bytes / 1e6 / (r.ms / 1000);
      if (cpu != null) out[`cpu${kind}GiB`] = (cpu * 1000) / (r.bytes / GiB);
    }

    for (const kind of ['Tls', 'Plain']) {
      const [r, cpu] = await metered(() => send({ op: 'conns', target: targets[kind.toLowerCase()], n: P.conns, concurrency: P.concurrency }));
      if (r.ok < r.n) {
        fail(`${kind} connections`, `${r.n - r.ok} of ${r.n} failed ${JSON.stringify(r.errors)}`);
        // A failed connection is cheap: its CPU and rate figures would flatter the proxy.
        out[`cpu${kind}Conn!`] = out[`cps${kind}!`] = true;
      }
      if (r.ok === 0) continue;
      out[`cps${kind}`] = r.ok / (r.ms / 1000);
      if (cpu != null) out[`cpu${kind}Conn`] = (cpu * 1e6) / r.n;
    }

    // One at a time: with nothing queued, the time is the path's, not the load's. Through a proxy,
    // alternated with direct connections and reported as the difference of the two percentiles.
    for (const kind of ['Plain', 'Tls']) {
      const target = targets[kind.toLowerCase()];
      const field = kind === 'Tls' ? 'ready' : 'first';
      if (!proxy) {
        const r = await send({ op: 'conns', target, n: P.latency, concurrency: 1 });
        if (r.ok < r.n) fail(`${kind} latency`, `${r.n - r.ok} of ${r.n} failed`);
        if (r.ok) [out[`lat${kind}P50`], out[`lat${kind}P99`]] = [r[`${field}P50`], r[`${field}P99`]];
        continue;
      }
      const baseline = kind === 'Tls' ? { port: backends.tlsPort, tls: true, servername: SNI } : { port: backends.plainPort, tls: false };
      const { through, direct } = await send({ op: 'paired', target, baseline, n: P.latency });
      if (through.failed) {
        fail(`${kind} latency`, `${through.failed} of ${P.latency} failed`);
        out[`lat${kind}P50!`] = out[`lat${kind}P99!`] = true;
      }
      if (through.ok && direct.ok) {
        out[`lat${kind}P50`] = through[`${field}P50`] - direct[`${field}P50`];
        out[`lat${kind}P99`] = through[`${field}P99`] - direct[`${field}P99`];
      }
    }

    if (proxy) {
      // A fresh process for memory: the bulk phases leave a young generation full of garbage that
      // a later GC returns, which would make the first idle connections look free.
      await stopProxy(proxy);
      proxy = null;
      proxy = await startProxy({ ...spec, port: listenPort }, dir, `${peer.name}-${rep}-idle`);
      await send({ op: 'conns', target: targets.plain, n: P.warmupConns, concurrency: P.concurrency });
      await sleep(500);
      const base = treeMemoryKiB(proxy.pid).pss;
      let open = 0;
      for (const n of P.idle) {
        if (peer.idleLimit && n > peer.idleLimit) {
          fail(`idle ${n}`, `not measured: past its known limit of ~${peer.idleLimit} connections`);
          break;
        }
        const r = await send({ op: 'idle', target: targets.plain, n: n - open });
        open = r.open;
        if (r.failed > 0) {
          fail(`idle ${n}`, `${r.failed} of ${n} connections could not be set up`);
          break;
        }
        await sleep(500);
        out[`mem${n}`] = (treeMemoryKiB(proxy.pid).pss - base) / n;
      }
      await send({ op: 'closeIdle' });
    }
  } catch (err) {
    fail('run', err.message);
    log(`${peer.name}: ${err.message}`);
  } finally {
    if (proxy) await stopProxy(proxy);
  }
  return out;
}

function runDetectCost() {
  const args = [join(HERE, 'detect-cost.mjs'), '--json', ...(QUICK ? ['--quick'] : [])];
  const child = CORES ? spawnPinnedSync(CORES.proxy, args) : spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, PASSTHRU_DIST: DIST } });
  try {
    const rows = JSON.parse(child.stdout.trim().split('\n').pop());
    return { rows, markdown: detectCostMarkdown(rows) };
  } catch {
    return { rows: [], markdown: `detection cost: failed (${(child.stderr || '').trim().split('\n').slice(-3).join(' ')})` };
  }
}

function spawnPinnedSync(core, args) {
  const taskset = findBinary('taskset');
  const argv = taskset ? [taskset, '-c', core, process.execPath, ...args] : [process.execPath, ...args];
  return spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', env: { ...process.env, PASSTHRU_DIST: DIST } });
}

function fmt(x, unit) {
  if (x == null) return 'n/a';
  const a = Math.abs(x);
  if (unit === 'KiB') return x.toFixed(1);
  return a >= 100 ? x.toFixed(0) : a >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Medians per peer and metric; ratios of Passthru to direct and to the best other proxy. */
function buildTable(peers, samples) {
  const cell = new Map();
  /** Cells where some connections failed in some repetition: marked, and never the "best peer". */
  const flawed = new Set();
  for (const p of peers) {
    const s = samples.get(p.name);
    for (const m of METRICS) {
      cell.set(`${p.name}/${m.key}`, median(s[m.key] ?? []));
      if ((s[`${m.key}!`] ?? []).some(Boolean)) flawed.add(`${p.name}/${m.key}`);
    }
  }
  const others = peers.filter((p) => p.name !== 'direct' && !p.own);
  const portable = peers.some((p) => p.name === 'passthru-portable');
  const head = ['figure', 'unit', ...peers.map((p) => p.label), 'best peer', 'Passthru ÷ best', 'Passthru ÷ direct', ...(portable ? ['Passthru ÷ portable I/O'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i < 2 ? '---' : '---:')).join('|')}|`];
  const ratios = [];
  for (const m of METRICS) {
    const pt = cell.get(`passthru/${m.key}`);
    let best = null;
    for (const o of others) {
      const v = cell.get(`${o.name}/${m.key}`);
      if (v == null || flawed.has(`${o.name}/${m.key}`)) continue;
      if (!best || (m.better === 'low' ? v < best.v : v > best.v)) best = { v, label: o.label };
    }
    const d = cell.get(`direct/${m.key}`);
    let vsBest = null;
    if (pt != null && best && best.v > 0 && (!m.added || pt > 0)) vsBest = pt / best.v;
    let vsDirect = null;
    if (pt != null && d != null && !m.proxyOnly) vsDirect = m.added ? (d + pt) / d : pt / d;
    if (vsBest != null) ratios.push({ label: m.label, ratio: vsBest, better: m.better, best: best.label });
    const cells = peers.map((p) => {
      const v = cell.get(`${p.name}/${m.key}`);
      if (p.name === 'direct' && m.added) return v == null ? 'n/a' : `(${fmt(v)})`;
      if (p.name === 'direct' && m.proxyOnly) return '—';
      return `${fmt(v, m.unit)}${flawed.has(`${p.name}/${m.key}`) ? ' †' : ''}`;
    });
    lines.push(
      `| ${m.label} | ${m.unit} | ${cells.join(' | ')} | ${best ? best.label : 'n/a'} | ${vsBest == null ? 'n/a' : `${vsBest.toFixed(2)}×`} | ${vsDirect == null ? '—' : `${vsDirect.toFixed(2)}×`} |` +
        (portable ? ` ${ratioOf(pt, cell.get(`passthru-portable/${m.key}`), m)} |` : ''),
    );
  }
  return { table: lines.join('\n'), ratios };
}

function ratioOf(a, b, m) {
  if (a == null || b == null || b <= 0 || (m.added && a <= 0)) return 'n/a';
  return `${(a / b).toFixed(2)}×`;
}

function versionOf(name) {
  const [bin, args] = VERSION_COMMANDS[name];
  const path = findBinary(bin);
  if (!path) return 'not installed';
  const r = spawnSync(path, args, { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim().split('\n')[0];
}

/** Which build is measured, taken before the copy: others may rebuild dist/ while the run goes on. */
function buildInfo() {
  try {
    const head = execFileSync('git', ['-C', ROOT, 'log', '-1', '--format=%h %s'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'host', 'plugins', 'sdk'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length;
    const { mtime } = statSync(join(SOURCE_DIST, 'host', 'cli.js'));
    return `- build measured: ${SOURCE_DIST} compiled ${mtime.toISOString()}, copied at the start of the run; git HEAD ${head}${dirty ? ` + ${dirty} uncommitted path(s) under host/ plugins/ sdk/` : ''}`;
  } catch {
    return `- build measured: ${SOURCE_DIST}`;
  }
}

function machine() {
  const model = cpus()[0]?.model ?? 'unknown';
  let os = '';
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? '';
  } catch {
    // not Linux-like
  }
  let nproc = String(cpus().length);
  try {
    nproc = execFileSync('nproc', { encoding: 'utf8' }).trim();
  } catch {
    // keep os.cpus()
  }
  return [
    `- date: ${new Date().toISOString()}`,
    `- machine: nproc ${nproc}, ${model}, ${Math.round(Number(readMem()) / 2 ** 20)} GiB, ${os}, kernel ${release()}`,
    `- node ${process.version}; ${versionOf('haproxy')}; ${versionOf('nginx')}; ${versionOf('sslh')}`,
  ].join('\n');
}

function readMem() {
  try {
    return Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))[1]);
  } catch {
    return 0;
  }
}

function renderResults({ table, notes, detect, build, seconds }) {
  return `# Benchmark results${QUICK ? ' (quick mode: indicative only)' : ''}

Written by \`bench/run.mjs\` (${seconds.toFixed(0)} s); see bench/README.md for what each figure means and how it is taken.

${machine()}
${build}
- parameters: ${P.reps} repetition(s), round robin, fresh proxy per repetition; TLS bulk ${P.tlsBytes / 2 ** 20} MiB, plain bulk ${P.plainBytes / 2 ** 20} MiB (${P.streams} streams); ${P.conns} connections at ${P.concurrency} concurrent; latency ${P.latency} sequential connections; idle ${P.idle.join(', ')}; warm-up ${P.warmupConns} connections + 16 MiB each way before measuring
- pinning: load generator and backends on CPU ${CORES?.load ?? '-'}, proxy on CPU ${CORES?.proxy ?? '-'}

Medians over repetitions. Latency rows: µs added over direct, from connections alternating one
through the proxy, one direct, one at a time (direct's absolute value, from its own run, in
parentheses). † = some connections failed in that measurement (see the notes): shown, but never
taken as the best peer, since failed connections are cheap. "Passthru ÷ best": against the best of the other proxies for that
row (>1 is worse for cost rows, better for MB/s and conn/s rows). Wall-clock rows (MB/s, conn/s,
latency) are weak evidence on a 2-core machine: load generator and both backends share one core,
so they mostly measure the client; the CPU-time rows are the ones to compare.

${table}
${notes.length ? `\nNotes:\n\n${notes.map((n) => `- ${n}`).join('\n')}\n` : ''}
## Detection cost (ns per detect() call, medians)

${detect.markdown}

raw = the module instantiated directly (copy in + detect); sandboxed = \`loadDetectorFile()\` of the
compiled host, as Passthru calls it (bounds checks, keys decoded to strings); fuelled = the same with
fuel metering (\`fuel: 1e6\`).
`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
