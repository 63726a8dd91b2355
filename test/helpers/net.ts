// Real loopback backends and clients for end-to-end tests. Everything waits on events, never on sleeps.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { once } from 'node:events';

export interface Backend {
  port: number;
  /** Connections accepted so far. */
  accepted: number;
  close(): Promise<void>;
}

function track(server: net.Server, backend: Backend): void {
  const sockets = new Set<net.Socket>();
  server.on('connection', (s) => {
    backend.accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  backend.close = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    });
}

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as net.AddressInfo).port;
}

/** A plain TCP backend; `handler` gets each socket (allowHalfOpen, so half-close can be tested). */
export async function tcpBackend(handler: (s: net.Socket) => void): Promise<Backend> {
  const server = net.createServer({ allowHalfOpen: true }, handler);
  const b: Backend = { port: 0, accepted: 0, close: async () => {} };
  track(server, b);
  b.port = await listen(server);
  return b;
}

/** Answers every connection with `banner` at once (a server-speaks-first service such as SSH). */
export function bannerBackend(banner: string): Promise<Backend> {
  return tcpBackend((s) => {
    s.on('error', () => {});
    s.end(banner);
  });
}

/** Records what each connection sent until the client's FIN, then answers `reply` and closes. */
export async function recordingBackend(reply = ''): Promise<Backend & { received: Buffer[] }> {
  const received: Buffer[] = [];
  const b = await tcpBackend((s) => {
    const chunks: Buffer[] = [];
    s.on('error', () => {});
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => {
      received.push(Buffer.concat(chunks));
      s.end(reply);
    });
  });
  return Object.assign(b, { received });
}

export interface Cert {
  key: string;
  cert: string;
  keyFile: string;
  certFile: string;
}

const certDir = mkdtempSync(join(tmpdir(), 'passthru-test-certs-'));

/** A self-signed certificate for `name` (EC P-256, made by the openssl CLI). */
export function selfSigned(name: string): Cert {
  const keyFile = join(certDir, `${name}.key`);
  const certFile = join(certDir, `${name}.crt`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${name}`, '-addext', `subjectAltName=DNS:${name},DNS:*.${name}`, '-keyout', keyFile, '-out', certFile], { stdio: 'ignore' });
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), keyFile, certFile };
}

/** A TLS backend that greets each client with `hello <name> sni=<servername>\n` and closes. */
export async function tlsBackend(name: string): Promise<Backend> {
  const c = selfSigned(name);
  const server = tls.createServer({ key: c.key, cert: c.cert, ALPNProtocols: ['h2', 'http/1.1'] }, (s) => {
    s.on('error', () => {});
    s.end(`hello ${name} sni=${(s as tls.TLSSocket & { servername?: string }).servername ?? ''}\n`);
  });
  const b: Backend = { port: 0, accepted: 0, close: async () => {} };
  track(server, b);
  b.port = await listen(server);
  return b;
}

/** A port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a real client program to completion with stdin from `input`. */
export function run(cmd: string, args: string[], input = '', timeoutMs = 20_000): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(input);
  });
}

/** Connects, writes `chunks` (each awaited), half-closes if asked, returns all bytes read until close. */
export async function exchange(port: number, chunks: Buffer[], opts: { end?: boolean } = {}): Promise<{ data: Buffer; error?: string }> {
  const s = net.connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
  const got: Buffer[] = [];
  s.on('data', (d: Buffer) => got.push(d));
  // The peer finished: finish our side too (once our own writes are done) so the socket closes.
  s.on('end', () => s.end());
  let error: string | undefined;
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  // Not events.once: it rejects on 'error', and a reset is an outcome the caller asserts on.
  const closed = new Promise<void>((resolve) => s.once('close', () => resolve()));
  await once(s, 'connect');
  for (const c of chunks) {
    await new Promise<void>((r) => s.write(c, () => r()));
    // Yield past the I/O phase, so that an in-process proxy reads each chunk on its own instead of
    // finding them all coalesced in one read.
    if (chunks.length > 1) await new Promise((r) => setImmediate(r));
  }
  if (opts.end !== false) s.end();
  await closed;
  return { data: Buffer.concat(got), ...(error ? { error } : {}) };
}

export function sha256(b: Buffer | Buffer[]): string {
  const h = createHash('sha256');
  for (const x of Array.isArray(b) ? b : [b]) h.update(x);
  return h.digest('hex');
}
