// End to end over real loopback sockets: real clients (openssl s_client, curl, Node tls) through
// Passthru to real backends, routed by the bundled TLS detector.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  bannerBackend,
  closedPort,
  exchange,
  recordingBackend,
  run,
  selfSigned,
  sha256,
  tcpBackend,
  tlsBackend,
  type Backend,
} from '../helpers/net.js';
import { startProxy, startProxy as startTestProxy, type TestProxy } from '../helpers/passthru.js';

const fixture = (name: string) => readFileSync(new URL(`../../plugins/tls/fixtures/${name}`, import.meta.url));

let a: Backend, wild: Backend, deep: Backend, fallbackTls: Backend, plain: Backend & { received: Buffer[] };
let proxy: TestProxy;

beforeAll(async () => {
  [a, wild, deep, fallbackTls] = await Promise.all([tlsBackend('a.test'), tlsBackend('wild.test'), tlsBackend('deep.wild.test'), tlsBackend('fallback.test')]);
  plain = await recordingBackend('plain-backend\n');
  proxy = await startProxy({
    version: 'v0.2.0',
    servers: {
      '127.0.0.1:0': {
        TLS: {
          'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${a.port}` },
          'SNI *.wild.test': { action: 'FORWARD', to_addr: `localhost:${wild.port}` },
          'SNI *.deep.wild.test': { action: 'FORWARD', to_addr: `127.0.0.1:${deep.port}` },
          'SNI reject.test': { action: 'REJECT' },
          CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${fallbackTls.port}` },
        },
        CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${plain.port}` } },
      },
    },
  }, { timeoutMs: 300 });
});

afterAll(async () => {
  await proxy?.stop(true);
  await Promise.all([a, wild, deep, fallbackTls, plain].map((b) => b?.close()));
});

function sClient(servername: string, extra: string[] = []) {
  return run('openssl', ['s_client', '-connect', `127.0.0.1:${proxy.port}`, '-servername', servername, '-ign_eof', '-quiet', ...extra]);
}

