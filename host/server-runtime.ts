// Everything one listening server needs per connection, compiled once from the config and the
// loaded detectors. A value: a reload builds a new one and the listener swaps it in.
import type { ServerConfig } from './config/model.js';
import { DeadlineQueue } from './deadline-queue.js';
import type { Dialer, ForwardOptions } from './forwarder.js';
import { dialerFor, type IoMode } from './io-mode.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { DetectorSet } from './plugin/registry.js';
import { compileServer, type ServerRouter } from './router.js';
import { CONNECTION_FUEL_CALLS, type Candidate } from './sniffer.js';

export interface RuntimeOptions {
  /** Detection timeout from accept, ms (`-t`). */
  timeoutMs: number;
  windowCap: number;
  connectTimeoutMs: number;
  /** How backend sockets are driven (io-mode.ts). */
  io: IoMode;
  /** Fuel per detect() call (0: unmetered); a connection may spend CONNECTION_FUEL_CALLS times it. */
  fuel: number;
  /** Forwarded connections idle this long are closed (0: never). */
  idleTimeoutMs: number;
  maxConnections: number;
  /** Absent: metrics are off (no `--metrics`). */
  metrics?: Metrics | undefined;
}

export interface ServerRuntime extends ForwardOptions {
  dial: Dialer;
  address: string;
  router: ServerRouter;
  candidates: Candidate[];
  windowCap: number;
  /** Fuel one connection may spend on detection in all (0: no cap). */
  connectionFuel: number;
  deadlines: DeadlineQueue;
  log: Logger;
  idleTimeoutMs: number;
  maxConnections: number;
  /** A PROXY header comes first on every connection (server option accept_proxy). */
  acceptProxy: boolean;
  metrics: Metrics | undefined;
}

export function buildServerRuntime(
  server: ServerConfig,
  detectors: DetectorSet,
  options: RuntimeOptions,
  log: Logger,
): ServerRuntime {
  const router = compileServer(server, (p) => detectors.byProtocol.get(p)?.meta.keys);
  const candidates: Candidate[] = router.protocols.map((routes) => {
    const detector = detectors.byProtocol.get(routes.protocol);
    // checkProtocols() refuses such configs before this point; reaching it is a bug.
    if (!detector) throw new Error(`internal: no detector for protocol ${routes.protocol}`);
    return { routes, detector };
  });
  // A server's options object overrides the command line for that listener.
  const o = server.options;
  const connectTimeoutMs = o.connectTimeoutMs ?? options.connectTimeoutMs;
  return {
    address: server.address,
    router,
    candidates,
    windowCap: o.window ?? options.windowCap,
    connectionFuel: options.fuel * CONNECTION_FUEL_CALLS,
    connectTimeoutMs,
    connectDeadlines: new DeadlineQueue(connectTimeoutMs),
    dial: dialerFor(options.io),
    deadlines: new DeadlineQueue(o.detectTimeoutMs ?? options.timeoutMs),
    idleTimeoutMs: o.idleTimeoutMs ?? options.idleTimeoutMs,
    maxConnections: o.maxConnections ?? options.maxConnections,
    acceptProxy: o.acceptProxy,
    metrics: options.metrics,
    log,
    onBackpressure: log.isLevelEnabled('debug')
      ? (direction, queuedBytes) => log.debug({ event: 'backpressure', listener: server.address, direction, queued: queuedBytes }, 'paused reading: the other side is slow')
      : undefined,
  };
}
