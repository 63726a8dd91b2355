// Dials the backend, replays what the sniffer read, then carries bytes both ways with backpressure,
// half-close and reset propagation. Calls `done` exactly once, after both sockets are closed.
//
// Two ways to move bytes, same semantics: the fast path (sockets created with `onread`, reads into
// the shared buffer of relay.ts) and the portable path ('data' events), used when the host could
// not take connections itself (see listener.ts) and kept under test.
import net from 'node:net';
import type { HostPort } from './config/model.js';
import { fdOf, readInto, relay } from './relay.js';

/** 10 s: longer than any healthy dial on a LAN or loopback, short enough not to hoard clients. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

export type CloseReason =
  | 'closed' // both sides finished normally
  | 'client-reset'
  | 'backend-reset'
  | 'client-error'
  | 'backend-error'
  | 'backend-refused'
  | 'backend-unreachable'
  | 'connect-timeout';

export interface ForwardResult {
  reason: CloseReason;
  /** Client → backend bytes written, the replayed window included. */
  bytesUp: number;
  /** Backend → client bytes written. */
  bytesDown: number;
  /** The backend's address as dialled (after name resolution), when connected. */
  backend?: string;
  error?: string;
}

export interface ForwardOptions {
  connectTimeoutMs: number;
  /** Called when one side stops reading because the other cannot take more (debug logging). */
  onBackpressure?: ((direction: 'up' | 'down', queuedBytes: number) => void) | undefined;
}

export class Forward {
  private readonly result: ForwardResult = { reason: 'closed', bytesUp: 0, bytesDown: 0 };
  private readonly backend: net.Socket;
  private readonly connectTimer: NodeJS.Timeout;
  private connected = false;
  private finished = false;
  private openSockets = 2;
  private clientFd = -1;
  private backendFd = -1;

  /**
   * `fast`: the client socket reads into the shared buffer and its reads arrive at `clientRead`
   * (the caller routes them here); otherwise its 'data' events are used.
   */
  constructor(
    private readonly client: net.Socket,
    private readonly head: readonly Buffer[],
    private readonly to: HostPort,
    private readonly options: ForwardOptions,
    private readonly fast: boolean,
    private readonly done: (result: ForwardResult) => void,
  ) {
    this.backend = net.connect({
      host: to.host,
      port: to.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(fast ? { onread: readInto(this.backendRead) } : {}),
    });
    this.connectTimer = setTimeout(this.onConnectTimeout, options.connectTimeoutMs);
    client.on('error', this.onClientError);
    this.backend.on('error', this.onBackendError);
    client.once('close', this.onSocketClosed);
    this.backend.once('close', this.onSocketClosed);
    this.backend.once('connect', this.onConnect);
  }

  /** Fast path: the client's read of `n` bytes is in the shared buffer. */
  readonly clientRead = (n: number): boolean => {
    this.result.bytesUp += n;
    if (relay(n, this.backend, this.backendFd)) return true;
    this.options.onBackpressure?.('up', this.backend.writableLength);
    return false;
  };

  private readonly backendRead = (n: number): boolean => {
    this.result.bytesDown += n;
    if (relay(n, this.client, this.clientFd)) return true;
    this.options.onBackpressure?.('down', this.client.writableLength);
    return false;
  };

  private readonly onConnect = (): void => {
    const { client, backend, result } = this;
    this.connected = true;
    clearTimeout(this.connectTimer);
    result.backend = `${backend.remoteAddress}:${backend.remotePort}`;
    for (const chunk of this.head) {
      result.bytesUp += chunk.length;
      backend.write(chunk);
    }
    if (this.fast) {
      this.clientFd = fdOf(client);
      this.backendFd = fdOf(backend);
    } else {
      client.on('data', this.onClientData);
      backend.on('data', this.onBackendData);
    }
    // A reader paused for backpressure resumes when its destination drains.
    backend.on('drain', () => client.resume());
    client.on('drain', () => backend.resume());
    // Half-close: a FIN becomes ours towards the other side; the other direction goes on.
    backend.once('end', () => client.end());
    if (client.readableEnded) backend.end();
    else {
      client.once('end', () => backend.end());
      client.resume();
    }
  };

  private readonly onClientData = (chunk: Buffer): void => {
    this.result.bytesUp += chunk.length;
    if (!this.backend.write(chunk)) {
      this.client.pause();
      this.options.onBackpressure?.('up', this.backend.writableLength);
    }
  };

  private readonly onBackendData = (chunk: Buffer): void => {
    this.result.bytesDown += chunk.length;
    if (!this.client.write(chunk)) {
      this.backend.pause();
      this.options.onBackpressure?.('down', this.client.writableLength);
    }
  };

  private readonly onConnectTimeout = (): void => {
    this.fail('connect-timeout', `no answer from ${this.to.host}:${this.to.port} within ${this.options.connectTimeoutMs} ms`, false);
  };

  private readonly onClientError = (err: NodeJS.ErrnoException): void => {
    if (err.code === 'ECONNRESET') this.fail('client-reset', err.message, true);
    else this.fail('client-error', err.message, false);
  };

  private readonly onBackendError = (err: NodeJS.ErrnoException): void => {
    if (!this.connected) {
      const reason = err.code === 'ECONNREFUSED' ? 'backend-refused' : 'backend-unreachable';
      this.fail(reason, `${this.to.host}:${this.to.port}: ${err.code ?? err.message}`, false);
    } else if (err.code === 'ECONNRESET') this.fail('backend-reset', err.message, true);
    else this.fail('backend-error', err.message, false);
  };

  /** The first failure decides the reason; both sockets go down, with RST where one came in. */
  private fail(reason: CloseReason, error: string, reset: boolean): void {
    const { result, client, backend } = this;
    if (result.reason === 'closed' && !this.finished) {
      result.reason = reason;
      result.error = error;
    }
    clearTimeout(this.connectTimer);
    if (reset) {
      if (!client.destroyed) client.resetAndDestroy();
      if (!backend.destroyed) backend.resetAndDestroy();
    } else {
      client.destroy();
      backend.destroy();
    }
  }

  private readonly onSocketClosed = (): void => {
    if (--this.openSockets > 0) return;
    this.finished = true;
    clearTimeout(this.connectTimer);
    this.done(this.result);
  };
}
