// Production operations in-process, over real loopback sockets: limits, idle timeout, several
// backends per rule, PROXY protocol both ways, reload, drain, IPv6.
import { once } from 'node:events';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeProxyHeader, encodeProxyV1, encodeProxyV2, ProxyParse, type ProxyHeader } from '../../host/proxy-protocol.js';
import { closedPort, exchange, tcpBackend, type Backend } from '../helpers/net.js';
import { startProxy, type TestProxy } from '../helpers/passthru.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((f) => f()));
});

async function proxyOf(config: unknown, options: Parameters<typeof startProxy>[1] = {}): Promise<TestProxy> {
  const p = await startProxy(config, options);
  cleanup.push(() => p.stop(true));
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

/** Answers every connection with `name` and the bytes it received, when the client half-closes. */
const named = (name: string) =>
  backend((s) => {
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', () => s.end(`${name}:${Buffer.concat(got).toString()}`));
  });

/** Echoes every byte back as it comes, and closes when the client does. */
const echo = () => backend((s) => s.pipe(s));

/** Reads a PROXY header first, reports it with the bytes after it. */
async function proxyReader(): Promise<Backend & { headers: Promise<{ header: ProxyHeader; rest: Buffer }>[] }> {
  const headers: Promise<{ header: ProxyHeader; rest: Buffer }>[] = [];
  const b = await backend((s) => {
    headers.push(
      new Promise((resolve, reject) => {
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => (buf = Buffer.concat([buf, d])));
        s.on('end', () => {
          const r = decodeProxyHeader(buf);
          s.end('ok');
          if (r.state === ProxyParse.HEADER) resolve({ header: r.header, rest: buf.subarray(r.header.length) });
          else reject(new Error(`no PROXY header: ${JSON.stringify(r)}`));
        });
      }),
    );
  });
  return Object.assign(b, { headers });
}

function connect(port: number, host = '127.0.0.1'): Promise<net.Socket> {
  const s = net.connect({ port, host, allowHalfOpen: true });
  s.on('error', () => {});
  return once(s, 'connect').then(() => s);
}

/** Resolves with the error code (or 'closed') when `s` ends. */
function ended(s: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let code = 'closed';
    s.on('error', (e: NodeJS.ErrnoException) => (code = e.code ?? e.message));
    s.on('close', () => resolve(code));
    // Half-open sockets: the peer's FIN gets ours back, so the socket closes.
    s.on('end', () => s.end());
    s.resume();
  });
}

/** Writes `text` and resolves with the next `text.length` bytes echoed back. */
async function roundTrip(s: net.Socket, text: string): Promise<string> {
  let got = '';
  const done = new Promise<string>((resolve) => {
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= text.length) {
        s.off('data', onData);
        resolve(got);
      }
    };
    s.on('data', onData);
  });
  s.write(text);
  return done;
}

const catchall = (to: unknown, extra: Record<string, unknown> = {}) => ({ CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: to, ...extra } } });
const config = (servers: Record<string, unknown>) => ({ version: 'v0.2.0', servers });

