// Shared by the hostile-module tests: assembling .wat into detector files, a proxy that asks a
// hostile detector before the bundled TLS one, and a TLS client that measures each connection.
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll } from 'vitest';
import { tlsBackend, type Backend } from '../helpers/net.js';
import { startProxy, type TestProxy } from '../helpers/passthru.js';

// Instrumented modules go to a cache of the test run's own, not the user's ~/.cache (shared by the
// files of this suite, so the TLS detector is instrumented once).
process.env.PASSTHRU_CACHE_DIR ??= join(tmpdir(), 'passthru-hostile-fuel-cache');

type Wabt = Awaited<ReturnType<typeof import('wabt')>>;
let wabtPromise: Promise<Wabt> | undefined;

export async function assemble(text: string): Promise<Uint8Array<ArrayBuffer>> {
  wabtPromise ??= import('wabt').then((m) => m.default());
  const wabt = await wabtPromise;
  const mod = wabt.parseWat('hostile.wat', text, { annotations: true, bulk_memory: true });
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'passthru-hostile-'));
// Registered on the importing test file: its modules go when it is done.
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Assembles `text` into `<dir>/<name>.wasm` and returns the path. */
export async function moduleFile(name: string, text: string): Promise<string> {
  const file = join(dir, `${name}.wasm`);
  writeFileSync(file, await assemble(text));
  return file;
}

export interface Backends {
  a: Backend;
  b: Backend;
  /** Where the hostile protocol's own CATCHALL rule sends connections it claims. */
  hostile: Backend;
  close(): Promise<void>;
}

export async function startBackends(): Promise<Backends> {
  const [a, b, hostile] = await Promise.all([tlsBackend('a.test'), tlsBackend('b.test'), tlsBackend('hostile.test')]);
  return { a, b, hostile, close: async () => void (await Promise.all([a.close(), b.close(), hostile.close()])) };
}

/**
 * A proxy whose only server lists the hostile protocol BEFORE TLS, so the hostile detector is asked
 * first about every connection, and whatever it claims goes to the `hostile` backend.
 */
export function proxyWith(plugin: string, protocol: string, backends: Backends): Promise<TestProxy> {
  return startProxy(
    {
      version: 'v0.2.0',
      servers: {
        '127.0.0.1:0': {
          [protocol]: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backends.hostile.port}` } },
          TLS: {
            'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${backends.a.port}` },
            'SNI b.test': { action: 'FORWARD', to_addr: `127.0.0.1:${backends.b.port}` },
          },
        },
      },
    },
    { plugins: [plugin] },
  );
}

export interface TlsReply {
  /** What the backend said: `hello <backend> sni=<servername>\n`. */
  text: string;
  ms: number;
  error?: string;
}

/** One TLS connection through the proxy, from connect until the backend's close. */
export async function tlsHello(port: number, servername: string): Promise<TlsReply> {
  const t0 = performance.now();
  const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false });
  let text = '';
  let error: string | undefined;
  s.setEncoding('utf8');
  s.on('data', (d: string) => (text += d));
  s.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  await once(s, 'close');
  return { text, ms: performance.now() - t0, ...(error ? { error } : {}) };
}

/** Alternates a.test / b.test over `n` sequential connections; returns each reply. */
export async function tlsRounds(port: number, n: number): Promise<Array<TlsReply & { name: string }>> {
  const out: Array<TlsReply & { name: string }> = [];
  for (let i = 0; i < n; i++) {
    const name = i % 2 === 0 ? 'a.test' : 'b.test';
    out.push({ name, ...(await tlsHello(port, name)) });
  }
  return out;
}

export const strikes = (p: TestProxy, plugin: string) => p.logs.filter((r) => r.event === 'plugin-strike' && r.plugin === plugin);
export const quarantines = (p: TestProxy, plugin: string) => p.logs.filter((r) => r.event === 'plugin-quarantine' && r.plugin === plugin);
