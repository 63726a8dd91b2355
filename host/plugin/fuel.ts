// Fuel metering: the CPU bound of the sandbox. A detector is untrusted code running on the proxy's
// only thread, so every way it can keep running (a loop going round, a call, recursion) passes a
// checkpoint that spends one unit of a host-set budget and traps once the budget is gone.
//
// binaryen is imported lazily (~330 ms, ~115 MB): only a cache miss pays for it (see fuel-cache.ts).

import type binaryenNs from 'binaryen';
import { EXPORT_FUEL } from './abi.js';

type Binaryen = typeof binaryenNs;
type Module = binaryenNs.Module;
type ExprRef = number;

/**
 * Bump whenever the instrumented output changes for the same input (checkpoint placement, cost
 * model, features, binaryen major): it is part of the cache key, so old entries stop being used.
 */
export const FUEL_INSTRUMENTER_VERSION = 'fuel-1';

/**
 * Initial value of the fuel global. The global can only be set once an instance exists, but the
 * start function runs during instantiation and is charged like any other code, so it gets this
 * budget. The host overwrites the global before every detect() call.
 */
export const START_FUEL = 1_000_000;

/**
 * Features an instrumented module may use: what AssemblyScript emits (and Node 20's V8 ships).
 * Deliberately absent: threads/atomics (a detector has no business sharing memory, and
 * `memory.atomic.wait` could block the proxy's thread), exception handling (its control flow is
 * not covered by the walker), tail calls, GC, strings, stack switching, multi-memory, memory64.
 */
const ALLOWED_FEATURE_NAMES = [
  'MutableGlobals',
  'NontrappingFPToInt',
  'SIMD128',
  'BulkMemory',
  'BulkMemoryOpt',
  'SignExt',
  'ReferenceTypes',
  'Multivalue',
] as const;

const MAX_REASON = 400;

// binaryen.js ships wrappers per expression class (binaryen.Block.getChildAt, …) that its
// index.d.ts does not declare: describe the part we use.
type Getter = (expr: ExprRef) => ExprRef;
interface ExprClasses {
  Block: { getNumChildren(e: ExprRef): number; getChildAt(e: ExprRef, i: number): ExprRef };
  If: { getCondition: Getter; getIfTrue: Getter; getIfFalse: Getter };
  Loop: { getBody: Getter; setBody(e: ExprRef, body: ExprRef): void };
  Break: { getCondition: Getter; getValue: Getter };
  Switch: { getCondition: Getter; getValue: Getter };
  Call: { getNumOperands(e: ExprRef): number; getOperandAt(e: ExprRef, i: number): ExprRef };
  CallIndirect: { getTarget: Getter; getNumOperands(e: ExprRef): number; getOperandAt(e: ExprRef, i: number): ExprRef };
  LocalSet: { getValue: Getter };
  GlobalSet: { getValue: Getter };
  Load: { getPtr: Getter };
  Store: { getPtr: Getter; getValue: Getter };
  Unary: { getValue: Getter };
  Binary: { getLeft: Getter; getRight: Getter };
  Select: { getIfTrue: Getter; getIfFalse: Getter; getCondition: Getter };
  Drop: { getValue: Getter };
  Return: { getValue: Getter };
  MemoryGrow: { getDelta: Getter };
  MemoryInit: { getDest: Getter; getOffset: Getter; getSize: Getter };
  MemoryCopy: { getDest: Getter; getSource: Getter; getSize: Getter };
  MemoryFill: { getDest: Getter; getValue: Getter; getSize: Getter };
  SIMDExtract: { getVec: Getter };
  SIMDReplace: { getVec: Getter; getValue: Getter };
  SIMDShuffle: { getLeft: Getter; getRight: Getter };
  SIMDTernary: { getA: Getter; getB: Getter; getC: Getter };
  SIMDShift: { getVec: Getter; getShift: Getter };
  SIMDLoad: { getPtr: Getter };
  SIMDLoadStoreLane: { getPtr: Getter; getVec: Getter };
  RefIsNull: { getValue: Getter };
  TableGet: { getIndex: Getter };
  TableSet: { getIndex: Getter; getValue: Getter };
  TableGrow: { getValue: Getter; getDelta: Getter };
  TupleMake: { getNumOperands(e: ExprRef): number; getOperandAt(e: ExprRef, i: number): ExprRef };
  TupleExtract: { getTuple: Getter };
  Function: { getBody(f: number): ExprRef; setBody(f: number, body: ExprRef): void };
  /** C API, exported by binaryen.js without a wrapper; returns the new local's index. */
  _BinaryenFunctionAddVar(f: number, type: number): number;
}
type Api = Binaryen & ExprClasses & Record<string, unknown>;

