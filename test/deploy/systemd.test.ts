// deploy/systemd/passthru.service: `systemd-analyze verify` (Debian package systemd) finds no error,
// `systemd-analyze security --offline=yes` rates its exposure at most 2.0, and its ExecStart command
// line runs for real: ExecReload's SIGHUP reloads it (a new route works on a real connection) and
// KillSignal's SIGTERM drains it, exit 0, within TimeoutStopSec.
// Substituted: systemd is not PID 1 here (a container, as root), so `systemctl start` cannot run and
// DynamicUser/sandboxing are not exercised, only rated; the installed /usr/bin/passthru is a shim
// (`exec node dist/host/cli.js "$@"`, what npm's bin link runs) in a temp dir, for verify (which
// needs the binary to exist) and for the run; /etc/passthru/config.json and the metrics port are the
// test's.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDuration } from '../../host/duration.js';
import { CLI, spawnPassthru } from '../helpers/cli-process.js';
import { closedPort, exchange, tcpBackend } from '../helpers/net.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const UNIT = readFileSync(join(ROOT, 'deploy/systemd/passthru.service'), 'utf8');
const dir = mkdtempSync(join(tmpdir(), 'passthru-systemd-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const shim = join(dir, 'passthru');
writeFileSync(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
chmodSync(shim, 0o755);
const unitFile = join(dir, 'passthru.service');
writeFileSync(unitFile, UNIT.replaceAll('/usr/bin/passthru', shim));

/** The values of `key=` lines of the unit, in order. */
const values = (key: string): string[] => [...UNIT.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
const one = (key: string): string => {
  const v = values(key);
  expect(v, key).toHaveLength(1);
  return v[0]!;
};

describe('systemd unit', () => {
  it('has the hardening the issue asks for, and no MemoryDenyWriteExecute (V8 JIT needs W+X)', () => {
    expect(one('DynamicUser')).toBe('yes');
    expect(one('AmbientCapabilities')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('CapabilityBoundingSet')).toBe('CAP_NET_BIND_SERVICE');
    expect(one('ProtectSystem')).toBe('strict');
    expect(one('NoNewPrivileges')).toBe('yes');
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    expect(one('KillSignal')).toBe('SIGTERM');
    expect(one('Restart')).toBe('on-failure');
    expect(values('MemoryDenyWriteExecute')).toEqual([]);
    // systemd must not SIGKILL a drain: TimeoutStopSec past --drain-timeout.
    const drain = /--drain-timeout (\S+)/.exec(one('ExecStart'))![1]!;
    expect(parseDuration(one('TimeoutStopSec'), 'TimeoutStopSec')).toBeGreaterThan(parseDuration(drain, 'drain'));
  });

  it('systemd-analyze verify reports nothing', () => {
    const r = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    // verify exits 0 on some warnings; any line naming the unit is a finding.
    expect(r.stderr.split('\n').filter((l) => l.includes('passthru.service'))).toEqual([]);
  });

  it('systemd-analyze security --offline rates its exposure at most 2.0', () => {
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', unitFile], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const score = Number(/Overall exposure level for passthru\.service: ([\d.]+)/.exec(r.stdout)![1]);
    console.log(`systemd-analyze security --offline: exposure ${score}`);
    // What is left: the network itself (AF_INET/AF_INET6 to any address, any port: a proxy's job),
    // CAP_NET_BIND_SERVICE, @resources allowed (setrlimit), and no MemoryDenyWriteExecute.
    expect(score).toBeLessThanOrEqual(2.0);
  });

  it('runs its ExecStart; ExecReload (SIGHUP) reloads, KillSignal (SIGTERM) drains and exits 0', async () => {
    const a = await tcpBackend((s) => s.on('error', () => {}).end('A'));
    const b = await tcpBackend((s) => s.on('error', () => {}).end('B'));
    const port = await closedPort();
    const metrics = await closedPort();
    const configFile = join(dir, 'config.json');
    const config = (to: number): string => JSON.stringify({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${to}` } } } } });
    writeFileSync(configFile, config(a.port));
    const argv = one('ExecStart').replaceAll('/etc/passthru/config.json', configFile).replace('127.0.0.1:9090', `127.0.0.1:${metrics}`).split(/\s+/);
    expect(argv[0]).toBe('/usr/bin/passthru');
    const env = Object.fromEntries(values('Environment').map((e) => e.split('=', 2) as [string, string]));
    expect(env.PASSTHRU_CACHE_DIR).toBe('/var/cache/passthru');
    const p = spawnPassthru(argv.slice(1), { command: shim, env: { ...process.env, PASSTHRU_CACHE_DIR: join(dir, 'cache') } });
    const { child, waitLine } = p;
    try {
      await waitLine((l) => l.event === 'listening');
      await waitLine((l) => l.event === 'metrics-listening');
      expect((await exchange(port, [Buffer.from('x')])).data.toString()).toBe('A');
      writeFileSync(configFile, config(b.port));
      // ExecReload, as systemd runs it with $MAINPID set.
      const reload = spawnSync('/bin/sh', ['-c', one('ExecReload').replace('$MAINPID', String(child.pid))]);
      expect(reload.status).toBe(0);
      await waitLine((l) => l.event === 'reload' && l.result === 'ok');
      expect((await exchange(port, [Buffer.from('x')])).data.toString()).toBe('B');
      child.kill(one('KillSignal') as NodeJS.Signals);
      await waitLine((l) => l.event === 'drained');
      expect(await p.exited, p.stderr()).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await a.close();
      await b.close();
    }
  });
});
