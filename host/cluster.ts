// `-w N`: N worker processes serve the listeners; the primary only starts, replaces and signals them
// and, with --metrics, serves the workers' aggregated metrics. It holds no client connection.
//
// Two ways to share a listening socket (node:cluster): `rr` (Node's default off Windows), where the
// primary accepts every connection and passes its handle to a worker over IPC, and `none`, where every
// worker accepts from the shared socket and the kernel picks who wakes. Node 20 has no reusePort.
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { AggregatorRegistry } from 'prom-client';
import type { HostPort } from './config/model.js';
import type { Logger } from './log.js';
import { startMetricsServer, type MetricsServer } from './metrics-server.js';

export type Scheduling = 'rr' | 'none';
export const SCHEDULINGS: readonly Scheduling[] = ['rr', 'none'];

/** More workers than this is a typo, not a plan: each loads every detector (~10-20 MB RSS). */
export const MAX_WORKERS = 256;

/** A dead worker is replaced after this, doubling on each death in a row up to the max. */
export const RESPAWN_DELAY_MS = 100;
export const RESPAWN_DELAY_MAX_MS = 10_000;
/** A worker that lived this long had no start-up problem: the next death starts the backoff afresh. */
export const STABLE_AFTER_MS = 10_000;

/** Set in a worker's environment: the CLI then serves instead of forking again. */
export const WORKER_ENV = 'PASSTHRU_WORKER';

/** Message a worker sends once all its listeners are bound. */
export const READY_MESSAGE = 'passthru:ready';

/** `-w`: a count, or 0/`auto` for one per core. */
export function parseWorkers(text: string): number {
  if (text === 'auto' || text === '0') return availableParallelism();
  if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a whole number or "auto"`);
  const n = Number(text);
  if (n > MAX_WORKERS) throw new Error(`${n} is more than ${MAX_WORKERS} workers`);
  return n;
}

export interface ClusterOptions {
  workers: number;
  scheduling: Scheduling;
  metricsAt?: HostPort | undefined;
}

interface Slot {
  worker: Worker;
  started: number;
  /** Deaths in a row of short-lived workers in this slot. */
  failures: number;
}

export async function runCluster(options: ClusterOptions, log: Logger): Promise<number> {
  cluster.schedulingPolicy = options.scheduling === 'rr' ? cluster.SCHED_RR : cluster.SCHED_NONE;
  const env = { [WORKER_ENV]: '1', NODE_CLUSTER_SCHED_POLICY: options.scheduling };
  const slots = new Map<number, Slot>();
  let stopping = false;
  let everReady = false;
  let metrics: MetricsServer | undefined;

  return new Promise<number>((resolve) => {
    const finish = (code: number): void => {
      void (metrics?.close() ?? Promise.resolve()).then(() => {
        log.flush?.();
        resolve(code);
      });
    };

    const fork = (slot: number, failures: number): void => {
      const worker = cluster.fork(env);
      slots.set(slot, { worker, started: performance.now(), failures });
      log.info({ event: 'worker-started', slot, worker: worker.id, pid: worker.process.pid }, `worker ${slot} started (pid ${worker.process.pid})`);
      worker.on('message', (m: unknown) => {
        if (m === READY_MESSAGE) everReady = true;
      });
      worker.on('exit', (code, signal) => {
        if (slots.get(slot)?.worker !== worker) return;
        if (stopping) {
          slots.delete(slot);
          if (slots.size === 0) finish(0);
          return;
        }
        // The first worker dying before any became ready: the config or a plugin is bad (it said why on stderr).
        if (!everReady) {
          log.fatal({ event: 'worker-exit', slot, pid: worker.process.pid, code, signal }, 'a worker failed to start; stopping');
          stopping = true;
          slots.delete(slot);
          for (const s of slots.values()) s.worker.process.kill('SIGTERM');
          if (slots.size === 0) finish(code || 1);
          else process.exitCode = code || 1;
          return;
        }
        const lived = performance.now() - slots.get(slot)!.started;
        const inARow = lived >= STABLE_AFTER_MS ? 0 : failures + 1;
        const delay = inARow === 0 ? 0 : Math.min(RESPAWN_DELAY_MAX_MS, RESPAWN_DELAY_MS * 2 ** (inARow - 1));
        log.error({ event: 'worker-exit', slot, pid: worker.process.pid, code, signal, respawn_ms: delay }, `worker ${slot} (pid ${worker.process.pid}) died (${signal ?? `exit ${code}`}); replacing it in ${delay} ms`);
        setTimeout(() => {
          if (!stopping) fork(slot, inARow);
        }, delay);
      });
    };

    for (let i = 0; i < options.workers; i++) fork(i, 0);

    process.on('SIGHUP', () => {
      log.info({ event: 'reload-requested', by: 'SIGHUP', workers: slots.size }, 'SIGHUP: reloading every worker');
      for (const s of slots.values()) s.worker.process.kill('SIGHUP');
    });
    const shutdown = (signal: string): void => {
      const again = stopping;
      stopping = true;
      metrics?.setDraining();
      log.info({ event: 'shutdown', signal, workers: slots.size }, `${signal}: ${again ? 'closing' : 'draining'} every worker`);
      // A worker drains on its first SIGTERM and closes everything on its second.
      for (const s of slots.values()) s.worker.process.kill('SIGTERM');
      if (slots.size === 0) finish(0);
    };
    process.on('SIGINT', () => shutdown('SIGINT'));
    process.on('SIGTERM', () => shutdown('SIGTERM'));

    if (options.metricsAt) {
      const aggregate = new AggregatorRegistry();
      startMetricsServer(options.metricsAt, () => aggregate.clusterMetrics(), aggregate.contentType).then(
        (m) => {
          metrics = m;
          log.info({ event: 'metrics-listening', port: m.port }, `metrics on port ${m.port} (/metrics, /healthz; summed over workers)`);
        },
        (err: Error) => {
          log.fatal({ event: 'start-failed' }, err.message);
          process.stderr.write(`passthru: ${err.message}\n`);
          shutdown('metrics listen failure');
          process.exitCode = 1;
        },
      );
    }
  });
}
