// `passthru plugin test FILE.wasm [--fixtures DIR]`: the conformance kit (host/plugin/conformance.ts)
// with a pass/fail report; exit 1 on any failure, so it gates an author's CI.
import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors.js';
import { formatConformance, runConformance } from '../plugin/conformance.js';

export interface TestOptions {
  file: string;
  fixtures?: string;
  fuel: number;
  maxMemoryPages: number;
  fuzzRuns: number;
  seed: number;
  json: boolean;
}

/** The project's fixtures/: next to build/ for a built project, else ./fixtures. */
export function defaultFixturesDir(file: string): string {
  const abs = resolve(file);
  const dir = dirname(abs);
  const project = basename(dir) === 'build' ? join(dir, '..', 'fixtures') : join(dir, 'fixtures');
  return existsSync(project) ? project : resolve('fixtures');
}

export async function runPluginTest(o: TestOptions, out: NodeJS.WritableStream): Promise<number> {
  const fixturesDir = resolve(o.fixtures ?? defaultFixturesDir(o.file));
  if (!existsSync(join(fixturesDir, 'manifest.json'))) {
    throw new UsageError(`plugin test: no ${join(fixturesDir, 'manifest.json')}; name the fixtures with --fixtures DIR`);
  }
  const report = await runConformance(o.file, {
    fixturesDir,
    fuel: o.fuel,
    maxMemoryPages: o.maxMemoryPages,
    fuzzRuns: o.fuzzRuns,
    seed: o.seed,
  });
  out.write(o.json ? JSON.stringify(report, null, 2) + '\n' : formatConformance(report));
  return report.ok ? 0 : 1;
}