describe('limits', () => {
  it('max_connections: the N+1th connection is reset at once, counted and logged; a slot freed is usable again', async () => {
    const b = await echo();
    const p = await proxyOf(config({ '127.0.0.1:0': { options: { max_connections: 2 }, ...catchall(`127.0.0.1:${b.port}`) } }));
    const [c1, c2] = await Promise.all([connect(p.port), connect(p.port)]);
    expect(await roundTrip(c1, 'one')).toBe('one');
    expect(await roundTrip(c2, 'two')).toBe('two');
    // Reset right at accept: it may arrive before or after our side sees the handshake complete.
    const c3 = net.connect(p.port, '127.0.0.1');
    expect(await ended(c3)).toBe('ECONNRESET');
    expect(p.running.listeners[0]!.refused).toBe(1);
    expect(await p.waitLog((l) => l.event === 'refused')).toMatchObject({ reason: 'max-connections', max_connections: 2 });
    // The two open ones are untouched.
    expect(await roundTrip(c1, 'still')).toBe('still');
    c2.end();
    await p.waitLog((l) => l.event === 'connection');
    const c4 = await connect(p.port);
    expect(await roundTrip(c4, 'four')).toBe('four');
    c1.destroy();
    c4.destroy();
  });

  it('idle_timeout closes a forwarded connection with no data either way; a busy one stays', async () => {
    const b = await echo();
    const p = await proxyOf(config({ '127.0.0.1:0': { options: { idle_timeout: '300ms' }, ...catchall(`127.0.0.1:${b.port}`) } }));
    const quiet = await connect(p.port);
    expect(await roundTrip(quiet, 'hi')).toBe('hi');
    const t0 = performance.now();
    expect(await ended(quiet)).toBe('closed');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    expect(await p.waitLog((l) => l.event === 'connection')).toMatchObject({ close: 'idle-timeout', bytes_up: 2, bytes_down: 2 });
  });

  it('connect_timeout per listener overrides the flag', async () => {
    const p = await proxyOf(config({ '127.0.0.1:0': { options: { connect_timeout: '150ms', detect_timeout: '1s', window: 1024 }, ...catchall('127.0.0.1:9') } }), { connectTimeoutMs: 60_000 });
    const rt = p.running.listeners[0]!;
    expect(rt.openConnections).toBe(0);
    const r = await exchange(p.port, [Buffer.from('x')]);
    expect(r.data.length).toBe(0);
    const line = await p.waitLog((l) => l.event === 'connection');
    expect(['connect-timeout', 'backend-refused']).toContain(line.close);
  });
});

describe('several backends per rule', () => {
  it('round-robin over the list', async () => {
    const [a, b] = await Promise.all([named('a'), named('b')]);
    const p = await proxyOf(config({ '127.0.0.1:0': catchall([`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`]) }));
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) answers.push((await exchange(p.port, [Buffer.from(`${i}`)])).data.toString());
    expect(answers).toEqual(['a:0', 'b:1', 'a:2', 'b:3']);
  });

  it('a refusing backend is skipped: the next one gets the window replayed, and the dead one cools down', async () => {
    const dead = await closedPort();
    const a = await named('a');
    const p = await proxyOf(
      config({ '127.0.0.1:0': { HTTP: { CATCHALL: { action: 'FORWARD', to_addr: [`127.0.0.1:${dead}`, `127.0.0.1:${a.port}`] } } } }),
    );
    const request = 'GET / HTTP/1.1\r\nHost: x.test\r\n\r\n';
    const first = await exchange(p.port, [Buffer.from(request)]);
    expect(first.data.toString()).toBe(`a:${request}`);
    const line = await p.waitLog((l) => l.event === 'connection');
    expect(line).toMatchObject({ protocol: 'HTTP', close: 'closed', backends_failed: [{ backend: `127.0.0.1:${dead}`, error: 'ECONNREFUSED' }] });
    // Its turn again, but cooling down: straight to the live one, no failed dial.
    const second = await exchange(p.port, [Buffer.from(request)]);
    expect(second.data.toString()).toBe(`a:${request}`);
    await p.waitLogs((l) => l.event === 'connection', 2);
    expect(p.logs.filter((l) => l.event === 'connection')[1]!.backends_failed).toBeUndefined();
  });

  it('every backend refusing: the client is closed after each was tried once', async () => {
    const [d1, d2] = [await closedPort(), await closedPort()];
    const p = await proxyOf(config({ '127.0.0.1:0': catchall([`127.0.0.1:${d1}`, `127.0.0.1:${d2}`]) }));
    await exchange(p.port, [Buffer.from('x')]);
    const line = await p.waitLog((l) => l.event === 'connection');
    expect(line).toMatchObject({ close: 'backend-refused', level: 40 });
    expect((line.backends_failed as unknown[]).length).toBe(2);
  });
});

