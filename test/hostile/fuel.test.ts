// Fuel metering against hand-written hostile and ordinary modules, and the bundled detectors. Figures
// (ms to cut off a spin, which limit stops recursion, fuel per fixture) are printed so the report can
// quote them.

import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_FUEL } from '../../host/plugin/abi.js';
import { cacheKey, getInstrumented } from '../../host/plugin/fuel-cache.js';
import { COST, START_FUEL, instrumentFuel } from '../../host/plugin/fuel.js';
import { DEFAULT_FUEL } from '../../host/plugin/loader.js';

type Wabt = Awaited<ReturnType<typeof import('wabt')>>;
let wabt: Wabt;

function wat(text: string, features: Record<string, boolean> = {}): Uint8Array<ArrayBuffer> {
  const mod = wabt.parseWat('test.wat', text, features);
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

async function instantiate(bytes: Uint8Array<ArrayBuffer>) {
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const ex = instance.exports as Record<string, unknown>;
  return { ex, fuel: ex[EXPORT_FUEL] as WebAssembly.Global | undefined };
}

/** Runs `fn` with `budget` fuel; returns what it returned or threw, the fuel used and the time. */
function metered(fuel: WebAssembly.Global, budget: number, fn: () => unknown) {
  fuel.value = budget;
  const t0 = process.hrtime.bigint();
  let result: unknown;
  let error: unknown;
  try {
    result = fn();
  } catch (err) {
    error = err;
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { result, error, ms, used: budget - (fuel.value as number) };
}

const SPIN = `(module
  (func (export "spin") (loop $l (br $l))))`;

// sum of bytes [0, n) of memory: the shape of a scanner.
const SCAN = `(module
  (memory (export "memory") 1 1)
  (func $scan (export "scan") (param $n i32) (result i32) (local $i i32) (local $acc i32)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $acc (i32.add (local.get $acc) (i32.load8_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (local.get $acc))
  (func (export "twice") (param $n i32) (result i32)
    (i32.add (call $scan (local.get $n)) (call $scan (local.get $n)))))`;

beforeAll(async () => {
  wabt = await (await import('wabt')).default();
});

describe('instrumentFuel', () => {
  it('cuts off an infinite loop once the budget is spent', async () => {
    const { ex, fuel } = await instantiate(await instrumentFuel(wat(SPIN)));
    expect(fuel).toBeInstanceOf(WebAssembly.Global);
    const spin = ex.spin as () => void;
    metered(fuel!, 1e4, spin); // warm-up: tier-up noise out of the figures
    const figures: string[] = [];
    for (const budget of [1e5, 1e6, 1e7]) {
      const r = metered(fuel!, budget, spin);
      expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError);
      expect(String(r.error)).toMatch(/unreachable/);
      expect(fuel!.value as number).toBeLessThan(0);
      figures.push(`budget ${budget.toExponential(0)}: trapped after ${r.ms.toFixed(2)} ms`);
    }
    console.log(`[fuel] infinite loop: ${figures.join('; ')}`);
  });

  it('leaves results unchanged and charges the same for every pass of a loop', async () => {
    const plain = wat(SCAN);
    const { ex: p } = await instantiate(plain);
    const { ex: m, fuel } = await instantiate(await instrumentFuel(plain));
    for (const mem of [p.memory, m.memory] as WebAssembly.Memory[]) {
      new Uint8Array(mem.buffer).set(Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff));
    }
    const scan = (n: number) => metered(fuel!, 1e6, () => (m.scan as (n: number) => number)(n));
    const used: number[] = [];
    for (const n of [0, 1, 517, 1000]) {
      const r = scan(n);
      expect(r.error).toBeUndefined();
      expect(r.result).toBe((p.scan as (n: number) => number)(n));
      used.push(r.used);
    }
    // entry + one loop-body charge per pass: linear in n, each pass at least the body's ~13
    // instructions plus the checkpoint.
    const perPass = used[1]! - used[0]!;
    expect(perPass).toBeGreaterThanOrEqual(13 + COST.loop);
    expect(used[2]! - used[0]!).toBe(517 * perPass);
    expect(used[3]! - used[0]!).toBe(1000 * perPass);
    const r = metered(fuel!, 1e6, () => (m.twice as (n: number) => number)(10));
    expect(r.result).toBe((p.twice as (n: number) => number)(10));
    expect(r.used).toBeGreaterThan(2 * scan(10).used); // both calls, charged at the callee's entry
    // Exactly the fuel it needs is enough; one less traps.
    const need = scan(517).used;
    expect(metered(fuel!, need, () => (m.scan as (n: number) => number)(517)).error).toBeUndefined();
    expect(metered(fuel!, need - 1, () => (m.scan as (n: number) => number)(517)).error).toBeInstanceOf(WebAssembly.RuntimeError);
  });

  it('charges a loop pass for the code in its body, so fuel grows with the body', async () => {
    const step = `(local.set $x (i32.xor (local.get $x) (i32.load8_u (i32.and (i32.add (local.get $x) (i32.const 7)) (i32.const 0xffff)))))`;
    const perPass: number[] = [];
    for (const k of [1, 10, 100, 1000]) {
      const { ex, fuel } = await instantiate(
        await instrumentFuel(
          wat(`(module (memory 1 1)
            (func (export "f") (param $n i32) (local $x i32) (local $i i32)
              (loop $l ${step.repeat(k)}
                (local.set $i (i32.add (local.get $i) (i32.const 1)))
                (br_if $l (i32.lt_u (local.get $i) (local.get $n))))))`),
        ),
      );
      const f = ex.f as (n: number) => void;
      perPass.push(metered(fuel!, 1e9, () => f(11)).used - metered(fuel!, 1e9, () => f(1)).used);
    }
    const per = perPass.map((x) => x / 10);
    // 9 expressions per step: the charge per pass is at least that, and grows linearly with it.
    for (const [i, k] of [1, 10, 100, 1000].entries()) expect(per[i]).toBeGreaterThanOrEqual(9 * k);
    expect(per[3]! - per[2]!).toBe(900 * 9);
    console.log(`[fuel] per loop pass with 1/10/100/1000 straight-line steps: ${per.join(' / ')} units`);
  });

  it('charges the slow instructions more than the cheap ones', async () => {
    const chain = (op: string) =>
      instrumentFuel(wat(`(module (func (export "f") (param $x i64) (result i64)
        (${op} (${op} (${op} (local.get $x) (i64.const 3)) (i64.const 3)) (i64.const 3))))`));
    const cost = async (op: string) => {
      const { ex, fuel } = await instantiate(await chain(op));
      return metered(fuel!, 1000, () => (ex.f as (x: bigint) => bigint)(1000n)).used;
    };
    expect((await cost('i64.div_u')) - (await cost('i64.add'))).toBe(3 * (COST.slow - COST.node));
    expect((await cost('i64.add')) - (await cost('i64.sub'))).toBe(0);
  });

  it('charges memory.fill, memory.copy and memory.init by their length, before doing them', async () => {
    const { ex, fuel } = await instantiate(
      await instrumentFuel(
        wat(
          `(module (memory (export "memory") 16 16) (data $d "${'x'.repeat(4096)}")
            (func (export "fill") (param $n i32) (memory.fill (i32.const 0) (i32.const 0x61) (local.get $n)))
            (func (export "copy") (param $n i32) (memory.copy (i32.const 8) (i32.const 0) (local.get $n)))
            (func (export "init") (param $n i32) (memory.init $d (i32.const 0) (i32.const 0) (local.get $n)))
            (func (export "fill1m") (memory.fill (i32.const 0) (i32.const 0x62) (i32.const 1048576))))`,
          { bulk_memory: true },
        ),
      ),
    );
    const mem = new Uint8Array((ex.memory as WebAssembly.Memory).buffer);
    for (const op of ['fill', 'copy', 'init']) {
      const f = ex[op] as (n: number) => void;
      const base = metered(fuel!, 1e9, () => f(0)).used;
      for (const n of [7, 8, 100, 4096]) {
        const r = metered(fuel!, 1e9, () => f(n));
        expect(r.error, `${op}(${n})`).toBeUndefined();
        expect(r.used - base, `${op}(${n})`).toBe(n >>> COST.bulkShift);
      }
    }
    const fill = ex.fill as (n: number) => void;
    const big = 1 << 20;
    const need = metered(fuel!, 1e9, () => fill(big)).used;
    expect(need).toBeGreaterThan(big >>> COST.bulkShift);
    // A constant length is charged up front at the function entry, the same amount.
    expect(metered(fuel!, 1e9, ex.fill1m as () => void).used - metered(fuel!, 1e9, () => fill(0)).used).toBe(big >>> COST.bulkShift);
    // Short of fuel, it traps before writing a byte.
    mem.fill(0);
    const r = metered(fuel!, need - 1, () => fill(big));
    expect(r.error).toBeInstanceOf(WebAssembly.RuntimeError);
    expect(mem.indexOf(0x61)).toBe(-1);
  });

  it('evaluates bulk memory operands in their order, each once, and charges nested ones too', async () => {
    // Each operand appends a digit to $trace (trace*10 + d); the size operand of "nested" itself
    // holds a memory.fill, whose operands append their own digits.
    const text = `(module (memory (export "memory") 1 1) (global $trace (mut i32) (i32.const 0))
      (func $tick (param $d i32) (param $v i32) (result i32)
        (global.set $trace (i32.add (i32.mul (global.get $trace) (i32.const 10)) (local.get $d)))
        (local.get $v))
      (func (export "trace") (result i32) (global.get $trace))
      (func (export "reset") (global.set $trace (i32.const 0)))
      (func (export "fill") (param $n i32)
        (memory.fill (call $tick (i32.const 1) (i32.const 16)) (call $tick (i32.const 2) (i32.const 0x61)) (call $tick (i32.const 3) (local.get $n))))
      (func (export "copy") (param $n i32)
        (memory.copy (call $tick (i32.const 4) (i32.const 100)) (call $tick (i32.const 5) (i32.const 16)) (call $tick (i32.const 6) (local.get $n))))
      (func (export "nested") (param $n i32)
        (memory.fill (call $tick (i32.const 7) (i32.const 200))
          (call $tick (i32.const 8) (i32.const 0x62))
          (block (result i32)
            (memory.fill (call $tick (i32.const 1) (i32.const 300)) (call $tick (i32.const 2) (i32.const 0x63)) (call $tick (i32.const 3) (local.get $n)))
            (call $tick (i32.const 9) (local.get $n))))))`;
    const plain = wat(text, { bulk_memory: true });
    const { ex: p } = await instantiate(plain);
    const { ex: m, fuel } = await instantiate(await instrumentFuel(plain));
    for (const [name, n, want] of [['fill', 40, 123], ['copy', 40, 456], ['nested', 64, 781239]] as const) {
      for (const ex of [p, m]) (ex.reset as () => void)();
      (p[name] as (n: number) => void)(n);
      const r = metered(fuel!, 1e6, () => (m[name] as (n: number) => void)(n));
      expect(r.error, name).toBeUndefined();
      expect((m.trace as () => number)(), name).toBe(want);
      expect((p.trace as () => number)(), name).toBe(want);
      expect(Buffer.from((m.memory as WebAssembly.Memory).buffer).equals(Buffer.from((p.memory as WebAssembly.Memory).buffer)), name).toBe(true);
    }
    // The nested fill's length is charged as well as the outer one's.
    (m.reset as () => void)();
    const small = metered(fuel!, 1e6, () => (m.nested as (n: number) => void)(0)).used;
    const large = metered(fuel!, 1e6, () => (m.nested as (n: number) => void)(800)).used;
    expect(large - small).toBe(2 * (800 >>> COST.bulkShift));
  });

  it('stops deep recursion (fuel under a small budget, V8 stack limit under a large one)', async () => {
    const { ex, fuel } = await instantiate(
      await instrumentFuel(
        wat(`(module
          (func $down (export "down") (param i32) (result i32)
            (i32.add (i32.const 1) (call $down (i32.add (local.get 0) (i32.const 1)))))
          (func (export "ok") (result i32) (i32.const 42)))`),
      ),
    );
    const down = ex.down as (n: number) => number;
    const lines: string[] = [];
    for (const budget of [1e3, 1e4, 1e5, 1e6, 1e7]) {
      const r = metered(fuel!, budget, () => down(0));
      expect(r.error).toBeDefined();
      const byFuel = r.error instanceof WebAssembly.RuntimeError && (fuel!.value as number) < 0;
      const byStack = r.error instanceof RangeError;
      expect(byFuel || byStack).toBe(true);
      lines.push(`budget ${budget.toExponential(0)}: ${byFuel ? 'fuel trap' : `RangeError after ${r.used} frames`} (${r.ms.toFixed(2)} ms)`);
      // The instance survives either way.
      expect(metered(fuel!, 10, ex.ok as () => number).result).toBe(42);
    }
    expect(lines[0]).toMatch(/fuel trap/);
    console.log(`[fuel] recursion: ${lines.join('; ')}`);
  });

  it('keeps every instruction kind AssemblyScript output uses working', async () => {
    const text = `(module
      (type $bin (func (param i32 i32) (result i32)))
      (memory (export "memory") 1 1)
      (table 2 funcref)
      (elem (i32.const 0) $add $sub)
      (global $g (mut i32) (i32.const 5))
      (data $d "hello")
      (func $add (type $bin) (i32.add (local.get 0) (local.get 1)))
      (func $sub (type $bin) (i32.sub (local.get 0) (local.get 1)))
      (func (export "indirect") (param i32) (result i32)
        (call_indirect (type $bin) (i32.const 9) (i32.const 4) (local.get 0)))
      (func (export "sel") (param i32) (result i32)
        (select (i32.const 10) (i32.const 20) (local.get 0)))
      (func (export "table") (param i32) (result i32)
        (block $c (block $b (block $a (br_table $a $b $c (local.get 0))) (return (i32.const 100)))
          (return (i32.const 200)))
        (i32.const 300))
      (func (export "bulk") (result i32)
        (memory.fill (i32.const 0) (i32.const 7) (i32.const 16))
        (memory.init $d (i32.const 16) (i32.const 0) (i32.const 5))
        (data.drop $d)
        (memory.copy (i32.const 32) (i32.const 14) (i32.const 4))
        (i32.load (i32.const 32)))
      (func (export "ext") (param i32) (result i32) (i32.extend8_s (local.get 0)))
      (func (export "sat") (param f64) (result i32) (i32.trunc_sat_f64_s (local.get 0)))
      (func (export "simd") (result i32)
        (i32x4.extract_lane 3
          (i32x4.add (v128.const i32x4 1 2 3 4) (i32x4.splat (global.get $g)))))
      (func (export "grow") (result i32) (memory.grow (i32.const 1))))`;
    const plain = wat(text, { bulk_memory: true, simd: true, sign_extension: true, sat_float_to_int: true, reference_types: true });
    const { ex: p } = await instantiate(plain);
    const { ex: m, fuel } = await instantiate(await instrumentFuel(plain));
    const calls: Array<[string, unknown[]]> = [
      ['indirect', [0]],
      ['indirect', [1]],
      ['sel', [0]],
      ['sel', [1]],
      ['table', [0]],
      ['table', [1]],
      ['table', [7]],
      ['bulk', []],
      ['ext', [0xff]],
      ['sat', [1e12]],
      ['sat', [NaN]],
      ['simd', []],
      ['grow', []],
    ];
    for (const [name, args] of calls) {
      const r = metered(fuel!, 1e5, () => (m[name] as (...a: unknown[]) => unknown)(...args));
      expect(r.error, name).toBeUndefined();
      expect(r.result, `${name}(${args.join()})`).toBe((p[name] as (...a: unknown[]) => unknown)(...args));
    }
    // call_indirect is charged at the callee's entry (add and sub: same size).
    const ind = (x: number) => metered(fuel!, 1000, () => (m.indirect as (x: number) => number)(x)).used;
    expect(ind(0)).toBe(ind(1));
    expect(ind(0)).toBeGreaterThan(2 * COST.entry);
  });

  it('charges the start function from the initial budget', async () => {
    const counted = await instrumentFuel(
      wat(`(module
        (global $n (mut i32) (i32.const 0))
        (func $start (loop $l (global.set $n (i32.add (global.get $n) (i32.const 1)))
          (br_if $l (i32.lt_u (global.get $n) (i32.const 10)))))
        (start $start)
        (func (export "n") (result i32) (global.get $n)))`),
    );
    const { ex, fuel } = await instantiate(counted);
    const used = START_FUEL - (fuel!.value as number); // entry + 10 passes through the loop body
    expect(used).toBeGreaterThan(10 * COST.loop);
    expect(used).toBeLessThan(1000);
    expect((ex.n as () => number)()).toBe(10);

    const spinning = await instrumentFuel(wat(`(module (func $s (loop $l (br $l))) (start $s))`));
    await expect(WebAssembly.instantiate(spinning, {})).rejects.toThrow(/unreachable/);
  });

  // Real AssemblyScript -O3 output, when `npm run build` has built it: the walker's table must
  // cover everything asc emits, and metering must not change a single verdict or key.
  const pluginsDir = new URL('../../dist/plugins/', import.meta.url);
  const built = existsSync(pluginsDir) ? readdirSync(pluginsDir).filter((f) => f.endsWith('.wasm')).map((f) => f.slice(0, -5)) : [];
  it.skipIf(built.length === 0)('meters the built detectors without changing their answers on any fixture', async () => {
    type Det = { memory: WebAssembly.Memory; input_ptr(): number; input_cap(): number; key_ptr(): number; detect(len: number, eof: number): number };
    const run = (ex: Det, bytes: Uint8Array) => {
      const len = Math.min(bytes.length, ex.input_cap());
      new Uint8Array(ex.memory.buffer, ex.input_ptr(), len).set(bytes.subarray(0, len));
      const res = ex.detect(len, 0);
      const keyLen = (res >>> 8) & 0xffff;
      const keys = (res & 0xff) === 1 ? Buffer.from(ex.memory.buffer, ex.key_ptr(), keyLen).toString('hex') : '';
      return `${res}:${keys}`;
    };
    const lines: string[] = [];
    for (const name of built) {
      const plainBytes = new Uint8Array(await readFile(new URL(`${name}.wasm`, pluginsDir)));
      const { ex: p } = await instantiate(plainBytes);
      const { ex: m, fuel } = await instantiate(await instrumentFuel(plainBytes));
      const fixtures = new URL(`../../plugins/${name}/fixtures/`, import.meta.url);
      const names = existsSync(fixtures) ? (await readdir(fixtures)).filter((f) => f.endsWith('.bin')).sort() : [];
      const inputs: Array<[string, Uint8Array]> = [['empty', new Uint8Array(0)]];
      for (const f of names) inputs.push([f, new Uint8Array(await readFile(new URL(f, fixtures)))]);
      const used: string[] = [];
      for (const [file, bytes] of inputs) {
        const r = metered(fuel!, DEFAULT_FUEL, () => run(m as unknown as Det, bytes));
        expect(r.error, `${name}/${file}`).toBeUndefined();
        expect(r.result, `${name}/${file}`).toBe(run(p as unknown as Det, bytes));
        used.push(`${file} ${r.used}`);
      }
      lines.push(`${name}: ${used.join(', ')}`);
    }
    console.log(`[fuel] fuel per fixture:\n  ${lines.join('\n  ')}`);
  });

  it('refuses table.grow and the bulk table instructions (not metered)', async () => {
    const grow = wat(`(module (table 1 funcref) (func (export "f") (result i32) (table.grow (ref.null func) (i32.const 1000000))))`, { reference_types: true });
    await expect(instrumentFuel(grow)).rejects.toThrow(/unsupported expression TableGrow/);
    const fill = wat(`(module (table 1 funcref) (func (export "f") (table.fill (i32.const 0) (ref.null func) (i32.const 1))))`, { reference_types: true, bulk_memory: true });
    await expect(instrumentFuel(fill)).rejects.toThrow(/unsupported expression/);
  });

  it('refuses a module that imports anything', async () => {
    await expect(instrumentFuel(wat(`(module (import "env" "f" (func)) (func (export "g") (call 0)))`))).rejects.toThrow(
      /import/,
    );
    await expect(instrumentFuel(wat(`(module (import "env" "m" (memory 1)) (func (export "g")))`))).rejects.toThrow(/import/);
  });

  it('refuses a module that already exports passthru_fuel', async () => {
    await expect(
      instrumentFuel(wat(`(module (global (export "${EXPORT_FUEL}") (mut i32) (i32.const 1000000000)) (func (export "f")))`)),
    ).rejects.toThrow(new RegExp(EXPORT_FUEL));
    await expect(instrumentFuel(wat(`(module (func (export "${EXPORT_FUEL}")))`))).rejects.toThrow(new RegExp(EXPORT_FUEL));
  });

  it('refuses an expression kind the walker does not know (atomics), before anything else', async () => {
    const atomic = wat(
      `(module (memory 1 1)
        (func (export "f") (result i32) (i32.atomic.rmw.add (i32.const 0) (i32.const 1))))`,
      { threads: true },
    );
    expect(WebAssembly.validate(atomic)).toBe(true); // V8 would run it: only our table stops it
    await expect(instrumentFuel(atomic)).rejects.toThrow(/unsupported expression AtomicRMW in function/);
  });

  it('refuses exception handling (try/throw are not in the table)', async () => {
    const eh = wat(
      `(module (tag $e) (func (export "f") (try (do (throw $e)) (catch $e))))`,
      { exceptions: true },
    );
    await expect(instrumentFuel(eh)).rejects.toThrow(/unsupported expression Try in function/);
  });

  it('turns garbage into a short, clear error', async () => {
    const junk = new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 0x60, 0x60, 0x60, 0x60, 0x60, 10, 3, 0xff, 0xff, 0xff]);
    const err = await instrumentFuel(junk).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message.length).toBeLessThan(600);
    await expect(instrumentFuel(new Uint8Array([1, 2, 3]))).rejects.toThrow(/not a WebAssembly binary/);
  });
});

