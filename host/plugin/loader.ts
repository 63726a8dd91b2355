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
 * Fuel units per detect() call (one unit per function entry and loop iteration). The bundled TLS
 * detector spends ~126 on curl's 517-byte ClientHello and at most ~11.5k on the worst window found
 * (test/hostile/fuzz.test.ts: a 16 KiB ClientHello in 1-byte records), so 1e6 leaves a margin of
 * ~86x while an infinite loop is cut off within ~1-2 ms.
 */
export const DEFAULT_FUEL = 1_000_000;

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
