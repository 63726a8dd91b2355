// Fuel metering: the CPU bound of the sandbox. A detector is untrusted code running on the proxy's
// only thread, so every way it can keep running (a loop going round, a call, recursion) passes a
// checkpoint that spends fuel from a host-set budget and traps once the budget is gone.
//
// A checkpoint charges for the code it guards, not just for being passed: otherwise one unit could
// buy a 1 MiB memory.fill or a 20k-instruction loop body (~50 µs), and the budget would bound
// nothing useful. The unit is about one wasm instruction (~0.1-0.3 ns compiled); see COST below.
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
export const FUEL_INSTRUMENTER_VERSION = 'fuel-2';

/**
 * Initial value of the fuel global. The global can only be set once an instance exists, but the
 * start function runs during instantiation and is charged like any other code, so it gets this
 * budget. The host overwrites the global before every detect() call.
 */
export const START_FUEL = 20_000_000;

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

/**
 * The cost model, in units of about one ordinary wasm instruction. Measured on the project machine
 * (V8 11.3, chains of dependent ops, optimized code): ordinary ops 0.08-0.3 ns each; the slow ones
 * below 0.8-2.5 ns; a loop pass or call ~1-4 ns beyond its instructions; memory.grow 350-900 ns even
 * by 0 pages (a runtime call); a bulk memory op ~12-30 ns fixed (its charge included) plus
 * 0.3-0.55 ns per 16 bytes, up to ~1.8 ns per 16 bytes for an overlapping (backwards) memory.copy. The weights bring every mix
 * tried to at most ~0.5 ns per unit once optimized (more in V8's baseline tier, which runs a
 * module's first calls), while the bundled detectors run at 0.03-0.15 ns per unit: parser code has
 * more instruction-level parallelism than a hostile dependency chain. That gap is the price of a
 * static model; the budget (loader.ts DEFAULT_FUEL) is set with both figures.
 */
export const COST = {
  /** Every IR node (binaryen expression ≈ one wasm instruction) in the region a checkpoint guards. */
  node: 1,
  /** On top of the body, at function entry: the call, the frame and the return. */
  entry: 4,
  /** On top of the body, at a loop top: the checkpoint, the branch back, V8's interrupt check. */
  loop: 4,
  /** call and call_indirect (on top of the callee's entry). */
  call: 4,
  /** Integer div/rem, float div/sqrt, float<->int conversions (scalar and SIMD). */
  slow: 16,
  /** memory.fill/copy/init, on top of the length charge; data.drop. */
  bulkBase: 64,
  /**
   * Bulk length charge: (length >>> bulkShift) units, one per 4 bytes. Sized for the slowest case,
   * an overlapping memory.copy that must run backwards (~1.8 ns per 16 B); fill and forward copy
   * get 4x headroom. Detectors copy keys and small buffers: the charge is noise for them.
   */
  bulkShift: 2,
  /** memory.grow, whatever the delta: growth itself is bounded by the declared maximum. */
  grow: 4000,
} as const;

/**
 * Ops priced COST.slow; every name must exist in binaryen (checked, fail closed). Unary and binary
 * ops are numbered independently, so they are kept apart.
 */
const SLOW_BINARY_OPS = [
  'DivSInt32', 'DivUInt32', 'RemSInt32', 'RemUInt32', 'DivSInt64', 'DivUInt64', 'RemSInt64', 'RemUInt64',
  'DivFloat32', 'DivFloat64', 'DivVecF32x4', 'DivVecF64x2',
] as const;
const SLOW_UNARY_OPS = [
  'SqrtFloat32', 'SqrtFloat64', 'SqrtVecF32x4', 'SqrtVecF64x2',
  'TruncSFloat32ToInt32', 'TruncSFloat32ToInt64', 'TruncUFloat32ToInt32', 'TruncUFloat32ToInt64',
  'TruncSFloat64ToInt32', 'TruncSFloat64ToInt64', 'TruncUFloat64ToInt32', 'TruncUFloat64ToInt64',
  'TruncSatSFloat32ToInt32', 'TruncSatSFloat32ToInt64', 'TruncSatUFloat32ToInt32', 'TruncSatUFloat32ToInt64',
  'TruncSatSFloat64ToInt32', 'TruncSatSFloat64ToInt64', 'TruncSatUFloat64ToInt32', 'TruncSatUFloat64ToInt64',
  'ConvertSInt32ToFloat32', 'ConvertSInt32ToFloat64', 'ConvertUInt32ToFloat32', 'ConvertUInt32ToFloat64',
  'ConvertSInt64ToFloat32', 'ConvertSInt64ToFloat64', 'ConvertUInt64ToFloat32', 'ConvertUInt64ToFloat64',
  'TruncSatSVecF32x4ToVecI32x4', 'TruncSatUVecF32x4ToVecI32x4', 'ConvertSVecI32x4ToVecF32x4', 'ConvertUVecI32x4ToVecF32x4',
  'ConvertLowSVecI32x4ToVecF64x2', 'ConvertLowUVecI32x4ToVecF64x2', 'TruncSatZeroSVecF64x2ToVecI32x4',
  'TruncSatZeroUVecF64x2ToVecI32x4',
] as const;

