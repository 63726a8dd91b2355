// One Passthru listener with the DNS and MINECRAFT sections, and each protocol's client through that
// one port: the real `dig +tcp` to two small DNS-over-TCP servers written here (each answers every
// query with its own fixed A record), chosen by QNAME, exactly and by wildcard; and, Debian having
// no Minecraft client, a Java Edition status ping written here from the protocol documentation
// (Handshake + Status Request) to two small status servers chosen by HOST; and curl through a real
// HAProxy with send-proxy (v1) and send-proxy-v2 in front of Passthru, to two PROXY-aware HTTP
// servers chosen by the header's SOURCE (an address and a /24).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProxyHeader, ProxyParse } from '../../host/proxy-protocol.js';
import { closedPort, run, tcpBackend, type Backend } from '../helpers/net.js';
import { startProxy, type TestProxy } from '../helpers/passthru.js';

/** Real clients started as processes on a busy 2-core box. */
const CLIENT_TEST_TIMEOUT_MS = 60_000;

/**
 * A DNS-over-TCP server (RFC 1035 §4.2.2 framing) answering every query on a connection with one
 * A record `address` for the question's name (TTL 60), so dig prints that address. It reads only
 * what it needs: the header and the first question.
 */
async function dnsServer(address: string): Promise<Backend> {
  return tcpBackend((s: net.Socket) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('end', () => s.end());
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        const msg = buf.subarray(2, 2 + buf.readUInt16BE(0));
        buf = buf.subarray(2 + msg.length);
        let p = 12;
        while (msg[p]! !== 0) p += 1 + msg[p]!;
        const question = msg.subarray(12, p + 5);
        const header = Buffer.from([msg[0]!, msg[1]!, 0x80 | (msg[2]! & 0x01), 0x80, 0, 1, 0, 1, 0, 0, 0, 0]);
        // The answer names the question's QNAME by a compression pointer to offset 12.
        const answer = Buffer.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, ...address.split('.').map(Number)]);
        const reply = Buffer.concat([header, question, answer]);
        s.write(Buffer.concat([Buffer.from([reply.length >> 8, reply.length & 0xff]), reply]));
      }
    });
  });
}

/** A VarInt (Java Edition protocol): the i32's bits in 7-bit groups, least significant first. */
function varint(v: number): Buffer {
  let u = v >>> 0;
  const out: number[] = [];
  do {
    const b = u & 0x7f;
    u >>>= 7;
    out.push(u ? b | 0x80 : b);
  } while (u);
  return Buffer.from(out);
}
const mcPacket = (id: number, ...data: Buffer[]) => {
  const body = Buffer.concat([varint(id), ...data]);
  return Buffer.concat([varint(body.length), body]);
};
const mcString = (s: string) => Buffer.concat([varint(Buffer.byteLength(s)), Buffer.from(s)]);

/** Reads one uncompressed packet (VarInt length ‖ id ‖ data) from the front of `b`, or undefined if incomplete. */
function readPacket(b: Buffer): { id: number; data: Buffer; size: number } | undefined {
  let len = 0;
  let i = 0;
  for (; i < 3; i++) {
    if (i >= b.length) return undefined;
    len |= (b[i]! & 0x7f) << (7 * i);
    if ((b[i]! & 0x80) === 0) break;
  }
  const start = i + 1;
  if (b.length < start + len) return undefined;
  return { id: b[start]!, data: b.subarray(start + 1, start + len), size: start + len };
}

/**
 * A Java Edition status server: after the Handshake and the Status Request it answers a Status
 * Response whose JSON names `motd`, then closes.
 */
async function minecraftServer(motd: string): Promise<Backend> {
  return tcpBackend((s: net.Socket) => {
    let buf = Buffer.alloc(0);
    let packets = 0;
    s.on('error', () => {});
    s.on('end', () => s.end());
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      for (let p = readPacket(buf); p; p = readPacket(buf)) {
        buf = buf.subarray(p.size);
        if (++packets === 2 && p.id === 0x00) {
          const status = { version: { name: '1.21.4', protocol: 769 }, players: { max: 1, online: 0 }, description: { text: motd } };
          s.end(mcPacket(0x00, mcString(JSON.stringify(status))));
        }
      }
    });
  });
}

/** A 1.21.4 client's status ping to `address` through `port`: the server's Status Response JSON. */
async function minecraftStatus(port: number, address: string): Promise<{ description: { text: string } }> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true });
  await once(s, 'connect');
  s.write(Buffer.concat([mcPacket(0x00, varint(769), mcString(address), Buffer.from([0x63, 0xdd]), varint(1)), mcPacket(0x00)]));
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  await once(s, 'end');
  s.destroy();
  const p = readPacket(Buffer.concat(chunks));
  if (!p || p.id !== 0x00) throw new Error(`no Status Response from ${address}`);
  return JSON.parse(stringAt(p.data)) as { description: { text: string } };
}

