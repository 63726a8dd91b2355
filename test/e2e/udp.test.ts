// UDP listeners end to end over real sockets: flows sniffed by the sandboxed detectors, bound to real
// dgram backends, replies back from the listening socket, expiry, limits, hostile detectors.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { unframeDatagrams } from '../../host/udp/datagram-window.js';
import { fixtureDir } from '../helpers/detector-fixtures.js';
import { startUdpProxy, udpBackend, udpClient, udpConfig, type UdpBackend, type UdpClient, type UdpTestProxy } from '../helpers/udp.js';
import { detectorFile, recordsDetector, spinningDetector, trappingDetector } from '../helpers/udp-detectors.js';

/** The hard reset `openvpn --client --proto udp` sent (captured; stored framed, one record). */
const OPENVPN_RESET = unframeDatagrams(readFileSync(`${fixtureDir('openvpn')}openvpn-udp.bin`))[0]!;
const OPENVPN_TLS_AUTH = unframeDatagrams(readFileSync(`${fixtureDir('openvpn')}openvpn-udp-tls-auth.bin`))[0]!;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function backend(options: Parameters<typeof udpBackend>[0] = {}): Promise<UdpBackend> {
  const b = await udpBackend(options);
  cleanup.push(() => b.close());
  return b;
}
async function client(...args: Parameters<typeof udpClient>): Promise<UdpClient> {
  const c = await udpClient(...args);
  cleanup.push(() => c.close());
  return c;
}
async function proxy(config: unknown, options: Parameters<typeof startUdpProxy>[1] = {}): Promise<UdpTestProxy> {
  const p = await startUdpProxy(config, options);
  cleanup.push(() => p.stop(true));
  return p;
}

const to = (b: UdpBackend) => ({ action: 'FORWARD', to_addr: `127.0.0.1:${b.port}` });

describe('UDP: OpenVPN', () => {
  it('routes a captured openvpn hard reset to a real UDP echo backend; later datagrams of the flow follow it in order, replies come back', async () => {
    const vpn = await backend({ name: 'vpn' });
    const other = await backend({ name: 'other' });
    const p = await proxy(udpConfig({ OPENVPN: { 'OPCODE P_CONTROL_HARD_RESET_CLIENT_V2': to(vpn) }, CATCHALL: { CATCHALL: to(other) } }));
    const c = await client();
    const port = p.udpPort();
    expect((await c.ask(OPENVPN_RESET, port)).equals(Buffer.concat([Buffer.from('vpn:'), OPENVPN_RESET]))).toBe(true);
    // The flow is bound: whatever the client sends next goes to the same backend without detection.
    for (let i = 0; i < 5; i++) expect((await c.ask(`data ${i}`, port)).toString()).toBe(`vpn:data ${i}`);
    expect(vpn.received.map((r) => r.msg.toString('latin1')).slice(1)).toEqual(['data 0', 'data 1', 'data 2', 'data 3', 'data 4']);
    // One backend socket per flow: every datagram of the flow reached the backend from one address.
    expect(new Set(vpn.received.map((r) => r.from)).size).toBe(1);
    // A --tls-auth client from another port is another flow, routed the same way.
    const c2 = await client();
    expect((await c2.ask(OPENVPN_TLS_AUTH, port)).subarray(0, 4).toString()).toBe('vpn:');
    expect(new Set(vpn.received.map((r) => r.from)).size).toBe(2);
    // Not OpenVPN: the CATCHALL protocol.
    const c3 = await client();
    expect((await c3.ask('hello', port)).toString()).toBe('other:hello');
    expect(p.udpListener().openFlows).toBe(3);
  });

  it('logs one line per flow when it ends: client, protocol, rule, backend, datagrams and bytes each way, close reason', async () => {
    const vpn = await backend();
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: to(vpn) } }), { udpIdleTimeoutMs: 200 });
    const c = await client();
    await c.ask(OPENVPN_RESET, p.udpPort());
    await c.ask('0123456789', p.udpPort());
    // No sleep: the flow-end line is the event; the small idle timeout makes it come soon.
    const line = await p.waitFlow((r) => r.client === `127.0.0.1:${c.port}`);
    expect(line).toMatchObject({
      level: 30,
      transport: 'udp',
      listener: 'udp://127.0.0.1:0',
      protocol: 'OPENVPN',
      keys: ['OPCODE P_CONTROL_HARD_RESET_CLIENT_V2'],
      detection: 'match',
      rule: 'CATCHALL',
      action: 'FORWARD',
      backend: `127.0.0.1:${vpn.port}`,
      datagrams_up: 2,
      bytes_up: OPENVPN_RESET.length + 10,
      datagrams_down: 2,
      bytes_down: OPENVPN_RESET.length + 10,
      close: 'idle',
    });
    expect(line.ms as number).toBeGreaterThanOrEqual(200);
    expect(p.udpListener().openFlows).toBe(0);
  });
});

