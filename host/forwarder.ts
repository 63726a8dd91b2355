// Dials the backend, replays what the sniffer read, then carries bytes both ways with backpressure,
// half-close and reset propagation. Calls `done` exactly once, after both sockets are released.
import type { BackendPool } from './backend-pool.js';
import type { HostPort } from './config/model.js';
import type { DeadlineQueue, Deadlined } from './deadline-queue.js';
import { IGNORE, type Endpoint, type EndpointEvents } from './endpoint.js';
import { copyRead } from './relay.js';

/**
 * Bytes held from the client while the backend is dialled, the window included: past this the client
 * is not read until the dial completes. One window's worth (16 KiB) keeps a slow dial from becoming
 * a buffer of whatever the client sends.
 */
export const HOLD_WHILE_DIALLING = 16 * 1024;

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
  | 'connect-timeout'
  | 'idle-timeout' // no byte either way for the listener's idle timeout
  | 'shutdown'; // still open at the drain deadline

export interface ForwardResult {
  reason: CloseReason;
  /** Client → backend bytes written, the replayed window included. */
  bytesUp: number;
  /** Backend → client bytes written. */
  bytesDown: number;
  /** The backend's address as dialled (after name resolution), when connected. */
  backend?: string;
  /** The client's address, read before a failure closed it (for the warn line). */
  client?: string;
  error?: string;
  /** Every dial that failed before connecting, in order (with several backends, the ones tried before the one that answered). */
  failures?: DialFailure[];
}

export interface DialFailure {
  backend: string;
  /** ECONNREFUSED, timeout, … */
  error: string;
}

export interface ForwardOptions {
  connectTimeoutMs: number;
  /** Dial deadlines of this listener: one timer for all its connections (a timer each costs ~18 µs). */
  connectDeadlines: DeadlineQueue;
  /** Called when one side stops reading because the other cannot take more (debug logging). */
  onBackpressure?: ((direction: 'up' | 'down', queuedBytes: number) => void) | undefined;
}

/** Opens an endpoint to `to`; its events say `connected` or `error`. */
export type Dialer = (to: HostPort, events: EndpointEvents) => Endpoint;

/**
 * One direction's source: bytes read from `ep` go to `other.ep`. Methods on the prototype, two
 * objects per connection, no closures.
 */
class Side implements EndpointEvents {
  ep!: Endpoint;
  other!: Side;
  bytes = 0;
  /** The peer of `ep` sent FIN. */
  eof = false;
  /** Our FIN on `ep` went out. */
  finSent = false;

  constructor(
    private readonly fwd: Forward,
    readonly isClient: boolean,
  ) {}

  read(n: number, owned: Buffer | null): boolean {
    if (!this.fwd.isConnected) return this.fwd.hold(n, owned);
    this.bytes += n;
    if (this.other.ep.relay(n, owned)) return true;
    this.fwd.backpressure(this);
    return false;
  }

  end(): void {
    this.eof = true;
    // Half-close: the FIN goes on to the other side; the other direction keeps flowing.
    if (this.fwd.isConnected) this.other.ep.end();
    this.fwd.check();
  }

  drain(): void {
    // Our writes caught up: the side feeding us may read again.
    if (!this.other.eof) this.other.ep.readStart();
  }

  finished(): void {
    this.finSent = true;
    this.fwd.check();
  }

  error(code: string, message: string): void {
    this.fwd.fail(this, code, message);
  }

  connected(): void {
    this.fwd.connected();
  }
}

/** The connect deadline of a retried dial (rare, so an allocation is fine). */
class RetryDeadline implements Deadlined {
  deadlineAt = 0;
  deadlineNext: Deadlined | null = null;
  deadlineActive = false;
  constructor(private readonly fwd: Forward) {}
  onDeadline(): void {
    this.fwd.onDeadline();
  }
}

export class Forward implements Deadlined {
  deadlineAt = 0;
  deadlineNext: Deadlined | null = null;
  deadlineActive = false;
  private readonly result: ForwardResult = { reason: 'closed', bytesUp: 0, bytesDown: 0 };
  private readonly client: Side;
  private readonly backend: Side;
  isConnected = false;
  private closing = false;
  private open = 2;
  /** Index in `pool` of the backend being dialled, where the dial began, and how many failed so far. */
  private backendIndex = 0;
  private firstIndex = 0;
  private attempts = 0;
  /** The connect deadline's queue entry: this object for the first dial, a RetryDeadline for each later one. */
  private deadline: Deadlined = this;

  /** `clientEof`: the client already sent FIN while it was sniffed. */
  constructor(
    client: Endpoint,
    clientEof: boolean,
    private readonly head: Buffer[],
    private to: HostPort,
    private readonly pool: BackendPool | undefined,
    private readonly options: ForwardOptions,
    private readonly dial: Dialer,
    private readonly done: (result: ForwardResult) => void,
  ) {
    this.client = new Side(this, true);
    this.backend = new Side(this, false);
    this.client.other = this.backend;
    this.backend.other = this.client;
    this.client.ep = client;
    this.client.eof = clientEof;
    client.setEvents(this.client);
    for (const chunk of head) this.held += chunk.length;
    if (pool) {
      this.backendIndex = this.firstIndex = pool.first();
      this.to = pool.backends[this.backendIndex]!;
    }
    options.connectDeadlines.add(this);
    this.backend.ep = dial(this.to, this.backend);
    // Read on while dialling (up to HOLD_WHILE_DIALLING): the connection's first bytes are then
    // ready to go the moment the backend answers.
    if (!clientEof && this.held < HOLD_WHILE_DIALLING) client.readStart();
    else client.readStop();
  }

