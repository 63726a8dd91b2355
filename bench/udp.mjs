#!/usr/bin/env node
// UDP through Passthru vs the direct path, in the same run: datagrams per second and CPU per datagram.
//
//   node bench/udp.mjs            (build first: npm run build)
//   BENCH_UDP_MS=3000 BENCH_UDP_REPS=3 node bench/udp.mjs
//
// One echo backend (a Node dgram socket) and one load generator share CPU 0; Passthru runs alone on
// CPU 1 with a udp:// server whose OPENVPN section routes each flow (its first datagram is the
// openvpn --proto udp fixture, so the detector runs in the sandbox) to the echo backend. Two jobs,
// each measured direct (load → echo) and through Passthru (load → Passthru → echo), alternating:
//   - bound flows: F clients keeping W datagrams in flight each (steady-state forwarding);
//   - new flows: one datagram per flow, each from a new client address (a DNS-like workload: every
//     datagram is a detection, a flow and a backend socket).
// CPU from /proc (user + system) of each process over the measured part. Passthru's figure per
// round trip covers two datagrams (client → backend, backend → client); the echo's covers one receive
// and one send, which is what the direct path costs a Node dgram server.
import dgram from 'node:dgram';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CORES, pinningNote, spawnPinned } from './lib/harness.mjs';
import { treeCpuSeconds } from './lib/proc.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const LOAD = fileURLToPath(new URL('./lib/udp-load.mjs', import.meta.url));
const MS = Number(process.env.BENCH_UDP_MS ?? 3000);
const REPS = Number(process.env.BENCH_UDP_REPS ?? 3);
const FLOWS = Number(process.env.BENCH_UDP_FLOWS ?? 16);
const WINDOW = Number(process.env.BENCH_UDP_WINDOW ?? 8);
const SIZES = (process.env.BENCH_UDP_SIZES ?? '64,1200').split(',').map(Number);
const NEW_CONCURRENCY = Number(process.env.BENCH_UDP_NEW_CONCURRENCY ?? 32);

// The first datagram openvpn --client --proto udp sent (fixture stored framed: skip the u16 length).
const FIRST = readFileSync(join(ROOT, 'plugins/openvpn/fixtures/openvpn-udp.bin')).subarray(2).toString('hex');

function lines(child) {
  const rl = createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  rl.on('line', (l) => {
    const w = waiters.shift();
    if (w) w(l);
    else queue.push(l);
  });
  return () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((r) => waiters.push(r)));
}