// binaryen.js ships wrappers per expression class (binaryen.Block.getChildAt, …) that its
// index.d.ts does not declare: describe the part we use.
type Getter = (expr: ExprRef) => ExprRef;
interface ExprClasses {
  Block: {
    getNumChildren(e: ExprRef): number;
    getChildAt(e: ExprRef, i: number): ExprRef;
    insertChildAt(e: ExprRef, i: number, child: ExprRef): void;
    getName(e: ExprRef): string | null;
  };
  If: { getCondition: Getter; getIfTrue: Getter; getIfFalse: Getter; setIfTrue(e: ExprRef, x: ExprRef): void; setIfFalse(e: ExprRef, x: ExprRef): void };
  Loop: { getBody: Getter; setBody(e: ExprRef, body: ExprRef): void; getName(e: ExprRef): string | null };
  Break: { getCondition: Getter; getValue: Getter; getName(e: ExprRef): string };
  Switch: {
    getCondition: Getter;
    getValue: Getter;
    getNumNames(e: ExprRef): number;
    getNameAt(e: ExprRef, i: number): string;
    getDefaultName(e: ExprRef): string;
  };
  Call: { getNumOperands(e: ExprRef): number; getOperandAt(e: ExprRef, i: number): ExprRef };
  CallIndirect: { getTarget: Getter; getNumOperands(e: ExprRef): number; getOperandAt(e: ExprRef, i: number): ExprRef };
  LocalSet: { getValue: Getter };
  GlobalSet: { getValue: Getter };
  Load: { getPtr: Getter };
  Store: { getPtr: Getter; getValue: Getter };
  Unary: { getValue: Getter; getOp(e: ExprRef): number };
  Binary: { getLeft: Getter; getRight: Getter; getOp(e: ExprRef): number };
  Select: { getIfTrue: Getter; getIfFalse: Getter; getCondition: Getter };
  Drop: { getValue: Getter };
  Return: { getValue: Getter };
  MemoryGrow: { getDelta: Getter };
  MemoryInit: { getDest: Getter; getOffset: Getter; getSize: Getter; setSize(e: ExprRef, size: ExprRef): void };
  MemoryCopy: { getDest: Getter; getSource: Getter; getSize: Getter; setSize(e: ExprRef, size: ExprRef): void };
  MemoryFill: { getDest: Getter; getValue: Getter; getSize: Getter; setSize(e: ExprRef, size: ExprRef): void };
  Const: { getValueI32(e: ExprRef): number };
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
    // Bulk memory: charged by length (see instrument()).
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
    // Reference types (AS enables them; tables of funcref for call_indirect). Deliberately absent:
    // table.grow (a table may have no maximum: V8 would let it reach 10M entries, outside the
    // memory cap) and the bulk table ops (table.fill/copy/init, elem.drop): no detector needs them,
    // so they are refused rather than priced.
    ['RefIsNull', (e) => [b.RefIsNull.getValue(e)]],
    ['TableGet', (e) => [b.TableGet.getIndex(e)]],
    ['TableSet', (e) => [b.TableSet.getIndex(e), b.TableSet.getValue(e)]],
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
let cachedSlowOps: SlowOps | undefined;
interface SlowOps {
  unary: Set<number>;
  binary: Set<number>;
}

/** A charge that always traps, at any budget the host can set (the global is an i32). */
const MAX_WEIGHT = 2 ** 30;

/**
 * Conditional code (an if arm, a block's rest after a possible branch out) at least this heavy gets
 * a checkpoint of its own instead of being charged with the code that leads to it.
 */
const SPLIT_WEIGHT = 16;

/** Labels an expression may branch to outside itself; RETURN for a return. null: falls through. */
type Exits = Set<string> | null;
interface Visit {
  w: number;
  exits: Exits;
}
const RETURN = '\0return';

function union(a: Exits, b: Exits): Exits {
  if (!a) return b;
  if (!b) return a;
  const out = new Set(a);
  for (const x of b) out.add(x);
  return out;
}

function without(a: Exits, label: string | null): Exits {
  if (!a || !label || !a.has(label)) return a;
  if (a.size === 1) return null;
  const out = new Set(a);
  out.delete(label);
  return out;
}

function slowOpSet(b: Api): SlowOps {
  const set = (names: readonly string[]) =>
    new Set(
      names.map((name) => {
        const op = b[name];
        if (typeof op !== 'number') throw new Error(`binaryen has no operation ${name}`);
        return op;
      }),
    );
  return { unary: set(SLOW_UNARY_OPS), binary: set(SLOW_BINARY_OPS) };
}

/** Static cost of one expression, its children not included. */
function weight(
  b: Api,
  e: ExprRef,
  id: number,
  slowOps: SlowOps,
  ids: { unary: number; binary: number; grow: number; drop: number; call: number; callIndirect: number },
): number {
  if (id === ids.unary) return slowOps.unary.has(b.Unary.getOp(e)) ? COST.slow : COST.node;
  if (id === ids.binary) return slowOps.binary.has(b.Binary.getOp(e)) ? COST.slow : COST.node;
  if (id === ids.grow) return COST.grow;
  if (id === ids.drop) return COST.bulkBase;
  if (id === ids.call || id === ids.callIndirect) return COST.call;
  return COST.node;
}

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
 * every loop body by the cost of the code that follows up to the next checkpoint (COST), and before
 * every bulk memory op by its length / 16; the code traps (`unreachable`) when it drops below zero,
 * before doing the work it could not pay for. `B - remaining` is the fuel a call used.
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
  // load and one store per checkpoint (measured ~10–15 % faster on a byte-scanning loop). The fuel
  // is never negative when a charge starts and a charge is below 2^31, so the i32 cannot wrap.
  const charge = (scratch: number, amount: ExprRef): ExprRef =>
    module.block(null, [
      module.global.set(global, module.local.tee(scratch, module.i32.sub(module.global.get(global, b.i32), amount), b.i32)),
      module.if(module.i32.lt_s(module.local.get(scratch, b.i32), module.i32.const(0)), module.unreachable()),
    ]);

