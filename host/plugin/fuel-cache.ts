// On-disk cache of fuel-instrumented detectors, so that a start-up with unchanged plugins never
// loads binaryen (~330 ms, ~115 MB). Only this module's cache misses reach instrumentFuel().

import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { FUEL_INSTRUMENTER_VERSION, instrumentFuel, looksInstrumented } from './fuel.js';

export interface FuelCacheOptions {
  /** Cache directory; `null` disables caching. Default: see defaultCacheDir(). */
  dir?: string | null;
  /** The instrumenter to run on a miss (tests substitute a counting wrapper). */
  instrument?: (wasm: Uint8Array) => Promise<Uint8Array>;
}

/** `$PASSTHRU_CACHE_DIR`, else `$XDG_CACHE_HOME/passthru`, else `~/.cache/passthru`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string | null {
  if (env.PASSTHRU_CACHE_DIR) return env.PASSTHRU_CACHE_DIR;
  if (env.XDG_CACHE_HOME) return join(env.XDG_CACHE_HOME, 'passthru');
  try {
    const home = homedir();
    return home ? join(home, '.cache', 'passthru') : null;
  } catch {
    return null;
  }
}

/** File name of a module's entry: the version is visible so stale entries are easy to sweep. */
export function cacheKey(wasm: Uint8Array): string {
  const hash = createHash('sha256').update(FUEL_INSTRUMENTER_VERSION).update('\0').update(wasm).digest('hex');
  return `${FUEL_INSTRUMENTER_VERSION}-${hash}.wasm`;
}

/**
 * The fuel-instrumented form of `wasm`, from the cache when a sound entry exists. Errors of the
 * instrumenter propagate (the caller turns them into PluginLoadError); cache I/O errors never do:
 * an unusable cache only costs time.
 */
export async function getInstrumented(wasm: Uint8Array, options: FuelCacheOptions = {}): Promise<Uint8Array<ArrayBuffer>> {
  const dir = options.dir === undefined ? defaultCacheDir() : options.dir;
  const instrument = options.instrument ?? instrumentOffThread;
  const file = dir ? join(dir, cacheKey(wasm)) : null;

  if (file) {
    const cached = await readFile(file).catch(() => null);
    // The entry could be truncated by a crash or damaged on disk: anything that does not look like
    // our output is ignored and overwritten. (Whoever can write this directory can also replace
    // the detector itself, so this guards against accidents, not attackers.)
    if (cached && looksInstrumented(cached)) return new Uint8Array(cached.buffer, cached.byteOffset, cached.byteLength) as Uint8Array<ArrayBuffer>;
  }

  const result = (await instrument(wasm)) as Uint8Array<ArrayBuffer>;
  if (dir && file) await writeAtomically(dir, file, result);
  return result;
}

async function writeAtomically(dir: string, file: string, data: Uint8Array): Promise<void> {
  const tmp = `${file}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFile(tmp, data, { mode: 0o600 });
    await rename(tmp, file);
  } catch {
    await unlink(tmp).catch(() => undefined);
  }
}

/**
 * instrumentFuel() in a child process, so the proxy does not keep binaryen's memory for its
 * lifetime. From the TypeScript sources (tests), where no compiled child entry exists, in-process.
 */
export function instrumentOffThread(wasm: Uint8Array): Promise<Uint8Array> {
  if (import.meta.url.endsWith('.ts')) return instrumentFuel(wasm);
  const entry = fileURLToPath(new URL('./fuel-worker.js', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(new Uint8Array(Buffer.concat(out)));
      // The reason is binaryen's or ours, already bounded by instrumentFuel.
      else reject(new Error(Buffer.concat(err).toString().slice(0, 1000) || `instrumentation exited with code ${code}`));
    });
    child.stdin.end(wasm);
  });
}