describe('UDP: flows', () => {
  it('a flow that expired is a new flow next time: sniffed again, and routed by its new first datagram', async () => {
    const vpn = await backend({ name: 'vpn' });
    const other = await backend({ name: 'other' });
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: to(vpn) }, CATCHALL: { CATCHALL: to(other) } }), { udpIdleTimeoutMs: 100 });
    const c = await client();
    expect((await c.ask(OPENVPN_RESET, p.udpPort())).subarray(0, 4).toString()).toBe('vpn:');
    await p.waitFlow((r) => r.close === 'idle');
    expect((await c.ask('plain', p.udpPort())).toString()).toBe('other:plain');
  });

  it('datagrams sent while a flow is sniffed are held and flushed in order once it matches', async () => {
    const two = await detectorFile('two-records', recordsDetector('TWO', 2));
    const b = await backend();
    const p = await proxy(udpConfig({ TWO: { CATCHALL: to(b) } }), { plugins: [two] });
    const c = await client();
    // The first datagram alone is NEED_MORE: nothing reaches the backend yet.
    const replies = [c.next(), c.next(), c.next()];
    c.send('first', p.udpPort());
    c.send('second', p.udpPort());
    c.send('third', p.udpPort());
    expect((await Promise.all(replies)).map(String)).toEqual(['first', 'second', 'third']);
    expect(b.received.map((r) => r.msg.toString())).toEqual(['first', 'second', 'third']);
  });

  it('a rejected flow is remembered: its later datagrams are dropped without another detection', async () => {
    const b = await backend();
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: to(b) } }), { udpIdleTimeoutMs: 150 });
    const garbage = await client();
    for (let i = 0; i < 20; i++) garbage.send(`junk ${i}`, p.udpPort());
    // A bound flow's round trip after the junk: the listener has handled every junk datagram by then.
    const good = await client();
    await good.ask(OPENVPN_RESET, p.udpPort());
    const detector = p.running.udp.listener()!;
    expect(detector.openFlows).toBe(2);
    const line = await p.waitFlow((r) => r.client === `127.0.0.1:${garbage.port}`);
    expect(line).toMatchObject({ detection: 'no-match', action: 'REJECT', rule: '(no rule)', datagrams_up: 0, dropped: 20, close: 'idle' });
    expect(b.received).toHaveLength(1);
  });

  it('IPv6: udp://[::1]:0 to an IPv6 backend', async () => {
    const b = await backend({ family: 'udp6', name: 'v6' });
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: { action: 'FORWARD', to_addr: `[::1]:${b.port}` } } }, '[::1]:0'));
    const c = await client('udp6');
    expect((await c.ask(OPENVPN_RESET, p.udpPort())).subarray(0, 3).toString()).toBe('v6:');
    expect(b.received[0]!.from).toMatch(/^::1:/);
  });

  it('a backend that refuses (ICMP port unreachable) ends the flow, logged at warn', async () => {
    const gone = await udpBackend();
    const port = gone.port;
    await gone.close();
    const p = await proxy(udpConfig({ CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${port}` } } }));
    const c = await client();
    c.send('anyone?', p.udpPort());
    c.send('anyone??', p.udpPort());
    const line = await p.waitFlow(() => true);
    expect(line).toMatchObject({ level: 40, close: 'backend-refused', detection: 'immediate', backend: `127.0.0.1:${port}` });
  });
});

describe('UDP: hostile input and hostile detectors', () => {
  it('a flood of garbage datagrams from many clients never crashes or stalls the listener: a real flow keeps working', async () => {
    const vpn = await backend({ name: 'vpn' });
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: to(vpn) } }));
    const port = p.udpPort();
    const good = await client();
    expect((await good.ask(OPENVPN_RESET, port)).subarray(0, 4).toString()).toBe('vpn:');
    const flooders = await Promise.all(Array.from({ length: 20 }, () => client()));
    let seed = 1;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    // Rounds of 40 datagrams: a burst the listening socket's receive buffer holds (UDP drops what does
    // not fit, and a dropped probe would hang this test rather than show a stall).
    for (let round = 0; round < 50; round++) {
      for (const f of flooders) {
        for (let k = 0; k < 2; k++) {
          const junk = Buffer.alloc(1 + (rand() * 5) % 1400);
          for (let i = 0; i < junk.length; i++) junk[i] = rand();
          // Some of the junk is near-miss OpenVPN: the opcode byte of a reset behind a length.
          if ((round + k) % 3 === 0) junk[0] = 0x38;
          f.send(junk, port);
        }
      }
      // The bound flow answers between rounds: the listener is neither stalled nor crashed.
      expect((await good.ask(`ping ${round}`, port)).toString()).toBe(`vpn:ping ${round}`);
    }
    expect(p.udpListener().openFlows).toBe(21);
  });

  it('a detector that spins until its fuel runs out, and one that traps, on the UDP path: struck, quarantined, the listener serves on', async () => {
    const spin = await detectorFile('spin', spinningDetector('SPIN'));
    const trap = await detectorFile('trap', trappingDetector('TRAP'));
    const vpn = await backend({ name: 'vpn' });
    const p = await proxy(udpConfig({ SPIN: { CATCHALL: { action: 'REJECT' } }, TRAP: { CATCHALL: { action: 'REJECT' } }, OPENVPN: { CATCHALL: to(vpn) } }), {
      plugins: [spin, trap],
      fuel: 1_000_000,
    });
    const port = p.udpPort();
    // Each new flow costs both hostile detectors a call: five flows quarantine both.
    for (let i = 0; i < 6; i++) {
      const c = await client();
      expect((await c.ask(OPENVPN_RESET, port)).subarray(0, 4).toString()).toBe('vpn:');
    }
    await p.waitLog((r) => r.event === 'plugin-quarantine' && r.plugin === 'spin');
    await p.waitLog((r) => r.event === 'plugin-quarantine' && r.plugin === 'trap');
    expect(p.logs.filter((r) => r.event === 'plugin-strike' && r.plugin === 'spin')).toHaveLength(5);
    expect(p.logs.filter((r) => r.event === 'plugin-strike' && r.plugin === 'trap')).toHaveLength(5);
    const later = await client();
    expect((await later.ask(OPENVPN_RESET, port)).subarray(0, 4).toString()).toBe('vpn:');
  });
});

describe('UDP: limits', () => {
  it('a table full of bound flows drops new clients, counts them and warns (throttled)', async () => {
    const b = await backend({ name: 'b' });
    const p = await proxy(udpConfig({ CATCHALL: { CATCHALL: to(b) } }), { udpMaxFlows: 5 });
    const port = p.udpPort();
    const bound = await Promise.all(Array.from({ length: 5 }, () => client()));
    for (const c of bound) expect((await c.ask('hi', port)).toString()).toBe('b:hi');
    const late = await Promise.all(Array.from({ length: 3 }, () => client()));
    for (const c of late) c.send('let me in', port);
    // A bound flow's round trip after them: the listener has handled their datagrams by then.
    expect((await bound[0]!.ask('probe', port)).toString()).toBe('b:probe');
    const l = p.udpListener();
    expect(l.openFlows).toBe(5);
    expect(l.refused).toBe(3);
    const warn = await p.waitLog((r) => r.event === 'refused' && r.transport === 'udp');
    expect(warn).toMatchObject({ level: 40, reason: 'max-flows', max_flows: 5, refused: 1 });
    // One warning for the burst, not one per datagram.
    expect(p.logs.filter((r) => r.event === 'refused')).toHaveLength(1);
    expect(b.received.filter((r) => r.msg.toString() === 'let me in')).toHaveLength(0);
  });

  it('a table full of rejected flows makes room: the oldest rejected flow is evicted for a new client', async () => {
    const vpn = await backend({ name: 'vpn' });
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: to(vpn) } }), { udpMaxFlows: 20 });
    const port = p.udpPort();
    const probe = await client();
    await probe.ask(OPENVPN_RESET, port);
    const junk = await Promise.all(Array.from({ length: 30 }, () => client()));
    for (const c of junk) c.send('junk', port);
    await probe.ask('probe', port);
    const l = p.udpListener();
    expect(l.openFlows).toBe(20);
    expect(l.evicted).toBe(11);
    expect(l.refused).toBe(0);
    expect(p.logs.filter((r) => r.event === 'flow' && r.close === 'evicted' && r.action === 'REJECT')).toHaveLength(11);
    // A real client still gets in, at the expense of another rejected flow.
    const good = await client();
    expect((await good.ask(OPENVPN_RESET, port)).subarray(0, 4).toString()).toBe('vpn:');
    expect(l.evicted).toBe(12);
  });

  it('10k flows stay bounded: 10,000 in the table, the next clients dropped and counted, memory flat past the limit', async () => {
    const limit = Number(/Max open files\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024);
    // Each bound flow holds one socket in this process (Passthru runs in-process), plus the clients.
    const flows = Math.min(10_000, limit - 2_000);
    if (flows < 10_000) console.warn(`only ${flows} flows: the open-files limit here is ${limit}`);
    // Exposes gc() to this test only (vitest's workers run without --expose-gc).
    (await import('node:v8')).setFlagsFromString('--expose-gc');
    const gc = (await import('node:vm')).runInNewContext('gc') as (() => void) | undefined;
    const heap = (): number => {
      gc?.();
      return process.memoryUsage().heapUsed;
    };
    const echo = await backend();
    const p = await proxy(udpConfig({ OPENVPN: { CATCHALL: to(echo) } }), { udpMaxFlows: flows });
    const port = p.udpPort();
    const l = p.udpListener();
    const probe = await client();
    await probe.ask(OPENVPN_RESET, port);
    const before = heap();
    const BATCH = 250;
    // Each batch of clients on a loopback address of its own, so that no client reuses the port of a
    // closed one whose flow is still in the table (that would be the same flow, not a new one).
    let batch = 0;
    const wave = async (n: number, expectReply: boolean): Promise<void> => {
      for (let done = 0; done < n; done += BATCH) {
        const source = `127.2.${batch >> 8}.${(batch++ & 255) + 1}`;
        // Each client: its first datagram through the OPENVPN detector, the echo back, then closed.
        const cs = await Promise.all(Array.from({ length: Math.min(BATCH, n - done) }, () => udpClient('udp4', source)));
        if (expectReply) await Promise.all(cs.map((c) => c.ask(OPENVPN_RESET, port)));
        else for (const c of cs) c.send(OPENVPN_RESET, port);
        await probe.ask('probe', port);
        for (const c of cs) c.close();
      }
    };
    await wave(flows - 1, true);
    expect(l.openFlows).toBe(flows);
    const full = heap();
    await wave(2_000, false);
    expect(l.openFlows).toBe(flows);
    expect(l.refused).toBe(2_000);
    const after = heap();
    const perFlow = (full - before) / flows;
    console.log(`UDP flow table: ${flows} flows, ${(perFlow / 1024).toFixed(2)} KiB of JS heap per flow; after 2000 refused clients: ${((after - full) / 1024).toFixed(0)} KiB more`);
    if (gc) {
      // A bound flow is its Flow, its map entry and its dgram socket: well under 4 KiB of heap.
      expect(perFlow).toBeLessThan(4096);
      // Refused clients leave nothing behind (a few hundred KiB of noise from the test's own sockets).
      expect(after - full).toBeLessThan(2 * 1024 * 1024);
    }
  }, 120_000);
});

describe('UDP: reload and drain', () => {
  it('reload: new flows use the new rules, a bound flow keeps its backend; a bad new config leaves the old one serving', async () => {
    const one = await backend({ name: 'one' });
    const two = await backend({ name: 'two' });
    const p = await proxy(udpConfig({ CATCHALL: { CATCHALL: to(one) } }));
    const port = p.udpPort();
    const early = await client();
    expect((await early.ask('a', port)).toString()).toBe('one:a');
    p.rewrite(udpConfig({ CATCHALL: { CATCHALL: to(two) } }));
    const r = await p.running.reload();
    expect(r).toMatchObject({ ok: true, kept: ['udp://127.0.0.1:0'], added: [], removed: [] });
    expect(p.udpPort()).toBe(port);
    const late = await client();
    expect((await late.ask('b', port)).toString()).toBe('two:b');
    expect((await early.ask('c', port)).toString()).toBe('one:c');
    // TLS takes no datagrams: refused, the rules of the last good config stay.
    p.rewrite(udpConfig({ TLS: { CATCHALL: to(one) } }));
    const bad = await p.running.reload();
    expect(bad.ok).toBe(false);
    expect(bad.error).toMatch(/TLS: the TLS detector \(tls\) takes TCP streams only/);
    const later = await client();
    expect((await later.ask('d', port)).toString()).toBe('two:d');
  });

  it('drain: new clients are refused, a quiet flow ends soon, a busy one at the deadline', async () => {
    const b = await backend();
    const p = await proxy(udpConfig({ CATCHALL: { CATCHALL: to(b) } }));
    const port = p.udpPort();
    const quiet = await client();
    const busy = await client();
    await quiet.ask('q', port);
    await busy.ask('b', port);
    const drained = p.running.drain(3_000);
    // The busy flow keeps talking (a datagram every 50 ms, well inside the drain's 1 s of quiet) until the drain closes it.
    let answered = 0;
    busy.socket.on('message', () => answered++);
    const talk = setInterval(() => busy.send('more', port), 50);
    const quietLine = await p.waitFlow((r) => r.client === `127.0.0.1:${quiet.port}`);
    expect(quietLine).toMatchObject({ close: 'idle' });
    const newcomer = await client();
    newcomer.send('let me in', port);
    const result = await drained;
    clearInterval(talk);
    expect(result).toMatchObject({ open: 2, closed: 1 });
    expect(await p.waitFlow((r) => r.client === `127.0.0.1:${busy.port}`)).toMatchObject({ close: 'shutdown' });
    expect(answered).toBeGreaterThan(0);
    expect(b.received.some((r) => r.msg.toString() === 'let me in')).toBe(false);
  });
});
