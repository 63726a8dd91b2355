// One listening socket per server address of the config; hands each accepted client to a Connection.
import net from 'node:net';
import type { HostPort } from './config/model.js';
import { Connection } from './connection.js';
import { ListenError } from './errors.js';
import { readInto } from './relay.js';
import type { ServerRuntime } from './server-runtime.js';

/**
 * How accepted sockets are read. `fast`: the listener takes each new TCP handle itself and wraps
 * it in a socket that reads into the shared buffer (relay.ts) — `net.Server` cannot give accepted
 * sockets `onread`. `portable`: plain 'connection' and 'data' events. `fast` relies on
 * `net.Server`'s internal `_handle.onconnection` (verified on Node 20.20); where that is missing,
 * the listener falls back to `portable`. PASSTHRU_IO=portable forces it (the tests run both).
 */
export type IoMode = 'fast' | 'portable';

export function defaultIoMode(): IoMode {
  return process.env.PASSTHRU_IO === 'portable' ? 'portable' : 'fast';
}

interface InternalServerHandle {
  onconnection?: (err: number, clientHandle: unknown) => void;
}

export class Listener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();
  /** The mode in effect once listening (fast may fall back to portable). */
  io: IoMode;

  constructor(
    readonly listen: HostPort,
    private runtime: ServerRuntime,
    io: IoMode = defaultIoMode(),
  ) {
    this.io = io;
    // allowHalfOpen: a client's FIN must reach the backend as a FIN, not close our side.
    this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, this.onConnection);
  }

  get address(): string {
    return this.runtime.address;
  }

  /** The port actually bound (differs from the config when it says port 0). */
  get port(): number {
    const a = this.server.address();
    return a && typeof a === 'object' ? a.port : this.listen.port;
  }

  /** New connections use `rt`; connections already open keep the runtime they started with. */
  swap(rt: ServerRuntime): void {
    this.runtime = rt;
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
        if (this.io === 'fast') this.takeAccepts();
        resolve();
      });
    });
  }

  /** Stops accepting; with `abort`, also destroys every open connection. */
  async stop(abort = false): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (abort) {
      for (const c of this.connections) c.abort();
      this.runtime.deadlines.clear();
    }
    await closed;
  }

  private takeAccepts(): void {
    const handle = (this.server as unknown as { _handle?: InternalServerHandle })._handle;
    if (!handle || typeof handle.onconnection !== 'function') {
      this.io = 'portable';
      return;
    }
    handle.onconnection = (err, clientHandle) => {
      // Accept errors (EMFILE, …) concern only this attempt; the listener goes on.
      if (err || !clientHandle) {
        this.runtime.log.warn({ event: 'accept-error', listener: this.address, errno: err }, 'accept failed');
        return;
      }
      const c = new Connection(this.runtime, this.onConnectionEnd);
      const socket = new net.Socket({
        handle: clientHandle,
        allowHalfOpen: true,
        readable: true,
        writable: true,
        onread: readInto(c.onClientRead),
      } as net.SocketConstructorOpts);
      socket.setNoDelay(true);
      this.connections.add(c);
      c.start(socket, true);
    };
  }

  private readonly onConnection = (socket: net.Socket): void => {
    const c = new Connection(this.runtime, this.onConnectionEnd);
    this.connections.add(c);
    c.start(socket, false);
  };

  private readonly onConnectionEnd = (c: Connection): void => {
    this.connections.delete(c);
  };
}
