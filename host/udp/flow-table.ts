// The flows of one UDP listener, keyed by the client's address and port, with a bound on their
// number and one idle sweep for all of them (a timer per flow would cost a timer re-arm per
// datagram).
//
// Per datagram the only work here is two map lookups and one store: the key is the (address
// string, port number) pair Node already hands us in `rinfo`, looked up in a map of maps, so no key
// string is built per datagram; idleness is an epoch number the sweep advances, so a datagram
// stores the current epoch instead of reading a clock.

/**
 * 10,000 flows: each forwarded flow holds one connected socket (one fd) toward its backend, so this
 * stays well under the common 65,536-fd limit next to the TCP listeners' 10,000 connections of two
 * fds each, and under 100 MiB even if every flow were still sniffing with a full window.
 */
export const DEFAULT_MAX_FLOWS = 10_000;

/**
 * 30 s: the UDP timeout of Linux conntrack for a flow (`nf_conntrack_udp_timeout`) and what home
 * NATs use, so UDP clients already keep their flows alive under it (WireGuard's recommended
 * PersistentKeepalive is 25 s for exactly this reason; QUIC stacks send PINGs under 30 s of
 * idleness, RFC 9308 §3.2). Longer would keep one-shot flows (every DNS query comes from a new port)
 * in the table for nothing: at 300 queries/s, 30 s is already 9,000 flows.
 */
export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 30_000;

/** Passes per idle timeout: a flow ends between 1 and 1.25 timeouts after its last datagram. */
export const SWEEPS_PER_IDLE_TIMEOUT = 4;

export interface FlowEntry {
  readonly address: string;
  readonly port: number;
  /** The table's epoch at the flow's last datagram, either way. */
  seen: number;
  /** Links of the evictable list (sniffing or rejected flows: no backend socket, cheap to forget). */
  evictPrev: FlowEntry | null;
  evictNext: FlowEntry | null;
  evictable: boolean;
}

export class FlowTable<F extends FlowEntry> {
  /** Advanced by each sweep; a datagram stamps it on its flow. */
  epoch = 0;
  private readonly byAddress = new Map<string, Map<number, F>>();
  private count = 0;
  private evictHead: F | null = null;
  private evictTail: F | null = null;

  get size(): number {
    return this.count;
  }

  get(address: string, port: number): F | undefined {
    return this.byAddress.get(address)?.get(port);
  }

  add(f: F): void {
    let ports = this.byAddress.get(f.address);
    if (!ports) {
      ports = new Map();
      this.byAddress.set(f.address, ports);
    }
    if (!ports.has(f.port)) this.count++;
    ports.set(f.port, f);
    f.seen = this.epoch;
  }

  /** Removes `f` if it is the flow of its address (a no-op for a flow already replaced or removed). */
  delete(f: F): void {
    this.unlinkEvictable(f);
    const ports = this.byAddress.get(f.address);
    if (!ports || ports.get(f.port) !== f) return;
    ports.delete(f.port);
    this.count--;
    if (ports.size === 0) this.byAddress.delete(f.address);
  }

  /** Appends `f` to the evictable list (the oldest is evicted first when the table is full). */
  markEvictable(f: F): void {
    if (f.evictable) this.unlinkEvictable(f);
    f.evictable = true;
    f.evictPrev = this.evictTail;
    f.evictNext = null;
    if (this.evictTail) this.evictTail.evictNext = f;
    else this.evictHead = f;
    this.evictTail = f;
  }

  unlinkEvictable(f: F): void {
    if (!f.evictable) return;
    f.evictable = false;
    if (f.evictPrev) f.evictPrev.evictNext = f.evictNext;
    else this.evictHead = f.evictNext as F | null;
    if (f.evictNext) f.evictNext.evictPrev = f.evictPrev;
    else this.evictTail = f.evictPrev as F | null;
    f.evictPrev = f.evictNext = null;
  }

  /** The evictable flow added longest ago, if any. */
  oldestEvictable(): F | null {
    return this.evictHead;
  }

  *[Symbol.iterator](): IterableIterator<F> {
    for (const ports of this.byAddress.values()) yield* ports.values();
  }

  /**
   * Advances the epoch and returns the flows silent for more than `sweeps` passes (the caller ends
   * them; removing while iterating the maps is left to it, after this returns).
   */
  sweep(sweeps: number): F[] {
    this.epoch++;
    const idle: F[] = [];
    for (const ports of this.byAddress.values()) {
      for (const f of ports.values()) if (this.epoch - f.seen > sweeps) idle.push(f);
    }
    return idle;
  }
}