  /** Bytes held for the backend before it is connected (the window and what came after). */
  private held = 0;

  /** A client read while dialling: kept for the backend; false stops reading at the limit. */
  hold(n: number, owned: Buffer | null): boolean {
    this.head.push(owned ?? copyRead(n));
    this.held += n;
    return this.held < HOLD_WHILE_DIALLING;
  }

  connected(): void {
    this.isConnected = true;
    this.options.connectDeadlines.cancel(this.deadline);
    this.pool?.succeeded(this.backendIndex);
    const backend = this.backend.ep;
    this.result.backend = backend.peer;
    let flowing = true;
    for (const chunk of this.head) {
      this.client.bytes += chunk.length;
      flowing = backend.write(chunk);
    }
    this.head.length = 0;
    if (this.client.eof) backend.end();
    // Else the client is read once what was held is out (now, or at the backend's `drain`).
    else if (flowing) this.client.ep.readStart();
    else this.client.ep.readStop();
    backend.readStart();
  }

  backpressure(source: Side): void {
    this.options.onBackpressure?.(source.isClient ? 'up' : 'down', source.other.ep.queued);
  }

  /** Both directions closed (FIN each way, each one passed on): release both sockets. */
  check(): void {
    const c = this.client;
    const b = this.backend;
    if (c.eof && b.finSent && b.eof && c.finSent) this.closeBoth(false);
  }

  fail(side: Side, code: string, message: string): void {
    if (this.closing) return;
    const r = this.result;
    r.client = this.client.ep.peer;
    if (side.isClient) r.reason = code === 'ECONNRESET' ? 'client-reset' : 'client-error';
    else if (!this.isConnected) {
      this.dialFailed(code);
      if (this.retry()) return;
      r.reason = code === 'ECONNREFUSED' ? 'backend-refused' : 'backend-unreachable';
    }
    else r.reason = code === 'ECONNRESET' ? 'backend-reset' : 'backend-error';
    r.error = side.isClient || this.isConnected ? message : `${this.to.host}:${this.to.port}: ${message}`;
    // A reset is passed on as a reset; any other failure closes the other side with FIN.
    this.closeBoth(code === 'ECONNRESET');
  }

  /** Closes both sides now (listener shutdown). */
  abort(): void {
    this.closeBoth(false);
  }

  /**
   * A dial that failed before connecting moves on to the rule's next backend, if it has one left:
   * nothing has been sent yet, so the window (held in `head`) goes to whichever answers.
   */
  private retry(): boolean {
    const pool = this.pool;
    if (!pool) return false;
    pool.failed(this.backendIndex);
    const next = pool.next(this.firstIndex, ++this.attempts);
    if (next < 0) return false;
    const failed = this.backend.ep;
    failed.setEvents(IGNORE);
    failed.close(false, () => {});
    this.backendIndex = next;
    this.to = pool.backends[next]!;
    // A fresh queue entry: the old one may still be linked in the queue (cancelled), and re-adding it would cut the list.
    this.options.connectDeadlines.cancel(this.deadline);
    this.deadline = new RetryDeadline(this);
    this.options.connectDeadlines.add(this.deadline);
    this.backend.ep = this.dial(this.to, this.backend);
    return true;
  }

  private dialFailed(error: string): void {
    (this.result.failures ??= []).push({ backend: `${this.to.host}:${this.to.port}`, error });
  }

  /** Bytes moved either way so far: the idle sweep compares it between passes. */
  get activity(): number {
    return this.client.bytes + this.backend.bytes;
  }

  /** Closes an idle connection (idle-sweep.ts). */
  idleTimeout(ms: number): void {
    if (this.closing) return;
    this.result.reason = 'idle-timeout';
    this.result.error = `no data either way for ${ms} ms`;
    this.closeBoth(false);
  }

  /** Closes a connection still open at the drain deadline. */
  shutdown(): void {
    if (this.closing) return;
    this.result.reason = 'shutdown';
    this.closeBoth(false);
  }

  onDeadline(): void {
    if (this.closing) return;
    this.dialFailed('timeout');
    if (this.retry()) return;
    this.result.reason = 'connect-timeout';
    this.result.error = `no answer from ${this.to.host}:${this.to.port} within ${this.options.connectTimeoutMs} ms`;
    this.closeBoth(false);
  }

  private closeBoth(reset: boolean): void {
    if (this.closing) return;
    this.closing = true;
    this.options.connectDeadlines.cancel(this.deadline);
    this.client.ep.close(reset, this.onClosed);
    this.backend.ep.close(reset, this.onClosed);
  }

  private readonly onClosed = (): void => {
    if (--this.open > 0) return;
    const r = this.result;
    r.bytesUp = this.client.bytes;
    r.bytesDown = this.backend.bytes;
    this.done(r);
  };
}
