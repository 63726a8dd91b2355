// One Passthru listener with the SOCKS, POSTGRES, XMPP, TINC, OPENVPN and ADB sections, and each
// protocol's real Debian client through that one port: curl via SOCKS 4A and 5 to a small SOCKS
// server that then serves HTTP, psql, sendxmpp, tincd, adb and openvpn to backends that record
// what they got (no PostgreSQL, XMPP, tinc, adb or OpenVPN server is started: the test is about
// routing the first flight, and each backend checks it received the client's bytes unchanged).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type net from 'node:net';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, tcpBackend, type Backend } from '../helpers/net.js';
import { startProxy, type TestProxy } from '../helpers/passthru.js';

/** Real clients started as processes on a busy 2-core box. */
const CLIENT_TEST_TIMEOUT_MS = 60_000;

/** A backend that keeps every connection's bytes; `got(pred)` waits for a connection whose bytes satisfy `pred`. */
interface Recorder extends Backend {
  got(pred: (b: Buffer) => boolean): Promise<Buffer>;
}

/**
 * Records each connection's bytes. `answer`, if given, sees each connection's bytes so far and
 * may write to it (a protocol step a client waits for); otherwise nothing is ever answered.
 */
async function recorder(answer?: (s: net.Socket, all: Buffer) => void): Promise<Recorder> {
  const conns: Buffer[][] = [];
  const waiters: { pred: (b: Buffer) => boolean; resolve: (b: Buffer) => void }[] = [];
  const b = await tcpBackend((s) => {
    const chunks: Buffer[] = [];
    conns.push(chunks);
    s.on('error', () => {});
    s.on('end', () => s.end());
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      for (let i = waiters.length - 1; i >= 0; i--) if (waiters[i]!.pred(all)) waiters.splice(i, 1)[0]!.resolve(all);
      answer?.(s, all);
    });
  });
  return Object.assign(b, {
    got(pred: (b: Buffer) => boolean) {
      const found = conns.map((c) => Buffer.concat(c)).find(pred);
      if (found) return Promise.resolve(found);
      return new Promise<Buffer>((resolve) => waiters.push({ pred, resolve }));
    },
  });
}

const HTTP_END = Buffer.from('\r\n\r\n');
/** The adb client's background server (default 5037), moved so the test's is its own. */
const ADB_SERVER_PORT = 15037;

/**
 * A minimal SOCKS 4A / 5 (no authentication) server whose every destination is itself serving HTTP:
 * enough for curl to finish a request through it, answering `via <name> <version>`.
 */
function socksServer(name: string): Promise<Recorder> {
  return recorder((s, all) => {
    const state = s as net.Socket & { step?: number };
    const step = state.step ?? 0;
    const http = all.indexOf(HTTP_END);
    if (all[0] === 4 && step === 0 && all.indexOf(0, 8) >= 0) {
      state.step = 1;
      s.write(Buffer.from([0, 0x5a, 0, 0, 0, 0, 0, 0])); // request granted
    } else if (all[0] === 5 && step === 0 && all.length >= 2 + all[1]!) {
      state.step = 1;
      s.write(Buffer.from([5, 0])); // no authentication
    } else if (all[0] === 5 && step === 1 && all.length > 2 + all[1]! + 4) {
      state.step = 2;
      s.write(Buffer.from([5, 0, 0, 1, 0, 0, 0, 0, 0, 0])); // succeeded
    } else if (http >= 0 && step >= 1 && state.step !== 9) {
      state.step = 9;
      const body = `via ${name} ${all[0]}`;
      s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
    }
  });
}

/** A whole PostgreSQL StartupMessage at `off` (length field included). */
const startupAt = (b: Buffer, off: number) => b.length >= off + 8 && b.readUInt32BE(off + 4) === 0x00030000 && b.length >= off + b.readUInt32BE(off);
const SSL_REQUEST = Buffer.from('0000000804d2162f', 'hex');

