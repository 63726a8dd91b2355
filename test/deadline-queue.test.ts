import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, type Deadlined } from '../host/deadline-queue.js';

function item(fired: string[], name: string): Deadlined {
  return { deadlineAt: 0, deadlineNext: null, deadlineActive: false, onDeadline: () => fired.push(name) };
}

describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires each item once, in order, after the delay; cancelled ones never', () => {
    const q = new DeadlineQueue(100);
    const fired: string[] = [];
    const a = item(fired, 'a');
    const b = item(fired, 'b');
    const c = item(fired, 'c');
    q.add(a);
    vi.advanceTimersByTime(40);
    q.add(b);
    q.add(c);
    q.cancel(b);
    vi.advanceTimersByTime(59);
    expect(fired).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(fired).toEqual(['a']);
    vi.advanceTimersByTime(40);
    expect(fired).toEqual(['a', 'c']);
    vi.advanceTimersByTime(1000);
    expect(fired).toEqual(['a', 'c']);
  });

  it('keeps one timer however many items wait, and none when empty', () => {
    const q = new DeadlineQueue(50);
    const fired: string[] = [];
    for (let i = 0; i < 1000; i++) q.add(item(fired, String(i)));
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(50);
    expect(fired.length).toBe(1000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clear() drops everything', () => {
    const q = new DeadlineQueue(10);
    const fired: string[] = [];
    q.add(item(fired, 'x'));
    q.clear();
    vi.advanceTimersByTime(100);
    expect(fired).toEqual([]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
