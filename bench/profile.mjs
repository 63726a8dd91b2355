#!/usr/bin/env node
// Profiles Passthru under the benchmark's load, one fresh proxy per path, with `node --cpu-prof`:
//   connection path: TLS and plain connections (connect, 16 B echo, close), 8 concurrent
//   forward path:    TLS and plain bulk streams
// and writes bench/PROFILE.md: proxy CPU per connection / per GiB (cgroup or /proc) beside the
// profile's busy time, and the top self-time functions (bench/profile-summary.mjs).
//
//   npm run build && node bench/profile.mjs
//   PROFILE_CONNS (4000) PROFILE_MIB (1024) PASSTHRU_DIST (dist/)

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { proxyCpuGroup, snapshotDist, startBackends, startLoad, startProxy, stopProxy, freePort } from './lib/harness.mjs';
import { PEERS, SNI } from './lib/peers.mjs';
import { summarise } from './profile-summary.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const snapshot = snapshotDist(join(HERE, '..'), resolve(process.env.PASSTHRU_DIST ?? join(HERE, '..', 'dist')));
const DIST = snapshot.dist;
const CONNS = Number(process.env.PROFILE_CONNS ?? 4000);
const MIB = Number(process.env.PROFILE_MIB ?? 1024);
const OUT = resolve(process.env.PROFILE_OUT ?? join(HERE, 'PROFILE.md'));

const dir = mkdtempSync(join(tmpdir(), 'passthru-profile-'));
const backends = await startBackends(dir);
const load = startLoad();
const passthru = PEERS.find((p) => p.name === 'passthru');
const sections = [];

async function profiled(name, work) {
  const profileDir = join(dir, name);
  const port = await freePort();
  const spec = passthru.prepare({ dir, listenPort: port, tlsPort: backends.tlsPort, plainPort: backends.plainPort, dist: DIST, profileDir, nofile: 65536 });
  // 100 µs sampling: the default 1 ms sees too few samples of a 200 µs connection.
  spec.args.unshift('--cpu-prof-interval', '100');
  const proxy = await startProxy({ ...spec, port }, dir, name);
  const targets = { tls: { port, tls: true, servername: SNI }, plain: { port, tls: false } };
  // Same warm-up as run.mjs, so the profile shows the steady state rather than the JIT.
  await load.send({ op: 'conns', target: targets.tls, n: 500, concurrency: 8 });
  await load.send({ op: 'conns', target: targets.plain, n: 500, concurrency: 8 });
  await load.send({ op: 'bulk', target: targets.plain, bytes: 16 * 2 ** 20, streams: 2 });
  const usNow = () => Number(process.hrtime.bigint() / 1000n);
  const c0 = proxy.cpuSeconds();
  const from = usNow();
  const { per, unit, detail } = await work(targets);
  const to = usNow();
  const cpu = proxy.cpuSeconds() - c0;
  await stopProxy(proxy, 15_000);
  const file = readdirSync(profileDir).find((f) => f.endsWith('.cpuprofile'));
  const text = file
    ? summarise(JSON.parse(readFileSync(join(profileDir, file), 'utf8')), { per, unit, top: 30, from, to })
    : '(no profile written: the proxy did not exit cleanly)';
  const perText = unit === 'GiB' ? `${((cpu * 1e3) / per).toFixed(0)} ms per GiB` : `${((cpu * 1e6) / per).toFixed(0)} µs per ${unit}`;
  sections.push(
    `## ${name}\n\n${detail}; proxy CPU in that window (all threads, user+sys, sampling profiler running) ${perText} ` +
      `(${(cpu * 1000).toFixed(0)} ms). Main-thread self time below, window only; the sampler itself adds cost.\n\n${text}\n`,
  );
  console.error(`${name}: done`);
}

try {
  await profiled('connection path', async (t) => {
    await load.send({ op: 'conns', target: t.tls, n: CONNS, concurrency: 8 });
    await load.send({ op: 'conns', target: t.plain, n: CONNS, concurrency: 8 });
    return { per: 2 * CONNS, unit: 'conn', detail: `${CONNS} TLS + ${CONNS} plain connections, 8 concurrent` };
  });
  await profiled('forward path', async (t) => {
    const bytes = MIB * 2 ** 20;
    await load.send({ op: 'bulk', target: t.tls, bytes, streams: 2 });
    await load.send({ op: 'bulk', target: t.plain, bytes, streams: 2 });
    return { per: (2 * bytes) / 2 ** 30, unit: 'GiB', detail: `${MIB} MiB TLS + ${MIB} MiB plain, 2 streams each` };
  });
} finally {
  await load.close();
  backends.child.kill('SIGTERM');
  proxyCpuGroup()?.remove();
  snapshot.remove();
}

const md = `# Passthru CPU profile\n\nWritten by \`bench/profile.mjs\` on ${new Date().toISOString()} (node ${process.version}).\n\n${sections.join('\n')}`;
writeFileSync(OUT, md);
console.log(md);
rmSync(dir, { recursive: true, force: true });
