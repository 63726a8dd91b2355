// Detection timeouts with one timer per listener instead of one per connection. Every connection of
// a listener gets the same delay from accept, so deadlines arrive already sorted: a FIFO suffices.

export interface Deadlined {
  deadlineAt: number;
  deadlineNext: Deadlined | null;
  /** Cleared when the connection decided before its deadline; the entry is then skipped. */
  deadlineActive: boolean;
  onDeadline(): void;
}

export class DeadlineQueue {
  private head: Deadlined | null = null;
  private tail: Deadlined | null = null;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly delayMs: number) {}

  add(item: Deadlined): void {
    item.deadlineAt = performance.now() + this.delayMs;
    item.deadlineNext = null;
    item.deadlineActive = true;
    if (this.tail) this.tail.deadlineNext = item;
    else this.head = item;
    this.tail = item;
    if (!this.timer) this.arm(this.delayMs);
  }

  cancel(item: Deadlined): void {
    item.deadlineActive = false;
  }

  /** Stops the timer; pending deadlines are dropped (the listener is closing). */
  clear(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.head = this.tail = null;
  }

  private arm(ms: number): void {
    this.timer = setTimeout(this.fire, Math.max(0, Math.ceil(ms)));
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    const now = performance.now();
    while (this.head) {
      const item = this.head;
      if (item.deadlineActive && item.deadlineAt > now) break;
      this.head = item.deadlineNext;
      if (!this.head) this.tail = null;
      item.deadlineNext = null;
      if (item.deadlineActive) {
        item.deadlineActive = false;
        item.onDeadline();
      }
    }
    // Cancelled entries stay until they reach the head; skip them now so the timer sleeps longer.
    while (this.head && !this.head.deadlineActive) {
      this.head = this.head.deadlineNext;
      if (!this.head) this.tail = null;
    }
    if (this.head) this.arm(this.head.deadlineAt - now);
  };
}
