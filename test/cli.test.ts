// The CLI as a user runs it: a real process, its exit code and what it prints.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bannerBackend, exchange, run } from './helpers/net.js';
import { writeConfig } from './helpers/passthru.js';

const CLI = new URL('../dist/host/cli.js', import.meta.url).pathname;
const passthru = (...args: string[]) => run(process.execPath, [CLI, ...args]);

describe('passthru check', () => {
  it('accepts the bundled default config and prints a summary', async () => {
    const r = await passthru('check');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('config/default.json: OK');
    expect(r.stdout).toMatch(/TLS\s+tls 1\.0\.0/);
    expect(r.stdout).toContain('server 127.0.0.1:8443:');
  });

  it('takes -c=FILE and --c FILE as Go flags did', async () => {
    const file = writeConfig({ version: 'v0.2.0', servers: { '127.0.0.1:1': { TLS: { 'SNI a.test': { action: 'REJECT' } } } } });
    expect((await passthru('check', `-c=${file}`)).code).toBe(0);
    expect((await passthru('check', '--c', file)).code).toBe(0);
    expect((await passthru('check', '--config', file)).stdout).toContain('"SNI a.test"');
  });

  it('reports every error with its JSON path and exits 1', async () => {
    const file = writeConfig({
      version: 'v0.3.0',
      servers: {
        '127.0.0.1:443': {
          TLS: {
            'SNI a.test': { action: 'FORWARD' },
            'SNI b.test': { action: 'FORWARD', to_addr: 'nohost' },
            'SNI c.test': { action: 'forward', to_addr: '127.0.0.1:1' },
          },
        },
      },
    });
    const r = await passthru('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('version: unsupported version "v0.3.0"');
    expect(r.stderr).toContain('servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr: FORWARD needs to_addr (host:port)');
    expect(r.stderr).toContain('servers["127.0.0.1:443"].TLS["SNI b.test"].to_addr');
    expect(r.stderr).toContain('servers["127.0.0.1:443"].TLS["SNI c.test"].action: unknown action "forward"');
  });

  it('names a protocol no detector provides', async () => {
    const file = writeConfig({ version: 'v0.2.0', servers: { '127.0.0.1:1': { NOPE: { CATCHALL: { action: 'REJECT' } } } } });
    const r = await passthru('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/servers\["127\.0\.0\.1:1"\]\.NOPE: no detector provides protocol NOPE; loaded: .*TLS/);
  });

  it('refuses a plugin that is not WebAssembly, naming the file and the reason', async () => {
    const bad = join(tmpdir(), `passthru-bad-${process.pid}.wasm`);
    writeFileSync(bad, 'not wasm at all');
    const r = await passthru('check', '--plugin', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${bad}: plugin refused: not a valid WebAssembly module`);
  });
});

describe('passthru flags', () => {
  it.each([
    [['-w', 'two'], /-w: "two" is not a whole number or "auto"/],
    [['-w', '1000'], /-w: 1000 is more than 256 workers/],
    [['--max-connections', '0'], /--max-connections: 0 is not a whole number of at least 1/],
    [['--connect-timeout', '0'], /invalid --connect-timeout "0"/],
    [['--idle-timeout', '-1s'], /--idle-timeout: -1s is negative/],
    [['--metrics', 'nowhere'], /--metrics: "nowhere" is not host:port/],
    [['-t', '0'], /invalid -t "0"/],
    [['-t', '5x'], /invalid -t "5x"/],
    [['--bogus'], /Unknown argument: bogus/],
    [['stray'], /Unknown argument: stray/],
  ])('%j is a usage error (exit 2)', async (args, message) => {
    const r = await passthru(...args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('a single-valued flag given twice takes the last value, as Go flags do', async () => {
    const r = await passthru('-w', '1', '-w', '300');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('-w: 300 is more than 256 workers');
    const ok = await passthru('check', '-c', 'nonexistent.json', '-c', 'config/default.json');
    expect(ok.code).toBe(0);
  });

  it('--version prints the package version', async () => {
    const r = await passthru('--version');
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});

describe('passthru (serve)', () => {
  it('exits 1 naming the address when a listen address cannot be bound, having bound nothing', async () => {
    const taken = net.createServer().listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const port = (taken.address() as net.AddressInfo).port;
    const free = net.createServer().listen(0, '127.0.0.1');
    await once(free, 'listening');
    const freePort = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    try {
      const file = writeConfig({
        version: 'v0.2.0',
        servers: {
          [`127.0.0.1:${freePort}`]: { CATCHALL: { CATCHALL: { action: 'REJECT' } } },
          [`127.0.0.1:${port}`]: { CATCHALL: { CATCHALL: { action: 'REJECT' } } },
        },
      });
      const r = await passthru('-c', file);
      expect(r.code).toBe(1);
      expect(r.stdout + r.stderr).toContain(`cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
    } finally {
      taken.close();
    }
  });

  it('serves, logs JSON lines when stdout is not a terminal, and stops on SIGTERM', async () => {
    const backend = await bannerBackend('hello from backend');
    const file = writeConfig({ version: 'v0.2.0', servers: { '127.0.0.1:0': { TLS: {}, CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } });
    const child = spawn(process.execPath, [CLI, '-c', file, '-t', '100ms'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const lines: Record<string, unknown>[] = [];
      let buf = '';
      const listening = new Promise<number>((resolve, reject) => {
        child.on('exit', (code) => reject(new Error(`exited ${code}`)));
        child.stdout.on('data', (d: Buffer) => {
          buf += d.toString();
          let nl;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const rec = JSON.parse(buf.slice(0, nl)) as Record<string, unknown>;
            buf = buf.slice(nl + 1);
            lines.push(rec);
            if (rec.event === 'listening') resolve(rec.port as number);
          }
        });
      });
      const port = await listening;
      const r = await exchange(port, [Buffer.from('plain bytes')]);
      expect(r.data.toString()).toBe('hello from backend');
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number];
      expect(code).toBe(0);
      expect(lines.find((l) => l.event === 'connection')).toMatchObject({ protocol: 'CATCHALL', action: 'FORWARD', bytes_up: 11, bytes_down: 18 });
      expect(lines.filter((l) => l.event === 'detector').map((l) => l.protocol)).toContain('TLS');
    } finally {
      child.kill('SIGKILL');
      await backend.close();
    }
  });
});
