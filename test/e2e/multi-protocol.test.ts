// One Passthru listener with TLS, SSH, HTTP and RDP sections and a CATCHALL protocol, and real
// clients of each protocol through that one port at the same time: openssl s_client, ssh to a
// real sshd, curl over HTTP/1.1 and HTTP/2 prior knowledge, xfreerdp, and a client none matches.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordingBackend, run, tlsBackend, exchange, type Backend } from '../helpers/net.js';
import { startProxy, type TestProxy } from '../helpers/passthru.js';
import { dualHttpBackend, firstFlightRecorder, hasSshd, startSshd, type Sshd } from '../helpers/services.js';

/** Real clients with handshakes (ssh key exchange, xfreerdp under Xvfb) take a few seconds on a busy 2-core box. */
const CLIENT_TEST_TIMEOUT_MS = 60_000;

/** `OpenSSH_9.2p1` from `ssh -V` ("OpenSSH_9.2p1 Debian-2+deb12u10, OpenSSL …"): the SOFTWARE key this ssh sends. */
async function sshSoftware(): Promise<string> {
  const r = await run('ssh', ['-V']);
  return r.stderr.split(/[ ,]/)[0]!;
}

/** A TPKT packet is whole once as many bytes as its length field says have arrived. */
const wholeTpkt = (b: Buffer) => b.length >= 4 && b.length >= b.readUInt16BE(2);

let tlsA: Backend, web: Backend, fallback: Backend & { received: Buffer[] };
let rdp: Awaited<ReturnType<typeof firstFlightRecorder>>;
let sshd: Sshd | undefined;
let software: string;
let proxy: TestProxy;

beforeAll(async () => {
  [tlsA, web, fallback, rdp] = await Promise.all([
    tlsBackend('a.test'),
    dualHttpBackend('web'),
    recordingBackend('fallback\n'),
    firstFlightRecorder(wholeTpkt),
  ]);
  if (hasSshd) sshd = await startSshd();
  software = await sshSoftware();
  // The SSH rule points at a port nothing listens on when sshd is missing: only its test uses it.
  const sshTo = `127.0.0.1:${sshd?.port ?? 9}`;
  proxy = await startProxy({
    version: 'v0.2.0',
    servers: {
      '127.0.0.1:0': {
        TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${tlsA.port}` }, CATCHALL: { action: 'REJECT' } },
        SSH: { [`SOFTWARE ${software}`]: { action: 'FORWARD', to_addr: sshTo }, CATCHALL: { action: 'REJECT' } },
        HTTP: { 'HOST web.test': { action: 'FORWARD', to_addr: `127.0.0.1:${web.port}` }, CATCHALL: { action: 'REJECT' } },
        RDP: { 'COOKIE alice': { action: 'FORWARD', to_addr: `127.0.0.1:${rdp.port}` }, CATCHALL: { action: 'REJECT' } },
        CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${fallback.port}` } },
      },
    },
  });
}, CLIENT_TEST_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop(true);
  await sshd?.stop();
  await Promise.all([tlsA, web, fallback, rdp].map((b) => b?.close()));
});

const connectionLog = (pred: (l: Record<string, unknown>) => boolean) => proxy.waitLog((l) => l.event === 'connection' && pred(l));

function tlsClient() {
  return run('openssl', ['s_client', '-connect', `127.0.0.1:${proxy.port}`, '-servername', 'a.test', '-ign_eof', '-quiet']);
}
function curl(extra: string[]) {
  return run('curl', ['-s', '--max-time', '20', '--resolve', `web.test:${proxy.port}:127.0.0.1`, ...extra, `http://web.test:${proxy.port}/`]);
}
function sshClient() {
  return run('ssh', [...sshd!.clientArgs, '-p', String(proxy.port), 'root@127.0.0.1', 'echo ssh-ok']);
}
function rdpClient() {
  return run('xvfb-run', ['-a', 'xfreerdp', `/v:127.0.0.1:${proxy.port}`, '/u:alice', '/p:x', '/cert:ignore', '+auth-only'], '', CLIENT_TEST_TIMEOUT_MS / 2);
}

