// One Passthru listener with the DNS section, and the protocol's real Debian client through that
// one port: `dig +tcp` to two small DNS-over-TCP servers written here (each answers every query
// with its own fixed A record), chosen by QNAME, exactly and by wildcard.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type net from 'node:net';
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

let dnsWww: Backend, dnsOrg: Backend;
let proxy: TestProxy;

beforeAll(async () => {
  [dnsWww, dnsOrg] = await Promise.all([dnsServer('192.0.2.1'), dnsServer('192.0.2.2')]);
  proxy = await startProxy({
    version: 'v0.2.0',
    servers: {
      '127.0.0.1:0': {
        DNS: {
          'QNAME www.example.com': { action: 'FORWARD', to_addr: `127.0.0.1:${dnsWww.port}` },
          'QNAME *.example.org': { action: 'FORWARD', to_addr: `127.0.0.1:${dnsOrg.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        CATCHALL: { CATCHALL: { action: 'REJECT' } },
      },
    },
  });
}, CLIENT_TEST_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop(true);
  await Promise.all([dnsWww?.close(), dnsOrg?.close()]);
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
});