/**
 * A PostgreSQL stand-in: answers an SSLRequest with N (no TLS, libpq then sends its StartupMessage
 * in the clear), and hangs up once a StartupMessage is in (psql reports the lost connection).
 */
function postgresRecorder(): Promise<Recorder> {
  return recorder((s, all) => {
    if (all.equals(SSL_REQUEST)) s.write('N');
    else if (startupAt(all, 0) || (all.subarray(0, 8).equals(SSL_REQUEST) && startupAt(all, 8))) s.destroy();
  });
}

/** The stream header is whole at the '>' ending its start tag; then the recorder hangs up. */
const xmppHeader = (b: Buffer) => /<stream:stream[^>]*>/.test(b.toString('latin1'));
const xmppRecorder = () => recorder((s, all) => xmppHeader(all) && s.destroy());

const tincIdLine = (b: Buffer) => b.includes(0x0a);

/**
 * A tinc 1.0 node "alice" whose only peer "bob" is at `port`: config dir with a fresh key pair
 * (bob gets alice's public key; the test never gets as far as using it), a dummy device (no tun
 * device or privilege needed) and Port 0 (its own listener on any free port, not 655).
 */
async function tincConfig(port: number): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'passthru-tinc-'));
  mkdirSync(join(dir, 'hosts'));
  writeFileSync(join(dir, 'tinc.conf'), 'Name = alice\nConnectTo = bob\nDeviceType = dummy\nPort = 0\n');
  writeFileSync(join(dir, 'hosts', 'alice'), '');
  const k = await run('tincd', ['-c', dir, '-K', '2048']);
  expect(k.code, k.stderr).toBe(0);
  // tinc stops reading a host file at its PEM block, so the address goes first.
  writeFileSync(join(dir, 'hosts', 'bob'), `Address = 127.0.0.1\nPort = ${port}\n${readFileSync(join(dir, 'hosts', 'alice'), 'latin1')}`);
  return dir;
}

/** An OpenVPN TCP record is whole once its u16 length's worth of bytes is in. */
const wholeRecord = (b: Buffer) => b.length >= 2 && b.length >= 2 + b.readUInt16BE(0);

/** A client certificate and key for openvpn (it refuses to start without), plus a tls-crypt key. */
async function openvpnFiles(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'passthru-openvpn-'));
  const r = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=client']);
  expect(r.code, r.stderr).toBe(0);
  const k = await run('openvpn', ['--genkey', 'secret', join(dir, 'ta.key')]);
  expect(k.code, k.stderr).toBe(0);
  return dir;
}

/** An adb message is whole once its 24-byte header and data_length bytes are in. */
const wholeAdbMessage = (b: Buffer) => b.length >= 24 && b.length >= 24 + b.readUInt32LE(12);

let tincBob: Recorder, vpn: Recorder, adbDevice: Recorder;
let socksA: Recorder, socksB: Recorder, pgShop: Recorder, pgSsl: Recorder, xmppChat: Recorder, xmppOther: Recorder;
let proxy: TestProxy;

