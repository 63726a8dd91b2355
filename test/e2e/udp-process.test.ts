// `passthru -c cfg.json` as a real process serving udp:// servers next to TCP ones: real dig (DNS
// over UDP and TCP on one port number, routed by QNAME to two tiny DNS servers), the UDP flags, the
// flow log, and SIGTERM with UDP flows open.
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { unframeDatagrams } from '../../host/udp/datagram-window.js';
import { spawnPassthru } from '../helpers/cli-process.js';
import { fixtureDir } from '../helpers/detector-fixtures.js';
import { spawnUdpPassthru, udpBackend, udpClient, type UdpPassthruProcess } from '../helpers/udp.js';

const run = promisify(execFile);
const OPENVPN_RESET = unframeDatagrams(readFileSync(`${fixtureDir('openvpn')}openvpn-udp.bin`))[0]!;

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

async function passthru(config: unknown, args: string[] = []): Promise<UdpPassthruProcess> {
  const p = await spawnUdpPassthru(config, args);
  cleanup.push(async () => {
    if (p.child.exitCode === null) {
      p.kill('SIGKILL');
      await p.exited;
    }
  });
  return p;
}

/** The answer to a DNS query (RFC 1035 §4.1): the question echoed, one A record `ip` with a pointer to it. */
function answer(query: Buffer, ip: string): Buffer | undefined {
  if (query.length < 12) return undefined;
  let at = 12;
  while (at < query.length && query[at] !== 0) at += 1 + query[at]!;
  const qEnd = at + 5; // the root label, QTYPE, QCLASS
  if (qEnd > query.length) return undefined;
  const header = Buffer.from([query[0]!, query[1]!, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
  const rr = Buffer.from([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...ip.split('.').map(Number)]);
  return Buffer.concat([header, query.subarray(12, qEnd), rr]);
}

/** A DNS server answering every A query with `ip`, over UDP and TCP (u16 length framing) on one port number. */
async function dnsServer(ip: string): Promise<{ port: number; udpQueries: number; tcpQueries: number; close(): Promise<void> }> {
  const s = { port: 0, udpQueries: 0, tcpQueries: 0, close: async () => {} };
  const udp = await udpBackend({ reply: (q) => (s.udpQueries++, answer(q, ip)) });
  const tcp = net.createServer((c) => {
    let buf = Buffer.alloc(0);
    c.on('error', () => {});
    c.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const q = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + q.length);
        s.tcpQueries++;
        const a = answer(q, ip);
        if (a) c.write(Buffer.concat([Buffer.from([a.length >> 8, a.length & 255]), a]));
      }
    });
  });
  tcp.listen(udp.port, '127.0.0.1');
  await once(tcp, 'listening');
  s.port = udp.port;
  s.close = async () => {
    await udp.close();
    await new Promise<void>((resolve) => tcp.close(() => resolve()));
  };
  cleanup.push(() => s.close());
  return s;
}

/** A port number free for both TCP and UDP on loopback (the OS picks the UDP one; TCP is tried on it). */
async function freePortBoth(): Promise<number> {
  for (;;) {
    const u = dgram.createSocket('udp4');
    u.bind(0, '127.0.0.1');
    await once(u, 'listening');
    const port = u.address().port;
    const t = net.createServer();
    const ok = await new Promise<boolean>((resolve) => {
      t.once('error', () => resolve(false));
      t.listen(port, '127.0.0.1', () => resolve(true));
    });
    await new Promise<void>((resolve) => u.close(() => resolve()));
    if (ok) {
      await new Promise<void>((resolve) => t.close(() => resolve()));
      return port;
    }
  }
}

const dig = async (port: number, name: string, tcp = false): Promise<string> =>
  (await run('dig', [...(tcp ? ['+tcp'] : []), '+short', '+tries=1', '+time=5', '-p', String(port), '@127.0.0.1', name, 'A'])).stdout.trim();