describe('TLS by SNI, real clients', () => {
  it('openssl s_client reaches the exact-SNI backend without Passthru terminating TLS', async () => {
    const r = await sClient('a.test', ['-alpn', 'h2,http/1.1']);
    expect(r.stdout).toBe('hello a.test sni=a.test\n');
    // The certificate the client saw is the backend's own.
    expect(r.stderr).toContain('CN = a.test');
    const rec = await proxy.waitLog((l) => l.event === 'connection' && l.rule === 'SNI a.test');
    expect(rec).toMatchObject({ protocol: 'TLS', action: 'FORWARD', detection: 'match', keys: ['SNI a.test', 'ALPN h2'] });
  });

  it('SNI matching ignores case; wildcards pick the most specific rule', async () => {
    expect((await sClient('A.Test')).stdout).toBe('hello a.test sni=A.Test\n');
    expect((await sClient('x.wild.test')).stdout).toBe('hello wild.test sni=x.wild.test\n');
    expect((await sClient('x.deep.wild.test')).stdout).toBe('hello deep.wild.test sni=x.deep.wild.test\n');
    // A wildcard never matches its base name: wild.test falls to the TLS CATCHALL rule.
    expect((await sClient('wild.test')).stdout).toBe('hello fallback.test sni=wild.test\n');
  });

  it('curl over https reaches the backend by SNI', async () => {
    const https = await import('node:https');
    const c = (await import('../helpers/net.js')).selfSigned('web.wild.test');
    const server = https.createServer({ key: c.key, cert: c.cert }, (_req, res) => res.end('curl-ok'));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const p2 = await startProxy({
      version: 'v0.2.0',
      servers: { '127.0.0.1:0': { TLS: { 'SNI web.wild.test': { action: 'FORWARD', to_addr: `127.0.0.1:${port}` } } } },
    });
    try {
      const r = await run('curl', ['-sk', '--resolve', `web.wild.test:${p2.port}:127.0.0.1`, `https://web.wild.test:${p2.port}/`]);
      expect(r.stdout).toBe('curl-ok');
    } finally {
      await p2.stop(true);
      server.close();
    }
  });

  it('REJECT closes the connection without a byte', async () => {
    const r = await sClient('reject.test');
    expect(r.stdout).toBe('');
    expect(await proxy.waitLog((l) => l.event === 'connection' && l.rule === 'SNI reject.test')).toMatchObject({ action: 'REJECT', close: 'rejected' });
  });

  it('non-TLS bytes go to the CATCHALL protocol at once, replayed byte-exactly', async () => {
    const req = Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
    const r = await exchange(proxy.port, [req]);
    expect(r.data.toString()).toBe('plain-backend\n');
    expect(plain.received.at(-1)).toEqual(req);
  });

  it('a ClientHello dribbled one byte at a time is detected and replayed exactly', async () => {
    const rec = await recordingBackend('got-it');
    const p2 = await startProxy({
      version: 'v0.2.0',
      servers: { '127.0.0.1:0': { TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${rec.port}` } } } },
    }, { timeoutMs: 30_000 });
    try {
      const hello = fixture('openssl-alpn.bin');
      const bytes = [...hello].map((b) => Buffer.from([b]));
      const r = await exchange(p2.port, bytes);
      expect(r.data.toString()).toBe('got-it');
      expect(rec.received[0]).toEqual(hello);
    } finally {
      await p2.stop(true);
      await rec.close();
    }
  });

  it('a ClientHello fragmented over several TLS records and segments routes by its SNI', async () => {
    const rec = await recordingBackend('frag-ok');
    const p2 = await startProxy({
      version: 'v0.2.0',
      servers: { '127.0.0.1:0': { TLS: { 'SNI frag.a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${rec.port}` } } } },
    });
    try {
      const hello = fixture('openssl-fragmented.bin');
      const parts = [hello.subarray(0, 7), hello.subarray(7, 100), hello.subarray(100)];
      const r = await exchange(p2.port, parts);
      expect(r.data.toString()).toBe('frag-ok');
      expect(rec.received[0]).toEqual(hello);
    } finally {
      await p2.stop(true);
      await rec.close();
    }
  });

  it('200 concurrent TLS connections each reach the right backend', async () => {
    const names = ['a.test', 'x.wild.test', 'y.deep.wild.test', 'other.test'];
    const expected: Record<string, string> = { 'a.test': 'a.test', 'x.wild.test': 'wild.test', 'y.deep.wild.test': 'deep.wild.test', 'other.test': 'fallback.test' };
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => {
        const servername = names[i % names.length]!;
        return new Promise<[string, string]>((resolve, reject) => {
          const s = tls.connect({ host: '127.0.0.1', port: proxy.port, servername, rejectUnauthorized: false });
          let got = '';
          s.on('data', (d) => (got += d));
          s.on('error', reject);
          s.on('close', () => resolve([servername, got]));
        });
      }),
    );
    for (const [servername, got] of results) expect(got).toBe(`hello ${expected[servername]} sni=${servername}\n`);
  });
});

