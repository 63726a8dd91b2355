#!/usr/bin/env node
// The load generator: one long-lived process (pinned by the harness to its own core) that takes one
// JSON command per stdin line and answers one JSON line on stdout. Long-lived so that its own JIT
// warm-up is paid once, not by whichever proxy happens to come first.
//
// Commands (target = {port, tls, servername}):
//   {op:"bulk", target, bytes, streams}       stream `bytes` through, sha256-checked by the backend
//   {op:"conns", target, n, concurrency}      connect, (handshake,) 16-byte echo, close; per-connection times
//   {op:"idle", target, n}                    open n echoed connections and keep them
//   {op:"closeIdle"}                          close them
//   {op:"exit"}

import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { createInterface } from 'node:readline';
import tls from 'node:tls';

/** A random pool read at varying offsets: a proxy that mixed up its buffers would fail the sha check. */
const POOL = randomBytes((1 << 20) + 65536);
const CHUNK = 65536;
const ECHO = Buffer.from('E0123456789abcde'); // 16 bytes, starts with the echo command
/** Per-connection deadline for echo/idle setups: a peer that drops connections must not hang the run. */
const SETUP_TIMEOUT_MS = 10_000;

const idle = [];

function connect(target, onReady) {
  const opts = { host: '127.0.0.1', port: target.port, noDelay: true };
  if (target.tls) {
    const s = tls.connect({ ...opts, servername: target.servername, rejectUnauthorized: false });
    s.once('secureConnect', onReady);
    return s;
  }
  const s = net.connect(opts);
  s.once('connect', onReady);
  return s;
}

function bulkStream(target, bytes, seed) {
  return new Promise((resolve) => {
    // A proxy that stalls must not hang the run: allow a generous 5 MB/s, at least a minute.
    const timer = setTimeout(() => s.destroy(new Error(`timed out after ${sent} bytes`)), Math.max(60_000, bytes / 5000));
    const hash = createHash('sha256');
    let sent = 0;
    let offset = (seed * 104729) % (1 << 20);
    let answer = '';
    const s = connect(target, () => {
      const header = Buffer.alloc(9);
      header[0] = 0x53;
      header.writeBigUInt64BE(BigInt(bytes), 1);
      s.write(header);
      pump();
    });
    function pump() {
      while (sent < bytes) {
        const n = Math.min(CHUNK, bytes - sent);
        const chunk = POOL.subarray(offset, offset + n);
        offset = (offset + n + 4099) % (1 << 20);
        hash.update(chunk);
        sent += n;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
    }
    s.setEncoding('latin1');
    s.on('data', (d) => {
      answer += d;
      if (answer.endsWith('\n')) {
        const ok = answer.trim() === hash.digest('hex');
        clearTimeout(timer);
        s.end();
        resolve({ ok, error: ok ? undefined : 'sha256 mismatch' });
      }
    });
    s.on('error', (err) => resolve({ ok: false, error: err.message }));
    s.on('close', () => {
      clearTimeout(timer);
      resolve({ ok: false, error: `closed after ${sent} bytes without an answer` });
    });
  });
}

async function bulk({ target, bytes, streams }) {
  const per = Math.floor(bytes / streams);
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, (_, i) => bulkStream(target, per, i + 1)));
  const ms = performance.now() - t0;
  const errors = results.filter((r) => !r.ok).map((r) => r.error);
  return { ms, bytes: per * streams, errors };
}

