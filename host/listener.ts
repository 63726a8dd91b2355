// One listening socket per server address of the config; hands each accepted client to a Connection.
import net from 'node:net';
import type { HostPort } from './config/model.js';
import { Connection } from './connection.js';
import { SocketEndpoint, type Endpoint } from './endpoint.js';
import { ListenError } from './errors.js';
import { takeAccepts, type IoMode } from './io-mode.js';
import type { ServerRuntime } from './server-runtime.js';

export class Listener {
  private readonly server: net.Server;
  private readonly connections = new Set<Connection>();

  /** `io`: how accepted sockets are driven; once listening, the mode in effect (raw and fast need
   * net.Server internals and fall back to portable without them). */
  constructor(
    readonly listen: HostPort,
    private runtime: ServerRuntime,
    public io: IoMode,
  ) {
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

  /** Connections accepted and not yet closed. */
  get openConnections(): number {
    return this.connections.size;
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
        if (this.io !== 'portable' && !takeAccepts(this.server, this.io, this.accept, this.onAcceptError)) this.io = 'portable';
        resolve();
      });
    });
  }

  /** Stops accepting; with `abort`, also closes every open connection. */
  async stop(abort = false): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    if (abort) {
      for (const c of this.connections) c.abort();
      this.runtime.deadlines.clear();
      this.runtime.connectDeadlines.clear();
    }
    await closed;
  }

  private readonly accept = (client: Endpoint): void => {
    const c = new Connection(this.runtime, this.onConnectionEnd);
    this.connections.add(c);
    c.start(client);
  };

  private readonly onConnection = (socket: net.Socket): void => {
    this.accept(new SocketEndpoint(socket, false));
  };

  private readonly onAcceptError = (errno: number): void => {
    this.runtime.log.warn({ event: 'accept-error', listener: this.address, errno }, 'accept failed');
  };

  private readonly onConnectionEnd = (c: Connection): void => {
    this.connections.delete(c);
  };
}
