// `passthru plugin inspect`, run as the installed CLI would be (needs `npm run build:host`).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { BUILTIN_SAMPLES, type InspectReport } from '../../host/commands/plugin-inspect.js';
import { run } from '../helpers/net.js';
import { moduleFile } from './harness.js';
import * as M from './modules.js';

const CLI = fileURLToPath(new URL('../../dist/host/cli.js', import.meta.url));
const TLS_WASM = fileURLToPath(new URL('../../dist/plugins/tls.wasm', import.meta.url));
const inspect = (...args: string[]) => run(process.execPath, [CLI, 'plugin', 'inspect', ...args], '', 60_000);

let spin: string, noMax: string, imports: string, flaky: string;
beforeAll(async () => {
  [spin, noMax, imports, flaky] = await Promise.all([
    moduleFile('inspect-spin', M.SPIN),
    moduleFile('inspect-no-max', M.NO_MAX_MEMORY),
    moduleFile('inspect-imports', M.IMPORTS),
    moduleFile('inspect-flaky', M.TRAP_EVERY_THIRD),
  ]);
});

describe('passthru plugin inspect', () => {
  it('the bundled TLS detector: metadata, exports, memory, load check, instrumented size, samples', async () => {
    const r = await inspect(TLS_WASM);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = r.stdout;
    expect(out).toContain(`file          ${TLS_WASM} (${readFileSync(TLS_WASM).length} bytes)`);
    expect(out).toContain('metadata      name tls, protocol TLS, version 1.0.0, abi 1');
    expect(out).toContain('  keys        SNI (hostname), ALPN (exact)');
    expect(out).toMatch(/^ {2}detect {14}function$/m);
    expect(out).toMatch(/^ {2}memory {14}memory$/m);
    expect(out).toContain('imports       none');
    expect(out).toMatch(/^memory {8}initial 1 page \(64 KiB\), maximum 16 pages \(1024 KiB\) \(host cap 16 pages/m);
    expect(out).toContain('load checks   passed');
    expect(out).toMatch(/^instrumented  \d+ bytes \(\+[\d.]+ %\), fuel budget 20000000 per call$/m);
    expect(out).toMatch(/^ {2}tls-clienthello +330 {2}no {2}MATCH +\d+ +\d+ {2}\["SNI a\.test","ALPN h2"\]$/m);
    for (const name of ['ssh-banner', 'http-get', 'random-512']) expect(out).toMatch(new RegExp(`^  ${name} +\\d+  no  NO_MATCH +\\d+ +\\d+  \\[\\]$`, 'm'));
    expect(out).toMatch(/^ {2}empty-eof +0 {2}yes NO_MATCH/m);
  });

  it('--json gives the same report as data', async () => {
    const r = await inspect(TLS_WASM, '--json', '--plugin-fuel', '50000');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout) as InspectReport;
    expect(rep.metadata).toMatchObject({ name: 'tls', protocol: 'TLS', abi: 1 });
    expect(rep.load).toEqual({ ok: true });
    expect(rep.limits).toEqual({ fuel: 50000, maxMemoryPages: 16 });
    expect(rep.memories).toEqual([{ initial: 1, maximum: 16, shared: false, memory64: false }]);
    expect(rep.instrumentedSize).toBeGreaterThan(rep.size);
    expect(rep.samples.map((s) => s.name)).toEqual(BUILTIN_SAMPLES.map((s) => s.name));
    const hello = rep.samples[0]!;
    expect(hello).toMatchObject({ verdict: 'MATCH', keys: ['SNI a.test', 'ALPN h2'], bytes: 330, eof: false });
    expect(hello.fuel).toBeGreaterThan(0);
    expect(hello.fuel).toBeLessThan(50000);
    expect(hello.ns).toBeGreaterThan(0);
    expect(rep.samples.every((s) => s.strike === undefined)).toBe(true);
  });

  it('the built-in ClientHello is the captured fixture', () => {
    const fixture = readFileSync(new URL('../../plugins/tls/fixtures/openssl-alpn.bin', import.meta.url));
    expect(Buffer.from(BUILTIN_SAMPLES[0]!.bytes).equals(fixture)).toBe(true);
  });

  it('a spinning detector loads, and every sample shows the strike', async () => {
    const r = await inspect(spin);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('metadata      name spin, protocol SPIN');
    for (const s of BUILTIN_SAMPLES) {
      expect(r.stdout).toMatch(new RegExp(`^  ${s.name} .* NO_MATCH +- +\\d+  STRIKE: fuel exhausted \\(budget 20000000\\)$`, 'm'));
    }
  });

  it('a detector that keeps state shows a strike on a repeated call', async () => {
    const r = await inspect(flaky, '--json');
    const rep = JSON.parse(r.stdout) as InspectReport;
    expect(rep.samples[0]).toMatchObject({ verdict: 'NO_MATCH', strike: 'on a repeated call: trap: unreachable' });
    // The first call's fuel is a few dozen units (a counter bump and a compare); the exact figure follows
    // the instrumenter's block layout, so the test bounds it rather than pinning it.
    expect(rep.samples[0]!.fuel).toBeGreaterThan(0);
    expect(rep.samples[0]!.fuel).toBeLessThan(100);
  });

  it('a refused module: the reason, exit 1', async () => {
    const r = await inspect(noMax);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('memory        initial 1 page (64 KiB), no maximum (host cap 16 pages (1024 KiB))');
    expect(r.stdout).toContain('load checks   REFUSED: memory declares no maximum (the host requires one, at most 16 pages)');
    expect(r.stdout).not.toContain('samples');
    const i = await inspect(imports);
    expect(i.code).toBe(1);
    expect(i.stdout).toMatch(/^imports\n {2}env\.log {13}function$/m);
    expect(i.stdout).toContain('load checks   REFUSED: imports are not allowed (detectors get nothing from the host): env.log (function)');
  });

  it('the cap follows --plugin-max-memory', async () => {
    const big = await moduleFile('inspect-max-17', M.MAX_ABOVE_CAP);
    expect((await inspect(big)).code).toBe(1);
    const r = await inspect(big, '--plugin-max-memory', '17');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('load checks   passed');
  });

  it('not WebAssembly, a missing file, no file', async () => {
    const junk = await moduleFile('inspect-junk', '(module)');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(junk, 'not wasm');
    const j = await inspect(junk);
    expect(j.code).toBe(1);
    expect(j.stdout).toMatch(/^module {8}not valid WebAssembly: /m);
    expect(j.stdout).toMatch(/^load checks {3}REFUSED: not a valid WebAssembly module: /m);
    const m = await inspect('/nonexistent/x.wasm');
    expect(m.code).toBe(1);
    expect(m.stderr).toBe('passthru plugin inspect: /nonexistent/x.wasm: cannot read: ENOENT\n');
    const none = await run(process.execPath, [CLI, 'plugin', 'inspect']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Not enough non-option arguments');
  });
});
