// `passthru status`: the exposition parser and the rates (unit), then a real passthru with --metrics,
// real TLS and HTTP clients through it, and `passthru status --once` as a real process.
import { execFile, spawn } from 'node:child_process';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../../host/status/prom-text.js';
import { bucketDelta, quantile, rate, snapshot } from '../../host/status/snapshot.js';
import { render } from '../../host/commands/status.js';
import { CLI, spawnPassthru, type PassthruProcess } from '../helpers/cli-process.js';
import { closedPort, exchange, tcpBackend, tlsBackend, type Backend } from '../helpers/net.js';
import { writeConfig } from '../helpers/passthru.js';

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const f of cleanup.splice(0).reverse()) await f();
});

const TEXT = `# HELP passthru_connections_accepted_total Connections accepted
# TYPE passthru_connections_accepted_total counter
passthru_connections_accepted_total{listener="127.0.0.1:0"} 4
passthru_connections_active{listener="127.0.0.1:0"} 1
passthru_connections_closed_total{listener="127.0.0.1:0",protocol="TLS",rule="SNI a \\"q\\"\\\\x",action="FORWARD",close="closed"} 3
passthru_bytes_total{listener="127.0.0.1:0",protocol="TLS",rule="SNI a \\"q\\"\\\\x",direction="up"} 3000
passthru_bytes_total{listener="127.0.0.1:0",protocol="TLS",rule="SNI a \\"q\\"\\\\x",direction="down"} 9000 1700000000000
passthru_detection_seconds_bucket{le="0.001",listener="127.0.0.1:0"} 3
passthru_detection_seconds_bucket{le="0.01",listener="127.0.0.1:0"} 4
passthru_detection_seconds_bucket{le="+Inf",listener="127.0.0.1:0"} 4
passthru_plugin_strikes_total{plugin="tls"} 0
passthru_plugin_quarantines_total{plugin="bad"} 1
passthru_plugin_strikes_total{plugin="bad"} 5
passthru_reloads_total{result="ok"} 2
passthru_process_start_time_seconds 1700000000
`;

describe('exposition parser and rates', () => {
  it('reads names, escaped labels, values and skips comments and timestamps', () => {
    const s = parsePrometheusText(TEXT);
    expect(s).toHaveLength(13);
    expect(s[2]).toEqual({
      name: 'passthru_connections_closed_total',
      labels: { listener: '127.0.0.1:0', protocol: 'TLS', rule: 'SNI a "q"\\x', action: 'FORWARD', close: 'closed' },
      value: 3,
    });
    expect(s[4]!.value).toBe(9000);
    expect(parsePrometheusText('x{le="+Inf"} +Inf\ny NaN')[0]!.value).toBe(Infinity);
    expect(() => parsePrometheusText('{oops} 1')).toThrow();
    expect(() => parsePrometheusText('x{a="1} 1')).toThrow();
    expect(() => parsePrometheusText('x abc')).toThrow();
  });

  it('reduces a scrape to listeners, rules, detectors, reloads', () => {
    const s = snapshot(parsePrometheusText(TEXT), 0);
    expect(s.listeners.get('127.0.0.1:0')).toMatchObject({ accepted: 4, active: 1 });
    expect([...s.rules.values()]).toEqual([{ listener: '127.0.0.1:0', protocol: 'TLS', rule: 'SNI a "q"\\x', closed: 3, bytesUp: 3000, bytesDown: 9000 }]);
    expect(s.plugins.get('bad')).toEqual({ strikes: 5, quarantines: 1 });
    expect(s.reloads).toEqual({ ok: 2, refused: 0 });
    expect(s.startTime).toBe(1700000000);
  });

  it('rates from deltas, a restarted counter from zero; quantiles from bucket deltas', () => {
    expect(rate(10, 30, 2)).toBe(10);
    expect(rate(30, 4, 2)).toBe(2);
    expect(rate(undefined, 4, 2)).toBe(2);
    expect(rate(1, 2, 0)).toBe(0);
    const b: [number, number][] = [[0.001, 3], [0.01, 4], [Infinity, 4]];
    expect(quantile(b, 0.5)).toBe(0.001);
    expect(quantile(b, 0.99)).toBe(0.01);
    expect(quantile([[0.001, 0], [Infinity, 0]], 0.5)).toBeUndefined();
    expect(bucketDelta([[0.001, 1], [0.01, 1], [Infinity, 1]], b)).toEqual([[0.001, 2], [0.01, 3], [Infinity, 3]]);
  });

  it('renders rates over the interval and detector health', () => {
    const before = snapshot(parsePrometheusText(TEXT.replace('} 4\n', '} 2\n').replace('direction="up"} 3000', 'direction="up"} 1000')), 0);
    const after = snapshot(parsePrometheusText(TEXT), 2000);
    const view = render('http://x/metrics', before, after, 1700000090_000);
    expect(view).toContain('up 1m30s');
    expect(view).toMatch(/127\.0\.0\.1:0\s+1\s+4\s+1\.0\s+1\.0ms\s+10ms/);
    expect(view).toMatch(/TLS\s+SNI a "q"\\x\s+3\s+0\.0\s+1000 B\/s\s+0 B\/s/);
    expect(view).toMatch(/bad\s+5\s+yes \(1x\)/);
    expect(view).toMatch(/tls\s+0\s+no/);
    expect(view).toContain('reloads: 2 ok, 0 refused');
  });
});