describe('PROXY protocol', () => {
  it.each(['v1', 'v2'] as const)('send_proxy %s: the backend reads the client address, then the client bytes', async (version) => {
    const b = await proxyReader();
    const p = await proxyOf(config({ '127.0.0.1:0': catchall(`127.0.0.1:${b.port}`, { send_proxy: version }) }));
    const s = await connect(p.port);
    const local = { address: s.localAddress!, port: s.localPort! };
    s.end('hello');
    await ended(s);
    const { header, rest } = await b.headers[0]!;
    expect(header).toMatchObject({ version: version === 'v1' ? 1 : 2, command: 'PROXY', family: 'TCP4', source: local, destination: { address: '127.0.0.1', port: p.port } });
    expect(rest.toString()).toBe('hello');
  });

  it('accept_proxy: routes on what follows the header, logs the real client, passes it on with send_proxy', async () => {
    const b = await proxyReader();
    const p = await proxyOf(config({ '127.0.0.1:0': { options: { accept_proxy: true }, HTTP: { 'HOST x.test': { action: 'FORWARD', to_addr: `127.0.0.1:${b.port}`, send_proxy: 'v2' } } } }));
    const request = 'GET / HTTP/1.1\r\nHost: x.test\r\n\r\n';
    const lbHeader = encodeProxyV1({ source: { address: '203.0.113.7', port: 40000 }, destination: { address: '198.51.100.1', port: 443 } });
    // Header and request split in odd places: the accept stage must not care.
    const bytes = Buffer.concat([lbHeader, Buffer.from(request)]);
    await exchange(p.port, [bytes.subarray(0, 5), bytes.subarray(5, lbHeader.length + 3), bytes.subarray(lbHeader.length + 3)]);
    const { header, rest } = await b.headers[0]!;
    expect(header.source).toEqual({ address: '203.0.113.7', port: 40000 });
    expect(header.destination).toEqual({ address: '198.51.100.1', port: 443 });
    expect(rest.toString()).toBe(request);
    const line = await p.waitLog((l) => l.event === 'connection');
    expect(line).toMatchObject({ client: '203.0.113.7:40000', protocol: 'HTTP', rule: 'HOST x.test' });
    expect(line.via).toMatch(/^127\.0\.0\.1:\d+$/);
  });

  it('accept_proxy: a v2 header works too; a missing or bad header closes the connection, logged as such', async () => {
    const a = await named('a');
    const p = await proxyOf(config({ '127.0.0.1:0': { options: { accept_proxy: true }, ...catchall(`127.0.0.1:${a.port}`) } }));
    const v2 = encodeProxyV2({ source: { address: '2001:db8::1', port: 5 }, destination: { address: '2001:db8::2', port: 6 } });
    expect((await exchange(p.port, [Buffer.concat([v2, Buffer.from('hi')])])).data.toString()).toBe('a:hi');
    const bad = await exchange(p.port, [Buffer.from('GET / HTTP/1.1\r\n\r\n')]);
    expect(bad.data.length).toBe(0);
    const line = await p.waitLog((l) => l.event === 'connection' && l.close === 'proxy-header');
    expect(line).toMatchObject({ level: 40, error: expect.stringContaining('not-proxy') });
    expect(a.accepted).toBe(1);
  });
});