describe('passthru -c with udp:// servers (a real process)', () => {
  it('dig over UDP and over TCP to one port number, routed by QNAME to two DNS servers', async () => {
    const a = await dnsServer('192.0.2.1');
    const b = await dnsServer('192.0.2.2');
    const port = await freePortBoth();
    const dns = (s: { port: number }) => ({ action: 'FORWARD', to_addr: `127.0.0.1:${s.port}` });
    const rules = { 'QNAME *.a.test': dns(a), 'QNAME b.test': dns(b), CATCHALL: { action: 'REJECT' } };
    const p = await passthru({ version: 'v0.2.0', servers: { [`udp://127.0.0.1:${port}`]: { DNS: rules }, [`127.0.0.1:${port}`]: { DNS: rules } } });
    expect(p.udpPort).toBe(port);
    expect(await dig(port, 'www.a.test')).toBe('192.0.2.1');
    expect(await dig(port, 'b.test')).toBe('192.0.2.2');
    expect(await dig(port, 'WWW.Deep.A.Test')).toBe('192.0.2.1');
    expect(await dig(port, 'b.test', true)).toBe('192.0.2.2');
    expect([a.udpQueries, b.udpQueries, a.tcpQueries, b.tcpQueries]).toEqual([2, 1, 0, 1]);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
    // Every dig query came from a port of its own: a flow each; at SIGTERM each ends once quiet for DRAIN_IDLE_MS.
    const flows = p.lines.filter((l) => l.event === 'flow');
    expect(flows).toHaveLength(3);
    expect(flows.map((f) => f.keys)).toEqual(
      expect.arrayContaining([
        ['QNAME www.a.test', 'QTYPE A'],
        ['QNAME b.test', 'QTYPE A'],
        ['QNAME www.deep.a.test', 'QTYPE A'],
      ]),
    );
    for (const f of flows) expect(f).toMatchObject({ protocol: 'DNS', detection: 'match', datagrams_up: 1, datagrams_down: 1, close: 'idle' });
  });

  it('--udp-idle-timeout: a flow ends after it, with its line; a real OpenVPN reset reaches the echo backend', async () => {
    const echo = await udpBackend({ name: 'echo' });
    cleanup.push(() => echo.close());
    const p = await passthru(
      { version: 'v0.2.0', servers: { 'udp://127.0.0.1:0': { OPENVPN: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${echo.port}` } } } } },
      ['--udp-idle-timeout', '300ms'],
    );
    const c = await udpClient();
    cleanup.push(() => c.close());
    expect((await c.ask(OPENVPN_RESET, p.udpPort)).subarray(0, 5).toString()).toBe('echo:');
    const line = await p.waitFlow((l) => l.client === `127.0.0.1:${c.port}`);
    expect(line).toMatchObject({ close: 'idle', protocol: 'OPENVPN', datagrams_up: 1, datagrams_down: 1 });
    expect(line.ms as number).toBeGreaterThanOrEqual(300);
  });

  it('--udp-max-flows: the N+1th client is dropped and the drop is logged', async () => {
    const echo = await udpBackend();
    cleanup.push(() => echo.close());
    const p = await passthru({ version: 'v0.2.0', servers: { 'udp://127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${echo.port}` } } } } }, ['--udp-max-flows', '2']);
    const cs = await Promise.all([udpClient(), udpClient(), udpClient()]);
    cleanup.push(() => cs.forEach((c) => c.close()));
    await cs[0]!.ask('one', p.udpPort);
    await cs[1]!.ask('two', p.udpPort);
    cs[2]!.send('three', p.udpPort);
    const warn = await p.waitLine((l) => l.event === 'refused' && l.transport === 'udp');
    expect(warn).toMatchObject({ reason: 'max-flows', max_flows: 2 });
  });

  it('bad UDP flags are usage errors (exit 2)', async () => {
    for (const args of [
      ['--udp-max-flows', '0'],
      ['--udp-idle-timeout', '0s'],
      ['--udp-idle-timeout', 'soon'],
    ]) {
      const p = spawnPassthru(['-c', '/nonexistent.json', ...args]);
      expect(await p.exited).toBe(2);
      expect(p.stderr()).toMatch(/--udp-(max-flows|idle-timeout)/);
    }
  });
});

describe('UDP with -w 2', () => {
  it('one worker serves each UDP port, the other stands by; when the serving worker dies its replacement takes the port over', async () => {
    const echo = await udpBackend({ name: 'echo' });
    cleanup.push(() => echo.close());
    // A fixed port: with port 0 each worker would bind a port of its own.
    const port = await freePortBoth();
    const address = `udp://127.0.0.1:${port}`;
    const p = await passthru({ version: 'v0.2.0', servers: { [address]: { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${echo.port}` } } } } }, ['-w', '2']);
    const standby = await p.waitLine((l) => l.event === 'udp-standby' && l.listener === address);
    const serving = await p.waitLine((l) => l.event === 'listening' && l.transport === 'udp');
    expect(serving.pid).not.toBe(standby.pid);
    const c = await udpClient();
    cleanup.push(() => c.close());
    expect((await c.ask('one', port)).toString()).toBe('echo:one');
    process.kill(serving.pid as number, 'SIGKILL');
    const taken = await p.waitLine((l) => l.event === 'listening' && l.transport === 'udp' && l.pid !== serving.pid);
    expect(taken.pid).not.toBe(standby.pid);
    // The old flow died with its worker: the client's next datagram is a new flow at the new worker.
    expect((await c.ask('two', port)).toString()).toBe('echo:two');
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });
});
