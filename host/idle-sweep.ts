// Idle timeout of forwarded connections with one interval per listener, not a timer per connection
// (re-arming a timer on every read would cost more than the relay itself): each pass compares a
// connection's byte count with the previous pass's.

/**
 * 1 hour: long enough for SSH sessions and database pools that keep quiet connections, and it still
 * reclaims connections whose peers vanished without a FIN or RST. 0 turns the timeout off.
 */
export const DEFAULT_IDLE_TIMEOUT_MS = 60 * 60 * 1000;

/** Passes per timeout: a connection is closed between 1 and 1.25 timeouts after its last byte. */
export const SWEEPS_PER_TIMEOUT = 4;

export interface IdleTracked {
  /** Bytes moved so far, or -1 while not forwarding (sniffing has its own deadline). */
  readonly activity: number;
  /** Activity seen by the previous pass, and since when it has not changed (performance.now() ms). */
  idleSeen: number;
  idleSince: number;
  idleTimeout(ms: number): void;
}

export class IdleSweep {
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly connections: Iterable<IdleTracked>,
  ) {}

  start(): void {
    if (this.timeoutMs <= 0 || this.timer) return;
    this.timer = setInterval(this.sweep, Math.max(1, this.timeoutMs / SWEEPS_PER_TIMEOUT));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private readonly sweep = (): void => {
    const now = performance.now();
    const idle: IdleTracked[] = [];
    for (const c of this.connections) {
      const a = c.activity;
      if (a < 0) continue;
      if (a !== c.idleSeen) {
        c.idleSeen = a;
        c.idleSince = now;
      } else if (now - c.idleSince >= this.timeoutMs) {
        idle.push(c);
      }
    }
    // Closed after the pass: closing removes a connection from the set being iterated.
    for (const c of idle) c.idleTimeout(this.timeoutMs);
  };
}
