// `passthru explain`: real captures through a config's detectors and rules, with the reason for the
// rule chosen (exact, wildcard, prefix, the section's CATCHALL, the CATCHALL protocol, waiting).
// In-process through explain(), plus the CLI once for its text, --hex and exit codes.
import { describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { explain, type ExplainOptions } from '../../host/commands/explain.js';
import { ROOT } from '../helpers/detector-fixtures.js';
import { run } from '../helpers/net.js';
import { writeConfig } from '../helpers/passthru.js';

const fixture = (plugin: string, file: string) => join(ROOT, 'plugins', plugin, 'fixtures', file);
const fwd = (port: number) => ({ action: 'FORWARD', to_addr: `127.0.0.1:${port}` });

const config = writeConfig({
  version: 'v0.2.0',
  servers: {
    '127.0.0.1:1': {
      TLS: { 'SNI a.test': fwd(11), 'SNI *.b.test': fwd(12), CATCHALL: fwd(13) },
      HTTP: { 'PATH /api/v1': fwd(21), 'HOST www.a.test': fwd(22) },
      CATCHALL: { CATCHALL: fwd(99) },
    },
    '127.0.0.1:2': {
      SSH: { 'SOFTWARE nope': fwd(31) },
    },
    '127.0.0.1:3': {
      TLS: { 'SNI *.test': fwd(41), 'ALPN http/1.1': fwd(42) },
    },
    '127.0.0.1:4': {
      TLS: { 'SNI other.test': fwd(51), CATCHALL: fwd(52) },
    },
  },
});

function opts(file: string, more: Partial<ExplainOptions> = {}): ExplainOptions {
  return { configFile: config, plugins: [], file, hex: false, eof: false, json: false, fuel: 1_000_000, maxMemoryPages: 16, ...more };
}

describe('passthru explain', () => {
  it('a TLS ClientHello: the SNI key matches its exact rule, first of two keys', async () => {
    const e = await explain(opts(fixture('tls', 'curl.bin'), { server: '127.0.0.1:1' }));
    const s = e.servers[0]!;
    expect(s.detectors.map((d) => [d.protocol, d.verdict, d.asked])).toEqual([
      ['TLS', 'MATCH', true],
      ['HTTP', 'NO_MATCH', false],
    ]);
    expect(s.detectors[0]!.keys).toEqual(['SNI a.test', 'ALPN h2']);
    expect(s.detectors[0]!.fuel).toBeGreaterThan(0);
    expect(s.detectors[0]!.ns).toBeGreaterThan(0);
    expect(s.decision).toMatchObject({ action: 'FORWARD', toAddr: '127.0.0.1:11', protocol: 'TLS', rule: 'SNI a.test', reason: 'exact', key: 'SNI a.test' });
    expect(s.decision.why).toBe('TLS key "SNI a.test" (1st of 2) matches rule "SNI a.test" exactly');
  });

  it('an HTTP request: HOST has no rule, PATH matches a shorter prefix rule', async () => {
    const e = await explain(opts(fixture('http', 'curl-get-path-query.bin'), { server: '127.0.0.1:1' }));
    const d = e.servers[0]!.decision;
    expect(d).toMatchObject({ toAddr: '127.0.0.1:21', rule: 'PATH /api/v1', reason: 'prefix', key: 'PATH /api/v1/items' });
    expect(d.why).toContain('(2nd of 4) matches rule "PATH /api/v1" by path prefix');
  });

  it('a wildcard rule, and the section CATCHALL when no key has a rule', async () => {
    const wild = (await explain(opts(fixture('tls', 'curl.bin'), { server: '127.0.0.1:3' }))).servers[0]!.decision;
    expect(wild).toMatchObject({ toAddr: '127.0.0.1:41', rule: 'SNI *.test', reason: 'wildcard', key: 'SNI a.test' });
    expect(wild.why).toBe('TLS key "SNI a.test" (1st of 2) matches rule "SNI *.test" by wildcard');
    const catchall = (await explain(opts(fixture('tls', 'curl.bin'), { server: '127.0.0.1:4' }))).servers[0]!.decision;
    expect(catchall).toMatchObject({ toAddr: '127.0.0.1:52', rule: 'CATCHALL', reason: 'catchall', protocol: 'TLS' });
    expect(catchall.why).toBe('TLS matched with keys ["SNI a.test","ALPN h2"], none of which has a rule: the TLS section\'s CATCHALL rule');
  });

  it('no detector matches: the CATCHALL protocol, saying why', async () => {
    const e = await explain(opts(fixture('ssh', 'openssh.bin'), { server: '127.0.0.1:1' }));
    const d = e.servers[0]!.decision;
    expect(d).toMatchObject({ action: 'FORWARD', toAddr: '127.0.0.1:99', protocol: 'CATCHALL', reason: 'no-match' });
    expect(d.why).toBe('every detector said NO_MATCH: the CATCHALL protocol');
  });

  it('a matched protocol without rule or CATCHALL, on a server without CATCHALL protocol: REJECT', async () => {
    const e = await explain(opts(fixture('ssh', 'openssh.bin'), { server: '127.0.0.1:2' }));
    const d = e.servers[0]!.decision;
    expect(d).toMatchObject({ action: 'REJECT', reason: 'fallback' });
    expect(d.why).toContain('no rule and no CATCHALL rule in its section');
  });

  it('too few bytes: waiting, then the timeout; with --eof, the client is done', async () => {
    const waiting = await explain(opts(fixture('tls', 'curl-truncated.bin'), { server: '127.0.0.1:1' }));
    expect(waiting.servers[0]!.outcome).toBe('waiting');
    expect(waiting.servers[0]!.decision.why).toMatch(/^no verdict with these \d+ bytes: a connection would wait for more, and no verdict before the detection timeout/);
    const eof = await explain(opts(fixture('tls', 'curl-truncated.bin'), { server: '127.0.0.1:1', eof: true }));
    expect(eof.servers[0]!.outcome).toBe('decided');
    expect(eof.servers[0]!.decision.reason).toBe('eof');
  });

  it('runs every server of the config without --server, and names the servers for an unknown one', async () => {
    const e = await explain(opts(fixture('ssh', 'openssh.bin')));
    expect(e.servers.map((s) => s.server)).toEqual(['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3', '127.0.0.1:4']);
    await expect(explain(opts(fixture('ssh', 'openssh.bin'), { server: '127.0.0.1:9' }))).rejects.toThrow(/no such server .*servers: 127\.0\.0\.1:1, 127\.0\.0\.1:2, /);
  });

  it('the CLI prints the explanation from hex input', async () => {
    const hexFile = writeConfig('');
    writeFileSync(hexFile, Buffer.from('SSH-2.0-OpenSSH_9.2p1\r\n').toString('hex').replace(/(..)/g, '$1 '));
    const r = await run('node', [join(ROOT, 'dist/host/cli.js'), 'explain', '-c', config, '--server', '127.0.0.1:2', '--hex', hexFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('server 127.0.0.1:2');
    expect(r.stdout).toMatch(/SSH \(ssh [\d.]+\) +MATCH +fuel \d+, \d+ ns \["SOFTWARE OpenSSH_9\.2p1"\]/);
    expect(r.stdout).toContain('decision: REJECT');
    const bad = await run('node', [join(ROOT, 'dist/host/cli.js'), 'explain', '-c', config, '--hex', config]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('not hex digits');
  });
});