/** Children of one expression; absent optional children come back as 0 and are skipped. */
type ChildFn = (e: ExprRef) => ExprRef[];

/**
 * The walker's whole knowledge of the IR: expression id → its children. An id not in this table
 * makes the module refused, so a binaryen upgrade that adds a control-flow construct cannot
 * silently let unmetered code through.
 */
function childTable(b: Api): Map<number, { name: string; children: ChildFn }> {
  const none: ChildFn = () => [];
  const list = (n: (e: ExprRef) => number, at: (e: ExprRef, i: number) => ExprRef) => (e: ExprRef) => {
    const out: ExprRef[] = [];
    for (let i = 0, k = n(e); i < k; i++) out.push(at(e, i));
    return out;
  };
  const entries: Array<[string, ChildFn]> = [
    // Leaves.
    ['Nop', none],
    ['Const', none],
    ['LocalGet', none],
    ['GlobalGet', none],
    ['MemorySize', none],
    ['Unreachable', none],
    ['DataDrop', none],
    ['RefNull', none],
    ['RefFunc', none],
    ['TableSize', none],
    // Control flow. Loop is the one that matters: its body gets a checkpoint.
    ['Block', list(b.Block.getNumChildren, b.Block.getChildAt)],
    ['If', (e) => [b.If.getCondition(e), b.If.getIfTrue(e), b.If.getIfFalse(e)]],
    ['Loop', (e) => [b.Loop.getBody(e)]],
    ['Break', (e) => [b.Break.getCondition(e), b.Break.getValue(e)]],
    ['Switch', (e) => [b.Switch.getCondition(e), b.Switch.getValue(e)]],
    ['Return', (e) => [b.Return.getValue(e)]],
    ['Select', (e) => [b.Select.getIfTrue(e), b.Select.getIfFalse(e), b.Select.getCondition(e)]],
    ['Drop', (e) => [b.Drop.getValue(e)]],
    // Calls: the callee is charged at its entry.
    ['Call', list(b.Call.getNumOperands, b.Call.getOperandAt)],
    [
      'CallIndirect',
      (e) => [...list(b.CallIndirect.getNumOperands, b.CallIndirect.getOperandAt)(e), b.CallIndirect.getTarget(e)],
    ],
    // Variables, memory, arithmetic (including sign-ext and saturating conversions, which are Unary).
    ['LocalSet', (e) => [b.LocalSet.getValue(e)]],
    ['GlobalSet', (e) => [b.GlobalSet.getValue(e)]],
    ['Load', (e) => [b.Load.getPtr(e)]],
    ['Store', (e) => [b.Store.getPtr(e), b.Store.getValue(e)]],
    ['Unary', (e) => [b.Unary.getValue(e)]],
    ['Binary', (e) => [b.Binary.getLeft(e), b.Binary.getRight(e)]],
    ['MemoryGrow', (e) => [b.MemoryGrow.getDelta(e)]],
    // Bulk memory: one unit each whatever the length; bounded by the memory's declared maximum.
    ['MemoryInit', (e) => [b.MemoryInit.getDest(e), b.MemoryInit.getOffset(e), b.MemoryInit.getSize(e)]],
    ['MemoryCopy', (e) => [b.MemoryCopy.getDest(e), b.MemoryCopy.getSource(e), b.MemoryCopy.getSize(e)]],
    ['MemoryFill', (e) => [b.MemoryFill.getDest(e), b.MemoryFill.getValue(e), b.MemoryFill.getSize(e)]],
    // SIMD.
    ['SIMDExtract', (e) => [b.SIMDExtract.getVec(e)]],
    ['SIMDReplace', (e) => [b.SIMDReplace.getVec(e), b.SIMDReplace.getValue(e)]],
    ['SIMDShuffle', (e) => [b.SIMDShuffle.getLeft(e), b.SIMDShuffle.getRight(e)]],
    ['SIMDTernary', (e) => [b.SIMDTernary.getA(e), b.SIMDTernary.getB(e), b.SIMDTernary.getC(e)]],
    ['SIMDShift', (e) => [b.SIMDShift.getVec(e), b.SIMDShift.getShift(e)]],
    ['SIMDLoad', (e) => [b.SIMDLoad.getPtr(e)]],
    ['SIMDLoadStoreLane', (e) => [b.SIMDLoadStoreLane.getPtr(e), b.SIMDLoadStoreLane.getVec(e)]],
    // Reference types (AS enables them; tables of funcref for call_indirect).
    ['RefIsNull', (e) => [b.RefIsNull.getValue(e)]],
    ['TableGet', (e) => [b.TableGet.getIndex(e)]],
    ['TableSet', (e) => [b.TableSet.getIndex(e), b.TableSet.getValue(e)]],
    ['TableGrow', (e) => [b.TableGrow.getValue(e), b.TableGrow.getDelta(e)]],
    // Multi-value, as binaryen represents it.
    ['TupleMake', list(b.TupleMake.getNumOperands, b.TupleMake.getOperandAt)],
    ['TupleExtract', (e) => [b.TupleExtract.getTuple(e)]],
  ];
  const table = new Map<number, { name: string; children: ChildFn }>();
  for (const [name, children] of entries) {
    const id = b[`${name}Id`];
    if (typeof id !== 'number') throw new Error(`binaryen has no expression id ${name}Id`);
    table.set(id, { name, children });
  }
  return table;
}

