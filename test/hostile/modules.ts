// Hostile and broken detectors, as WebAssembly text. Each says what it attacks; the tests assert the
// host refuses it at load or contains it at run time. Assembled by wasm.ts (wabt).
//
// Layout of the well-formed ones (abi() below): one 64 KiB page, the input buffer at 0 with a cap of
// 16 KiB, the key buffer at 16 KiB. A module that wants another layout passes its own numbers.

export interface Meta {
  abi?: unknown;
  name?: string;
  protocol?: string;
  version?: string;
  [extra: string]: unknown;
}

/** The `passthru.detector` custom section as a wat annotation (every byte escaped: no quoting issues). */
export function metaSection(meta: Meta): string {
  const json = JSON.stringify({ abi: 1, version: '0.0.1', ...meta });
  const escaped = [...Buffer.from(json, 'utf8')].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  return `(@custom "passthru.detector" "${escaped}")`;
}

interface Layout {
  memory?: string;
  inputPtr?: string;
  inputCap?: string;
  keyPtr?: string;
  /** Leave out one of the required exports. */
  omit?: string;
  /** Import declarations (wat wants them before every other definition). */
  imports?: string;
}

/** The ABI v1 exports around `detect` and any extra module fields. */
function abi(protocol: string, fields: string, layout: Layout = {}, meta: Meta = {}): string {
  const parts = [
    ...(layout.imports ? [layout.imports] : []),
    `(memory (export "memory") ${layout.memory ?? '1 1'})`,
    `(func (export "passthru_abi_v1"))`,
    `(func (export "input_ptr") (result i32) ${layout.inputPtr ?? '(i32.const 0)'})`,
    `(func (export "input_cap") (result i32) ${layout.inputCap ?? '(i32.const 16384)'})`,
    `(func (export "key_ptr") (result i32) ${layout.keyPtr ?? '(i32.const 16384)'})`,
  ].filter((p) => !layout.omit || !p.includes(`"${layout.omit}"`));
  return `(module\n  ${metaSection({ name: protocol.toLowerCase(), protocol, ...meta })}\n  ${parts.join('\n  ')}\n  ${fields})`;
}

const NO_MATCH = `(func (export "detect") (param i32 i32) (result i32) (i32.const 2))`;

// ---- Refused at load ----

/** Asks the host for a function: the only way out of the sandbox is through imports. */
export const IMPORTS = abi('IMPORTER', NO_MATCH, { imports: '(import "env" "log" (func $log (param i32)))' });

/** Memory without a maximum: could grow towards 4 GiB inside the proxy. */
export const NO_MAX_MEMORY = abi('UNBOUNDED', NO_MATCH, { memory: '1' });

/** Declares 17 pages, one above the default cap of 16. */
export const MAX_ABOVE_CAP = abi('BIG', NO_MATCH, { memory: '1 17' });

/** No key_ptr: the host would not know where to read keys. */
export const MISSING_EXPORT = abi('PARTIAL', NO_MATCH, { omit: 'key_ptr' });

/** Built for an ABI this host does not speak. */
export const WRONG_ABI = abi('FUTURE', NO_MATCH, {}, { abi: 2 });

/** No metadata at all: the host cannot tell which protocol it serves. */
export const NO_METADATA = `(module
  (memory (export "memory") 1 1)
  (func (export "passthru_abi_v1"))
  (func (export "input_ptr") (result i32) (i32.const 0))
  (func (export "input_cap") (result i32) (i32.const 16384))
  (func (export "key_ptr") (result i32) (i32.const 16384))
  ${NO_MATCH})`;

/** A start function runs during instantiation, before the host ever calls detect: must not hang the load. */
export const START_SPINS = abi('STARTSPIN', `(func $start (loop $l (br $l)))\n  (start $start)\n  ${NO_MATCH}`);

/** key_ptr = -1: the host must not take it as an offset (it would read from memory's end, or throw). */
export const NEGATIVE_KEY_PTR = abi('NEGKEY', NO_MATCH, { keyPtr: '(i32.const -1)' });

/** input_ptr = -1: the host would write the window before the buffer. */
export const NEGATIVE_INPUT_PTR = abi('NEGINPUT', NO_MATCH, { inputPtr: '(i32.const -1)' });

