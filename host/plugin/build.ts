// Compiles a detector written against the SDK into an ABI v1 module: one code path for the bundled
// detectors (scripts/build-plugins.mjs) and for authors (`passthru plugin build`).
//
// The author writes `export function detect(w: Window): Verdict` in one module. The build compiles a
// generated entry (entrySource) that re-exports the ABI glue and wraps that function as
// `detect(len, eof)`, so the module exports exactly the ABI and the author never sees it. A direct
// call, not a function reference: asc inlines it, and there is no table or start code to run.
//
// `passthru-mux/...` imports are served from this running package (its sdk/), whatever the author's
// node_modules holds: the SDK always matches the host and the AssemblyScript that compile it.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, join, relative, resolve, sep } from 'node:path';
import { PluginBuildError } from '../errors.js';
import { PACKAGE_ROOT } from '../paths.js';
import { ABI_VERSION, METADATA_SECTION } from './abi.js';
import { DEFAULT_MAX_MEMORY_PAGES, loadDetectorBytes } from './loader.js';
import { KEY_KINDS, readMetadata, TRANSPORTS, type DetectorMeta, type KeyKind, type Transport } from './metadata.js';

/** The npm name under which authors import the SDK. */
export const PACKAGE_NAME = 'passthru-mux';
/** The generated entry's file name; never written to disk (served by the readFile hook). */
const ENTRY_FILE = '__passthru_entry__.ts';
/**
 * The compile options every detector gets, applied over a project's own asconfig.json. Why each
 * (JSON has no comments):
 *   runtime stub      detectors allocate nothing per call, so no GC is linked in
 *   use abort=        aborts become `unreachable`, leaving the module without any import
 *   maximumMemory 16  1 MiB: the window, reassembly and key buffers need under 64 KiB; the host caps it too
 *   noAssert          bounds are checked by the SDK readers, not by assertions
 *   exportRuntime     false: the host calls only the ABI exports
 *   optimizeLevel 3   detect() runs for every chunk of every connection: speed over size
 */
export const ASCONFIG_FILE = join(PACKAGE_ROOT, 'asconfig.json');
/** Names that become file names (`build/NAME.wasm`) and log fields: no path separators, no spaces. */
const DETECTOR_NAME = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

export interface BuildInput {
  /** Directory the sources are relative to (asc's baseDir). */
  baseDir: string;
  /** The author's module, relative to baseDir, with or without `.ts` (`assembly/index.ts`). */
  source: string;
  meta: DetectorMeta;
  /** The project's own asconfig.json (optional tuning); the required options still win. */
  projectConfig?: string;
}

export interface BuildOutput {
  wasm: Uint8Array;
  meta: DetectorMeta;
  /** asc's warnings, if any. */
  warnings: string;
}

/** The entry asc compiles: ABI glue plus a call to the author's detect(). */
export function entrySource(authorModule: string): string {
  const spec = './' + authorModule.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\.ts$/, '');
  return [
    `export { passthru_abi_v1, input_ptr, input_cap, key_ptr } from "${PACKAGE_NAME}/sdk/assembly/abi";`,
    `import { openWindow } from "${PACKAGE_NAME}/sdk/assembly/window";`,
    `import { resetKeys } from "${PACKAGE_NAME}/sdk/assembly/keys";`,
    `import { detect as authorDetect } from "${spec}";`,
    `export function detect(len: i32, eof: i32): i32 {`,
    `  resetKeys();`,
    `  return authorDetect(openWindow(len, eof));`,
    `}`,
    '',
  ].join('\n');
}

/** asconfig.json `options` as asc command-line flags, which take precedence over any --config. */
function optionsToArgs(options: Record<string, unknown>): string[] {
  const args: string[] = [];
  for (const [k, v] of Object.entries(options)) {
    if (typeof v === 'boolean') {
      if (v) args.push(`--${k}`);
    } else if (Array.isArray(v)) {
      for (const item of v) args.push(`--${k}`, String(item));
    } else if (v !== undefined && v !== null) {
      args.push(`--${k}`, String(v));
    }
  }
  return args;
}