/** Name of an expression id for messages (binaryen exposes ids only as `XxxId` constants). */
function idName(b: Api, id: number): string {
  for (const key of Object.keys(b)) {
    if (key.endsWith('Id') && key !== 'InvalidId' && b[key] === id) return key.slice(0, -2);
  }
  return `#${id}`;
}

let binaryenPromise: Promise<Api> | undefined;
let cachedTable: Map<number, { name: string; children: ChildFn }> | undefined;

function loadBinaryen(): Promise<Api> {
  binaryenPromise ??= import('binaryen').then((m) => m.default as Api);
  return binaryenPromise;
}

/** True once this process has imported binaryen (lets tests and benches check that a cache hit did not). */
export function binaryenLoaded(): boolean {
  return binaryenPromise !== undefined;
}

/**
 * Returns a copy of `wasm` that behaves the same but spends fuel: a mutable i32 global exported as
 * `passthru_fuel` (initially START_FUEL) is decremented at every function entry and at the top of
 * every loop body, and the code traps (`unreachable`) when it drops below zero. So with budget B a
 * call may pass B checkpoints, and `B - remaining` is the fuel it used.
 * Throws an Error with a short reason when the module cannot be metered safely.
 */
export async function instrumentFuel(wasm: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
  precheck(wasm);
  const b = await loadBinaryen();
  let module: Module | undefined;
  const out = captureOutput();
  try {
    try {
      // Parsing with only the allowed features makes binaryen refuse e.g. GC types up front.
      module = (b.readBinary as (data: Uint8Array, features: number) => Module)(wasm, allowedFeatures(b));
    } catch (err) {
      throw new Error(`cannot parse module: ${describe(err, out.text())}`);
    }
    instrument(b, module);
    if (!module.validate()) {
      throw new Error(`instrumented module does not validate: ${bounded(out.text()) || 'no details'}`);
    }
    // emitBinary copies out of binaryen's heap, so the bytes outlive dispose().
    const result = module.emitBinary() as Uint8Array<ArrayBuffer>;
    // What V8 accepts is what counts: the host compiles this next.
    if (!wasmValidate(result)) throw new Error('instrumented module is rejected by WebAssembly.validate');
    return result;
  } catch (err) {
    if (err instanceof Error && !isAbort(err)) throw err;
    throw new Error(`instrumentation failed: ${describe(err, out.text())}`);
  } finally {
    out.restore();
    try {
      module?.dispose();
    } catch {
      // A module that binaryen aborted on may not dispose cleanly; there is nothing left to free.
    }
  }
}

