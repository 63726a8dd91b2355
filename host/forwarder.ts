// Dials the backend, replays what the sniffer read, then carries bytes both ways with backpressure,
// half-close and reset propagation. Calls `done` exactly once, after both sockets are closed.
import net from 'node:net';
import type { HostPort } from './config/model.js';

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

export function forward(
  client: net.Socket,
  head: readonly Buffer[],
  to: HostPort,
  options: ForwardOptions,
  done: (result: ForwardResult) => void,
): void {
  const result: ForwardResult = { reason: 'closed', bytesUp: 0, bytesDown: 0 };
  let connected = false;
  let finished = false;
  let openSockets = 2;

  const backend = net.connect({ host: to.host, port: to.port, allowHalfOpen: true, noDelay: true });
  const connectTimer = setTimeout(() => {
    fail('connect-timeout', `no answer from ${to.host}:${to.port} within ${options.connectTimeoutMs} ms`, false);
  }, options.connectTimeoutMs);

  /** First failure decides the reason; both sockets go down, with RST where one came in. */
  function fail(reason: CloseReason, error: string, reset: boolean): void {
    if (result.reason === 'closed' && !finished) {
      result.reason = reason;
      result.error = error;
    }
    clearTimeout(connectTimer);
    if (reset) {
      if (!client.destroyed) client.resetAndDestroy();
      if (!backend.destroyed) backend.resetAndDestroy();
    } else {
      client.destroy();
      backend.destroy();
    }
  }

  function onClosed(): void {
    if (--openSockets > 0) return;
    finished = true;
    clearTimeout(connectTimer);
    done(result);
  }

  client.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'ECONNRESET') fail('client-reset', err.message, true);
    else fail('client-error', err.message, false);
  });
  backend.on('error', (err: NodeJS.ErrnoException) => {
    if (!connected) {
      const reason = err.code === 'ECONNREFUSED' ? 'backend-refused' : 'backend-unreachable';
      fail(reason, `${to.host}:${to.port}: ${err.code ?? err.message}`, false);
    } else if (err.code === 'ECONNRESET') fail('backend-reset', err.message, true);
    else fail('backend-error', err.message, false);
  });
  client.once('close', onClosed);
  backend.once('close', onClosed);

  backend.once('connect', () => {
    connected = true;
    clearTimeout(connectTimer);
    result.backend = `${backend.remoteAddress}:${backend.remotePort}`;
    for (const chunk of head) {
      result.bytesUp += chunk.length;
      backend.write(chunk);
    }
    pipe(client, backend, true);
    pipe(backend, client, false);
  });

  function pipe(src: net.Socket, dst: net.Socket, up: boolean): void {
    src.on('data', (chunk: Buffer) => {
      if (up) result.bytesUp += chunk.length;
      else result.bytesDown += chunk.length;
      // Pause only on false: a write that completed at once returns true and no 'drain' follows.
      if (!dst.write(chunk)) {
        src.pause();
        options.onBackpressure?.(up ? 'up' : 'down', dst.writableLength);
      }
    });
    dst.on('drain', () => src.resume());
    // Half-close: the peer's FIN becomes ours towards the other side, the other direction goes on.
    src.once('end', () => dst.end());
    if (src.readableEnded) dst.end();
    else src.resume();
  }
}