async function requiredOptions(): Promise<Record<string, unknown>> {
  try {
    return (JSON.parse(await readFile(ASCONFIG_FILE, 'utf8')) as { options: Record<string, unknown> }).options;
  } catch (err) {
    throw new PluginBuildError(`cannot read the compile options ${ASCONFIG_FILE}: ${(err as Error).message}`, { cause: err });
  }
}

/** A wasm custom section: id 0, size, name (length-prefixed), payload. Valid anywhere after the header. */
export function customSection(name: string, payload: Uint8Array): Uint8Array {
  const nameBytes = Buffer.from(name, 'utf8');
  const body = Buffer.concat([leb128(nameBytes.length), nameBytes, payload]);
  return Buffer.concat([Buffer.from([0]), leb128(body.length), body]);
}

function leb128(n: number): Buffer {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return Buffer.from(out);
}

/** Checks metadata as the host will read it, so a bad field fails the build rather than the load. */
export function validateMeta(meta: unknown, where: string): DetectorMeta {
  const problems: string[] = [];
  const m = (typeof meta === 'object' && meta !== null ? meta : {}) as Record<string, unknown>;
  if (m.abi !== ABI_VERSION) problems.push(`"abi" must be ${ABI_VERSION}`);
  for (const k of ['name', 'protocol', 'version']) {
    if (typeof m[k] !== 'string' || m[k] === '') problems.push(`"${k}" must be a non-empty string`);
  }
  if (typeof m.name === 'string' && m.name !== '' && !DETECTOR_NAME.test(m.name)) {
    problems.push(`"name" ${JSON.stringify(m.name)} must be lower-case letters, digits, _ . - (it names build/NAME.wasm)`);
  }
  if (m.keys !== undefined) {
    const keys = m.keys;
    if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) problems.push('"keys" must be an object of NAME: kind');
    else {
      for (const [k, kind] of Object.entries(keys)) {
        if (!KEY_KINDS.includes(kind as KeyKind)) problems.push(`"keys.${k}" must be one of ${KEY_KINDS.join(', ')}`);
      }
    }
  }
  if (m.transports !== undefined) {
    const t = m.transports;
    // As host/plugin/metadata.ts reads it: absent means ["stream"]; "datagram" takes UDP records.
    if (!Array.isArray(t) || t.length === 0 || !t.every((x) => TRANSPORTS.includes(x as Transport)) || new Set(t).size !== t.length) {
      problems.push(`"transports" must be a non-empty array of distinct ${TRANSPORTS.map((x) => `"${x}"`).join(', ')}`);
    }
  }
  if (problems.length) throw new PluginBuildError(`${where}: ${problems.join('; ')}`);
  return m as unknown as DetectorMeta;
}

type Asc = typeof import('assemblyscript/asc');
let ascPromise: Promise<Asc> | undefined;
/** Imported on first build only: the proxy never pays for the compiler. Resolved from this package's install. */
function loadAsc(): Promise<Asc> {
  ascPromise ??= import('assemblyscript/asc').catch((err: unknown) => {
    ascPromise = undefined;
    throw new PluginBuildError(`cannot load the AssemblyScript compiler this Passthru depends on: ${(err as Error).message}`, { cause: err });
  });
  return ascPromise;
}

/** Maps `…/node_modules/passthru-mux/REST` (any depth) to REST inside this package. */
function ownPackageFile(absPath: string): string | undefined {
  const marker = `${sep}node_modules${sep}${PACKAGE_NAME}${sep}`;
  const at = absPath.lastIndexOf(marker);
  if (at < 0) return undefined;
  const rest = absPath.slice(at + marker.length);
  const file = resolve(PACKAGE_ROOT, rest);
  // Only files inside the package, never a path that climbs out of it.
  return file.startsWith(PACKAGE_ROOT + sep) ? file : undefined;
}