describe('one port, five protocols', () => {
  it('openssl s_client reaches the TLS backend by SNI', async () => {
    expect((await tlsClient()).stdout).toBe('hello a.test sni=a.test\n');
    expect(await connectionLog((l) => l.rule === 'SNI a.test')).toMatchObject({ protocol: 'TLS', action: 'FORWARD' });
  }, CLIENT_TEST_TIMEOUT_MS);

  it.skipIf(!hasSshd)('ssh runs a command on a real sshd, routed by SOFTWARE', async () => {
    const r = await sshClient();
    expect(r.stdout, r.stderr).toBe('ssh-ok\n');
    expect(await connectionLog((l) => l.protocol === 'SSH')).toMatchObject({ rule: `SOFTWARE ${software}`, action: 'FORWARD', keys: [`SOFTWARE ${software}`] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('curl over HTTP/1.1 and over HTTP/2 prior knowledge reach the same backend by one HOST rule', async () => {
    const [h1, h2] = await Promise.all([curl([]), curl(['--http2-prior-knowledge'])]);
    expect(h1.stdout).toBe(`web h1 host=web.test:${proxy.port}`);
    expect(h2.stdout).toBe(`web h2 host=web.test:${proxy.port}`);
    expect(await connectionLog((l) => l.rule === 'HOST web.test' && (l.keys as string[]).includes('VERSION h2c'))).toMatchObject({
      protocol: 'HTTP',
      keys: ['HOST web.test', 'PATH /', 'VERSION h2c', 'METHOD GET'],
    });
    expect(await connectionLog((l) => l.rule === 'HOST web.test' && (l.keys as string[]).includes('VERSION http/1.1'))).toMatchObject({
      keys: ['HOST web.test', 'PATH /', 'VERSION http/1.1', 'METHOD GET'],
    });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('xfreerdp\'s Connection Request reaches the RDP backend byte-exactly, routed by COOKIE', async () => {
    const client = rdpClient(); // it cannot finish a handshake with a recorder: the recorder hangs up
    const got = await rdp.first;
    expect(got.subarray(0, 2)).toEqual(Buffer.from([0x03, 0x00]));
    expect(got.length).toBe(got.readUInt16BE(2));
    expect(got[5]).toBe(0xe0); // X.224 Connection Request
    expect(got.includes(Buffer.from('Cookie: mstshash=alice\r\n'))).toBe(true);
    expect(await connectionLog((l) => l.protocol === 'RDP')).toMatchObject({ rule: 'COOKIE alice', action: 'FORWARD', keys: ['COOKIE alice'] });
    await client;
  }, CLIENT_TEST_TIMEOUT_MS);

  it('a client no detector knows goes to the CATCHALL protocol, replayed byte-exactly', async () => {
    const hello = Buffer.from('hello, nobody knows me\n');
    const r = await exchange(proxy.port, [hello]);
    expect(r.data.toString()).toBe('fallback\n');
    expect(fallback.received.at(-1)).toEqual(hello);
    expect(await connectionLog((l) => l.protocol === 'CATCHALL')).toMatchObject({ detection: 'no-match' });
  });

  it('all of them at once through the one port', async () => {
    const runs: Promise<unknown>[] = [
      tlsClient().then((r) => expect(r.stdout).toBe('hello a.test sni=a.test\n')),
      curl([]).then((r) => expect(r.stdout).toBe(`web h1 host=web.test:${proxy.port}`)),
      curl(['--http2-prior-knowledge']).then((r) => expect(r.stdout).toBe(`web h2 host=web.test:${proxy.port}`)),
      exchange(proxy.port, [Buffer.from('nobody\n')]).then((r) => expect(r.data.toString()).toBe('fallback\n')),
    ];
    if (sshd) runs.push(sshClient().then((r) => expect(r.stdout).toBe('ssh-ok\n')));
    // The RDP recorder has answered its test's client already; this one is seen in the log.
    const rdpLines = () => proxy.logs.filter((l) => l.event === 'connection' && l.protocol === 'RDP').length;
    const before = rdpLines();
    runs.push(rdpClient(), connectionLog((l) => l.protocol === 'RDP' && rdpLines() > before).then((l) => expect(l.rule).toBe('COOKIE alice')));
    await Promise.all(runs);
  }, CLIENT_TEST_TIMEOUT_MS);
});

// A sanity check that the suite ran with the detectors it is about.
it('loaded the bundled TLS, SSH, HTTP and RDP detectors', async () => {
  for (const p of ['TLS', 'SSH', 'HTTP', 'RDP']) {
    expect(await proxy.waitLog((l) => l.event === 'detector' && l.protocol === p)).toBeDefined();
  }
});
