#!/usr/bin/env node
// Connection rate with one process against two workers (node:cluster, both scheduling policies), and
// the reload latency, on this machine, in one run: Passthru routes TLS by SNI and plain bytes by
// CATCHALL; the load generator opens short connections (connect, handshake for TLS, 16-byte echo,
// close). The proxy is not pinned here (workers need both cores); the load generator and backends
// are, to core 0, so -w 2 shares a core with them: that is the point of measuring it.
//
//   npm run build && node bench/workers.mjs          → bench/RESULTS-workers.md
//   BENCH_REPS (3) BENCH_CONNS (3000) BENCH_CONCURRENCY (32)

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, sleep, startBackends, startLoad } from './lib/harness.mjs';
import { SNI } from './lib/peers.mjs';
import { isListening, processTree, treeCpuSeconds } from './lib/proc.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'dist', 'host', 'cli.js');
const REPS = Number(process.env.BENCH_REPS ?? 3);
const CONNS = Number(process.env.BENCH_CONNS ?? 3000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const VARIANTS = [
  { name: '-w 1', args: ['-w', '1'] },
  { name: '-w 2 rr', args: ['-w', '2', '--scheduling', 'rr'] },
  { name: '-w 2 none', args: ['-w', '2', '--scheduling', 'none'] },
];

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function startPassthru(dir, port, backends, extra) {
  const file = join(dir, `config-${port}.json`);
  writeFileSync(file, JSON.stringify({
    version: 'v0.2.0',
    servers: {
      [`127.0.0.1:${port}`]: {
        TLS: { [`SNI ${SNI}`]: { action: 'FORWARD', to_addr: `127.0.0.1:${backends.tlsPort}` } },
        CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backends.plainPort}` } },
      },
    },
  }));
  // info: the reload line is needed; connection lines are off by --log-level only for the rate runs.
  const child = spawn(process.execPath, [CLI, '-c', file, '--log-level', 'info', ...extra], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = [];
  const waiters = [];
  createInterface({ input: child.stdout }).on('line', (l) => {
    if (!l.startsWith('{')) return;
    const rec = JSON.parse(l);
    if (rec.event === 'connection') return;
    lines.push(rec);
    for (const w of waiters.splice(0)) w();
  });
  const waitLine = async (pred) => {
    for (;;) {
      const found = lines.find(pred);
      if (found) return found;
      await new Promise((r) => waiters.push(r));
    }
  };
  // At --log-level warn there is no "listening" line: poll the port, then let the caller warm up
  // (long enough for a second worker, which takes ~0.5 s to load its detectors, to join).
  while (!isListening(port)) await sleep(10);
  return { child, file, lines, waitLine };
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'passthru-bench-workers-'));
  const backends = await startBackends(dir);
  const load = startLoad();
  const rows = Object.fromEntries(VARIANTS.map((v) => [v.name, { tls: [], plain: [], tlsCpu: [], plainCpu: [], errors: 0, split: [] }]));
  const reloads = [];
  const direct = { tls: [], plain: [] };
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const kind of ['tls', 'plain']) {
        const r = await load.send({ op: 'conns', target: kind === 'tls' ? { port: backends.tlsPort, tls: true, servername: SNI } : { port: backends.plainPort, tls: false }, n: CONNS, concurrency: CONCURRENCY });
        direct[kind].push((r.ok / r.ms) * 1000);
      }
      for (const v of VARIANTS) {
        const port = await freePort();
        const p = await startPassthru(dir, port, backends, [...v.args, '--log-level', 'warn']);
        const targets = { tls: { port, tls: true, servername: SNI }, plain: { port, tls: false } };
        await load.send({ op: 'conns', target: targets.tls, n: 1000, concurrency: CONCURRENCY });
        // The workers are the primary's children (none with -w 1): how evenly they shared the work.
        const workers = processTree(p.child.pid).slice(1);
        const w0 = workers.map((pid) => treeCpuSeconds(pid));
        for (const kind of ['tls', 'plain']) {
          const c0 = treeCpuSeconds(p.child.pid);
          const r = await load.send({ op: 'conns', target: targets[kind], n: CONNS, concurrency: CONCURRENCY });
          const cpu = treeCpuSeconds(p.child.pid) - c0;
          rows[v.name][kind].push((r.ok / r.ms) * 1000);
          rows[v.name][`${kind}Cpu`].push((cpu / r.ok) * 1e6);
          rows[v.name].errors += r.n - r.ok;
        }
        if (workers.length === 2) {
          const used = workers.map((pid, i) => treeCpuSeconds(pid) - w0[i]);
          rows[v.name].split.push((100 * Math.min(...used)) / (used[0] + used[1]));
        }
        p.child.kill('SIGTERM');
        await new Promise((r) => p.child.once('exit', r));
      }
      // Reload latency: SIGHUP to "reload ok" as the proxy measures it (config and all detectors re-read).
      const port = await freePort();
      const p = await startPassthru(dir, port, backends, ['--log-level', 'info']);
      await p.waitLine((l) => l.event === 'listening');
      for (let i = 0; i < 5; i++) {
        const before = p.lines.filter((l) => l.event === 'reload').length;
        p.child.kill('SIGHUP');
        await p.waitLine((l) => l.event === 'reload' && p.lines.filter((x) => x.event === 'reload').length > before);
        reloads.push(p.lines.filter((l) => l.event === 'reload').at(-1).ms);
      }
      p.child.kill('SIGTERM');
      await new Promise((r) => p.child.once('exit', r));
    }
  } finally {
    await load.close();
    backends.child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
  const f = (x) => x.toFixed(0);
  const out = [
    '# Workers: connection rate, -w 1 against -w 2',
    '',
    `- ${new Date().toISOString()}, ${cpus().length} × ${cpus()[0]?.model}, Node ${process.version}`,
    `- ${REPS} repetitions (round robin, fresh proxy each); ${CONNS} connections at ${CONCURRENCY} concurrent; medians; CPU per connection is the proxy's process tree (primary + workers)`,
    '- load generator and backends pinned to core 0; the proxy unpinned',
    '',
    '| | TLS conn/s | ratio to direct | proxy CPU µs/conn | plain conn/s | ratio to direct | proxy CPU µs/conn | failed | busier / other worker CPU |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    `| direct | ${f(median(direct.tls))} | 1.00 | - | ${f(median(direct.plain))} | 1.00 | - | - | - |`,
    ...VARIANTS.map((v) => {
      const r = rows[v.name];
      return `| ${v.name} | ${f(median(r.tls))} | ${(median(r.tls) / median(direct.tls)).toFixed(2)} | ${f(median(r.tlsCpu))} | ${f(median(r.plain))} | ${(median(r.plain) / median(direct.plain)).toFixed(2)} | ${f(median(r.plainCpu))} | ${r.errors} | ${r.split.length ? `${f(100 - median(r.split))} / ${f(median(r.split))} %` : '-'} |`;
    }),
    '',
    `Reload (SIGHUP → new rules in effect, config + ${'all bundled'} detectors re-read, measured by the proxy): median ${median(reloads).toFixed(1)} ms, max ${Math.max(...reloads).toFixed(1)} ms over ${reloads.length} reloads.`,
    '',
  ].join('\n');
  writeFileSync(join(HERE, 'RESULTS-workers.md'), out);
  process.stdout.write(out);
}

await main();