function allowedFeatures(b: Api): number {
  let f = b.Features.MVP as number;
  for (const name of ALLOWED_FEATURE_NAMES) f |= b.Features[name] as number;
  return f;
}

function instrument(b: Api, module: Module): void {
  for (let i = 0, n = module.getNumExports(); i < n; i++) {
    const info = b.getExportInfo(module.getExportByIndex(i));
    if (info.name === EXPORT_FUEL) throw new Error(`module already exports "${EXPORT_FUEL}"`);
  }
  if (module.getNumFunctions() === 0) throw new Error('module has no functions');

  // Internal names are the module's own (name section); pick one it does not use.
  let global = EXPORT_FUEL;
  for (let k = 1; module.getGlobal(global) !== 0; k++) global = `${EXPORT_FUEL}_${k}`;
  module.addGlobal(global, b.i32, true, module.i32.const(START_FUEL));
  module.addGlobalExport(global, EXPORT_FUEL);

  // Each checkpoint needs fresh nodes: binaryen IR is a tree, never shared. The decremented value
  // is compared from a scratch local rather than re-read from the global: V8 then does one global
  // load and one store per checkpoint (measured ~10–15 % faster on a byte-scanning loop).
  const checkpoint = (scratch: number): ExprRef =>
    module.block(null, [
      module.global.set(
        global,
        module.local.tee(scratch, module.i32.sub(module.global.get(global, b.i32), module.i32.const(1)), b.i32),
      ),
      module.if(module.i32.lt_s(module.local.get(scratch, b.i32), module.i32.const(0)), module.unreachable()),
    ]);
  const prepend = (body: ExprRef, scratch: number): ExprRef =>
    module.block(null, [checkpoint(scratch), body], b.getExpressionType(body));

  const table = (cachedTable ??= childTable(b));
  for (let i = 0, n = module.getNumFunctions(); i < n; i++) {
    const func = module.getFunctionByIndex(i);
    const info = b.getFunctionInfo(func);
    if (info.module) throw new Error(`module imports function ${info.module}.${info.base}`);
    const body = b.Function.getBody(func);
    // Collect first, mutate after: the walk must not see the checkpoints it adds.
    const loops: ExprRef[] = [];
    const stack: ExprRef[] = [body];
    while (stack.length > 0) {
      const e = stack.pop()!;
      const id = b.getExpressionId(e);
      const entry = table.get(id);
      if (!entry) {
        throw new Error(`unsupported expression ${idName(b, id)} in function ${info.name} (fuel metering covers only known instructions)`);
      }
      if (entry.name === 'Loop') loops.push(e);
      for (const child of entry.children(e)) if (child) stack.push(child);
    }
    const scratch = b._BinaryenFunctionAddVar(func, b.i32);
    for (const loop of loops) b.Loop.setBody(loop, prepend(b.Loop.getBody(loop), scratch));
    b.Function.setBody(func, prepend(body, scratch));
  }
  module.setFeatures(allowedFeatures(b));
}

// The tsconfig's libs (ES2022, node types) do not declare the WebAssembly namespace.
const wasmValidate = (bytes: Uint8Array): boolean =>
  (globalThis as unknown as { WebAssembly: { validate(b: Uint8Array): boolean } }).WebAssembly.validate(bytes);

