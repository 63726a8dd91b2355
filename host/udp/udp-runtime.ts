// The UDP side of a running Passthru: one UdpListener per `udp://` server of the config, started,
// reloaded, drained and stopped alongside the TCP listeners (main.ts calls in at those points).
import type { Config, HostPort, ServerConfig } from '../config/model.js';
import { DeadlineQueue } from '../deadline-queue.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { DetectorSet } from '../plugin/registry.js';
import { compileServer, type ServerRouter } from '../router.js';
import { CONNECTION_FUEL_CALLS, type Candidate } from '../sniffer.js';
import { MAX_SNIFF_DATAGRAMS } from './datagram-window.js';
import { DEFAULT_MAX_FLOWS, DEFAULT_UDP_IDLE_TIMEOUT_MS } from './flow-table.js';
import { UdpListener } from './udp-listener.js';

/** The command line's UDP settings (`--udp-idle-timeout`, `--udp-max-flows`). */
export interface UdpOptions {
  /** Flows with no datagram either way for this long end (ms, > 0). */
  udpIdleTimeoutMs?: number;
  /** Flows per UDP listener; over it, new clients' datagrams are dropped (after evicting a sniffing or rejected flow, if any). */
  udpMaxFlows?: number;
}

/** What the TCP side's runtime options hold that UDP uses too (server-runtime.ts RuntimeOptions). */
export interface SharedRuntimeOptions {
  timeoutMs: number;
  windowCap: number;
  fuel: number;
  metrics?: Metrics | undefined;
}

/** Everything one UDP server needs per flow, compiled once from the config and the detectors. */
export interface UdpRuntime {
  address: string;
  router: ServerRouter;
  candidates: Candidate[];
  windowCap: number;
  maxDatagrams: number;
  connectionFuel: number;
  /** Detection timeouts: one FIFO per server, as for TCP. */
  deadlines: DeadlineQueue;
  idleTimeoutMs: number;
  maxFlows: number;
  log: Logger;
  metrics: Metrics | undefined;
}

/**
 * A server's `options` apply as on TCP where they mean the same: `detect_timeout`, `window`;
 * `idle_timeout` is the flow idle timeout (0 is not allowed: a flow has no end but idleness) and
 * `max_connections` the flow limit.
 */
export function buildUdpRuntime(server: ServerConfig, detectors: DetectorSet, shared: SharedRuntimeOptions, udp: UdpOptions, log: Logger): UdpRuntime {
  const router = compileServer(server, (p) => detectors.byProtocol.get(p)?.meta.keys);
  const candidates: Candidate[] = router.protocols.map((routes) => {
    const detector = detectors.byProtocol.get(routes.protocol);
    // checkProtocols() refuses such configs before this point; reaching it is a bug.
    if (!detector) throw new Error(`internal: no detector for protocol ${routes.protocol}`);
    return { routes, detector };
  });
  const o = server.options;
  const idle = o.idleTimeoutMs !== undefined && o.idleTimeoutMs > 0 ? o.idleTimeoutMs : (udp.udpIdleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS);
  return {
    address: server.address,
    router,
    candidates,
    windowCap: o.window ?? shared.windowCap,
    maxDatagrams: MAX_SNIFF_DATAGRAMS,
    connectionFuel: shared.fuel * CONNECTION_FUEL_CALLS,
    deadlines: new DeadlineQueue(o.detectTimeoutMs ?? shared.timeoutMs),
    idleTimeoutMs: idle,
    maxFlows: o.maxConnections ?? udp.udpMaxFlows ?? DEFAULT_MAX_FLOWS,
    log,
    metrics: shared.metrics,
  };
}

/** Same listen address in two configs: same listener (port 0 is a fresh port each time, so only the text identifies it). */
function listenKey(server: ServerConfig): string {
  return server.listen.port === 0 ? `text ${server.address}` : `${server.listen.host.toLowerCase()} ${server.listen.port}`;
}

/** A reload of the UDP side, prepared (new listeners bound) but not yet in effect. */
export interface UdpReload {
  added: string[];
  removed: string[];
  kept: string[];
  /** New flows use the new rules; removed listeners close (their flows end: `shutdown`). */
  commit(): void;
  /** Closes the listeners this reload bound; nothing else changed. */
  abort(): Promise<void>;
}

