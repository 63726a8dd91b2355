// The Dockerfile, without a Docker engine (none on these machines or in CI): its instructions are
// parsed and executed here as a builder would — each stage's filesystem is a temp dir, COPY copies
// from the build context honouring .dockerignore (or from the build stage), RUN runs with sh in the
// stage's WORKDIR and ENV — then the ENTRYPOINT + CMD is started as written, the HEALTHCHECK command is
// run against it, a real TCP connection passes through, and the STOPSIGNAL stops it with exit 0.
// Substituted, and only this: absolute paths of the image (/src, /opt/passthru, /etc/passthru,
// /var/cache/passthru) are mapped under the stage's temp dir; npm runs with prefer-offline (the cache
// is warm, no registry round trips); the base image's node is this node; the metrics port 9090 and the
// mounted config are the test's (a free port, a listener on 127.0.0.1 to a test backend); the process
// runs as this test's user, not as USER node (asserted to be non-root, not exercised).
// With a Docker engine (`docker info` succeeds) a real `docker build` is done too; otherwise skipped.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort, exchange, tcpBackend } from '../helpers/net.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile lines → instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const out: Instruction[] = [];
  let cur = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (cur === '' && (line.trim() === '' || line.trim().startsWith('#'))) continue;
    if (cur !== '' && line.trim().startsWith('#')) continue;
    if (line.endsWith('\\')) {
      cur += line.slice(0, -1) + ' ';
      continue;
    }
    cur += line;
    const m = /^\s*(\w+)\s+([\s\S]*)$/.exec(cur);
    if (!m) throw new Error(`bad Dockerfile line: ${cur}`);
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim() });
    cur = '';
  }
  return out;
}