describe('getInstrumented (disk cache)', () => {
  const dirs: string[] = [];
  const tempDir = async () => {
    const d = await mkdtemp(join(tmpdir(), 'passthru-fuel-'));
    dirs.push(d);
    return d;
  };
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  function counting() {
    const c = {
      calls: 0,
      instrument: async (w: Uint8Array) => {
        c.calls++;
        return instrumentFuel(w);
      },
    };
    return c;
  }

  it('hits without running the instrumenter and returns identical bytes', async () => {
    const dir = await tempDir();
    const c = counting();
    const input = wat(SCAN);
    const first = await getInstrumented(input, { dir, instrument: c.instrument });
    expect(c.calls).toBe(1);
    expect(await readdir(dir)).toEqual([cacheKey(input)]); // no temp file left behind
    const t0 = performance.now();
    const second = await getInstrumented(input, { dir, instrument: c.instrument });
    const hitMs = performance.now() - t0;
    expect(c.calls).toBe(1);
    expect(Buffer.from(second).equals(Buffer.from(first))).toBe(true);
    console.log(`[fuel] cache hit: ${hitMs.toFixed(2)} ms`);
  });

  it('re-instruments over a corrupt entry and repairs it', async () => {
    const dir = await tempDir();
    const c = counting();
    const input = wat(SCAN);
    const good = await getInstrumented(input, { dir, instrument: c.instrument });
    const file = join(dir, cacheKey(input));
    await writeFile(file, good.subarray(0, good.length - 3)); // truncated
    expect(Buffer.from(await getInstrumented(input, { dir, instrument: c.instrument })).equals(Buffer.from(good))).toBe(true);
    expect(c.calls).toBe(2);
    await writeFile(file, input); // valid wasm but not instrumented
    await getInstrumented(input, { dir, instrument: c.instrument });
    expect(c.calls).toBe(3);
    expect(Buffer.from(await readFile(file)).equals(Buffer.from(good))).toBe(true);
  });

  it('works without a usable cache directory', async () => {
    const dir = await tempDir();
    const notADir = join(dir, 'file');
    await writeFile(notADir, 'x');
    const c = counting();
    const out = await getInstrumented(wat(SCAN), { dir: join(notADir, 'sub'), instrument: c.instrument });
    expect(WebAssembly.validate(out)).toBe(true);
    await getInstrumented(wat(SCAN), { dir: null, instrument: c.instrument });
    expect(c.calls).toBe(2);
  });

  it('keys entries by input bytes and passes instrumenter errors through', async () => {
    const dir = await tempDir();
    expect(cacheKey(wat(SCAN))).not.toBe(cacheKey(wat(SPIN)));
    await expect(getInstrumented(wat(`(module (import "a" "b" (func)))`), { dir })).rejects.toThrow(/import/);
    expect(await readdir(dir)).toEqual([]);
  });
});