/** A UDP port free on loopback now (the OS picks it; released at once for Passthru to bind). */
function freeUdpPort() {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    s.bind(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Resolves once Passthru answers a flow on `port` (it is listening and bound to the echo). */
function untilAnswers(port) {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket('udp4');
    const first = Buffer.from(FIRST, 'hex');
    let tries = 0;
    const timer = setInterval(() => {
      if (++tries > 300) {
        clearInterval(timer);
        s.close();
        reject(new Error(`passthru did not answer on udp port ${port}`));
      } else s.send(first, port, '127.0.0.1');
    }, 100);
    s.on('message', () => {
      clearInterval(timer);
      s.close();
      resolve();
    });
    s.bind(0, '127.0.0.1');
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'passthru-udp-bench-'));
  const echo = spawnPinned(CORES?.load, process.execPath, [LOAD, 'echo'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const echoPort = JSON.parse(await lines(echo)()).port;
  const load = spawnPinned(CORES?.load, process.execPath, [LOAD, 'load'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const loadNext = lines(load);
  const ask = async (job) => {
    load.stdin.write(JSON.stringify(job) + '\n');
    return JSON.parse(await loadNext());
  };

  const proxyPort = await freeUdpPort();
  const config = join(dir, 'udp.json');
  writeFileSync(
    config,
    JSON.stringify({
      version: 'v0.2.0',
      servers: {
        [`udp://127.0.0.1:${proxyPort}`]: {
          OPENVPN: { 'OPCODE P_CONTROL_HARD_RESET_CLIENT_V2': { action: 'FORWARD', to_addr: `127.0.0.1:${echoPort}` } },
          CATCHALL: { CATCHALL: { action: 'REJECT' } },
        },
      },
    }),
  );
  // --log-level warn: the per-flow line is not what is measured (as in bench/run.mjs). A short idle
  // timeout keeps the new-flows job's table small (each flow ends 1-1.25 s after its one datagram).
  const proxy = spawnPinned(
    CORES?.proxy,
    process.execPath,
    [join(ROOT, 'dist/host/cli.js'), '-c', config, '--log-level', 'warn', '--udp-idle-timeout', '1s', '--udp-max-flows', '100000'],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  await untilAnswers(proxyPort);

  const cpu = (pid) => treeCpuSeconds(pid);
  const measure = async (job, through) => {
    const before = { proxy: cpu(proxy.pid), echo: cpu(echo.pid), load: cpu(load.pid) };
    const r = await ask({ ...job, port: through ? proxyPort : echoPort, first: FIRST });
    const after = { proxy: cpu(proxy.pid), echo: cpu(echo.pid), load: cpu(load.pid) };
    const n = r.replies ?? r.flows;
    return {
      perSecond: (n / r.ms) * 1000,
      lost: r.lost,
      proxyUs: through ? ((after.proxy - before.proxy) * 1e6) / n : 0,
      echoUs: ((after.echo - before.echo) * 1e6) / n,
      loadUs: ((after.load - before.load) * 1e6) / n,
      n,
    };
  };

  // Warm-up: JIT of all three processes, both paths.
  for (const through of [false, true]) await ask({ cmd: 'flows', port: through ? proxyPort : echoPort, flows: FLOWS, window: WINDOW, size: 64, ms: 1500, first: FIRST });
  await ask({ cmd: 'new', port: proxyPort, concurrency: NEW_CONCURRENCY, ms: 1000, first: FIRST });

  const jobs = [
    ...SIZES.map((size) => ({ name: `bound flows, ${size} B`, job: { cmd: 'flows', flows: FLOWS, window: WINDOW, size, ms: MS } })),
    { name: 'new flow per datagram', job: { cmd: 'new', concurrency: NEW_CONCURRENCY, ms: MS } },
  ];
  const results = [];
  for (const { name, job } of jobs) {
    const runs = { direct: [], passthru: [] };
    for (let rep = 0; rep < REPS; rep++) {
      // Alternate which path goes first, so a drift of the machine does not favour one.
      for (const through of rep % 2 ? [true, false] : [false, true]) runs[through ? 'passthru' : 'direct'].push(await measure(job, through));
    }
    const m = (path, key) => median(runs[path].map((r) => r[key]));
    results.push({
      name,
      directRate: m('direct', 'perSecond'),
      passthruRate: m('passthru', 'perSecond'),
      echoDirectUs: m('direct', 'echoUs'),
      proxyUs: m('passthru', 'proxyUs'),
      lost: runs.passthru.reduce((a, r) => a + r.lost, 0) + runs.direct.reduce((a, r) => a + r.lost, 0),
    });
  }

  const lines_ = [
    `# UDP through Passthru vs direct (${new Date().toISOString().slice(0, 10)}, node ${process.version}, ${REPS} reps × ${MS} ms, medians)`,
    '',
    // The fd note is about 10k idle TCP connections, not this job.
    ...pinningNote().filter((n) => !n.startsWith('fd hard limit')).map((n) => `- ${n}`),
    `- ${FLOWS} flows × ${WINDOW} datagrams in flight for the bound-flow jobs; ${NEW_CONCURRENCY} clients at a time for new flows; every flow's first datagram is the captured OpenVPN reset, routed by the OPENVPN detector`,
    '',
    '| job | direct round trips/s | through Passthru round trips/s | Passthru ÷ direct | Passthru CPU µs per round trip (per datagram) | echo CPU µs per round trip (direct) | lost |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...results.map(
      (r) =>
        `| ${r.name} | ${Math.round(r.directRate)} | ${Math.round(r.passthruRate)} | ${(r.passthruRate / r.directRate).toFixed(2)} | ${r.proxyUs.toFixed(1)} (${(r.proxyUs / 2).toFixed(1)}) | ${r.echoDirectUs.toFixed(1)} | ${r.lost} |`,
    ),
  ];
  const text = lines_.join('\n') + '\n';
  process.stdout.write(text);
  const out = process.env.BENCH_OUT ?? join(ROOT, 'bench/RESULTS-udp.md');
  writeFileSync(out, text);
  console.error(`written to ${out}`);
  for (const c of [proxy, load, echo]) c.kill('SIGKILL');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
