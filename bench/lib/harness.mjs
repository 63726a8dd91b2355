// Process plumbing shared by run.mjs and profile.mjs: pinned spawns with a raised fd limit, the
// backends, the load generator, and starting/stopping one proxy.

import { execFileSync, spawn } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { findBinary } from './peers.mjs';
import { cpuGroup, isListening, processTree, treeCpuSeconds } from './proc.mjs';

const HERE = fileURLToPath(new URL('.', import.meta.url));
/**
 * 10k idle forwarded connections need ~20k descriptors in the proxy. Raise the soft limit as far as
 * the hard one allows (a sandbox may forbid raising the hard limit even to root).
 */
export const NOFILE = Math.min(65536, hardNofile());

function hardNofile() {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const hard = line.trim().split(/\s+/)[4];
    return hard === 'unlimited' ? 65536 : Number(hard);
  } catch {
    return 1024;
  }
}

/** Most idle connections a proxy can forward under NOFILE: two descriptors each, plus some to spare. */
export const MAX_IDLE = Math.floor((NOFILE - 100) / 2 / 100) * 100;

const prlimit = findBinary('prlimit');
const taskset = findBinary('taskset');
/** Load generator and backends on one core, the proxy alone on the other. */
export const CORES = cpus().length >= 2 ? { load: '0', proxy: '1' } : null;

export function pinningNote() {
  const notes = [];
  if (!CORES) notes.push('fewer than 2 CPUs: nothing pinned');
  else if (!taskset) notes.push('taskset missing: nothing pinned');
  if (!proxyCpuGroup()) notes.push('no writable cpuacct cgroup: proxy CPU read from /proc (misses children reaped unseen, e.g. sslh fork)');
  if (!prlimit) notes.push(`prlimit missing: fd limit left as inherited (10k idle connections may fail)`);
  if (NOFILE < 65536) notes.push(`fd hard limit is ${NOFILE} here and cannot be raised: idle figures capped at ${MAX_IDLE} connections`);
  return notes;
}

/**
 * Spawns with `prlimit` and `taskset` exec'ing in turn, so the child's pid is the program's own.
 * With `group`, a shell first moves itself into that cgroup and execs, so that even the program's
 * first fork is counted.
 */
export function spawnPinned(core, bin, args, options = {}, group = null) {
  let argv = [bin, ...args];
  if (taskset && CORES && core !== undefined) argv = [taskset, '-c', core, ...argv];
  if (prlimit) argv = [prlimit, `--nofile=${NOFILE}:${NOFILE}`, ...argv];
  if (group) argv = ['/bin/sh', '-c', 'echo $$ > "$0" && exec "$@"', group.procs, ...argv];
  return spawn(argv[0], argv.slice(1), options);
}

/** One cgroup for the whole run: proxies run one at a time and only deltas are read. */
let group;
export function proxyCpuGroup() {
  if (group === undefined) group = cpuGroup(`passthru-bench-${process.pid}`);
  return group;
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Self-signed ECDSA P-256 certificate for CN=bench.test, made fresh for each run. */
export function makeCert(dir) {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-subj', '/CN=bench.test', '-addext', 'subjectAltName=DNS:bench.test', '-keyout', key, '-out', cert],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

/** A child that prints one JSON line when ready; resolves with that line and the child. */
function startWithReadyLine(child, what) {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: child.stdout });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before it was ready`)));
    rl.once('line', (line) => resolve({ child, ready: JSON.parse(line), rl }));
  });
}

export async function startBackends(dir) {
  const { cert, key } = makeCert(dir);
  const child = spawnPinned(CORES?.load, process.execPath, [join(HERE, 'backends.mjs'), cert, key], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { ready } = await startWithReadyLine(child, 'backends');
  return { child, tlsPort: ready.tls, plainPort: ready.plain };
}

/** The load generator as a request/response object: `await load.send({op: ...})`. */
export function startLoad() {
  const child = spawnPinned(CORES?.load, process.execPath, [join(HERE, 'load.mjs')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const rl = createInterface({ input: child.stdout });
  const waiting = [];
  rl.on('line', (line) => waiting.shift()?.(JSON.parse(line)));
  child.once('exit', (code) => {
    for (const w of waiting.splice(0)) w({ error: `load generator exited (${code})` });
  });
  return {
    child,
    send(cmd) {
      return new Promise((resolve) => {
        waiting.push(resolve);
        child.stdin.write(`${JSON.stringify(cmd)}\n`);
      });
    },
    async close() {
      child.stdin.end();
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

/** Starts one proxy and waits until its port listens. Output goes to a log file, kept for errors. */
export async function startProxy(spec, dir, name, timeoutMs = 15_000) {
  const logFile = join(dir, `${name}.log`);
  const fd = openSync(logFile, 'a');
  const g = proxyCpuGroup();
  const child = spawnPinned(CORES?.proxy, spec.bin, spec.args, { stdio: ['ignore', fd, fd], env: { ...process.env, ...spec.env } }, g);
  closeSync(fd);
  let exited = null;
  child.once('exit', (code, signal) => {
    exited = signal ?? code;
  });
  const t0 = Date.now();
  while (!isListening(spec.port)) {
    if (exited !== null) throw new Error(`${name} exited (${exited}) before listening:\n${tail(logFile)}`);
    if (Date.now() - t0 > timeoutMs) {
      child.kill('SIGKILL');
      throw new Error(`${name} did not listen on ${spec.port} within ${timeoutMs} ms:\n${tail(logFile)}`);
    }
    await sleep(20);
  }
  const pid = child.pid;
  return { child, pid, logFile, cpuSeconds: g ? g.seconds : () => treeCpuSeconds(pid) };
}

/** SIGTERM, then SIGKILL for the proxy and any of its descendants still there (by pid). */
export async function stopProxy(proxy, graceMs = 5000) {
  const { child } = proxy;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const tree = processTree(child.pid);
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timedOut = await Promise.race([exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) child.kill('SIGKILL');
  await exited;
  for (const pid of tree.slice(1)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

export function tail(file, lines = 15) {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * A private copy of the compiled host for the whole run: others rebuild dist/ while a run goes on,
 * and a repetition must not measure a different build than the one before. It lives under
 * node_modules/.cache so that module resolution still finds the project's dependencies and git
 * never sees it; package.json comes along because the host finds its root by it.
 */
export function snapshotDist(root, dist) {
  const dir = join(root, 'node_modules', '.cache', 'passthru-bench', String(process.pid));
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(dist, join(dir, 'dist'), { recursive: true });
  cpSync(join(root, 'package.json'), join(dir, 'package.json'));
  return { dist: join(dir, 'dist'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}
