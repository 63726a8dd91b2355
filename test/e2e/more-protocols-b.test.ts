// One Passthru listener with the GIT, SYSLOG and MQTT sections (MINECRAFT, DNS, PROXY: batch C), and each
// protocol's real Debian client through that one port: git clone and ls-remote to two real
// `git daemon`s, and the other clients to backends that record what they got (the test is about
// routing the first flight: each backend checks it received the client's bytes unchanged).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, run, tcpBackend, type Backend } from '../helpers/net.js';
import { startProxy, type TestProxy } from '../helpers/passthru.js';

/** Real clients and daemons started as processes on a busy 2-core box. */
const CLIENT_TEST_TIMEOUT_MS = 60_000;
/** git daemon starts in milliseconds; seconds mean it is broken. */
const DAEMON_START_TIMEOUT_MS = 10_000;

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

interface GitDaemon {
  port: number;
  stop(): Promise<void>;
}

/**
 * A real `git daemon` on a free loopback port serving a fresh bare repository `repo` (one empty
 * commit on main) under its own base path. Resolves once it logs "Ready to rumble".
 */
async function gitDaemon(repo: string): Promise<GitDaemon> {
  const base = mkdtempSync(join(tmpdir(), 'passthru-test-git-'));
  const bare = join(base, repo);
  const work = join(base, 'work');
  const git = async (...args: string[]) => {
    const r = await run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', '-c', 'init.defaultBranch=main', ...args]);
    if (r.code !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  };
  await git('init', '-q', '--bare', bare);
  await git('init', '-q', work);
  await git('-C', work, 'commit', '-q', '--allow-empty', '-m', repo);
  await git('-C', work, 'push', '-q', bare, 'HEAD:refs/heads/main');
  const port = await closedPort();
  const child: ChildProcess = spawn('git', ['daemon', '--listen=127.0.0.1', `--port=${port}`, `--base-path=${base}`, '--export-all', '--reuseaddr', '--verbose', base], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`git daemon did not start: ${stderr}`)), DAEMON_START_TIMEOUT_MS);
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes('Ready to rumble')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`git daemon exited (${code}): ${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

let gitTeam: GitDaemon, gitLocal: GitDaemon;
let syslogMail: Recorder, syslogLocal3: Recorder, mqttSensor: Recorder, mqttAlice: Recorder;
const recorders: Recorder[] = [];
let proxy: TestProxy;

beforeAll(async () => {
  [gitTeam, gitLocal] = await Promise.all([gitDaemon('team/a.git'), gitDaemon('b.git')]);
  // The MQTT stand-ins hang up once a whole CONNECT is in: mosquitto_pub then gives up without a CONNACK.
  const mqttRecorder = () => recorder((s, all) => all.length >= 2 && all[0] === 0x10 && all.length >= 2 + all[1]! && s.destroy());
  recorders.push(...(await Promise.all([recorder(), recorder(), mqttRecorder(), mqttRecorder()])));
  [syslogMail, syslogLocal3, mqttSensor, mqttAlice] = recorders as [Recorder, Recorder, Recorder, Recorder];
  proxy = await startProxy({
    version: 'v0.2.0',
    servers: {
      '127.0.0.1:0': {
        GIT: {
          'HOST localhost': { action: 'FORWARD', to_addr: `127.0.0.1:${gitLocal.port}` },
          'REPO /team': { action: 'FORWARD', to_addr: `127.0.0.1:${gitTeam.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        SYSLOG: {
          'FACILITY mail': { action: 'FORWARD', to_addr: `127.0.0.1:${syslogMail.port}` },
          'FACILITY local3': { action: 'FORWARD', to_addr: `127.0.0.1:${syslogLocal3.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        MQTT: {
          'CLIENTID sensor-42': { action: 'FORWARD', to_addr: `127.0.0.1:${mqttSensor.port}` },
          'USERNAME alice': { action: 'FORWARD', to_addr: `127.0.0.1:${mqttAlice.port}` },
          CATCHALL: { action: 'REJECT' },
        },
        CATCHALL: { CATCHALL: { action: 'REJECT' } },
      },
    },
  });
}, CLIENT_TEST_TIMEOUT_MS);

afterAll(async () => {
  await proxy?.stop(true);
  await Promise.all([gitTeam?.stop(), gitLocal?.stop(), ...recorders.map((b) => b.close())]);
});

const connectionLog = (pred: (l: Record<string, unknown>) => boolean) => proxy.waitLog((l) => l.event === 'connection' && pred(l));

describe('one port, more protocols (batch B)', () => {
  it('git clone by IP reaches the daemon chosen by REPO prefix, git ls-remote by name the one chosen by HOST', async () => {
    const dest = join(mkdtempSync(join(tmpdir(), 'passthru-test-clone-')), 'a');
    const [clone, ls] = await Promise.all([
      run('git', ['clone', '-q', `git://127.0.0.1:${proxy.port}/team/a.git`, dest]),
      run('git', ['ls-remote', `git://localhost:${proxy.port}/b.git`]),
    ]);
    expect(clone.code, clone.stderr).toBe(0);
    expect((await run('git', ['-C', dest, 'log', '--format=%s'])).stdout.trim()).toBe('team/a.git');
    expect(ls.code, ls.stderr).toBe(0);
    expect(ls.stdout).toMatch(/^[0-9a-f]{40}\trefs\/heads\/main$/m);
    expect(await connectionLog((l) => l.protocol === 'GIT' && l.rule === 'REPO /team')).toMatchObject({ keys: ['HOST 127.0.0.1', 'REPO /team/a.git'] });
    expect(await connectionLog((l) => l.protocol === 'GIT' && l.rule === 'HOST localhost')).toMatchObject({ keys: ['HOST localhost', 'REPO /b.git'] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('logger --tcp (RFC 5424, RFC 3164, octet counting) reaches the collector chosen by FACILITY, message intact', async () => {
    const logger = (...args: string[]) => run('logger', ['--tcp', '--server', '127.0.0.1', '--port', String(proxy.port), '-t', 'e2e', ...args]);
    const results = await Promise.all([
      logger('-p', 'mail.info', 'mail 5424'),
      logger('--rfc3164', '-p', 'local3.warning', 'local3 3164'),
      logger('--octet-count', '-p', 'mail.err', 'mail counted'),
    ]);
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    expect((await syslogMail.got((b) => b.includes('mail 5424\n'))).toString()).toMatch(/^<22>1 \S+ \S+ e2e /);
    expect((await syslogLocal3.got((b) => b.includes('local3 3164\n'))).toString()).toMatch(/^<156>[A-Z][a-z]{2} [ \d]\d /);
    expect((await syslogMail.got((b) => b.includes('mail counted'))).toString()).toMatch(/^\d+ <19>1 /);
    expect(await connectionLog((l) => l.protocol === 'SYSLOG' && l.rule === 'FACILITY local3')).toMatchObject({ keys: ['FACILITY local3'] });
  }, CLIENT_TEST_TIMEOUT_MS);

  it('mosquitto_pub 3.1.1 is routed by CLIENTID, 5.0 with -u by USERNAME; each backend gets the CONNECT', async () => {
    const pub = (...args: string[]) => run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(proxy.port), '-t', 't', '-m', 'x', ...args], '', 20_000);
    await Promise.all([pub('-V', 'mqttv311', '-i', 'sensor-42'), pub('-V', 'mqttv5', '-i', 'meter-7', '-u', 'alice', '-P', 'secret')]);
    const sensor = await mqttSensor.got((b) => b.includes('sensor-42'));
    expect(sensor.subarray(0, 9)).toEqual(Buffer.from([0x10, 0x15, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4]));
    const alice = await mqttAlice.got((b) => b.includes('alice'));
    expect(alice[8]).toBe(5); // MQTT 5.0
    expect(alice.includes('meter-7') && alice.includes('secret')).toBe(true);
    expect(await connectionLog((l) => l.protocol === 'MQTT' && l.rule === 'USERNAME alice')).toMatchObject({ keys: ['CLIENTID meter-7', 'USERNAME alice'] });
    expect(await connectionLog((l) => l.protocol === 'MQTT' && l.rule === 'CLIENTID sensor-42')).toMatchObject({ keys: ['CLIENTID sensor-42'] });
  }, CLIENT_TEST_TIMEOUT_MS);
});