/** One connect → (handshake →) echo → close; times in µs from the connect() call. */
function oneConn(target) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    let tReady = 0;
    let tFirst = 0;
    let got = 0;
    let failed;
    const s = connect(target, () => {
      tReady = performance.now();
    });
    // Written at once, before the connection is up: the request leaves with the first flight that
    // can carry it, so "first byte" measures the path, not this client's scheduling.
    s.write(ECHO);
    const timer = setTimeout(() => {
      failed = 'timeout';
      s.destroy();
    }, SETUP_TIMEOUT_MS);
    s.on('data', (d) => {
      if (got === 0) tFirst = performance.now();
      got += d.length;
      if (got >= ECHO.length) s.end();
    });
    s.on('error', (err) => {
      failed ??= err.code ?? err.message;
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (got < ECHO.length) failed ??= 'closed early';
      resolve({ ready: (tReady - t0) * 1000, first: (tFirst - t0) * 1000, failed });
    });
  });
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function conns({ target, n, concurrency }) {
  const ready = [];
  const first = [];
  const errors = {};
  let next = 0;
  const t0 = performance.now();
  async function worker() {
    while (next < n) {
      next++;
      const r = await oneConn(target);
      if (r.failed) errors[r.failed] = (errors[r.failed] ?? 0) + 1;
      else {
        ready.push(r.ready);
        first.push(r.first);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, n) }, worker));
  const ms = performance.now() - t0;
  ready.sort((a, b) => a - b);
  first.sort((a, b) => a - b);
  return {
    ms,
    n,
    ok: first.length,
    errors,
    readyP50: percentile(ready, 50),
    readyP99: percentile(ready, 99),
    firstP50: percentile(first, 50),
    firstP99: percentile(first, 99),
  };
}

function openIdle(target) {
  return new Promise((resolve) => {
    const s = connect(target, () => {});
    let got = 0;
    const timer = setTimeout(() => done(false), SETUP_TIMEOUT_MS);
    function done(ok) {
      clearTimeout(timer);
      s.removeAllListeners('data');
      if (ok) idle.push(s);
      else s.destroy();
      resolve(ok);
    }
    s.write(ECHO);
    s.on('data', (d) => {
      got += d.length;
      if (got >= ECHO.length) done(true);
    });
    s.on('error', () => done(false));
    s.on('close', () => done(false));
  });
}

async function openIdleMany({ target, n }) {
  // Bounded in flight: a burst of thousands of SYNs overflows accept backlogs and measures that instead.
  const inFlight = 256;
  let next = 0;
  let failed = 0;
  const t0 = performance.now();
  async function worker() {
    while (next < n) {
      next++;
      if (!(await openIdle(target))) failed++;
    }
  }
  await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  return { ms: performance.now() - t0, open: idle.length, failed };
}

async function closeIdle() {
  const closing = idle.splice(0).map((s) => new Promise((r) => {
    if (s.destroyed) return r();
    s.once('close', r);
    s.destroy();
  }));
  await Promise.all(closing);
  return { closed: closing.length };
}

/**
 * Latency through `target` against `baseline` (direct), one connection at a time, alternating, so
 * that both see the same machine: on a shared 2-core box the noise between two phases a few
 * seconds apart is larger than the difference being measured.
 */
async function paired({ target, baseline, n }) {
  const sides = [target, baseline].map(() => ({ ready: [], first: [], failed: 0 }));
  for (let i = 0; i < n; i++) {
    for (const [k, t] of [[0, target], [1, baseline]]) {
      const r = await oneConn(t);
      if (r.failed) sides[k].failed++;
      else {
        sides[k].ready.push(r.ready);
        sides[k].first.push(r.first);
      }
    }
  }
  const [through, direct] = sides.map((s) => {
    s.ready.sort((a, b) => a - b);
    s.first.sort((a, b) => a - b);
    return {
      ok: s.first.length,
      failed: s.failed,
      readyP50: percentile(s.ready, 50),
      readyP99: percentile(s.ready, 99),
      firstP50: percentile(s.first, 50),
      firstP99: percentile(s.first, 99),
    };
  });
  return { through, direct };
}

const ops = { bulk, conns, paired, idle: openIdleMany, closeIdle };

const rl = createInterface({ input: process.stdin });
// Commands are run one at a time, in order.
let queue = Promise.resolve();
rl.on('line', (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  queue = queue.then(async () => {
    if (cmd.op === 'exit') process.exit(0);
    let out;
    try {
      out = await ops[cmd.op](cmd);
    } catch (err) {
      out = { error: String(err?.stack ?? err) };
    }
    process.stdout.write(`${JSON.stringify(out)}\n`);
  });
});
rl.on('close', () => queue.then(() => process.exit(0)));
