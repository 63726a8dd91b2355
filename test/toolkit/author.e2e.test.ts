// What a third-party author does, from the packed package and nothing of the source tree: pack,
// install the tarball in a scratch directory, `passthru plugin new`, write a detector (the MQTT
// example's sources), `plugin build`, `plugin test`, then run the proxy with `--plugin` and route a
// real MQTT client by its client id. Plus the failures an author meets: a detector that matches
// too much, and one written against the raw ABI instead of the SDK.
// Needs `npm run build` first (the tarball is packed from dist/ without running `prepare`).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closedPort, exchange, run } from '../helpers/net.js';
import { firstFlightRecorder } from '../helpers/services.js';
import { ROOT } from '../helpers/detector-fixtures.js';

/** npm pack + install from the cache take ~5-10 s; building and testing a detector ~5 s each. */
const SETUP_TIMEOUT_MS = 90_000;
const STEP_TIMEOUT_MS = 60_000;
const EXAMPLE = join(ROOT, 'examples', 'mqtt');
const hasMosquitto = existsSync('/usr/bin/mosquitto_pub');

let work: string;
let cli: string;
let project: string;

/** Runs the installed CLI (as the author's shell would: `passthru …`) in `cwd`. */
function passthru(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function npm(args: string[], cwd: string) {
  return new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn('npm', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** The example's sources and fixtures, and its `passthru` block, put into a scaffolded project. */
function adoptExample(dir: string): void {
  rmSync(join(dir, 'assembly'), { recursive: true });
  rmSync(join(dir, 'fixtures'), { recursive: true });
  cpSync(join(EXAMPLE, 'assembly'), join(dir, 'assembly'), { recursive: true });
  cpSync(join(EXAMPLE, 'fixtures'), join(dir, 'fixtures'), { recursive: true });
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  pkg.passthru = JSON.parse(readFileSync(join(EXAMPLE, 'package.json'), 'utf8')).passthru;
  writeFileSync(join(dir, 'package.json'), JSON.stringify(pkg, null, 2));
}

beforeAll(async () => {
  if (!existsSync(join(ROOT, 'dist', 'host', 'cli.js'))) throw new Error('run npm run build first');
  work = mkdtempSync(join(tmpdir(), 'passthru-author-'));
  // dist/ is built already: packing must not rebuild it (prepare would run the whole build).
  const pack = await npm(['pack', '--ignore-scripts', '--pack-destination', work], ROOT);
  expect(pack.code, pack.out).toBe(0);
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'))!;
  const inst = join(work, 'inst');
  mkdirSync(inst);
  writeFileSync(join(inst, 'package.json'), JSON.stringify({ name: 'author-tools', private: true }));
  const install = await npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(work, tarball)], inst);
  expect(install.code, install.out).toBe(0);
  cli = join(inst, 'node_modules', '.bin', 'passthru');
  expect(existsSync(cli)).toBe(true);
}, SETUP_TIMEOUT_MS);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a third-party author, from the packed package', () => {
  it('scaffolds a project that builds and passes the conformance kit as it is', async () => {
    const t0 = performance.now();
    project = join(work, 'mqtt');
    const created = await passthru(['plugin', 'new', 'mqtt', project, '--protocol', 'MQTT'], work);
    expect(created.code, created.stderr).toBe(0);
    for (const f of ['package.json', 'asconfig.json', 'assembly/index.ts', 'fixtures/manifest.json']) expect(existsSync(join(project, f)), f).toBe(true);
    // The project depends on the installed Passthru by path: nothing is looked up in a registry.
    const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8'));
    expect(pkg.devDependencies['passthru-mux']).toMatch(/^file:\//);
    const built = await passthru(['plugin', 'build'], project);
    expect(built.code, built.stderr).toBe(0);
    const tested = await passthru(['plugin', 'test', 'build/mqtt.wasm'], project);
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.stdout).toContain('conformance: PASS');
    console.log(`plugin new → passing plugin test (template): ${Math.round(performance.now() - t0)} ms`);
  }, STEP_TIMEOUT_MS);

  it('builds the MQTT example with the installed SDK and passes plugin test, other protocols included', async () => {
    const t0 = performance.now();
    adoptExample(project);
    const built = await passthru(['plugin', 'build'], project);
    expect(built.code, built.stderr).toBe(0);
    expect(built.stdout).toMatch(/built build\/mqtt\.wasm \(\d+ bytes/);
    const tested = await passthru(['plugin', 'test', 'build/mqtt.wasm'], project);
    expect(tested.code, tested.stdout).toBe(0);
    expect(tested.stdout).toMatch(/PASS {2}fixtures {8}8 fixtures/);
    // The bundled detectors' captures ship in the package: the kit found them.
    expect(tested.stdout).toMatch(/no MATCH on [1-9]\d* captures of other protocols/);
    console.log(`MQTT example: build + plugin test ${Math.round(performance.now() - t0)} ms`);
  }, STEP_TIMEOUT_MS);

  it('loads it with --plugin and routes an MQTT client by its client id', async () => {
    const sensors = await firstFlightRecorder((b) => b.length > 0);
    const others = await firstFlightRecorder((b) => b.length > 0);
    const port = await closedPort();
    const config = join(project, 'config.json');
    writeFileSync(
      config,
      JSON.stringify({
        version: 'v0.2.0',
        servers: {
          [`127.0.0.1:${port}`]: {
            MQTT: {
              'CLIENT sensor-42': { action: 'FORWARD', to_addr: `127.0.0.1:${sensors.port}` },
              CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${others.port}` },
            },
          },
        },
      }),
    );
    const proxy: ChildProcess = spawn(cli, ['-c', config, '--plugin', 'build/mqtt.wasm'], { cwd: project, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let out = '';
      proxy.stdout!.on('data', (d) => (out += d));
      await new Promise<void>((resolve, reject) => {
        proxy.stdout!.on('data', () => out.includes('"event":"listening"') && resolve());
        proxy.once('exit', (code) => reject(new Error(`passthru exited ${code}: ${out}`)));
      });
      expect(out).toContain('"plugin":"mqtt"');
      const connect = readFileSync(join(EXAMPLE, 'fixtures', 'mosquitto-pub-v311.bin'));
      if (hasMosquitto) {
        // The backend closes after the CONNECT, so the client gives up without a CONNACK.
        await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv311', '-i', 'sensor-42', '-t', 't', '-m', 'x'], '', 15_000);
        await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(port), '-V', 'mqttv5', '-i', 'other-7', '-t', 't', '-m', 'x'], '', 15_000);
      } else {
        await exchange(port, [connect]);
        const other = Buffer.from(connect);
        other.write('other-7x!', 14, 'latin1');
        await exchange(port, [other]);
      }
      const [first, second] = await Promise.all([sensors.first, others.first]);
      expect(first.subarray(14, 23).toString()).toBe('sensor-42');
      expect(second.includes(Buffer.from('other-7'))).toBe(true);
    } finally {
      proxy.kill('SIGTERM');
      if (proxy.exitCode === null) await once(proxy, 'exit');
      await Promise.all([sensors.close(), others.close()]);
    }
  }, STEP_TIMEOUT_MS);

  it('plugin test rejects a detector that matches other protocols, saying which capture and why', async () => {
    const dir = join(work, 'greedy');
    expect((await passthru(['plugin', 'new', 'greedy', dir], work)).code).toBe(0);
    // A common first mistake: MATCH as soon as there is a byte, whatever it is.
    writeFileSync(
      join(dir, 'assembly', 'index.ts'),
      `import { Window, Verdict, keys, match, incomplete } from "passthru-mux/sdk";\n` +
        `export function detect(w: Window): Verdict {\n  if (w.len == 0) return incomplete(w);\n  keys.add("ID").ascii("x");\n  return match();\n}\n`,
    );
    expect((await passthru(['plugin', 'build'], dir)).code).toBe(0);
    const tested = await passthru(['plugin', 'test', 'build/greedy.wasm'], dir);
    expect(tested.code).toBe(1);
    expect(tested.stdout).toContain('conformance: FAIL');
    expect(tested.stdout).toMatch(/FAIL {2}other protocols/);
    expect(tested.stdout).toMatch(/TLS: wrong on \d+ of \d+ captures, e\.g\. \S+\.bin: MATCH \["ID x"\] on its first 1 bytes \(a TLS capture\)/);
    expect(tested.stdout).toMatch(/hello\.bin: first 1 bytes: got MATCH \["ID x"\], expected NEED_MORE/);
  }, STEP_TIMEOUT_MS);

  it('plugin build explains a module written against the raw ABI instead of the SDK', async () => {
    const dir = join(work, 'raw');
    expect((await passthru(['plugin', 'new', 'raw', dir], work)).code).toBe(0);
    writeFileSync(join(dir, 'assembly', 'index.ts'), 'export function detect(len: i32, eof: i32): i32 {\n  return 2;\n}\n');
    const built = await passthru(['plugin', 'build'], dir);
    expect(built.code).toBe(1);
    expect(built.stderr).toContain('must export `function detect(w: Window): Verdict`');
  }, STEP_TIMEOUT_MS);
});
