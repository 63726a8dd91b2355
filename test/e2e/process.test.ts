// Passthru as a real process: signals (SIGTERM drain, SIGHUP reload), --metrics scraped with curl,
// workers (-w 2) replaced when killed, and a real haproxy in front of an accept_proxy listener.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProxyHeader, ProxyParse } from '../../host/proxy-protocol.js';
import { spawnPassthru, type LogLine, type PassthruProcess } from '../helpers/cli-process.js';
import { closedPort, exchange, run, tcpBackend, tlsBackend, type Backend } from '../helpers/net.js';
import { writeConfig } from '../helpers/passthru.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

function passthru(args: string[]): PassthruProcess {
  const p = spawnPassthru(args);
  cleanup.push(async () => {
    p.kill('SIGKILL');
    await p.exited;
  });
  return p;
}

async function backend(handler: (s: net.Socket) => void): Promise<Backend> {
  const b = await tcpBackend((s) => {
    s.on('error', () => {});
    handler(s);
  });
  cleanup.push(() => b.close());
  return b;
}

const echo = () => backend((s) => s.pipe(s));
const catchall = (to: string) => ({ CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: to } } });

function connect(port: number): Promise<net.Socket> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => {});
  return once(s, 'connect').then(() => s);
}

async function roundTrip(s: net.Socket, text: string): Promise<string> {
  let got = '';
  const done = new Promise<string>((resolve, reject) => {
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= text.length) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
    const gone = (): void => reject(new Error(`closed after ${got.length} of ${text.length} bytes`));
    // The peer may have gone before this call (a killed worker's connections).
    if (s.readableEnded || s.destroyed) gone();
    s.once('close', gone);
    s.once('end', gone);
  });
  s.write(text);
  return done;
}

/** Sockets a process holds open (Linux /proc). */
function socketCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).filter((fd) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('socket:');
    } catch {
      return false;
    }
  }).length;
}

const listeningPort = (p: PassthruProcess) => p.waitLine((l) => l.event === 'listening').then((l) => l.port as number);

describe('signals', () => {
  it('SIGTERM during a transfer: no new connections, the transfer finishes, exit 0', async () => {
    const a = await echo();
    const port = await closedPort();
    const p = passthru(['-c', writeConfig({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: catchall(`127.0.0.1:${a.port}`) } })]);
    await listeningPort(p);
    const s = await connect(port);
    expect(await roundTrip(s, 'before')).toBe('before');
    p.kill('SIGTERM');
    await p.waitLine((l) => l.event === 'shutdown');
    const big = 'z'.repeat(1024 * 1024);
    expect(await roundTrip(s, big)).toBe(big);
    s.end();
    expect(await p.exited).toBe(0);
    expect(p.lines.find((l) => l.event === 'drained')).toMatchObject({ open: 1, closed: 0 });
    expect(p.lines.find((l) => l.event === 'connection')).toMatchObject({ close: 'closed', bytes_up: 6 + big.length });
  });

  it('SIGHUP reloads the config file: new rules for new connections', async () => {
    const [a, b] = await Promise.all([backend((s) => s.end('a')), backend((s) => s.end('b'))]);
    const port = await closedPort();
    const file = writeConfig({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: catchall(`127.0.0.1:${a.port}`) } });
    const p = passthru(['-c', file]);
    await listeningPort(p);
    expect((await exchange(port, [Buffer.from('x')])).data.toString()).toBe('a');
    writeFileSync(file, JSON.stringify({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: catchall(`127.0.0.1:${b.port}`) } }));
    p.kill('SIGHUP');
    const reload = await p.waitLine((l) => l.event === 'reload');
    expect(reload).toMatchObject({ result: 'ok', kept: [`127.0.0.1:${port}`] });
    expect(typeof reload.ms).toBe('number');
    expect((await exchange(port, [Buffer.from('x')])).data.toString()).toBe('b');
  });
});

