import { describe, expect, it } from 'vitest';
import { FlowTable, SWEEPS_PER_IDLE_TIMEOUT, type FlowEntry } from '../../host/udp/flow-table.js';

const entry = (address: string, port: number): FlowEntry => ({ address, port, seen: 0, evictPrev: null, evictNext: null, evictable: false });

describe('FlowTable', () => {
  it('keys flows by address and port, counting each once', () => {
    const t = new FlowTable<FlowEntry>();
    const a = entry('127.0.0.1', 1000);
    const b = entry('127.0.0.1', 1001);
    const c = entry('::1', 1000);
    for (const f of [a, b, c]) t.add(f);
    expect(t.size).toBe(3);
    expect(t.get('127.0.0.1', 1000)).toBe(a);
    expect(t.get('127.0.0.1', 1001)).toBe(b);
    expect(t.get('::1', 1000)).toBe(c);
    expect(t.get('127.0.0.2', 1000)).toBeUndefined();
    t.delete(a);
    t.delete(a); // idempotent
    expect(t.size).toBe(2);
    expect(t.get('127.0.0.1', 1000)).toBeUndefined();
    t.delete(b);
    t.delete(c);
    expect(t.size).toBe(0);
    expect([...t]).toEqual([]);
  });

  it('deleting a flow another flow of the same client replaced leaves the new one', () => {
    const t = new FlowTable<FlowEntry>();
    const old = entry('10.0.0.1', 53);
    t.add(old);
    t.delete(old);
    const fresh = entry('10.0.0.1', 53);
    t.add(fresh);
    t.delete(old);
    expect(t.get('10.0.0.1', 53)).toBe(fresh);
    expect(t.size).toBe(1);
  });

  it('sweeps flows silent for more than N passes, by epoch, never one just seen', () => {
    const t = new FlowTable<FlowEntry>();
    const quiet = entry('127.0.0.1', 1);
    const busy = entry('127.0.0.1', 2);
    t.add(quiet);
    t.add(busy);
    for (let pass = 1; pass <= SWEEPS_PER_IDLE_TIMEOUT; pass++) {
      expect(t.sweep(SWEEPS_PER_IDLE_TIMEOUT)).toEqual([]);
      busy.seen = t.epoch; // a datagram in between passes
    }
    expect(t.sweep(SWEEPS_PER_IDLE_TIMEOUT)).toEqual([quiet]);
  });

  it('evicts the oldest evictable flow first; re-marking moves a flow to the back; unlinking takes it out', () => {
    const t = new FlowTable<FlowEntry>();
    const [a, b, c] = [entry('h', 1), entry('h', 2), entry('h', 3)];
    for (const f of [a, b, c]) {
      t.add(f);
      t.markEvictable(f);
    }
    expect(t.oldestEvictable()).toBe(a);
    t.markEvictable(a); // a sniffing flow that was rejected: now the newest
    expect(t.oldestEvictable()).toBe(b);
    t.unlinkEvictable(b); // bound to a backend: no longer evictable
    expect(t.oldestEvictable()).toBe(c);
    t.delete(c);
    expect(t.oldestEvictable()).toBe(a);
    t.delete(a);
    expect(t.oldestEvictable()).toBeNull();
    expect(t.size).toBe(1);
  });
});
