// Loads a detector `.wasm`: every ABI v1 check happens here, before anything of the module runs,
// and a refusal names the file and the reason.
import { readFile } from 'node:fs/promises';
import { PluginLoadError } from '../errors.js';
import { EXPORT_FUEL, EXPORT_MEMORY, REQUIRED_FUNCTIONS, WASM_PAGE } from './abi.js';
import { readMetadata } from './metadata.js';
import {
  DEFAULT_STRIKE_LIMIT,
  DEFAULT_STRIKE_WINDOW_MS,
  Detector,
  type SandboxEvents,
} from './sandbox.js';
import { definedMemories } from './wasm-memory.js';

/** 16 pages = 1 MiB: a 16 KiB window, keys and a parser's scratch fit many times over. */
export const DEFAULT_MAX_MEMORY_PAGES = 16;
/**
 * Fuel units per detect() call; a unit is about one wasm instruction (fuel.ts COST: bulk memory by
 * length, loop passes and calls by the code they run). The worst windows found for the bundled
 * detectors (16 KiB): HTTP ~1.44M units (thousands of 3-byte LF-terminated header lines), TLS ~1.07M
 * (a ClientHello in 1-byte records, test/hostile/fuzz.test.ts); everyday ones 0.1k-20k. A hostile
 * module is cut off after ~2-10 ms at 2e7 once V8 has optimized it (spin ~2 ms, 1 MiB memory.fill
 * loop ~4-5 ms, 20k-instruction loop body ~5 ms, the costliest mixes found ~10 ms), and after up to
 * ~15-35 ms on its very first call (V8's baseline tier). Both aims could not hold at once: a margin
 * of 20x over HTTP's worst (2.9e7) would give ~15 ms warm, 10 ms warm at most would leave ~10x (1e7,
 * at the fuzz test's limit for TLS). 2e7 keeps ~14x (HTTP) and ~19x (TLS): a crafted window must not
 * be able to make a bundled detector strike (five strikes quarantine it), which costs more than a
 * few more ms for each of a hostile module's five strikes.
 */
export const DEFAULT_FUEL = 20_000_000;

/**
 * 1 MiB of module: the bundled detectors are 1.4–11 KB, a detector is a parser of a few hundred
 * lines. Compiling, instrumenting (binaryen) and V8's first-call tier all grow with size — a huge
 * function takes tens of ms to compile before any fuel is spent — so size is capped at load.
 */
export const MAX_MODULE_BYTES = 1024 * 1024;

export interface LoadOptions {
  maxMemoryPages?: number;
  /** Fuel per detect() call; 0 loads the module without metering. */
  fuel?: number;
  strikeLimit?: number;
  strikeWindowMs?: number;
  events?: SandboxEvents;
}

const SILENT: SandboxEvents = { strike() {}, quarantine() {} };

export async function loadDetectorFile(file: string, options: LoadOptions = {}): Promise<Detector> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new PluginLoadError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  return loadDetectorBytes(bytes, file, options);
}

export async function loadDetectorBytes(bytes: Uint8Array, source: string, options: LoadOptions = {}): Promise<Detector> {
  const maxPages = options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES;
  const fuel = options.fuel ?? DEFAULT_FUEL;
  const refuse = (reason: string, cause?: unknown): never => {
    throw new PluginLoadError(source, reason, { cause });
  };

  if (bytes.byteLength > MAX_MODULE_BYTES) {
    refuse(`module is ${bytes.byteLength} bytes; the host loads detectors of at most ${MAX_MODULE_BYTES} bytes`);
  }
  let module: WebAssembly.Module;
  try {
    module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
  } catch (err) {
    return refuse(`not a valid WebAssembly module: ${(err as Error).message}`, err);
  }
  const imports = WebAssembly.Module.imports(module);
  if (imports.length > 0) {
    const list = imports.slice(0, 5).map((i) => `${i.module}.${i.name} (${i.kind})`).join(', ');
    refuse(`imports are not allowed (detectors get nothing from the host): ${list}${imports.length > 5 ? ', …' : ''}`);
  }
  const exports = new Map(WebAssembly.Module.exports(module).map((e) => [e.name, e.kind]));
  for (const [name] of REQUIRED_FUNCTIONS) {
    if (!exports.has(name)) refuse(`missing ABI v1 export "${name}"`);
    if (exports.get(name) !== 'function') refuse(`ABI v1 export "${name}" must be a function, not a ${exports.get(name)}`);
  }
  if (exports.get(EXPORT_MEMORY) !== 'memory') refuse(`missing ABI v1 export "${EXPORT_MEMORY}" (a memory)`);
  if (exports.has(EXPORT_FUEL)) refuse(`export "${EXPORT_FUEL}" is reserved for the host's fuel meter`);

  let memories;
  try {
    memories = definedMemories(bytes);
  } catch (err) {
    return refuse(`cannot read the memory section: ${(err as Error).message}`, err);
  }
  if (memories.length !== 1) refuse(`must define exactly one memory (found ${memories.length})`);
  const mem = memories[0]!;
  if (mem.shared || mem.memory64) refuse('memory must be an unshared 32-bit memory');
  if (mem.maximum === undefined) refuse(`memory declares no maximum (the host requires one, at most ${maxPages} pages)`);
  if (mem.maximum! > maxPages) {
    refuse(`memory maximum is ${mem.maximum} pages (${(mem.maximum! * WASM_PAGE) / 1024} KiB); the host allows at most ${maxPages}`);
  }

  const meta = readMetadata(module);
  if (typeof meta === 'string') refuse(meta);

  if (fuel > 0) {
    const { getInstrumented } = await import('./fuel-cache.js');
    let metered: Uint8Array;
    try {
      metered = await getInstrumented(bytes);
    } catch (err) {
      return refuse(`cannot instrument for fuel metering: ${(err as Error).message ?? String(err)}`, err);
    }
    module = new WebAssembly.Module(metered as Uint8Array<ArrayBuffer>);
  }

  try {
    return new Detector(meta as Exclude<typeof meta, string>, source, module, {
      fuel,
      strikeLimit: options.strikeLimit ?? DEFAULT_STRIKE_LIMIT,
      strikeWindowMs: options.strikeWindowMs ?? DEFAULT_STRIKE_WINDOW_MS,
    }, options.events ?? SILENT);
  } catch (err) {
    return refuse((err as Error).message, err);
  }
}