export class UdpServers {
  private readonly byKey = new Map<string, UdpListener>();

  constructor(
    private readonly shared: SharedRuntimeOptions,
    private readonly udp: UdpOptions,
    private readonly log: Logger,
  ) {}

  get listeners(): UdpListener[] {
    return [...this.byKey.values()];
  }

  /** Flows open on every UDP listener. */
  get openFlows(): number {
    let n = 0;
    for (const l of this.byKey.values()) n += l.openFlows;
    return n;
  }

  /** The listener of `address` as written in the config (`udp://127.0.0.1:0`), or the first. */
  listener(address?: string): UdpListener | undefined {
    for (const l of this.byKey.values()) if (address === undefined || l.address === address) return l;
    return undefined;
  }

  /** Binds a listener for each udp:// server; if one cannot bind, closes those bound and throws ListenError. */
  async start(config: Config, detectors: DetectorSet): Promise<void> {
    const fresh = this.build(config, detectors);
    await this.startAll([...fresh.values()].map((x) => x.listener));
    for (const [key, { listener }] of fresh) this.byKey.set(key, listener);
    this.logListening([...fresh.values()].map((x) => x.listener));
  }

  async prepare(config: Config, detectors: DetectorSet): Promise<UdpReload> {
    const next = this.build(config, detectors);
    const addedByKey = new Map<string, UdpListener>();
    for (const [key, { listener }] of next) if (!this.byKey.has(key)) addedByKey.set(key, listener);
    await this.startAll([...addedByKey.values()]);
    const kept: string[] = [];
    const removed: string[] = [];
    for (const [key, l] of this.byKey) (next.has(key) ? kept : removed).push(next.get(key)?.listener.address ?? l.address);
    return {
      added: [...addedByKey.values()].map((l) => l.address),
      removed,
      kept,
      commit: () => {
        for (const [key, l] of [...this.byKey]) {
          const entry = next.get(key);
          if (entry) {
            l.swap(entry.rt);
          } else {
            this.byKey.delete(key);
            void l.stop();
          }
        }
        for (const [key, l] of addedByKey) this.byKey.set(key, l);
        this.logListening([...addedByKey.values()]);
      },
      abort: async () => {
        await Promise.all([...addedByKey.values()].map((l) => l.stop()));
      },
    };
  }

  /** Refuses new flows, lets bound ones go on up to `timeoutMs`, then ends the rest. */
  async drain(timeoutMs: number): Promise<{ open: number; closed: number }> {
    const open = this.openFlows;
    const left = await Promise.all(this.listeners.map((l) => l.drain(timeoutMs)));
    return { open, closed: left.reduce((a, b) => a + b, 0) };
  }

  async stop(): Promise<void> {
    await Promise.all(this.listeners.map((l) => l.stop()));
  }

  private build(config: Config, detectors: DetectorSet): Map<string, { listener: UdpListener; rt: UdpRuntime }> {
    const out = new Map<string, { listener: UdpListener; rt: UdpRuntime }>();
    for (const server of config.servers) {
      if (!server.udp) continue;
      const rt = buildUdpRuntime(server, detectors, this.shared, this.udp, this.log);
      out.set(listenKey(server), { listener: new UdpListener(server.listen as HostPort, rt), rt });
    }
    return out;
  }

  private async startAll(listeners: UdpListener[]): Promise<void> {
    const started: UdpListener[] = [];
    try {
      for (const l of listeners) {
        await l.start();
        started.push(l);
      }
    } catch (err) {
      await Promise.all(started.map((l) => l.stop()));
      throw err;
    }
  }

  private logListening(listeners: UdpListener[]): void {
    for (const l of listeners) {
      if (l.standby) continue;
      // The pid tells which cluster worker serves the port (one does, see UdpListener.start).
      this.log.info({ event: 'listening', transport: 'udp', listener: l.address, port: l.port, pid: process.pid }, `listening on ${l.address}`);
    }
  }
}
