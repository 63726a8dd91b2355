// One listening socket per server address of the config; hands each accepted client to a Connection.
import net from 'node:net';
import type { HostPort } from './config/model.js';
import { Connection } from './connection.js';
import { SocketEndpoint, type Endpoint } from './endpoint.js';
import { ListenError } from './errors.js';
import { IdleSweep } from './idle-sweep.js';
import { takeAccepts, type IoMode } from './io-mode.js';
import type { ServerRuntime } from './server-runtime.js';

/**
 * Concurrent connections per listener unless the config or `--max-connections` says otherwise. Each
 * open connection costs two sockets (two fds) and up to a window of memory; 10k stays under the
 * common 65536-fd limit with room for the backends' sockets and well under 1 GiB of windows.
 */
export const DEFAULT_MAX_CONNECTIONS = 10_000;

/** At most one "refused" warning per listener per second: a flood must not become a log flood. */
const REFUSED_LOG_INTERVAL_MS = 1_000;

export class Listener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  private sweep: IdleSweep;
  private idleWaiters: (() => void)[] = [];
  /** Connections refused over max_connections since start. */
  refused = 0;
  private refusedLogged = -Infinity;
  private refusedSinceLog = 0;

  /** `io`: how accepted sockets are driven; once listening, the mode in effect (raw and fast need
   * net.Server internals and fall back to portable without them). */
  constructor(
    readonly listen: HostPort,
    private runtime: ServerRuntime,
    public io: IoMode,
  ) {
    // allowHalfOpen: a client's FIN must reach the backend as a FIN, not close our side.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
    this.sweep = new IdleSweep(runtime.idleTimeoutMs, this.connections);
  }

  get address(): string {
    return this.runtime.address;
  }

  /** The port actually bound (differs from the config when it says port 0). */
  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : this.listen.port;
  }

  /** Connections accepted and not yet closed. */
  get openConnections(): number {
    return this.connections.size;
  }

  /** New connections use `rt`; connections already open keep the runtime they started with. */
  swap(rt: ServerRuntime): void {
    const idleChanged = rt.idleTimeoutMs !== this.runtime.idleTimeoutMs;
    this.runtime = rt;
    if (idleChanged) {
      this.sweep.stop();
      this.sweep = new IdleSweep(rt.idleTimeoutMs, this.connections);
      this.sweep.start();
    }
  }

  /** Resolves once every connection accepted so far has ended. */
  whenIdle(): Promise<void> {
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new ListenError(this.runtime.address, err.code ? `${err.code} (${err.message})` : err.message, { cause: err }));
      };
      this.server.once('error', onError);
      // An empty host (":8443") means every interface, as in Go.
      const host = this.listen.host === '' ? undefined : this.listen.host;
      this.server.listen({ host, port: this.listen.port }, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.runtime.log.error({ err, listener: this.address }, 'listener error'));
        if (this.io !== 'portable' && !takeAccepts(this.server, this.io, this.accept, this.onAcceptError)) this.io = 'portable';
        this.sweep.start();
        resolve();
      });
    });
  }

  /**
   * Stops accepting; with `abort`, also closes every open connection. Without it, open connections go
   * on (drain) and the returned promise resolves once the listening socket is closed.
   */
  async stop(abort = false): Promise<void> {
    const closed = this.server.listening ? new Promise<void>((resolve) => this.server.close(() => resolve())) : Promise.resolve();
    if (abort) {
      this.sweep.stop();
      for (const c of this.connections) c.abort();
      this.runtime.deadlines.clear();
      this.runtime.connectDeadlines.clear();
    }
    await closed;
  }

  private readonly accept = (client: Endpoint): void => {
    const rt = this.runtime;
    if (this.connections.size >= rt.maxConnections) {
      // Refused fast: a reset costs no FIN handshake, and the client learns at once.
      client.close(true, () => {});
      this.refused++;
      rt.metrics?.connectionRefused(rt.address, 'max-connections');
      this.logRefused(rt);
      return;
    }
    rt.metrics?.connectionAccepted(rt.address);
    const c = new Connection(rt, this.onConnectionEnd);
    this.connections.add(c);
    c.start(client);
  };

  private readonly onConnection = (socket: net.Socket): void => {
    this.accept(new SocketEndpoint(socket, false));
  };

  private readonly onAcceptError = (errno: number): void => {
    this.runtime.log.warn({ event: 'accept-error', listener: this.address, errno }, 'accept failed');
  };

  private logRefused(rt: ServerRuntime): void {
    this.refusedSinceLog++;
    const now = performance.now();
    if (now - this.refusedLogged < REFUSED_LOG_INTERVAL_MS) return;
    rt.log.warn({ event: 'refused', listener: rt.address, reason: 'max-connections', max_connections: rt.maxConnections, refused: this.refusedSinceLog }, `refused ${this.refusedSinceLog} connection(s): ${rt.maxConnections} open`);
    this.refusedLogged = now;
    this.refusedSinceLog = 0;
  }

  private readonly onConnectionEnd = (c: Connection): void => {
    this.connections.delete(c);
    if (this.connections.size === 0 && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  };
}