// ---- Checks on the raw binary (no binaryen: also used on cache hits) ----

const SECTION_IMPORT = 2;
const SECTION_EXPORT = 7;
const EXTERNAL_GLOBAL = 3;

interface Sections {
  imports: number;
  exports: Array<{ name: string; kind: number }>;
}

/** Reads just the import count and the export names; throws on a malformed binary. */
export function scanSections(wasm: Uint8Array): Sections {
  if (wasm.length < 8 || wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
    throw new Error('not a WebAssembly binary (bad magic)');
  }
  if (wasm[4] !== 1 || wasm[5] !== 0 || wasm[6] !== 0 || wasm[7] !== 0) throw new Error('unsupported WebAssembly version');
  let pos = 8;
  const leb = (): number => {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      if (pos >= wasm.length) throw new Error('truncated module');
      const byte = wasm[pos++]!;
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new Error('malformed LEB128');
  };
  const out: Sections = { imports: 0, exports: [] };
  while (pos < wasm.length) {
    const id = wasm[pos++]!;
    const size = leb();
    const end = pos + size;
    if (end > wasm.length) throw new Error('truncated section');
    if (id === SECTION_IMPORT) out.imports = leb();
    if (id === SECTION_EXPORT) {
      for (let i = 0, n = leb(); i < n; i++) {
        const len = leb();
        if (pos + len > end) throw new Error('truncated export name');
        const name = Buffer.from(wasm.buffer, wasm.byteOffset + pos, len).toString('utf8');
        pos += len;
        const kind = wasm[pos++]!;
        leb();
        out.exports.push({ name, kind });
      }
    }
    pos = end;
  }
  return out;
}

/** Refusals that need no binaryen, so a hostile module costs nothing to turn away. */
function precheck(wasm: Uint8Array): void {
  const s = scanSections(wasm);
  if (s.imports > 0) throw new Error(`module has ${s.imports} import(s); detectors must import nothing`);
  if (s.exports.some((e) => e.name === EXPORT_FUEL)) throw new Error(`module already exports "${EXPORT_FUEL}"`);
}

/** A binary that looks like our output: valid for V8, no imports, exports the fuel global. */
export function looksInstrumented(wasm: Uint8Array): boolean {
  try {
    if (!wasmValidate(wasm)) return false;
    const s = scanSections(wasm);
    return s.imports === 0 && s.exports.some((e) => e.name === EXPORT_FUEL && e.kind === EXTERNAL_GLOBAL);
  } catch {
    return false;
  }
}

// ---- binaryen's failure modes ----

// binaryen prints validation errors and aborts through console (bound at its import), which writes
// to process.stdout/stderr: divert them while we call it, so the reason lands in our error instead
// of a megabyte of IR on the proxy's stderr. Every call in between is synchronous.
function captureOutput(): { text(): string; restore(): void } {
  const streams = [process.stdout, process.stderr];
  const originals = streams.map((s) => s.write);
  let text = '';
  for (const s of streams) {
    s.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (text.length < 64 * 1024) text += typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof s.write;
  }
  let restored = false;
  return {
    text: () => text,
    restore: () => {
      if (restored) return;
      restored = true;
      streams.forEach((s, i) => (s.write = originals[i]!));
    },
  };
}

function isAbort(err: Error): boolean {
  return /^Aborted\(|RuntimeError/.test(err.message) || err.name === 'RuntimeError';
}

function describe(err: unknown, output: string): string {
  let msg: string;
  if (err instanceof Error) msg = err.message;
  else if (typeof err === 'string') msg = err;
  else if (err && typeof (err as { message?: unknown }).message === 'string') msg = (err as { message: string }).message;
  else {
    try {
      msg = JSON.stringify(err) ?? String(err);
    } catch {
      msg = Object.prototype.toString.call(err);
    }
  }
  const detail = bounded(output);
  return bounded(detail ? `${msg} (${detail})` : msg);
}

function bounded(s: string): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > MAX_REASON ? `${one.slice(0, MAX_REASON)}…` : one;
}