/** The String (VarInt byte length ‖ UTF-8) at the start of `b`. */
function stringAt(b: Buffer): string {
  let len = 0;
  let i = 0;
  for (; ; i++) {
    len |= (b[i]! & 0x7f) << (7 * i);
    if ((b[i]! & 0x80) === 0) break;
  }
  return b.subarray(i + 1, i + 1 + len).toString('utf8');
}

/**
 * An HTTP server behind a PROXY header (what a backend with accept-proxy does): it decodes the
 * header, waits for the request's end, and answers `<name> saw <source address>`.
 */
async function proxiedHttpServer(name: string): Promise<Backend> {
  return tcpBackend((s: net.Socket) => {
    let buf = Buffer.alloc(0);
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      const d = decodeProxyHeader(buf);
      if (d.state === ProxyParse.NEED_MORE) return;
      if (d.state === ProxyParse.ERROR) return void s.destroy();
      if (!buf.subarray(d.header.length).includes('\r\n\r\n')) return;
      const body = `${name} saw ${d.header.source?.address ?? '-'}`;
      s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    });
  });
}

interface Haproxy {
  /** Frontends sending a v1 and a v2 PROXY header to Passthru. */
  v1Port: number;
  v2Port: number;
  stop(): Promise<void>;
}

/**
 * A real HAProxy (`-db`, foreground) with two TCP frontends whose one server is Passthru at
 * `target`, one with send-proxy, one with send-proxy-v2. Its health checks (a v2 LOCAL header, a
 * v1 header with its own address) reach Passthru only once HAProxy has bound its frontends, so the
 * caller waits for the first one in Passthru's log instead of sleeping.
 */