const PREFIXES = ['/opt/passthru', '/etc/passthru', '/var/cache/passthru', '/src'];
const mapPath = (root: string, p: string): string => {
  for (const pre of PREFIXES) if (p === pre || p.startsWith(pre + '/')) return root + p;
  return p;
};
const mapText = (root: string, s: string): string => s.replace(/(^|[\s"'=])(\/(?:opt\/passthru|etc\/passthru|var\/cache\/passthru|src))(?=[\s/"']|$)/g, (_m, a: string, p: string) => a + root + p);

function ignored(rel: string, patterns: string[]): boolean {
  const parts = rel.split(sep);
  return patterns.some((p) => (p.startsWith('**/*') ? rel.endsWith(p.slice(4)) : parts[0] === p));
}

interface Stage {
  name?: string;
  root: string;
  workdir: string;
  env: Record<string, string>;
}

interface Image {
  stages: Stage[];
  final: Stage;
  user?: string;
  exposed: string[];
  stopsignal?: string;
  healthcheck?: string[];
  entrypoint: string[];
  cmd: string[];
}

function build(instrs: Instruction[], work: string): Image {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const img: Image = { stages: [], final: undefined as unknown as Stage, exposed: [], entrypoint: [], cmd: [] };
  let st: Stage | undefined;
  for (const { op, args } of instrs) {
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      expect(m[1]).toMatch(/^node:20(-|\.|$).*slim|^node:20-slim$/);
      const root = join(work, `stage${img.stages.length}`);
      mkdirSync(root, { recursive: true });
      st = { ...(m[2] ? { name: m[2] } : {}), root, workdir: '/', env: {} };
      img.stages.push(st);
      img.user = undefined;
      continue;
    }
    if (!st) throw new Error(`${op} before FROM`);
    if (op === 'WORKDIR') {
      st.workdir = args;
      mkdirSync(mapPath(st.root, args), { recursive: true });
    } else if (op === 'ENV') {
      for (const m of args.matchAll(/(\w+)=(\S+)/g)) st.env[m[1]!] = m[2]!;
    } else if (op === 'COPY') {
      const words = args.split(/\s+/);
      const from = words[0]!.startsWith('--from=') ? words.shift()!.slice(7) : undefined;
      const dest = words.pop()!;
      const srcRoot = from === undefined ? ROOT : img.stages.find((s) => s.name === from)!.root;
      const absDest = mapPath(st.root, dest.startsWith('/') ? dest : join(st.workdir, dest));
      for (const src of words) {
        const from_ = from === undefined ? join(srcRoot, src) : mapPath(srcRoot, src);
        if (from === undefined) expect(ignored(src, patterns), `COPY ${src} is .dockerignored`).toBe(false);
        const target = dest.endsWith('/') ? join(absDest, src.split('/').pop()!) : absDest;
        mkdirSync(dirname(target), { recursive: true });
        cpSync(from_, target, {
          recursive: true,
          filter: (p) => from !== undefined || !ignored(relative(ROOT, p), patterns),
        });
      }
    } else if (op === 'RUN') {
      const r = spawnSync('sh', ['-c', mapText(st.root, args)], {
        cwd: mapPath(st.root, st.workdir),
        env: { ...process.env, ...Object.fromEntries(Object.entries(st.env).map(([k, v]) => [k, mapText(st!.root, v)])), npm_config_prefer_offline: 'true' },
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`RUN ${args} failed (${r.status}): ${r.stdout}\n${r.stderr}`);
    } else if (op === 'USER') {
      img.user = args;
    } else if (op === 'EXPOSE') {
      img.exposed.push(...args.split(/\s+/));
    } else if (op === 'STOPSIGNAL') {
      img.stopsignal = args;
    } else if (op === 'HEALTHCHECK') {
      img.healthcheck = JSON.parse(args.replace(/^.*?CMD\s+/, '')) as string[];
    } else if (op === 'ENTRYPOINT') {
      img.entrypoint = JSON.parse(args) as string[];
    } else if (op === 'CMD') {
      img.cmd = JSON.parse(args) as string[];
    } else {
      throw new Error(`instruction the test does not execute: ${op}`);
    }
  }
  img.final = st!;
  return img;
}

const work = mkdtempSync(join(tmpdir(), 'passthru-dockerfile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const instrs = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

describe('Dockerfile', () => {
  it('is multi-stage, runs as a non-root user, stops with SIGTERM, checks /healthz', () => {
    const froms = instrs.filter((i) => i.op === 'FROM');
    expect(froms.length).toBeGreaterThanOrEqual(2);
    const lastFrom = instrs.lastIndexOf(froms.at(-1)!);
    const users = instrs.slice(lastFrom).filter((i) => i.op === 'USER');
    expect(users.length).toBe(1);
    expect(users[0]!.args).not.toMatch(/^(root|0)(:|$)/);
    expect(instrs.find((i) => i.op === 'STOPSIGNAL')?.args).toBe('SIGTERM');
    expect(instrs.find((i) => i.op === 'HEALTHCHECK')?.args).toContain('/healthz');
    // The runtime stage takes no sources and no compiler output but the build's.
    expect(instrs.slice(lastFrom).filter((i) => i.op === 'COPY' && !i.args.startsWith('--from=')).map((i) => i.args)).toEqual(['deploy/docker/config.json /etc/passthru/config.json']);
  });

  it('builds (its RUN steps executed), starts as its ENTRYPOINT+CMD, passes its HEALTHCHECK and a connection, stops at its STOPSIGNAL', async () => {
    const img = build(instrs, work);
    const root = img.final.root;
    // Built in the build stage and carried over: the host and every bundled detector.
    expect(existsSync(join(root, 'opt/passthru/dist/host/cli.js'))).toBe(true);
    expect(existsSync(join(root, 'opt/passthru/dist/plugins/tls.wasm'))).toBe(true);
    // Pruned: no dev dependency in the image.
    expect(existsSync(join(root, 'opt/passthru/node_modules/vitest'))).toBe(false);
    expect(existsSync(join(root, 'opt/passthru/node_modules/prom-client'))).toBe(true);
    // Detectors instrumented at build time, readable by the non-root user.
    expect(execFileSync('sh', ['-c', `ls ${root}/var/cache/passthru | wc -l`], { encoding: 'utf8' }).trim()).not.toBe('0');
    expect(img.exposed).toContain('9090');
    expect(img.cmd).toContain('/etc/passthru/config.json');

    // `docker run -v my.json:/etc/passthru/config.json`: the test's config over the baked one.
    const backend = await tcpBackend((s) => {
      s.on('error', () => {});
      s.on('data', (d: Buffer) => s.end(Buffer.concat([Buffer.from('echo:'), d])));
    });
    const port = await closedPort();
    const metricsPort = await closedPort();
    writeFileSync(join(root, 'etc/passthru/config.json'), JSON.stringify({ version: 'v0.2.0', servers: { [`127.0.0.1:${port}`]: { CATCHALL: { CATCHALL: { action: 'FORWARD', to_addr: `127.0.0.1:${backend.port}` } } } } }));
    const withPort = (a: string[]): string[] => a.map((x) => mapText(root, x.replaceAll(':9090', `:${metricsPort}`)));
    const [cmd, ...argv] = withPort([...img.entrypoint, ...img.cmd]);
    expect(cmd).toBe('node');
    const env = { ...process.env, ...Object.fromEntries(Object.entries(img.final.env).map(([k, v]) => [k, mapText(root, v)])) };
    const child = spawn(process.execPath, argv, { cwd: mapPath(root, img.final.workdir), env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const exited = once(child, 'exit');
    try {
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (out.includes('"event":"metrics-listening"') && out.includes('"event":"listening"')) resolve();
        };
        child.stdout.on('data', check);
        void exited.then(() => reject(new Error(`exited early: ${out}`)));
      });
      // Not from the fuel cache's miss path: binaryen was never needed at start.
      const [hc, ...hcArgs] = withPort(img.healthcheck!);
      expect(hc).toBe('node');
      expect(spawnSync(process.execPath, hcArgs, { timeout: 10_000 }).status).toBe(0);
      const r = await exchange(port, [Buffer.from('hello')]);
      expect(r.data.toString()).toBe('echo:hello');

      // While draining (a connection held open), the HEALTHCHECK fails: the orchestrator stops sending.
      const held = net.connect(port, '127.0.0.1');
      await once(held, 'connect');
      held.on('error', () => {});
      child.kill(img.stopsignal as NodeJS.Signals);
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (out.includes('"event":"shutdown"')) resolve();
        };
        child.stdout.on('data', check);
        check();
      });
      expect(spawnSync(process.execPath, hcArgs, { timeout: 10_000 }).status).toBe(1);
      held.end();
      const [code] = await exited;
      expect(code, out).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await backend.close();
    }
  }, 150_000);

  const engine = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;
  if (!engine) console.log('dockerfile.test: no Docker engine here (`docker info` fails): the real `docker build` case is skipped');
  it.skipIf(!engine)('docker build succeeds with a real engine', () => {
    const r = spawnSync('docker', ['build', '-t', 'passthru-test', ROOT], { encoding: 'utf8', timeout: 600_000 });
    expect(r.status, r.stderr).toBe(0);
  }, 600_000);
});