/** Compiles, appends the metadata section, and runs the host's load checks (without fuel). */
export async function buildDetector(input: BuildInput): Promise<BuildOutput> {
  const asc = await loadAsc();
  const meta = validateMeta(input.meta, `metadata of ${input.source}`);
  const sourcePath = resolve(input.baseDir, input.source.endsWith('.ts') ? input.source : `${input.source}.ts`);
  if (!existsSync(sourcePath)) throw new PluginBuildError(`${sourcePath}: no such file (the module that exports detect(w: Window): Verdict)`);
  const entry = entrySource(relative(input.baseDir, sourcePath));
  const baseDir = resolve(input.baseDir);
  const args = [ENTRY_FILE, '--baseDir', baseDir, '--outFile', `${meta.name}.wasm`, '--noColors'];
  if (input.projectConfig) args.push('--config', resolve(baseDir, input.projectConfig));
  args.push(...optionsToArgs(await requiredOptions()));

  let binary: Uint8Array | undefined;
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(args, {
    stdout: asc.createMemoryStream(),
    stderr,
    readFile: async (name: string, dir: string) => {
      const abs = resolve(baseDir, dir, name);
      if (abs === resolve(baseDir, ENTRY_FILE)) return entry;
      const file = ownPackageFile(abs) ?? abs;
      try {
        return await readFile(file, 'utf8');
      } catch {
        return null;
      }
    },
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') binary = contents;
    },
    listFiles: () => [],
  });
  const diagnostics = stderr.toString();
  if (error || !binary) {
    const hint = /__passthru_entry__/.test(diagnostics)
      ? `\nhint: ${input.source} must export \`function detect(w: Window): Verdict\` (import { Window, Verdict } from "${PACKAGE_NAME}/sdk")`
      : '';
    throw new PluginBuildError(`${input.source}: compile failed: ${error?.message ?? 'no output'}\n${diagnostics.trim()}${hint}`);
  }

  const section = customSection(METADATA_SECTION, Buffer.from(JSON.stringify(meta), 'utf8'));
  const wasm = Buffer.concat([binary, section]);
  // The same checks the proxy runs at load, minus fuel instrumentation (which needs binaryen and is
  // the host's business): imports, exports, memory maximum, metadata.
  try {
    const mod = new WebAssembly.Module(wasm);
    const read = readMetadata(mod);
    if (typeof read === 'string') throw new Error(read);
    await loadDetectorBytes(wasm, `${meta.name}.wasm`, { fuel: 0, maxMemoryPages: DEFAULT_MAX_MEMORY_PAGES });
  } catch (err) {
    throw new PluginBuildError(`${input.source}: the output would be refused by the host: ${(err as { reason?: string }).reason ?? (err as Error).message}`, { cause: err });
  }
  return { wasm, meta, warnings: diagnostics.trim() };
}

export interface AuthorProject {
  dir: string;
  name: string;
  meta: DetectorMeta;
  source: string;
  outFile: string;
  projectConfig?: string;
}

/** The package.json `passthru` block: what the metadata section is made of. */
interface PackageJson {
  name?: string;
  version?: string;
  passthru?: { name?: string; protocol?: string; keys?: Record<string, string>; transports?: string[]; source?: string };
}

/** Reads an author's project: package.json (name, version, `passthru` block) and where things are. */
export async function readAuthorProject(dir: string): Promise<AuthorProject> {
  const pkgFile = join(dir, 'package.json');
  let pkg: PackageJson;
  try {
    pkg = JSON.parse(await readFile(pkgFile, 'utf8')) as PackageJson;
  } catch (err) {
    throw new PluginBuildError(`${pkgFile}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message} (is ${dir} a detector project? see passthru plugin new)`);
  }
  const block = pkg.passthru;
  if (!block || typeof block !== 'object') {
    throw new PluginBuildError(`${pkgFile}: no "passthru" block; add {"passthru": {"protocol": "NAME", "keys": {"KEY": "exact"}}}`);
  }
  const name = block.name ?? (pkg.name ?? basename(resolve(dir))).replace(/^@[^/]+\//, '');
  const meta = validateMeta(
    {
      abi: ABI_VERSION,
      name,
      protocol: block.protocol,
      version: pkg.version ?? '0.0.0',
      ...(block.keys ? { keys: block.keys } : {}),
      ...(block.transports !== undefined ? { transports: block.transports } : {}),
    },
    `${pkgFile} ("name", "version" and the "passthru" block)`,
  );
  const config = join(dir, 'asconfig.json');
  return {
    dir,
    name,
    meta,
    source: block.source ?? 'assembly/index.ts',
    outFile: join(dir, 'build', `${name}.wasm`),
    ...(existsSync(config) ? { projectConfig: 'asconfig.json' } : {}),
  };
}