// Both ways of reading sockets (host/io-mode.ts) must behave the same.
describe.each(['raw', 'fast', 'portable'] as const)('forwarding (%s io)', (io) => {
  const startProxy: typeof startTestProxy = (config, options = {}) => startTestProxy(config, { io, ...options });

  it('reads sockets the way it was asked to', async () => {
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'REJECT' } } } } });
    expect(p2.listeners[0]!.io).toBe(io);
    await p2.stop(true);
  });

  it('carries 16 MiB of TLS each way intact (a corrupted byte fails the TLS MAC)', async () => {
    const c = selfSigned('bulk.test');
    const SIZE = 16 * 1024 * 1024;
    const payload = randomBytes(SIZE);
    const server = tls.createServer({ key: c.key, cert: c.cert, allowHalfOpen: true }, (s) => {
      const h = createHash('sha256');
      s.on('data', (d: Buffer) => h.update(d));
      s.on('end', () => {
        s.write(h.digest('hex'));
        s.end(payload);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { TLS: { 'SNI bulk.test': { action: 'FORWARD', to_addr: `127.0.0.1:${port}` } } } } });
    try {
      const up = randomBytes(SIZE);
      const s = tls.connect({ host: '127.0.0.1', port: p2.port, servername: 'bulk.test', rejectUnauthorized: false });
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      await once(s, 'secureConnect');
      s.end(up);
      await once(s, 'end');
      const all = Buffer.concat(got);
      expect(all.subarray(0, 64).toString()).toBe(sha256(up));
      expect(sha256(all.subarray(64))).toBe(sha256(payload));
      s.destroy();
    } finally {
      await p2.stop(true);
      server.close();
    }
  });

  it('carries 32 MiB each way byte-exactly, with half-close in both orders', async () => {
    const SIZE = 32 * 1024 * 1024;
    const down = randomBytes(SIZE);
    // Backend: reads until the client's FIN, answers the sha256 of what it got, then 32 MiB, then FIN.
    const backend = await tcpBackend((s) => {
      const chunks: Buffer[] = [];
      s.on('data', (c: Buffer) => chunks.push(c));
      s.on('end', () => {
        s.write(sha256(chunks));
        s.end(down);
      });
    });
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { TLS: {}, CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    try {
      const up = randomBytes(SIZE);
      up[0] = 0x47; // not a TLS record: the CATCHALL protocol applies at once
      const chunks = Array.from({ length: 32 }, (_, i) => up.subarray(i * 1024 * 1024, (i + 1) * 1024 * 1024));
      const r = await exchange(p2.port, chunks);
      expect(r.data.subarray(0, 64).toString()).toBe(sha256(up));
      expect(sha256(r.data.subarray(64))).toBe(sha256(down));
      const log = await p2.waitLog((l) => l.event === 'connection');
      expect(log).toMatchObject({ bytes_up: SIZE, bytes_down: SIZE + 64, close: 'closed' });
    } finally {
      await p2.stop(true);
      await backend.close();
    }
  });

  it('the backend may finish first while the client keeps sending', async () => {
    let received!: Promise<number>;
    const backend = await tcpBackend((s) => {
      let n = 0;
      s.end('bye-first'); // FIN right away; keeps reading
      s.on('data', (c: Buffer) => (n += c.length));
      received = new Promise((resolve) => s.on('close', () => resolve(n)));
    });
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    try {
      const s = net.connect({ port: p2.port, host: '127.0.0.1', allowHalfOpen: true });
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      await once(s, 'end');
      expect(Buffer.concat(got).toString()).toBe('bye-first');
      const more = Buffer.alloc(4 * 1024 * 1024, 7);
      await new Promise<void>((r) => s.end(more, () => r()));
      await once(s, 'close');
      expect(await received).toBe(more.length);
      expect(await p2.waitLog((l) => l.event === 'connection')).toMatchObject({ close: 'closed', bytes_up: more.length });
    } finally {
      await p2.stop(true);
      await backend.close();
    }
  });

  it('a slow receiver does not make the proxy buffer a fast sender', async () => {
    // The backend never reads: the proxy must stop reading the client (backpressure), not queue it.
    const backend = await tcpBackend((s) => s.pause());
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    try {
      const s = net.connect({ port: p2.port, host: '127.0.0.1' });
      s.on('error', () => {});
      await once(s, 'connect');
      const SIZE = 64 * 1024 * 1024;
      s.write(Buffer.alloc(SIZE, 1));
      const paused = await p2.waitLog((l) => l.event === 'backpressure' && l.direction === 'up');
      // What the proxy holds for the backend is one read's worth, not the sender's megabytes.
      expect(paused.queued as number).toBeLessThan(1024 * 1024);
      // Kernel buffers on the way hold a few MiB at most; the rest stays with the sender.
      expect(s.writableLength).toBeGreaterThan(SIZE / 2);
      s.destroy();
      // The backend still has bytes queued for it, so only its going away ends the connection.
      await backend.close();
      await p2.waitLog((l) => l.event === 'connection');
    } finally {
      await p2.stop(true);
      await backend.close();
    }
  });

  it('a silent client gets the CATCHALL protocol after -t (server speaks first)', async () => {
    const ssh = await bannerBackend('SSH-2.0-test-banner\r\n');
    const p2 = await startProxy({
      version: 'v0.2.0',
      servers: { '127.0.0.1:0': { TLS: { CATCHALL: { action: 'REJECT' } }, CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${ssh.port}` } } } },
    }, { timeoutMs: 200 });
    try {
      const started = performance.now();
      const r = await exchange(p2.port, [], { end: false });
      expect(r.data.toString()).toBe('SSH-2.0-test-banner\r\n');
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
      expect(await p2.waitLog((l) => l.event === 'connection')).toMatchObject({ detection: 'timeout', protocol: 'CATCHALL' });
    } finally {
      await p2.stop(true);
      await ssh.close();
    }
  });

  it('backend down: the client is closed and logged, the next connection is served', async () => {
    const dead = await closedPort();
    const alive = await bannerBackend('alive');
    const p2 = await startProxy({
      version: 'v0.2.0',
      servers: {
        '127.0.0.1:0': {
          TLS: { 'SNI dead.test': { action: 'FORWARD', to_addr: `127.0.0.1:${dead}` } },
          CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${alive.port}` } },
        },
      },
    });
    try {
      const r1 = await run('openssl', ['s_client', '-connect', `127.0.0.1:${p2.port}`, '-servername', 'dead.test', '-quiet']);
      expect(r1.stdout).toBe('');
      expect(await p2.waitLog((l) => l.event === 'connection' && l.close === 'backend-refused')).toMatchObject({ level: 40, rule: 'SNI dead.test' });
      const r2 = await exchange(p2.port, [Buffer.from('hi')]);
      expect(r2.data.toString()).toBe('alive');
    } finally {
      await p2.stop(true);
      await alive.close();
    }
  });

  it('a backend that never answers the dial: the client is closed after the connect timeout', async () => {
    // A listener whose accept queue is full drops further SYNs, so the dial hangs: the real case of a
    // backend host that is down behind a firewall. Python's socket API lets the test hold the queue.
    const holder = spawn('python3', ['-c', 'import socket,sys\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\nsys.stdin.read()'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
    const port = Number(line.toString().trim());
    const fillers: net.Socket[] = [];
    try {
      // Fill the queue: connections the kernel completed but nobody accepts.
      for (let i = 0; i < 3; i++) {
        const f = net.connect({ port, host: '127.0.0.1' });
        f.on('error', () => {});
        fillers.push(f);
      }
      await Promise.all(fillers.slice(0, 1).map((f) => once(f, 'connect')));
      const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${port}` } } } } }, { connectTimeoutMs: 300 });
      try {
        const started = performance.now();
        const r = await exchange(p2.port, [Buffer.from('hello?')], { end: false });
        expect(r.data.length).toBe(0);
        // Closing a socket whose bytes were never read makes the kernel send RST rather than FIN
        // (the raw and fast paths stop reading at the decision; portable has read them).
        expect([undefined, 'ECONNRESET']).toContain(r.error);
        expect(performance.now() - started).toBeGreaterThanOrEqual(290);
        expect(await p2.waitLog((l) => l.event === 'connection')).toMatchObject({ close: 'connect-timeout', level: 40 });
      } finally {
        await p2.stop(true);
      }
    } finally {
      for (const f of fillers) f.destroy();
      holder.kill();
    }
  });

  it('no socket or timer outlives its connection', async () => {
    const backend = await tcpBackend((s) => {
      s.on('error', () => {});
      s.on('data', (d) => s.write(d));
      s.on('end', () => s.end());
    });
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { TLS: {}, CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    try {
      const count = (kind: string) => process.getActiveResourcesInfo().filter((r) => r === kind).length;
      const tcpBefore = count('TCPWrap') + count('TCPSocketWrap');
      const N = 50;
      const results = await Promise.all(Array.from({ length: N }, (_, i) => exchange(p2.port, [Buffer.from(`ping ${i}`)])));
      results.forEach((r, i) => expect(r.data.toString()).toBe(`ping ${i}`));
      await p2.waitLogs((l) => l.event === 'connection', N);
      expect(p2.listeners[0]!.openConnections).toBe(0);
      // Client sockets of this test, proxy sockets both ways, backend sockets: all gone.
      expect(count('TCPWrap') + count('TCPSocketWrap')).toBe(tcpBefore);
    } finally {
      await p2.stop(true);
      await backend.close();
    }
  });

  it('a backend reset reaches the client as a reset', async () => {
    const backend = await tcpBackend((s) => {
      s.on('error', () => {});
      s.once('data', () => s.resetAndDestroy());
    });
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    try {
      const r = await exchange(p2.port, [Buffer.from('trigger')], { end: false });
      expect(r.error).toBe('ECONNRESET');
      expect((await p2.waitLog((l) => l.event === 'connection')).close).toBe('backend-reset');
    } finally {
      await p2.stop(true);
      await backend.close();
    }
  });

  it('a client reset reaches the backend as a reset', async () => {
    let backendError!: Promise<string>;
    const backend = await tcpBackend((s) => {
      backendError = new Promise((resolve) => {
        s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
        s.on('close', () => resolve('closed without error'));
      });
      s.write('ready');
    });
    const p2 = await startProxy({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    try {
      const s = net.connect({ port: p2.port, host: '127.0.0.1' });
      await once(s, 'data');
      s.resetAndDestroy();
      expect((await p2.waitLog((l) => l.event === 'connection')).close).toBe('client-reset');
      expect(await backendError).toBe('ECONNRESET');
    } finally {
      await p2.stop(true);
      await backend.close();
    }
  });
});

describe('detection budget per connection', () => {
  it('a client dribbling a long first flight gets the CATCHALL protocol once it has cost its budget', async () => {
    const fallback = await bannerBackend('fallback');
    // A tiny per-call budget makes the cap (8 calls' worth) bite within a few hundred bytes.
    const p2 = await startProxy({
      version: 'v0.2.0',
      servers: { '127.0.0.1:0': { TLS: { CATCHALL: { action: 'REJECT' } }, CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${fallback.port}` } } } },
    }, { fuel: 20_000, timeoutMs: 30_000 });
    try {
      const hello = fixture('node-big-alpn.bin');
      const s = net.connect({ port: p2.port, host: '127.0.0.1', noDelay: true });
      s.on('error', () => {});
      const got = new Promise<string>((resolve) => {
        let data = '';
        s.on('data', (d) => (data += d));
        s.on('close', () => resolve(data));
      });
      await once(s, 'connect');
      for (let i = 0; i < hello.length && !s.destroyed; i++) {
        await new Promise<void>((r) => s.write(hello.subarray(i, i + 1), () => r()));
        // Let the in-process proxy read this byte on its own (setImmediate runs after I/O polling).
        await new Promise((r) => setImmediate(r));
        if (p2.logs.some((l) => l.event === 'connection')) break;
      }
      const rec = await p2.waitLog((l) => l.event === 'connection');
      expect(rec).toMatchObject({ detection: 'budget', protocol: 'CATCHALL' });
      expect(rec.bytes_in as number).toBeLessThan(hello.length);
      expect(await got).toBe('fallback');
    } finally {
      await p2.stop(true);
      await fallback.close();
    }
  });
});
