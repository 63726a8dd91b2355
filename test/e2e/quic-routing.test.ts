// Issue 13's "done when": real QUIC connections through one UDP port, each routed by the SNI of its
// encrypted Initial to its own backend. Two real ngtcp2 servers (gtlsserver, Debian ngtcp2-server)
// serve different index.html files; real ngtcp2 clients (gtlsclient, ngtcp2-client) complete the
// handshake and an HTTP/3 GET through Passthru, which never holds a key or a certificate.
//
// ngtcp2 0.12's client sends its <HOST> argument as the SNI (an IP literal becomes "localhost"; its
// --sni option is not used), so each client runs in a private mount namespace with /etc/hosts bound
// to a file that maps the test names to 127.0.0.1 (`unshare -m`, root, as plugins/quic/capture.sh).
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selfSigned } from '../helpers/net.js';
import { spawnUdpPassthru, type UdpPassthruProcess } from '../helpers/udp.js';

const dir = mkdtempSync(join(tmpdir(), 'passthru-quic-e2e-'));
const hosts = join(dir, 'hosts');

/** A UDP port free right now (bound, then released): gtlsserver takes its port on the command line. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * Resolves once a QUIC server answers on `port`: a long-header packet of a reserved version
 * (0x?a?a?a?a, RFC 9000 §15) padded to 1200 bytes must get a Version Negotiation packet back
 * (§6.1). The socket is connected, so a probe that arrives before the server binds comes back as
 * ECONNREFUSED (the ICMP port unreachable), and the next probe goes out on that event.
 */
async function quicServerReady(port: number): Promise<void> {
  const probe = Buffer.alloc(1200);
  probe[0] = 0xc0;
  probe.writeUInt32BE(0x1a2a3a4a, 1);
  probe[5] = 8; // DCID length, then 8 bytes of DCID
  probe.fill(0x11, 6, 14);
  probe[14] = 0; // SCID length
  const s = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      s.on('message', (m) => {
        if (m.length >= 5 && (m[0]! & 0x80) !== 0 && m.readUInt32BE(1) === 0) resolve();
      });
      s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' ? s.send(probe) : reject(e)));
      s.connect(port, '127.0.0.1', () => s.send(probe));
    });
  } finally {
    s.close();
  }
}

interface QuicBackend {
  port: number;
  stop(): void;
}

/** gtlsserver for `name` on a free port, its document root holding index.html = "backend NAME". */
async function quicBackend(name: string): Promise<QuicBackend> {
  const cert = selfSigned(name);
  const root = join(dir, `www-${name}`);
  mkdirSync(root);
  writeFileSync(join(root, 'index.html'), `backend ${name}\n`);
  const port = await freeUdpPort();
  const child = spawn('gtlsserver', ['-q', '-d', root, '127.0.0.1', String(port), cert.keyFile, cert.certFile], { stdio: 'ignore' });
  await quicServerReady(port);
  return { port, stop: () => child.kill('SIGKILL') };
}

interface ClientRun {
  code: number | null;
  body?: string;
}

/** gtlsclient connecting to `name` (resolved to 127.0.0.1) on `port` and GETting /index.html over HTTP/3. */
function quicGet(name: string, port: number, idle = '5s'): { done: Promise<ClientRun>; kill(): void } {
  const dl = join(dir, `dl-${name}-${Math.random().toString(36).slice(2)}`);
  mkdirSync(dl);
  const cmd = `mount --bind ${hosts} /etc/hosts && exec gtlsclient -q --exit-on-all-streams-close --timeout=${idle} --download=${dl} ${name} ${port} https://${name}/index.html`;
  const child = spawn('unshare', ['-m', 'sh', '-c', cmd], { stdio: 'ignore' });
  const done = once(child, 'exit').then(([code]) => {
    let body: string | undefined;
    try {
      body = readFileSync(join(dl, 'index.html'), 'utf8');
    } catch {
      body = undefined;
    }
    return { code: code as number | null, body };
  });
  return { done, kill: () => child.kill('SIGKILL') };
}

const canUnshare = spawnSync('unshare', ['-m', 'true']).status === 0;

describe('QUIC routed by SNI through one UDP port (real ngtcp2 client and servers)', () => {
  let a: QuicBackend;
  let b: QuicBackend;
  let p: UdpPassthruProcess;

  beforeAll(async () => {
    if (!canUnshare) throw new Error('this test needs `unshare -m` (root) to give gtlsclient its host names; see the header comment');
    writeFileSync(hosts, '127.0.0.1 localhost\n127.0.0.1 a.test b.test c.test\n');
    [a, b] = await Promise.all([quicBackend('a.test'), quicBackend('b.test')]);
    const rules = {
      QUIC: {
        'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${a.port}` },
        'SNI b.test': { action: 'FORWARD', to_addr: `127.0.0.1:${b.port}` },
      },
      CATCHALL: { CATCHALL: { action: 'REJECT' } },
    };
    // A short idle timeout so that each flow's log line (written when the flow ends) comes soon
    // after its client has gone.
    p = await spawnUdpPassthru({ version: 'v0.2.0', servers: { 'udp://127.0.0.1:0': rules } }, ['--udp-idle-timeout', '400ms']);
  }, 30_000);

  afterAll(async () => {
    a?.stop();
    b?.stop();
    if (p && p.child.exitCode === null) {
      p.kill('SIGKILL');
      await p.exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('two clients at once each complete a handshake and an HTTP/3 GET with their own backend', async () => {
    const [ra, rb] = await Promise.all([quicGet('a.test', p.udpPort).done, quicGet('b.test', p.udpPort).done]);
    expect(ra).toEqual({ code: 0, body: 'backend a.test\n' });
    expect(rb).toEqual({ code: 0, body: 'backend b.test\n' });

    const [fa, fb] = await Promise.all([p.waitFlow((l) => l.rule === 'SNI a.test'), p.waitFlow((l) => l.rule === 'SNI b.test')]);
    for (const [f, port] of [[fa, a.port], [fb, b.port]] as const) {
      expect(f).toMatchObject({ protocol: 'QUIC', action: 'FORWARD', to_addr: `127.0.0.1:${port}`, close: 'idle' });
      expect(f.keys).toEqual(expect.arrayContaining([expect.stringMatching(/^SNI /)]));
      // The whole connection went both ways through the flow: handshake, request, response, close.
      expect(f.datagrams_up as number).toBeGreaterThan(2);
      expect(f.datagrams_down as number).toBeGreaterThan(2);
    }
  }, 30_000);

  it('a client whose SNI no rule names is rejected at its first Initial and reaches no backend', async () => {
    const c = quicGet('c.test', p.udpPort);
    const flow = await p.waitFlow((l) => l.rule === 'CATCHALL' && l.protocol === 'QUIC');
    c.kill();
    const r = await c.done;
    expect(r.body).toBeUndefined();
    expect(flow).toMatchObject({ action: 'REJECT', datagrams_down: 0 });
    expect(flow.keys).toEqual(expect.arrayContaining(['SNI c.test']));
  }, 30_000);
});