describe('--metrics', () => {
  it('curl /metrics shows the connections just made; /healthz answers ok', async () => {
    const a = await echo();
    const file = writeConfig({
      version: 'v0.2.0',
      servers: { '127.0.0.1:0': { HTTP: { 'HOST a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${a.port}` } }, CATCHALL: { CATCHALL: { action: 'REJECT' } } } },
    });
    const p = passthru(['-c', file, '--metrics', '127.0.0.1:0', '-t', '200ms']);
    const port = await listeningPort(p);
    const mport = (await p.waitLine((l) => l.event === 'metrics-listening')).port as number;
    const request = 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n';
    for (let i = 0; i < 3; i++) await exchange(port, [Buffer.from(request)]);
    await exchange(port, [Buffer.from('garbage that is no protocol\r\n\r\n')]);
    await p.waitLines((l) => l.event === 'connection', 4);
    const m = await run('curl', ['-sS', `http://127.0.0.1:${mport}/metrics`]);
    expect(m.code).toBe(0);
    expect(m.stdout).toContain('passthru_connections_accepted_total{listener="127.0.0.1:0"} 4');
    expect(m.stdout).toContain('passthru_connections_closed_total{listener="127.0.0.1:0",protocol="HTTP",rule="HOST a.test",action="FORWARD",close="closed"} 3');
    expect(m.stdout).toContain('passthru_connections_closed_total{listener="127.0.0.1:0",protocol="CATCHALL",rule="CATCHALL",action="REJECT",close="rejected"} 1');
    expect(m.stdout).toContain(`passthru_bytes_total{listener="127.0.0.1:0",protocol="HTTP",rule="HOST a.test",direction="up"} ${3 * request.length}`);
    expect(m.stdout).toContain('passthru_detection_outcomes_total{listener="127.0.0.1:0",outcome="match"} 3');
    expect(m.stdout).toMatch(/passthru_detection_seconds_count\{listener="127\.0\.0\.1:0"\} 4/);
    expect(m.stdout).toContain('passthru_connections_active{listener="127.0.0.1:0"} 0');
    expect(m.stdout).toMatch(/^passthru_process_resident_memory_bytes \d+/m);
    const h = await run('curl', ['-sS', '-w', ' %{http_code}', `http://127.0.0.1:${mport}/healthz`]);
    expect(h.stdout).toBe('ok\n 200');
  });
});

describe('workers', () => {
  it.each(['rr', 'none'])('-w 2 --scheduling %s: a killed worker is replaced; connections on the other one are untouched', async (scheduling) => {
    const a = await echo();
    const port = await closedPort();
    const p = passthru(['-c', writeConfig({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: catchall(`127.0.0.1:${a.port}`) } }), '-w', '2', '--scheduling', scheduling]);
    const started = await p.waitLines((l) => l.event === 'worker-started', 2);
    await p.waitLines((l) => l.event === 'listening', 2);
    // Long-lived connections, spread over both workers (which one took each is in no log until it ends).
    const sockets = await Promise.all(Array.from({ length: 8 }, () => connect(port)));
    for (const [i, s] of sockets.entries()) expect(await roundTrip(s, `hello ${i}`)).toBe(`hello ${i}`);
    // The victim is the worker holding more of them (Linux: its open sockets), so its death shows.
    const [victim, survivor] = started.map((l) => l.pid as number).sort((x, y) => socketCount(y) - socketCount(x)) as [number, number];
    process.kill(victim, 'SIGKILL');
    const exit = await p.waitLine((l) => l.event === 'worker-exit');
    expect(exit).toMatchObject({ pid: victim, signal: 'SIGKILL' });
    await p.waitLines((l) => l.event === 'worker-started', 3);
    await p.waitLines((l) => l.event === 'listening', 3);
    // Each connection either died with its worker or works as before: none broken half-way.
    const outcomes = await Promise.all(sockets.map((s, i) => roundTrip(s, `after ${i}`).then((r) => r === `after ${i}`, () => 'closed')));
    const alive = outcomes.filter((o) => o === true).length;
    expect(outcomes.every((o) => o === true || o === 'closed')).toBe(true);
    // New connections all succeed, on the survivor and the replacement.
    for (let i = 0; i < 10; i++) expect((await exchange(port, [Buffer.from(`n${i}`)])).data.toString()).toBe(`n${i}`);
    for (const s of sockets) s.end();
    // The survivor's long connections end normally, each logged by it with every byte through: the
    // ones alive are exactly the survivor's (the victim logged none: it was killed).
    const isLong = (l: LogLine) => l.event === 'connection' && (l.bytes_up as number) > 4;
    const survivorLines = await p.waitLines(isLong, alive);
    expect(survivorLines.every((l) => l.pid === survivor)).toBe(true);
    expect(survivorLines.every((l) => l.close === 'closed')).toBe(true);
    expect(p.lines.filter(isLong)).toHaveLength(alive);
    expect(alive).toBeLessThan(sockets.length);
    p.kill('SIGTERM');
    expect(await p.exited).toBe(0);
  });

  it('-w 2 with --metrics: the primary serves the sum over workers', async () => {
    const a = await echo();
    const port = await closedPort();
    const p = passthru(['-c', writeConfig({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: catchall(`127.0.0.1:${a.port}`) } }), '-w', '2', '--metrics', '127.0.0.1:0']);
    await p.waitLines((l) => l.event === 'listening', 2);
    const mport = (await p.waitLine((l) => l.event === 'metrics-listening')).port as number;
    for (let i = 0; i < 6; i++) await exchange(port, [Buffer.from('x')]);
    await p.waitLines((l) => l.event === 'connection', 6);
    const m = await run('curl', ['-sS', `http://127.0.0.1:${mport}/metrics`]);
    expect(m.stdout).toContain(`passthru_connections_accepted_total{listener="127.0.0.1:${port}"} 6`);
  });

  it('a bad config with -w 2: the primary exits 1 instead of respawning forever', async () => {
    const p = passthru(['-c', writeConfig({ version: 'v0.2.0', servers: { '127.0.0.1:0': { NOPE: {} } } }), '-w', '2']);
    expect(await p.exited).toBe(1);
    expect(p.stderr()).toContain('no detector provides protocol NOPE');
  });
});

const HAPROXY = '/usr/sbin/haproxy';

/** Resolves once `port` accepts a connection, trying again as soon as each attempt is refused. */
async function untilAccepting(port: number): Promise<void> {
  for (let i = 0; ; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    if (i > 20_000) throw new Error(`nothing accepts on port ${port}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe.skipIf(!existsSync(HAPROXY))('haproxy in front (send-proxy-v2) of an accept_proxy listener', () => {
  it('routes by SNI and passes the real client address on to the backend', async () => {
    const a = await tlsBackend('a.test');
    cleanup.push(() => a.close());
    // The second backend reads the PROXY header Passthru sends it.
    const headers: Buffer[] = [];
    let seen: () => void;
    const headerSeen = new Promise<void>((resolve) => (seen = resolve));
    const b = await backend((s) => {
      let buf = Buffer.alloc(0);
      s.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (headers.length === 0 && decodeProxyHeader(buf).state === ProxyParse.HEADER) {
          headers.push(buf);
          seen();
        }
      });
    });
    const port = await closedPort();
    const file = writeConfig({
      version: 'v0.2.0',
      servers: {
        [`127.0.0.1:${port}`]: {
          options: { accept_proxy: true },
          TLS: {
            'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${a.port}` },
            'SNI b.test': { action: 'FORWARD', to_addr: `127.0.0.1:${b.port}`, send_proxy: 'v1' },
          },
        },
      },
    });
    const p = passthru(['-c', file]);
    await listeningPort(p);
    const front = await closedPort();
    const dir = mkdtempSync(join(tmpdir(), 'passthru-haproxy-'));
    writeFileSync(
      join(dir, 'haproxy.cfg'),
      [
        'global',
        '  log stderr format raw local0 info',
        'defaults',
        '  mode tcp',
        '  timeout connect 5s',
        '  timeout client 30s',
        '  timeout server 30s',
        'frontend front',
        `  bind 127.0.0.1:${front}`,
        '  default_backend passthru',
        'backend passthru',
        `  server p 127.0.0.1:${port} send-proxy-v2`,
        '',
      ].join('\n'),
    );
    const haproxy = spawn(HAPROXY, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
    cleanup.push(async () => {
      haproxy.kill('SIGKILL');
      await once(haproxy, 'exit').catch(() => {});
    });
    // haproxy says nothing when it is ready: retry the connect on each refusal until its frontend accepts.
    await untilAccepting(front);
    // The probe above reached Passthru as a connection with a PROXY header and no bytes: it is logged, not refused.
    const tlsA = await run('openssl', ['s_client', '-connect', `127.0.0.1:${front}`, '-servername', 'a.test', '-brief'], 'Q\n');
    expect(tlsA.stdout + tlsA.stderr).toMatch(/CN ?= ?a\.test/);
    const line = await p.waitLine((l) => l.event === 'connection' && l.rule === 'SNI a.test');
    expect(line.via).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(line.client).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(line.client).not.toBe(line.via);

    // b.test: the client's own source port must reach the backend through haproxy and Passthru.
    const client = tls.connect({ port: front, host: '127.0.0.1', servername: 'b.test', rejectUnauthorized: false });
    client.on('error', () => {});
    await once(client, 'connect');
    const clientPort = client.localPort!;
    await headerSeen;
    client.destroy();
    const r = decodeProxyHeader(headers[0]!);
    expect(r.state).toBe(ProxyParse.HEADER);
    if (r.state !== ProxyParse.HEADER) return;
    expect(r.header.source).toEqual({ address: '127.0.0.1', port: clientPort });
    expect(r.header.destination).toEqual({ address: '127.0.0.1', port: front });
  });
});
