// One side of a proxied connection (the client, or the backend), whatever drives the socket
// underneath. The sniffer and the forwarder are written once against this interface; three
// implementations move the bytes: raw TCP handles (raw-tcp.ts), net.Socket reading into the shared
// buffer, and net.Socket with 'data' events (both here). See listener.ts for how one is chosen.
import net from 'node:net';
import type { HostPort } from './config/model.js';
import type { ProxyEndpoints } from './proxy-protocol.js';
import { copyRead, fdOf, readInto, writeDirect } from './relay.js';

/** What an endpoint tells its owner. Handlers are swapped (sniffer → forwarder) with `setEvents`. */
export interface EndpointEvents {
  /**
   * `n` bytes arrived: in `owned` when the endpoint allocated them, else in READ_BUFFER[0, n)
   * (valid only during this call). Return false to stop reading until `readStart()`.
   */
  read(n: number, owned: Buffer | null): boolean;
  /** The peer sent FIN: it will send nothing more. */
  end(): void;
  /** Every queued write is written (after a write or relay returned false). */
  drain(): void;
  /** Our FIN went out (after `end()`). */
  finished(): void;
  /** The socket failed (`code`: ECONNRESET, ECONNREFUSED, EPIPE, …); `close()` it. */
  error(code: string, message: string): void;
  /** A dialled endpoint is connected. */
  connected(): void;
}

export interface Endpoint {
  setEvents(events: EndpointEvents): void;
  readStart(): void;
  readStop(): void;
  /** Writes bytes delivered by `read` (`owned`, or READ_BUFFER[0, n)); false: wait for `drain`. */
  relay(n: number, owned: Buffer | null): boolean;
  /** Writes a buffer the caller gives up (the replayed window); false: wait for `drain`. */
  write(buf: Buffer): boolean;
  /** Sends FIN once queued writes are out. */
  end(): void;
  /** Closes; `reset` sends RST instead of FIN. `cb` runs once the socket is released. */
  close(reset: boolean, cb: () => void): void;
  /** Bytes queued in user space, for backpressure logs. */
  readonly queued: number;
  /** `address:port` of the peer; read it while the endpoint is open (it may cost a syscall). */
  readonly peer: string;
  /** Peer (source) and local (destination) address of an open TCP endpoint, for a PROXY header. */
  addresses(): ProxyEndpoints | undefined;
}

/** Events of an endpoint nobody listens to any more (a failed dial being closed). */
export const IGNORE: EndpointEvents = {
  read: () => false,
  end() {},
  drain() {},
  finished() {},
  error() {},
  connected() {},
};

/**
 * A net.Socket as an Endpoint. With `fast`, the socket was created with `onread` into the shared
 * buffer (relay.ts) and its reads arrive at `onRead`; otherwise 'data' events carry owned Buffers.
 */
export class SocketEndpoint implements Endpoint {
  private ev: EndpointEvents = IGNORE;
  private fd = -1;
  private closeCb: (() => void) | undefined;
  private closed = false;
  peer = '';

  constructor(
    readonly socket: net.Socket,
    private readonly fast: boolean,
  ) {
    socket.on('end', () => this.ev.end());
    socket.on('drain', () => this.ev.drain());
    socket.on('finish', () => this.ev.finished());
    socket.on('error', (err: NodeJS.ErrnoException) => this.ev.error(err.code ?? 'EIO', err.message));
    socket.on('close', () => {
      this.closed = true;
      this.closeCb?.();
    });
    if (!fast) socket.on('data', (chunk: Buffer) => this.onData(chunk));
    if (!socket.connecting) this.onConnected();
    else socket.once('connect', () => {
      this.onConnected();
      this.ev.connected();
    });
  }

  /** Creates a socket dialling `to`; `connected` or `error` follows. */
  static dial(to: HostPort, fast: boolean, events: EndpointEvents): SocketEndpoint {
    let ep: SocketEndpoint | undefined;
    const socket = net.connect({
      host: to.host,
      port: to.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(fast ? { onread: readInto((n) => ep!.onRead(n)) } : {}),
    });
    ep = new SocketEndpoint(socket, fast);
    ep.setEvents(events);
    return ep;
  }

  /** The `onread` callback of a fast socket. */
  onRead(n: number): boolean {
    return this.ev.read(n, null);
  }

  setEvents(events: EndpointEvents): void {
    this.ev = events;
  }

  readStart(): void {
    this.socket.resume();
  }

  readStop(): void {
    this.socket.pause();
  }

  /** A write that completed at once returns true and no 'drain' follows: only false pauses the reader. */
  relay(n: number, owned: Buffer | null): boolean {
    const s = this.socket;
    if (owned) return s.write(owned);
    const direct = this.fd >= 0 && s.writableLength === 0 && s.writable && !s.connecting;
    const written = direct ? writeDirect(this.fd, n) : 0;
    return written === n || s.write(copyRead(n, written));
  }

  write(buf: Buffer): boolean {
    return this.socket.write(buf);
  }

  end(): void {
    this.socket.end();
  }

  close(reset: boolean, cb: () => void): void {
    if (this.closed) {
      cb();
      return;
    }
    this.closeCb = cb;
    if (reset) this.socket.resetAndDestroy();
    else this.socket.destroy();
  }

  get queued(): number {
    return this.socket.writableLength;
  }

  addresses(): ProxyEndpoints | undefined {
    const s = this.socket;
    if (!s.remoteAddress || !s.localAddress) return undefined;
    return { source: { address: s.remoteAddress, port: s.remotePort ?? 0 }, destination: { address: s.localAddress, port: s.localPort ?? 0 } };
  }

  private onData(chunk: Buffer): void {
    if (!this.ev.read(chunk.length, chunk)) this.socket.pause();
  }

  private onConnected(): void {
    this.fd = this.fast ? fdOf(this.socket) : -1;
    this.peer = `${this.socket.remoteAddress}:${this.socket.remotePort}`;
  }
}

