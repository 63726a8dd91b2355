// One Passthru listener with the DNS and MINECRAFT sections, and each protocol's client through that
// one port: the real `dig +tcp` to two small DNS-over-TCP servers written here (each answers every
// query with its own fixed A record), chosen by QNAME, exactly and by wildcard; and, Debian having
// no Minecraft client, a Java Edition status ping written here from the protocol documentation
// (Handshake + Status Request) to two small status servers chosen by HOST.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { run, tcpBackend, type Backend } from '../helpers/net.js';
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

let dnsWww: Backend, dnsOrg: Backend, mcMain: Backend, mcNet: Backend;
let proxy: TestProxy;

beforeAll(async () => {
  [dnsWww, dnsOrg, mcMain, mcNet] = await Promise.all([dnsServer('192.0.2.1'), dnsServer('192.0.2.2'), minecraftServer('main'), minecraftServer('net')]);
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
        CATCHALL: { CATCHALL: { action: 'REJECT' } },
      },
    },
  });
}, CLIENT_TEST_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop(true);
  await Promise.all([dnsWww?.close(), dnsOrg?.close(), mcMain?.close(), mcNet?.close()]);
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
});