async function haproxy(target: number): Promise<Haproxy> {
  const [v1Port, v2Port] = [await closedPort(), await closedPort()];
  const cfg = join(mkdtempSync(join(tmpdir(), 'passthru-test-haproxy-')), 'haproxy.cfg');
  writeFileSync(cfg, [
    'defaults', '  mode tcp', '  timeout connect 5s', '  timeout client 10s', '  timeout server 10s',
    'frontend v1', `  bind 127.0.0.1:${v1Port}`, '  default_backend v1',
    'frontend v2', `  bind 127.0.0.1:${v2Port}`, '  default_backend v2',
    'backend v1', `  server passthru 127.0.0.1:${target} send-proxy check inter 500ms`,
    'backend v2', `  server passthru 127.0.0.1:${target} send-proxy-v2 check inter 500ms`,
    '',
  ].join('\n'));
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', cfg], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.on('exit', (code) => {
    if (code) console.error(`haproxy exited ${code}: ${stderr}`);
  });
  return {
    v1Port,
    v2Port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

let dnsWww: Backend, dnsOrg: Backend, mcMain: Backend, mcNet: Backend, httpOffice: Backend, httpVpn: Backend;
let proxy: TestProxy;
let hap: Haproxy;

beforeAll(async () => {
  [dnsWww, dnsOrg, mcMain, mcNet] = await Promise.all([dnsServer('192.0.2.1'), dnsServer('192.0.2.2'), minecraftServer('main'), minecraftServer('net')]);
  [httpOffice, httpVpn] = await Promise.all([proxiedHttpServer('office'), proxiedHttpServer('vpn')]);
  proxy = await startProxy({
    version: 'v0.2.0',
    servers: {
      '127.0.0.1:0': {
        DNS: {
          'QNAME www.example.com': { action: 'FORWARD', to_addr: `127.0.0.1:${dnsWww.port}` },
          'QNAME *.example.org': { action: 'FORWARD', to_addr: `127.0.0.1:${dnsOrg.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        MINECRAFT: {
          'HOST mc.example.com': { action: 'FORWARD', to_addr: `127.0.0.1:${mcMain.port}` },
          'HOST *.example.net': { action: 'FORWARD', to_addr: `127.0.0.1:${mcNet.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        PROXY: {
          'SOURCE 127.1.2.0/24': { action: 'FORWARD', to_addr: `127.0.0.1:${httpOffice.port}` },
          'SOURCE 127.9.9.9': { action: 'FORWARD', to_addr: `127.0.0.1:${httpVpn.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        CATCHALL: { CATCHALL: { action: 'REJECT' } },
      },
    },
  });
}, CLIENT_TEST_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop(true);
  await hap?.stop();
  await Promise.all([dnsWww?.close(), dnsOrg?.close(), mcMain?.close(), mcNet?.close(), httpOffice?.close(), httpVpn?.close()]);
});

const connectionLog = (pred: (l: Record<string, unknown>) => boolean) => proxy.waitLog((l) => l.event === 'connection' && pred(l));

describe('one port, more protocols (batch C)', () => {
  it('dig +tcp reaches the DNS server chosen by QNAME, exactly and by wildcard; an unrouted name is refused', async () => {
    const dig = (name: string, type = 'A') => run('dig', ['+tcp', '+short', '+tries=1', '+time=10', '@127.0.0.1', '-p', String(proxy.port), name, type]);
    const [www, mail, other] = await Promise.all([dig('www.example.com'), dig('Mail.Example.ORG', 'AAAA'), dig('example.net')]);
    expect(www.code, www.stderr).toBe(0);
    expect(www.stdout.trim()).toBe('192.0.2.1');
    // The stand-in answers an A record whatever was asked: dig still prints it.
    expect(mail.stdout.trim()).toBe('192.0.2.2');
    expect(other.stdout).not.toMatch(/192\.0\.2\./);
    expect(await connectionLog((l) => l.protocol === 'DNS' && l.rule === 'QNAME www.example.com')).toMatchObject({ keys: ['QNAME www.example.com', 'QTYPE A'] });
    expect(await connectionLog((l) => l.protocol === 'DNS' && l.rule === 'QNAME *.example.org')).toMatchObject({ keys: ['QNAME mail.example.org', 'QTYPE AAAA'] });
    expect(await connectionLog((l) => l.protocol === 'DNS' && l.rule === 'CATCHALL')).toMatchObject({ action: 'REJECT', keys: ['QNAME example.net', 'QTYPE A'] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('a Java Edition status ping reaches the server chosen by HOST (Forge suffix cut, wildcard), its answer comes back', async () => {
    const [main, forge, net_] = await Promise.all([
      minecraftStatus(proxy.port, 'mc.example.com'),
      minecraftStatus(proxy.port, 'MC.example.com\0FML3\0'),
      minecraftStatus(proxy.port, 'play.eu.example.net'),
    ]);
    expect(main.description.text).toBe('main');
    expect(forge.description.text).toBe('main');
    expect(net_.description.text).toBe('net');
    expect(await connectionLog((l) => l.protocol === 'MINECRAFT' && l.rule === 'HOST *.example.net')).toMatchObject({ keys: ['HOST play.eu.example.net'] });
    await proxy.waitLogs((l) => l.event === 'connection' && l.protocol === 'MINECRAFT' && l.rule === 'HOST mc.example.com', 2);
  }, CLIENT_TEST_TIMEOUT_MS);

  it('curl through HAProxy send-proxy and send-proxy-v2 reaches the server chosen by SOURCE (a /24, an address)', async () => {
    hap = await haproxy(proxy.port);
    // HAProxy's first health check (v2 LOCAL: PROXY without keys, so CATCHALL) means its frontends are up.
    await connectionLog((l) => l.protocol === 'PROXY' && l.rule === 'CATCHALL' && l.keys === undefined);
    const curl = (from: string, port: number) => run('curl', ['-s', '-m', '10', '--interface', from, `http://127.0.0.1:${port}/`]);
    const [office, vpn, other] = await Promise.all([curl('127.1.2.3', hap.v1Port), curl('127.9.9.9', hap.v2Port), curl('127.5.5.5', hap.v1Port)]);
    expect(office.stdout).toBe('office saw 127.1.2.3');
    expect(vpn.stdout).toBe('vpn saw 127.9.9.9');
    expect(other.stdout).toBe('');
    expect(await connectionLog((l) => l.protocol === 'PROXY' && l.rule === 'SOURCE 127.1.2.0/24')).toMatchObject({
      keys: ['SOURCE 127.1.2.3', 'SOURCE 127.1.2.0/24', 'SOURCE 127.1.0.0/16', 'SOURCE 127.0.0.0/8'],
    });
    expect(await connectionLog((l) => l.protocol === 'PROXY' && l.rule === 'SOURCE 127.9.9.9')).toBeDefined();
    expect(await connectionLog((l) => l.protocol === 'PROXY' && l.rule === 'CATCHALL' && (l.keys as string[] | undefined)?.[0] === 'SOURCE 127.5.5.5')).toMatchObject({ action: 'REJECT' });
  }, CLIENT_TEST_TIMEOUT_MS);
});