/** An input buffer that runs past the end of memory (cap larger than the page). */
export const INPUT_PAST_END = abi('OVERCAP', NO_MATCH, { inputPtr: '(i32.const 60000)', inputCap: '(i32.const 16384)' });

// ---- Contained at run time ----

/** CPU: detect never returns. */
export const SPIN = abi('SPIN', `(func (export "detect") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0))`);

/** Stack: unbounded recursion (V8's stack limit or fuel stops it, whichever comes first). */
export const RECURSE = abi(
  'RECURSE',
  `(func $down (param $n i32) (result i32) (i32.add (i32.const 1) (call $down (i32.add (local.get $n) (i32.const 1)))))
  (func (export "detect") (param i32 i32) (result i32) (call $down (i32.const 0)))`,
);

/** Memory: memory.grow in an endless loop, past the declared maximum of 4 pages. */
export const GROW = abi(
  'GROW',
  `(func (export "detect") (param i32 i32) (result i32) (loop $l (drop (memory.grow (i32.const 1))) (br $l)) (i32.const 0))`,
  { memory: '1 4' },
);

/** Reads: MATCH with 1000 bytes of keys from a key buffer 536 bytes before the end of memory. */
export const KEY_PAST_END = abi(
  'PASTEND',
  `(func (export "detect") (param i32 i32) (result i32) (i32.const 0x3e801))`, // 1000 << 8 | MATCH
  { keyPtr: '(i32.const 65000)' },
);

/** Protocol: a verdict the ABI does not define. */
export const VERDICT_7 = abi('SEVEN', `(func (export "detect") (param i32 i32) (result i32) (i32.const 7))`);

/** Protocol: bits 24-31 of the result set (MATCH | 0x01000000). */
export const HIGH_BITS = abi('HIGHBITS', `(func (export "detect") (param i32 i32) (result i32) (i32.const 0x01000001))`);

/**
 * Flaky: keeps a call count in a global and traps on every third call. Re-instantiation resets the
 * count, so it strikes every third call until quarantined.
 */
export const TRAP_EVERY_THIRD = abi(
  'FLAKY',
  `(global $calls (mut i32) (i32.const 0))
  (func (export "detect") (param i32 i32) (result i32)
    (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
    (if (i32.eqz (i32.rem_u (global.get $calls) (i32.const 3))) (then unreachable))
    (i32.const 2))`,
);

/**
 * Amplification: MATCHes every connection with a single 65535-byte key (the largest the 16-bit field
 * can say), which would go through routing and into every connection's log line.
 */
export const GREEDY = abi(
  'GREEDY',
  `(func (export "detect") (param i32 i32) (result i32)
    (memory.fill (i32.const 0) (i32.const 0x61) (i32.const 0xffff))
    (i32.const 0xffff01))`,
  { keyPtr: '(i32.const 0)' },
);

/** CPU without a trap: burns most of its budget (900k loop passes), then answers NO_MATCH. */
export const BURN = abi(
  'BURN',
  `(func (export "detect") (param i32 i32) (result i32) (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1))) (br_if $l (i32.lt_u (local.get $i) (i32.const 900000))))
    (i32.const 2))`,
);

// ---- Isolation probes (sandbox-level) ----

/**
 * Echo through overlapping buffers: key_ptr = input_ptr, flips bit 5 of every window byte in place,
 * and reports the result as its key. If the host did not rewrite the window on every call, a second
 * call would flip the bytes back.
 */
export const ECHO_IN_PLACE = abi(
  'ECHO',
  `(func (export "detect") (param $len i32) (param i32) (result i32) (local $i i32)
    (block $done (loop $l
      (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
      (i32.store8 (local.get $i) (i32.xor (i32.load8_u (local.get $i)) (i32.const 0x20)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l)))
    (i32.or (i32.shl (local.get $len) (i32.const 8)) (i32.const 1)))`,
  { keyPtr: '(i32.const 0)' },
);

/**
 * Snoops on earlier connections: reports 32 bytes of the input buffer as its key whatever `len` is,
 * hoping that bytes past `len` are still there from a longer window the host wrote before.
 */
export const READ_PAST_LEN = abi(
  'SNOOP',
  `(func (export "detect") (param i32 i32) (result i32) (i32.const 0x2001))`, // 32 << 8 | MATCH
  { keyPtr: '(i32.const 0)' },
);