describe('reload', () => {
  it('new connections take the new rules; one open across the reload is untouched; a bad config is refused and the old rules stay', async () => {
    const [a, b] = await Promise.all([echo(), named('b')]);
    const first = config({ '127.0.0.1:0': catchall(`127.0.0.1:${a.port}`) });
    const p = await proxyOf(first);
    const long = await connect(p.port);
    expect(await roundTrip(long, 'before')).toBe('before');

    p.rewrite(config({ '127.0.0.1:0': catchall(`127.0.0.1:${b.port}`) }));
    const r = await p.reload();
    expect(r).toMatchObject({ ok: true, kept: ['127.0.0.1:0'], added: [], removed: [] });
    expect((await exchange(p.running.listeners[0]!.port, [Buffer.from('new')])).data.toString()).toBe('b:new');
    // The connection from before goes on to its old backend, byte-exactly.
    const big = 'x'.repeat(256 * 1024);
    expect(await roundTrip(long, big)).toBe(big);

    p.rewrite('{"version": "v0.2.0", "servers": {"127.0.0.1:0": {"NOPE": {}}}}');
    const refused = await p.reload();
    expect(refused.ok).toBe(false);
    expect(refused.error).toContain('no detector provides protocol NOPE');
    expect(await p.waitLog((l) => l.event === 'reload' && l.result === 'refused')).toBeTruthy();
    expect((await exchange(p.port, [Buffer.from('still')])).data.toString()).toBe('b:still');
    expect(await roundTrip(long, 'after')).toBe('after');
    long.destroy();
  });

  it('listeners are added and removed as the config says; a removed one lets its connections finish', async () => {
    const [a, b] = await Promise.all([echo(), named('b')]);
    const [portA, portB] = [await closedPort(), await closedPort()];
    const p = await proxyOf(config({ [`127.0.0.1:${portA}`]: catchall(`127.0.0.1:${a.port}`) }));
    const open = await connect(portA);
    expect(await roundTrip(open, 'x')).toBe('x');
    p.rewrite(config({ [`127.0.0.1:${portB}`]: catchall(`127.0.0.1:${b.port}`) }));
    expect(await p.reload()).toMatchObject({ ok: true, added: [`127.0.0.1:${portB}`], removed: [`127.0.0.1:${portA}`] });
    expect((await exchange(portB, [Buffer.from('y')])).data.toString()).toBe('b:y');
    const refused = net.connect(portA, '127.0.0.1');
    expect(await ended(refused)).toBe('ECONNREFUSED');
    expect(await roundTrip(open, 'still open')).toBe('still open');
    open.end();
    await p.waitLog((l) => l.event === 'connection' && l.listener === `127.0.0.1:${portA}`);
  });
});

describe('drain', () => {
  it('stops accepting at once, lets an open transfer finish, and reports it', async () => {
    const a = await echo();
    const port = await closedPort();
    const p = await proxyOf(config({ [`127.0.0.1:${port}`]: catchall(`127.0.0.1:${a.port}`) }));
    const s = await connect(port);
    expect(await roundTrip(s, 'a')).toBe('a');
    const draining = p.drain(10_000);
    expect(await ended(net.connect(port, '127.0.0.1'))).toBe('ECONNREFUSED');
    const big = 'y'.repeat(512 * 1024);
    expect(await roundTrip(s, big)).toBe(big);
    s.end();
    expect(await draining).toMatchObject({ open: 1, closed: 0 });
  });

  it('closes what is still open at the deadline', async () => {
    const a = await echo();
    const p = await proxyOf(config({ '127.0.0.1:0': catchall(`127.0.0.1:${a.port}`) }));
    const s = await connect(p.port);
    expect(await roundTrip(s, 'a')).toBe('a');
    const closed = ended(s);
    expect(await p.drain(200)).toMatchObject({ open: 1, closed: 1 });
    expect(await closed).toBe('closed');
    expect(await p.waitLog((l) => l.event === 'connection')).toMatchObject({ close: 'shutdown' });
  });
});

describe('IPv6', () => {
  it('a [::1] listener forwards to a [::1] backend', async () => {
    const server = net.createServer((s) => s.end('six'));
    server.listen(0, '::1');
    await once(server, 'listening');
    cleanup.push(() => new Promise((r) => server.close(r)));
    const port = (server.address() as net.AddressInfo).port;
    const p = await proxyOf(config({ '[::1]:0': catchall(`[::1]:${port}`) }));
    const s = net.connect({ port: p.port, host: '::1' });
    const got: Buffer[] = [];
    s.on('data', (d: Buffer) => got.push(d));
    await once(s, 'close');
    expect(Buffer.concat(got).toString()).toBe('six');
    expect(await p.waitLog((l) => l.event === 'connection')).toMatchObject({ backend: expect.stringContaining('::1') });
  });
});
