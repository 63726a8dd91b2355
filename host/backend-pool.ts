// The backends of one rule whose to_addr is a list: round-robin over those not cooling down, so a
// backend that refused a connection is left alone for a while instead of costing every client a retry.
import type { HostPort } from './config/model.js';

/**
 * How long a refusing backend is skipped. Long enough that a dead backend costs at most one failed
 * dial per cool-down (not one per connection), short enough that a restarted one is back within seconds.
 */
export const DEFAULT_BACKEND_COOLDOWN_MS = 10_000;

export class BackendPool {
  private nextIndex = 0;
  /** Per backend: until when (performance.now() ms) it is skipped; 0 = usable. */
  private readonly coolingUntil: Float64Array;

  constructor(
    readonly backends: readonly HostPort[],
    private readonly cooldownMs = DEFAULT_BACKEND_COOLDOWN_MS,
  ) {
    this.coolingUntil = new Float64Array(backends.length);
  }

  get size(): number {
    return this.backends.length;
  }

  /** The index to dial first: the next in turn that is not cooling down (the next in turn if all are). */
  first(): number {
    const n = this.backends.length;
    const start = this.nextIndex;
    this.nextIndex = (start + 1) % n;
    const now = performance.now();
    for (let k = 0; k < n; k++) {
      const i = (start + k) % n;
      if (this.coolingUntil[i]! <= now) return i;
    }
    return start;
  }

  /**
   * The backend to try after `attempt` failed dials that began at `start`, or -1 when every backend has
   * had its turn. Cooling backends are still tried last-resort: skipping them all would fail a client
   * that one of them might serve now.
   */
  next(start: number, attempt: number): number {
    return attempt < this.backends.length ? (start + attempt) % this.backends.length : -1;
  }

  failed(i: number): void {
    this.coolingUntil[i] = performance.now() + this.cooldownMs;
  }

  succeeded(i: number): void {
    this.coolingUntil[i] = 0;
  }
}