/**
 * Remembers: copies the first window it sees to private memory (at 32 KiB) and, from the second
 * call on, reports that first window as its key, however unrelated the current connection is.
 */
export const REMEMBER = abi(
  'MEMO',
  `(global $saved (mut i32) (i32.const 0))
  (func (export "detect") (param $len i32) (param i32) (result i32)
    (if (i32.eqz (global.get $saved))
      (then
        (memory.copy (i32.const 32768) (i32.const 0) (local.get $len))
        (global.set $saved (local.get $len))
        (return (i32.const 2))))
    (memory.copy (i32.const 16384) (i32.const 32768) (global.get $saved))
    (i32.or (i32.shl (global.get $saved) (i32.const 8)) (i32.const 1)))`,
);

/**
 * Moves its key buffer: key_ptr() returns a global that detect() then changes, writing "EVIL" at the
 * new place and "GOOD" at the one key_ptr() first returned. The host must keep reading the first.
 */
export const MOVING_KEY_PTR = abi(
  'MOVER',
  `(global $kp (mut i32) (i32.const 16384))
  (data (i32.const 16384) "GOOD")
  (data (i32.const 20000) "EVIL")
  (func (export "detect") (param i32 i32) (result i32)
    (global.set $kp (i32.const 20000))
    (i32.const 0x401))`,
  { keyPtr: '(global.get $kp)' },
);

/**
 * Grows memory by a page on every call (detaching the host's view of it), then writes its key and
 * answers MATCH: the host must read the key, and write the next window, through a fresh view.
 */
export const GROW_THEN_MATCH = abi(
  'GROWER',
  `(func (export "detect") (param $len i32) (param i32) (result i32)
    (drop (memory.grow (i32.const 1)))
    ;; "K " followed by the window's first byte, written after the growth.
    (i32.store8 (i32.const 16384) (i32.const 0x4b))
    (i32.store8 (i32.const 16385) (i32.const 0x20))
    (i32.store8 (i32.const 16386) (i32.load8_u (i32.const 0)))
    (i32.or (i32.shl (i32.const 3) (i32.const 8)) (i32.const 1)))`,
  { memory: '1 16' },
);

/**
 * Says whatever the window tells it to: its result is the window's first 4 bytes (little-endian),
 * with 2 KiB of "k" at the very end of memory as its key buffer. Lets a test try every key length
 * against the host's bounds checks.
 */
export const PROGRAMMABLE = abi(
  'PROG',
  `(func (export "detect") (param i32 i32) (result i32)
    (memory.fill (i32.const 63488) (i32.const 0x6b) (i32.const 2048))
    (i32.load (i32.const 0)))`,
  { keyPtr: '(i32.const 63488)' },
);

/**
 * An 8-byte input buffer directly followed by its key "KEYS": a host that wrote past input_cap
 * would overwrite the key with window bytes.
 */
export const SMALL_INPUT = abi(
  'SMALL',
  `(data (i32.const 8) "KEYS")
  (func (export "detect") (param i32 i32) (result i32) (i32.const 0x401))`,
  { inputCap: '(i32.const 8)', keyPtr: '(i32.const 8)' },
);

// ---- Formerly known gaps (test/hostile/gaps.test.ts) ----

/**
 * CPU per fuel unit: a loop whose body is one 1 MiB memory.fill. When fuel charged one unit per loop
 * pass, not the bytes, each unit cost ~25-60 µs instead of nanoseconds.
 */
export const FILL_LOOP = abi(
  'FILL',
  `(func (export "detect") (param i32 i32) (result i32) (loop $l (memory.fill (i32.const 0) (i32.const 1) (i32.const 1048576)) (br $l)) (i32.const 0))`,
  { memory: '16 16' },
);

/** CPU per fuel unit: a loop whose body is `n` straight-line memory reads and xors (once one unit per pass). */
export function straightLineLoop(n: number): string {
  const step = `(local.set $x (i32.xor (local.get $x) (i32.load8_u (i32.and (i32.add (local.get $x) (i32.const 7)) (i32.const 0xffff)))))`;
  return abi(
    'LONGBODY',
    `(func (export "detect") (param i32 i32) (result i32) (local $x i32)
    (loop $l ${step.repeat(n)} (br $l)) (i32.const 0))`,
  );
}
