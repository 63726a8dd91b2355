// Hostile detectors that load fine and misbehave when called, each in a real proxy next to the
// bundled TLS detector. The hostile protocol is listed before TLS, so its detector is asked first
// about every connection; TLS connections must still reach the right backend, promptly, while the
// log records the strikes and one quarantine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_STRIKE_LIMIT, DEFAULT_STRIKE_WINDOW_MS } from '../../host/plugin/sandbox.js';
import { moduleFile, proxyWith, quarantines, startBackends, strikes, tlsRounds, type Backends } from './harness.js';
import * as M from './modules.js';

let backends: Backends;
beforeAll(async () => {
  backends = await startBackends();
});
afterAll(async () => {
  await backends?.close();
});

interface Case {
  what: string;
  text: string;
  protocol: string;
  /** Expected strike reason; undefined: contained without any strike. */
  reason: RegExp | string | undefined;
  connections?: number;
}

const cases: Case[] = [
  { what: 'infinite loop in detect', text: M.SPIN, protocol: 'SPIN', reason: 'fuel exhausted (budget 20000000)' },
  // V8's stack limit (~15k frames) comes before the default fuel; either is a clean trap.
  { what: 'deep recursion', text: M.RECURSE, protocol: 'RECURSE', reason: /^(stack overflow \(Maximum call stack size exceeded\)|fuel exhausted)/ },
  { what: 'memory.grow in a loop', text: M.GROW, protocol: 'GROW', reason: 'fuel exhausted (budget 20000000)' },
  { what: 'key length past the end of memory', text: M.KEY_PAST_END, protocol: 'PASTEND', reason: 'key length 1000 at 65000 runs past the end of memory (65536)' },
  { what: 'a verdict of 7', text: M.VERDICT_7, protocol: 'SEVEN', reason: 'bad verdict 7' },
  { what: 'result with bits 24-31 set', text: M.HIGH_BITS, protocol: 'HIGHBITS', reason: 'bad result 0x1000001 (bits 24-31 must be 0)' },
  // Strikes on calls 3, 6, 9, 12, 15 (each strike re-instantiates, resetting its counter).
  { what: 'a trap every third call', text: M.TRAP_EVERY_THIRD, protocol: 'FLAKY', reason: 'trap: unreachable', connections: 3 * DEFAULT_STRIKE_LIMIT + 2 },
  { what: 'MATCH everything with a 64 KiB key', text: M.GREEDY, protocol: 'GREEDY', reason: "key length 65535 exceeds the host's limit of 4096 bytes" },
  { what: 'burning 90% of its fuel on every call (no trap)', text: M.BURN, protocol: 'BURN', reason: undefined },
];

describe('contained at run time, TLS keeps routing', () => {
  it.each(cases)('$what', async ({ text, protocol, reason, connections }) => {
    const plugin = await moduleFile(protocol.toLowerCase(), text);
    const name = protocol.toLowerCase();
    const proxy = await proxyWith(plugin, protocol, backends);
    const hostileBefore = backends.hostile.accepted;
    try {
      const n = connections ?? DEFAULT_STRIKE_LIMIT + 3;
      const replies = await tlsRounds(proxy.port, n);
      for (const r of replies) {
        expect(r.text, `${r.name}: ${r.error ?? ''}`).toBe(`hello ${r.name} sni=${r.name}\n`);
        expect(r.ms).toBeLessThan(1000);
      }
      expect(backends.hostile.accepted).toBe(hostileBefore);
      const worst = Math.max(...replies.map((r) => r.ms));
      console.log(`[hostile] ${protocol}: ${n} TLS connections routed, slowest ${worst.toFixed(1)} ms`);

      if (reason === undefined) {
        expect(strikes(proxy, name)).toEqual([]);
        expect(quarantines(proxy, name)).toEqual([]);
        return;
      }
      const q = await proxy.waitLog((l) => l.event === 'plugin-quarantine' && l.plugin === name);
      const s = strikes(proxy, name);
      expect(s).toHaveLength(DEFAULT_STRIKE_LIMIT);
      for (const rec of s) {
        expect(rec).toMatchObject({ level: 40, plugin: name, source: plugin });
        expect(rec.reason).toMatch(typeof reason === 'string' ? new RegExp(`^${escape(reason)}$`) : reason);
      }
      expect(quarantines(proxy, name)).toHaveLength(1);
      expect(q).toMatchObject({ level: 50, plugin: name, source: plugin });
      expect(q.reason).toBe(`${DEFAULT_STRIKE_LIMIT} strikes within ${DEFAULT_STRIKE_WINDOW_MS} ms; last: ${s.at(-1)!.reason as string}`);
      // Strikes precede the quarantine in the log.
      expect(proxy.logs.indexOf(s.at(-1)!)).toBeLessThan(proxy.logs.indexOf(q));
    } finally {
      await proxy.stop(true);
    }
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