  const table = (cachedTable ??= childTable(b));
  const slowOps = (cachedSlowOps ??= slowOpSet(b));
  const ids = { unary: b.UnaryId, binary: b.BinaryId, grow: b.MemoryGrowId, drop: b.DataDropId, call: b.CallId, callIndirect: b.CallIndirectId };
  const bulkIds = new Map<number, { getSize: Getter; setSize(e: ExprRef, size: ExprRef): void }>([
    [b.MemoryFillId, b.MemoryFill],
    [b.MemoryCopyId, b.MemoryCopy],
    [b.MemoryInitId, b.MemoryInit],
  ]);

  for (let i = 0, n = module.getNumFunctions(); i < n; i++) {
    const func = module.getFunctionByIndex(i);
    const info = b.getFunctionInfo(func);
    if (info.module) throw new Error(`module imports function ${info.module}.${info.base}`);
    const body = b.Function.getBody(func);

    // Where the charges go. A segment is a stretch of code charged at its start: the function body
    // or a loop body (these are the checkpoints that bound running time: control only goes
    // backwards by branching to a loop's top, which charges that loop's body again), and, for
    // precision only, an if arm or the rest of a block after a child that may branch out of it.
    // Each charge covers its segment's expressions minus those of the segments nested in it, so
    // between two passes of a checkpoint each expression it covers runs at most once, whichever
    // arms and exits are taken: charging them all up front over-approximates the work. Calls are
    // charged at the callee's entry. Collect first, mutate after: the walk must not see the
    // checkpoints it adds.
    const loops: Array<[ExprRef, number]> = [];
    const arms: Array<[ExprRef, 'true' | 'false', number]> = [];
    const tails: Array<[ExprRef, number, number]> = [];
    const bulk: ExprRef[] = [];

    // A small conditional segment is cheaper charged with the one that leads to it (still sound:
    // that one runs whenever it does) than behind a checkpoint of its own (~5 instructions).
    const split = (w: number): boolean => w >= SPLIT_WEIGHT;

    /** Weight to charge for `e` at the segment containing it, and the labels it may branch to. */
    const visit = (e: ExprRef): Visit => {
      const id = b.getExpressionId(e);
      const entry = table.get(id);
      if (!entry) {
        throw new Error(`unsupported expression ${idName(b, id)} in function ${info.name} (fuel metering covers only known instructions)`);
      }
      switch (entry.name) {
        case 'Loop': {
          const r = visit(b.Loop.getBody(e));
          loops.push([e, COST.loop + r.w]);
          // A branch to its own label goes back to its top: not out of it.
          return { w: COST.node, exits: without(r.exits, b.Loop.getName(e)) };
        }
        case 'Block': {
          let w = COST.node;
          let exits: Exits = null;
          // Chunks: [first child index, weight]; a new one starts after a child that may branch
          // past the children that follow it.
          const chunks: Array<[number, number]> = [[0, 0]];
          for (let k = 0, n = b.Block.getNumChildren(e); k < n; k++) {
            const r = visit(b.Block.getChildAt(e, k));
            chunks[chunks.length - 1]![1] += r.w;
            exits = union(exits, r.exits);
            if (r.exits && k + 1 < n) chunks.push([k + 1, 0]);
          }
          // Small chunks fold into the nearest earlier one kept (which always runs before them).
          let owner = 0;
          const charged = chunks.map(([, cw]) => cw);
          for (let c = 1; c < chunks.length; c++) {
            if (split(charged[c]!)) owner = c;
            else {
              charged[owner]! += charged[c]!;
              charged[c] = 0;
            }
          }
          w += charged[0]!;
          for (let c = 1; c < chunks.length; c++) if (charged[c]! > 0) tails.push([e, chunks[c]![0], charged[c]!]);
          return { w, exits: without(exits, b.Block.getName(e)) };
        }
        case 'If': {
          const cond = visit(b.If.getCondition(e));
          let w = COST.node + cond.w;
          let exits = cond.exits;
          for (const [side, arm] of [['true', b.If.getIfTrue(e)], ['false', b.If.getIfFalse(e)]] as const) {
            if (!arm) continue;
            const r = visit(arm);
            exits = union(exits, r.exits);
            if (split(r.w)) arms.push([e, side, r.w]);
            else w += r.w;
          }
          return { w, exits };
        }
        default: {
          let w = weight(b, e, id, slowOps, ids);
          let exits: Exits = null;
          if (entry.name === 'Break') exits = new Set([b.Break.getName(e)]);
          else if (entry.name === 'Switch') {
            exits = new Set([b.Switch.getDefaultName(e)]);
            for (let k = 0, n = b.Switch.getNumNames(e); k < n; k++) exits.add(b.Switch.getNameAt(e, k));
          } else if (entry.name === 'Return') exits = new Set([RETURN]);
          const ops = bulkIds.get(id);
          if (ops) {
            w += COST.bulkBase;
            const size = ops.getSize(e);
            // A constant length is priced statically, like any straight-line work.
            if (b.getExpressionId(size) === b.ConstId) w += b.Const.getValueI32(size) >>> COST.bulkShift;
            else bulk.push(e);
          }
          for (const child of entry.children(e)) {
            if (!child) continue;
            const r = visit(child);
            w += r.w;
            exits = union(exits, r.exits);
          }
          return { w, exits };
        }
      }
    };
    const entryWeight = COST.entry + visit(body).w;

    const scratch = b._BinaryenFunctionAddVar(func, b.i32);
    const cost = (w: number) => charge(scratch, module.i32.const(Math.min(w, MAX_WEIGHT)));
    if (bulk.length > 0) {
      // The length is known only once evaluated: charge it between evaluating the last operand and
      // the operation itself. Wrapping just the size operand keeps every operand's side effects in
      // their order. One local serves all: a bulk op nested inside another's size operand finishes
      // with it before the outer one stores its own length.
      const len = b._BinaryenFunctionAddVar(func, b.i32);
      for (const e of bulk) {
        const ops = bulkIds.get(b.getExpressionId(e))!;
        const size = ops.getSize(e);
        ops.setSize(
          e,
          module.block(
            null,
            [
              module.local.set(len, size),
              charge(scratch, module.i32.shr_u(module.local.get(len, b.i32), module.i32.const(COST.bulkShift))),
              module.local.get(len, b.i32),
            ],
            b.i32,
          ),
        );
      }
    }
    // Tails of one block were collected in increasing index order: insert from the last so the
    // earlier indexes still hold.
    for (let k = tails.length - 1; k >= 0; k--) {
      const [block, at, w] = tails[k]!;
      b.Block.insertChildAt(block, at, cost(w));
    }
    for (const [e, side, w] of arms) {
      const arm = side === 'true' ? b.If.getIfTrue(e) : b.If.getIfFalse(e);
      const wrapped = module.block(null, [cost(w), arm], b.getExpressionType(arm));
      if (side === 'true') b.If.setIfTrue(e, wrapped);
      else b.If.setIfFalse(e, wrapped);
    }
    for (const [loop, w] of loops) {
      const inner = b.Loop.getBody(loop);
      b.Loop.setBody(loop, module.block(null, [cost(w), inner], b.getExpressionType(inner)));
    }
    b.Function.setBody(func, module.block(null, [cost(entryWeight), body], b.getExpressionType(body)));
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