beforeAll(async () => {
  [socksA, socksB, pgShop, pgSsl] = await Promise.all([socksServer('socks-a'), socksServer('socks-b'), postgresRecorder(), postgresRecorder()]);
  [xmppChat, xmppOther] = await Promise.all([xmppRecorder(), xmppRecorder()]);
  tincBob = await recorder((s, all) => tincIdLine(all) && s.destroy());
  vpn = await recorder((s, all) => wholeRecord(all) && s.destroy());
  adbDevice = await recorder((s, all) => wholeAdbMessage(all) && s.destroy());
  proxy = await startProxy({
    version: 'v0.2.0',
    servers: {
      '127.0.0.1:0': {
        SOCKS: {
          'HOST web.test': { action: 'FORWARD', to_addr: `127.0.0.1:${socksA.port}` },
          'VERSION 5': { action: 'FORWARD', to_addr: `127.0.0.1:${socksB.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        POSTGRES: {
          'DATABASE shop': { action: 'FORWARD', to_addr: `127.0.0.1:${pgShop.port}` },
          'SSL ': { action: 'FORWARD', to_addr: `127.0.0.1:${pgSsl.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        XMPP: {
          'DOMAIN chat.example.org': { action: 'FORWARD', to_addr: `127.0.0.1:${xmppChat.port}` },
          'DOMAIN *.example.net': { action: 'FORWARD', to_addr: `127.0.0.1:${xmppOther.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        TINC: { 'NAME alice': { action: 'FORWARD', to_addr: `127.0.0.1:${tincBob.port}` }, CATCHALL: { action: 'REJECT' } },
        OPENVPN: { 'OPCODE P_CONTROL_HARD_RESET_CLIENT_V2': { action: 'FORWARD', to_addr: `127.0.0.1:${vpn.port}` }, CATCHALL: { action: 'REJECT' } },
        ADB: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${adbDevice.port}` } },
        CATCHALL: { CATCHALL: { action: 'REJECT' } },
      },
    },
  });
}, CLIENT_TEST_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop(true);
  await Promise.all([socksA, socksB, pgShop, pgSsl, xmppChat, xmppOther, tincBob, vpn, adbDevice].map((b) => b?.close()));
});

const connectionLog = (pred: (l: Record<string, unknown>) => boolean) => proxy.waitLog((l) => l.event === 'connection' && pred(l));

describe('one port, more protocols (batch A)', () => {
  it('curl through SOCKS 4A reaches the proxy chosen by HOST, and through SOCKS 5 the one chosen by VERSION', async () => {
    const curl = (flag: string) => run('curl', ['-s', '--max-time', '20', flag, `127.0.0.1:${proxy.port}`, 'http://web.test/']);
    const [a, b] = await Promise.all([curl('--socks4a'), curl('--socks5-hostname')]);
    expect(a.stdout, a.stderr).toBe('via socks-a 4');
    expect(b.stdout, b.stderr).toBe('via socks-b 5');
    expect(await connectionLog((l) => l.protocol === 'SOCKS' && l.rule === 'HOST web.test')).toMatchObject({ keys: ['HOST web.test', 'VERSION 4'] });
    expect(await connectionLog((l) => l.protocol === 'SOCKS' && l.rule === 'VERSION 5')).toMatchObject({ keys: ['VERSION 5'] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('psql without TLS is routed by DATABASE, psql asking for TLS by SSL; each backend gets the StartupMessage', async () => {
    const psql = (sslmode: string) =>
      run('psql', [`host=127.0.0.1 port=${proxy.port} user=alice dbname=shop application_name=e2e sslmode=${sslmode} connect_timeout=20`, '-c', 'select 1']);
    const [plain, prefer] = await Promise.all([psql('disable'), psql('prefer')]);
    // No server behind: the recorder hangs up after the StartupMessage, which psql reports.
    expect(plain.stderr).toMatch(/server closed the connection unexpectedly/);
    expect(prefer.stderr).toMatch(/server closed the connection unexpectedly/);
    const params = Buffer.from('user\0alice\0database\0shop\0application_name\0e2e\0\0');
    const shop = await pgShop.got((b) => startupAt(b, 0));
    expect(shop.subarray(8)).toEqual(params);
    const ssl = await pgSsl.got((b) => startupAt(b, 8));
    expect(ssl.subarray(0, 8)).toEqual(SSL_REQUEST);
    expect(ssl.subarray(16)).toEqual(params);
    expect(await connectionLog((l) => l.protocol === 'POSTGRES' && l.rule === 'DATABASE shop')).toMatchObject({ keys: ['DATABASE shop', 'USER alice', 'APPLICATION e2e'] });
    expect(await connectionLog((l) => l.protocol === 'POSTGRES' && l.rule === 'SSL ')).toMatchObject({ keys: ['SSL '] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('sendxmpp reaches the XMPP backend of its domain, exact and by wildcard', async () => {
    // HOME: sendxmpp reads ~/.sendxmpprc if there is one; the test's options must be all it uses.
    const sendxmpp = (domain: string) =>
      run('env', ['HOME=/nonexistent', 'sendxmpp', '-u', 'alice', '-p', 'secret', '-j', `127.0.0.1:${proxy.port}`, '-o', domain, `bob@${domain}`], 'hi\n');
    await Promise.all([sendxmpp('chat.example.org'), sendxmpp('muc.example.net')]);
    expect((await xmppChat.got(xmppHeader)).toString()).toContain("to='chat.example.org'");
    expect((await xmppOther.got(xmppHeader)).toString()).toContain("to='muc.example.net'");
    expect(await connectionLog((l) => l.protocol === 'XMPP' && l.rule === 'DOMAIN chat.example.org')).toMatchObject({ keys: ['DOMAIN chat.example.org'] });
    expect(await connectionLog((l) => l.protocol === 'XMPP' && l.rule === 'DOMAIN *.example.net')).toMatchObject({ keys: ['DOMAIN muc.example.net'] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('tincd\'s ID request reaches the backend routed by NAME', async () => {
    const dir = await tincConfig(proxy.port);
    // Foreground, no detach. It retries its peer until stopped, and keeps the socket of a
    // connection the peer closed open (CLOSE-WAIT) until it exits, so the connection's log line
    // comes once the test has stopped it.
    const tincd = spawn('tincd', ['-c', dir, '-D', '--pidfile', join(dir, 'pid'), '--logfile', join(dir, 'log')], { stdio: 'ignore' });
    const exited = new Promise((r) => tincd.once('exit', r));
    try {
      expect((await tincBob.got(tincIdLine)).toString()).toBe('0 alice 17\n');
    } finally {
      tincd.kill('SIGTERM');
      await exited;
    }
    expect(await connectionLog((l) => l.protocol === 'TINC')).toMatchObject({ rule: 'NAME alice', keys: ['NAME alice'] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('openvpn over TCP, with --tls-crypt, reaches the backend routed by OPCODE, its reset record unchanged', async () => {
    const dir = await openvpnFiles();
    const args = ['--client', '--proto', 'tcp-client', '--remote', '127.0.0.1', String(proxy.port), '--dev', 'null', '--ifconfig-noexec', '--route-noexec'];
    args.push('--ca', join(dir, 'cert.pem'), '--cert', join(dir, 'cert.pem'), '--key', join(dir, 'key.pem'), '--tls-crypt', join(dir, 'ta.key'), '--connect-retry-max', '1', '--verb', '0');
    // It gives up after its one retry once the backend has hung up on it.
    const client = run('openvpn', args, '', 30_000);
    const got = await vpn.got(wholeRecord);
    expect(got.readUInt16BE(0)).toBe(got.length - 2);
    expect(got[2]).toBe(0x38); // opcode 7, key_id 0
    await client;
    expect(await connectionLog((l) => l.protocol === 'OPENVPN')).toMatchObject({ rule: 'OPCODE P_CONTROL_HARD_RESET_CLIENT_V2' });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('adb connect reaches the ADB backend with its CNXN unchanged', async () => {
    // adb starts a background server of its own; a private server port keeps it apart from any
    // other adb on the machine, and kill-server stops it.
    const adb = (...a: string[]) => run('adb', ['-P', String(ADB_SERVER_PORT), ...a]);
    try {
      const r = await adb('connect', `127.0.0.1:${proxy.port}`);
      expect(r.stdout + r.stderr).toMatch(/failed|cannot|closed/i);
      const got = await adbDevice.got(wholeAdbMessage);
      expect(got.subarray(0, 4).toString()).toBe('CNXN');
      expect(got.subarray(24).toString()).toMatch(/^host::features=/);
      expect(await connectionLog((l) => l.protocol === 'ADB')).toMatchObject({ rule: 'CATCHALL', action: 'FORWARD' });
    } finally {
      await adb('kill-server');
    }
  }, CLIENT_TEST_TIMEOUT_MS);
});
