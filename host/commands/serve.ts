// `passthru` (no command): run until SIGINT/SIGTERM, draining first; SIGHUP (or a change seen by
// --watch) reloads config and plugins.
import { READY_MESSAGE } from '../cluster.js';
import type { HostPort } from '../config/model.js';
import { watchFiles } from '../config-watch.js';
import { PassthruError } from '../errors.js';
import type { Logger } from '../log.js';
import { startPassthru, type PassthruOptions, type Running } from '../main.js';
import { processMetrics } from '../metrics.js';
import { startMetricsServer, type MetricsServer } from '../metrics-server.js';

/**
 * Drain deadline at shutdown: long enough for requests in flight and short transfers, shorter than
 * the 90 s after which systemd and Kubernetes (terminationGracePeriodSeconds 30 s by default: keep
 * this at or below it there) kill the process anyway.
 */
export const DEFAULT_DRAIN_TIMEOUT_MS = 30_000;

export interface ServeOptions extends PassthruOptions {
  /** Reload when the config or a --plugin file changes. */
  watch?: boolean;
  drainTimeoutMs?: number;
  /** Serve /metrics and /healthz here (not in a cluster worker: the primary serves the aggregate). */
  metricsAt?: HostPort | undefined;
  /** A cluster worker: tells the primary when it listens, and leaves SIGINT to the primary. */
  worker?: boolean;
}

export async function runServe(options: ServeOptions, log: Logger): Promise<number> {
  let running: Running;
  let metricsServer: MetricsServer | undefined;
  try {
    running = await startPassthru(options, log);
    if (options.metricsAt) {
      const registry = (options.metrics ?? processMetrics()).registry;
      metricsServer = await startMetricsServer(options.metricsAt, () => registry.metrics(), registry.contentType);
      log.info({ event: 'metrics-listening', port: metricsServer.port }, `metrics on port ${metricsServer.port} (/metrics, /healthz)`);
    }
  } catch (err) {
    if (err instanceof PassthruError) {
      log.fatal({ event: 'start-failed', code: err.code }, err.message);
      // The log may be batched and the process is about to exit: say it where it cannot be lost.
      process.stderr.write(`passthru: ${err.message}\n`);
      log.flush?.();
      return 1;
    }
    throw err;
  }
  if (options.worker) process.send?.(READY_MESSAGE);
  const reload = (why: string): void => {
    log.info({ event: 'reload-requested', by: why }, `${why}: reloading ${options.configFile}`);
    void running.reload();
  };
  const onHup = (): void => reload('SIGHUP');
  process.on('SIGHUP', onHup);
  const unwatch = options.watch ? watchFiles([options.configFile, ...options.plugins], () => reload('file change')) : undefined;

  return new Promise<number>((resolve) => {
    let stopping = false;
    const shutdown = (signal: string): void => {
      if (stopping) {
        // A second signal: the operator does not want to wait.
        log.warn({ event: 'shutdown', signal, drain: false }, `${signal} again: closing every connection now`);
        void running.stop(true);
        return;
      }
      stopping = true;
      const drainMs = options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS;
      unwatch?.();
      process.off('SIGHUP', onHup);
      metricsServer?.setDraining();
      log.info({ event: 'shutdown', signal, drain_ms: drainMs }, `${signal}: no new connections; open ones have ${drainMs} ms to finish`);
      void running
        .drain(drainMs)
        .then((d) => {
          log.info({ event: 'drained', open: d.open, closed: d.closed, ms: d.ms }, `drained in ${d.ms} ms: ${d.open - d.closed} of ${d.open} connection(s) finished, ${d.closed} closed at the deadline`);
          return metricsServer?.close();
        })
        .then(() => {
          log.flush?.();
          resolve(0);
        });
    };
    // A terminal's ^C reaches the whole process group; a worker waits for the primary's SIGTERM instead.
    process.on('SIGINT', () => (options.worker ? undefined : shutdown('SIGINT')));
    process.on('SIGTERM', () => shutdown('SIGTERM'));
  });
}
