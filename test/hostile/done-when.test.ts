// Issue 4's acceptance test: spin.wasm (an infinite loop in detect) loaded next to the bundled TLS
// detector and asked first; 20 TLS connections all route correctly, each well under a second, the
// process keeps serving, and the log tells the story: strikes, then one quarantine.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DEFAULT_FUEL, loadDetectorFile } from '../../host/plugin/loader.js';
import { DEFAULT_STRIKE_LIMIT, Verdict } from '../../host/plugin/sandbox.js';
import type { TestProxy } from '../helpers/passthru.js';
import { moduleFile, proxyWith, quarantines, startBackends, strikes, tlsHello, tlsRounds, type Backends } from './harness.js';
import { SPIN } from './modules.js';

let backends: Backends;
let proxy: TestProxy;
let spinFile: string;

beforeAll(async () => {
  backends = await startBackends();
  spinFile = await moduleFile('spin', SPIN);
  proxy = await proxyWith(spinFile, 'SPIN', backends);
});
afterAll(async () => {
  await proxy?.stop(true);
  await backends?.close();
});

it('20 TLS connections route correctly and promptly with spin.wasm asked first', async () => {
  const replies = await tlsRounds(proxy.port, 20);
  for (const r of replies) {
    expect(r.text, `${r.name}: ${r.error ?? ''}`).toBe(`hello ${r.name} sni=${r.name}\n`);
    expect(r.ms).toBeLessThan(1000);
  }
  expect(backends.hostile.accepted).toBe(0);
  expect(backends.a.accepted + backends.b.accepted).toBe(20);

  const s = strikes(proxy, 'spin');
  expect(s).toHaveLength(DEFAULT_STRIKE_LIMIT);
  for (const rec of s) expect(rec).toMatchObject({ event: 'plugin-strike', plugin: 'spin', source: spinFile, reason: `fuel exhausted (budget ${DEFAULT_FUEL})` });
  const q = quarantines(proxy, 'spin');
  expect(q).toHaveLength(1);
  expect(q[0]).toMatchObject({ event: 'plugin-quarantine', plugin: 'spin', reason: `${DEFAULT_STRIKE_LIMIT} strikes within 60000 ms; last: fuel exhausted (budget ${DEFAULT_FUEL})` });
  // The connection log shows TLS matched each one, with its keys.
  // A connection is logged once both sides closed, which may come after the client saw its close.
  const connections = () => proxy.logs.filter((l) => l.event === 'connection');
  await proxy.waitLog((l) => l.event === 'connection' && connections().length >= 20);
  const conns = connections();
  expect(conns).toHaveLength(20);
  for (const c of conns) expect(c).toMatchObject({ protocol: 'TLS', detection: 'match', action: 'FORWARD' });

  // Still serving after the quarantine.
  expect((await tlsHello(proxy.port, 'a.test')).text).toBe('hello a.test sni=a.test\n');

  const ms = replies.map((r) => r.ms);
  const struck = ms.slice(0, DEFAULT_STRIKE_LIMIT);
  const after = ms.slice(DEFAULT_STRIKE_LIMIT);
  const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} ms`;
  console.log(`[done-when] per TLS connection: while spin struck ${fmt(struck)}; after its quarantine ${fmt(after)}`);
});

it('cuts each spinning call off after about a millisecond or two', async () => {
  const d = await loadDetectorFile(spinFile, { strikeLimit: 1000 });
  const window = new Uint8Array(517);
  d.detect(window, false); // warm-up
  const times: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t0 = process.hrtime.bigint();
    expect(d.detect(window, false).verdict).toBe(Verdict.NO_MATCH);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((x, y) => x - y);
  expect(d.stats.strikes).toBe(11);
  expect(times[times.length - 1]).toBeLessThan(100);
  console.log(`[done-when] spin cut off (budget ${DEFAULT_FUEL}, incl. re-instantiation): median ${times[5]!.toFixed(2)} ms, max ${times[9]!.toFixed(2)} ms`);
});
