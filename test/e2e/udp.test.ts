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