function runStatus(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, 'status', ...args], { timeout: 20_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('passthru status against a running passthru', () => {
  it('--once shows the rules with their connections, rates, latency and the detectors', async () => {
    const a: Backend = await tlsBackend('a.test');
    const h: Backend = await tcpBackend((s) => s.on('error', () => {}).pipe(s));
    cleanup.push(() => a.close(), () => h.close());
    const file = writeConfig({
      version: 'v0.2.0',
      servers: {
        '127.0.0.1:0': {
          TLS: { 'SNI a.test': { action: 'FORWARD', to_addr: `127.0.0.1:${a.port}` } },
          HTTP: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${h.port}` } },
          CATCHALL: { CATCHALL: { action: 'REJECT' } },
        },
      },
    });
    const p: PassthruProcess = spawnPassthru(['-c', file, '--metrics', '127.0.0.1:0', '-t', '200ms']);
    cleanup.push(async () => {
      p.kill('SIGKILL');
      await p.exited;
    });
    const port = (await p.waitLine((l) => l.event === 'listening')).port as number;
    const mport = (await p.waitLine((l) => l.event === 'metrics-listening')).port as number;
    for (let i = 0; i < 3; i++) {
      await new Promise<void>((resolve, reject) => {
        const c = tls.connect({ port, host: '127.0.0.1', servername: 'a.test', rejectUnauthorized: false }, () => c.end());
        c.on('error', reject).on('close', () => resolve());
        c.resume();
      });
    }
    await exchange(port, [Buffer.from('GET / HTTP/1.1\r\nHost: b.test\r\n\r\n')], { end: true });
    await p.waitLines((l) => l.event === 'connection', 4);

    const r = await runStatus([`127.0.0.1:${mport}`, '--once', '--interval', '300ms']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`passthru status  http://127.0.0.1:${mport}/metrics`);
    expect(r.stdout).toMatch(/127\.0\.0\.1:0\s+0\s+4\s+0\.0\s+\S+\s+\S+/);
    expect(r.stdout).toMatch(/127\.0\.0\.1:0\s+TLS\s+SNI a\.test\s+3\s/);
    expect(r.stdout).toMatch(/127\.0\.0\.1:0\s+HTTP\s+CATCHALL\s+1\s/);
    expect(r.stdout).toMatch(/^tls\s+0\s+no$/m);
    expect(r.stdout).toContain('reloads: 0 ok, 0 refused');
    expect(r.stdout).not.toContain('\x1b[');
  }, 30_000);

  it('-w 2: reads the primary\'s sum over the workers', async () => {
    const b = await tcpBackend((s) => s.on('error', () => {}).pipe(s));
    cleanup.push(() => b.close());
    const port = await closedPort();
    const p = spawnPassthru(['-c', writeConfig({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${b.port}` } } } } }), '--metrics', '127.0.0.1:0', '-w', '2']);
    cleanup.push(async () => {
      p.kill('SIGKILL');
      await p.exited;
    });
    const mport = (await p.waitLine((l) => l.event === 'metrics-listening')).port as number;
    await p.waitLines((l) => l.event === 'listening', 2);
    for (let i = 0; i < 4; i++) await exchange(port, [Buffer.from('hello')], { end: true });
    await p.waitLines((l) => l.event === 'connection', 4);
    const r = await runStatus([`http://127.0.0.1:${mport}`, '--once', '--interval', '200ms']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`127\\.0\\.0\\.1:${port}\\s+CATCHALL\\s+CATCHALL\\s+4\\s`));
    expect(r.stdout).toMatch(/^tls\s+0\s+no$/m);
  }, 30_000);

  it('on a terminal (script(1) gives it a pty) it redraws in place every interval', async () => {
    const b = await tcpBackend((s) => s.on('error', () => {}).pipe(s));
    cleanup.push(() => b.close());
    const p = spawnPassthru(['-c', writeConfig({ version: 'v0.2.0', servers: { '127.0.0.1:0': { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${b.port}` } } } } }), '--metrics', '127.0.0.1:0']);
    cleanup.push(async () => {
      p.kill('SIGKILL');
      await p.exited;
    });
    const mport = (await p.waitLine((l) => l.event === 'metrics-listening')).port as number;
    const cmd = [process.execPath, CLI, 'status', `127.0.0.1:${mport}`, '--interval', '100ms'].map((a) => `'${a}'`).join(' ');
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    cleanup.push(() => child.kill('SIGKILL'));
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\x1b[H\x1b[2J').length > 3) resolve();
      });
      child.on('exit', (code) => reject(new Error(`status exited (${code}) on a terminal: ${out}`)));
    });
    expect(out.split('\x1b[H\x1b[2J')[1]).toContain('passthru status  http://127.0.0.1:');
  }, 30_000);

  it('an unreachable endpoint is a clear error and exit 1', async () => {
    const port = await closedPort();
    const r = await runStatus(['--metrics', `127.0.0.1:${port}`, '--once', '--interval', '100ms']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`cannot read metrics from http://127\\.0\\.0\\.1:${port}/metrics: ECONNREFUSED`));
  });

  it('no endpoint named is a usage error (exit 2)', async () => {
    const r = await runStatus(['--once']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('name the metrics endpoint');
  });
});
