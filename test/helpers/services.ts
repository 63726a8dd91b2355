// Real services for end-to-end tests beyond net.ts: an sshd started per test run, a backend that
// speaks HTTP/1.1 and HTTP/2 prior knowledge on one port, and a recorder for clients (RDP) that
// cannot complete against a fake server. Everything waits on events, never on sleeps.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, tcpBackend, type Backend } from './net.js';

export const SSHD = '/usr/sbin/sshd';
export const hasSshd = existsSync(SSHD);

export interface Sshd {
  port: number;
  /** ssh arguments (key, batch mode, no host-key checks) for a client of this sshd; add -p and the target. */
  clientArgs: string[];
  stop(): Promise<void>;
}

/** How long sshd may take to say it listens: it generates nothing at start, so seconds mean broken. */
const SSHD_START_TIMEOUT_MS = 10_000;

/**
 * Starts `sshd -D -e` on a free loopback port with fresh ed25519 keys in a temp dir, letting in the
 * generated client key for the current user. Resolves once sshd logs that it listens.
 */
export async function startSshd(): Promise<Sshd> {
  const dir = mkdtempSync(join(tmpdir(), 'passthru-test-sshd-'));
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  const authorized = join(dir, 'authorized_keys');
  for (const k of [hostKey, clientKey]) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k]);
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  mkdirSync('/run/sshd', { recursive: true }); // privilege separation directory sshd insists on
  const port = await closedPort();
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', '/dev/null', '-h', hostKey,
    '-o', `ListenAddress=127.0.0.1:${port}`, '-o', 'PidFile=none', '-o', `AuthorizedKeysFile=${authorized}`, '-o', 'StrictModes=no'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${stderr}`)), SSHD_START_TIMEOUT_MS);
    child.stderr!.on('data', (d) => {
      stderr += d;
      if (stderr.includes('Server listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited (${code}): ${stderr}`));
    });
  });
  child.removeAllListeners('exit');
  return {
    port,
    clientArgs: ['-i', clientKey, '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'],
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

const H2_PREFACE_START = Buffer.from('PRI * HTTP/2.0');

/**
 * One port, both HTTP versions, as a real web server with h2c enabled: answers every request with
 * `<name> h1|h2 host=<Host or :authority>`. It looks at the first bytes to pick the protocol:
 * HTTP/2 goes to Node's http2 server; HTTP/1 gets a minimal answer written here, since Node's
 * http server reads from the socket's handle and would miss bytes already read.
 */
export async function dualHttpBackend(name: string): Promise<Backend> {
  const reply = (version: string, host: string | undefined) => `${name} ${version} host=${host ?? ''}`;
  const h2 = http2.createServer();
  h2.on('stream', (stream, headers) => {
    stream.respond({ ':status': 200 });
    stream.end(reply('h2', headers[':authority'] as string | undefined));
  });
  return tcpBackend((s: net.Socket) => {
    s.on('error', () => {});
    // tcpBackend allows half-open sockets, and the http2 session does not end its side when the
    // client does: finish it here so that the connection (and the proxy's log line) completes.
    s.on('end', () => s.end());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      if (head.subarray(0, H2_PREFACE_START.length).equals(H2_PREFACE_START)) {
        s.off('data', onData);
        s.pause();
        s.unshift(head);
        h2.emit('connection', s);
        return;
      }
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      s.off('data', onData);
      const host = /^host:[ \t]*(.*?)[ \t]*$/im.exec(head.subarray(0, end).toString('latin1'))?.[1];
      const body = reply('h1', host);
      s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    };
    s.on('data', onData);
  });
}

/**
 * Records what a client sends until `expected(bytes)` holds, then closes the connection (a client such
 * as xfreerdp that waits for an answer gives up on that). `first` resolves with them.
 */
export async function firstFlightRecorder(expected: (bytes: Buffer) => boolean): Promise<Backend & { first: Promise<Buffer> }> {
  let resolveFirst!: (b: Buffer) => void;
  const first = new Promise<Buffer>((r) => (resolveFirst = r));
  const b = await tcpBackend((s) => {
    const chunks: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      const all = Buffer.concat(chunks);
      if (expected(all)) {
        resolveFirst(all);
        s.destroy();
      }
    });
  });
  return Object.assign(b, { first });
}
