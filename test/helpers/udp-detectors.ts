// Datagram detectors written as WebAssembly text for the UDP tests: ones that behave (wait for N
// records) and hostile ones (spin, trap), each declaring `"transports": ["datagram"]`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metaSection } from '../hostile/modules.js';

type Wabt = Awaited<ReturnType<typeof import('wabt')>>;
let wabtPromise: Promise<Wabt> | undefined;

async function assemble(text: string): Promise<Uint8Array> {
  wabtPromise ??= import('wabt').then((m) => m.default());
  const mod = (await wabtPromise).parseWat('udp.wat', text, { annotations: true, bulk_memory: true });
  try {
    return new Uint8Array(mod.toBinary({}).buffer);
  } finally {
    mod.destroy();
  }
}

function module(protocol: string, detect: string): string {
  return `(module
  ${metaSection({ name: protocol.toLowerCase(), protocol, transports: ['datagram'] })}
  (memory (export "memory") 1 1)
  (func (export "passthru_abi_v1"))
  (func (export "input_ptr") (result i32) (i32.const 0))
  (func (export "input_cap") (result i32) (i32.const 16384))
  (func (export "key_ptr") (result i32) (i32.const 16384))
  ${detect})`;
}

/**
 * MATCH (no keys) once the window holds `n` whole records, else NEED_MORE: shows the host appending
 * the flow's next datagram while the verdict is NEED_MORE.
 */
export const recordsDetector = (protocol: string, n: number): string =>
  module(
    protocol,
    `(func (export "detect") (param $len i32) (param $eof i32) (result i32) (local $at i32) (local $count i32)
    (block $done
      (loop $next
        (br_if $done (i32.gt_u (i32.add (local.get $at) (i32.const 2)) (local.get $len)))
        (local.set $at (i32.add (i32.add (local.get $at) (i32.const 2))
          (i32.or (i32.shl (i32.load8_u (local.get $at)) (i32.const 8)) (i32.load8_u (i32.add (local.get $at) (i32.const 1))))))
        (br_if $done (i32.gt_u (local.get $at) (local.get $len)))
        (local.set $count (i32.add (local.get $count) (i32.const 1)))
        (br $next)))
    (if (result i32) (i32.ge_u (local.get $count) (i32.const ${n})) (then (i32.const 1)) (else (i32.const 0))))`,
  );

/** NEED_MORE forever. */
export const waitingDetector = (protocol: string): string => module(protocol, `(func (export "detect") (param i32 i32) (result i32) (i32.const 0))`);

/** Loops until its fuel runs out: every call traps (a strike); 5 strikes quarantine it. */
export const spinningDetector = (protocol: string): string => module(protocol, `(func (export "detect") (param i32 i32) (result i32) (loop $l (br $l)) (i32.const 0))`);

/** Traps at once on every call. */
export const trappingDetector = (protocol: string): string => module(protocol, `(func (export "detect") (param i32 i32) (result i32) unreachable)`);

const dir = mkdtempSync(join(tmpdir(), 'passthru-udp-detectors-'));

/** Assembles `text` into a .wasm file for --plugin and returns its path. */
export async function detectorFile(name: string, text: string): Promise<string> {
  const file = join(dir, `${name}.wasm`);
  writeFileSync(file, await assemble(text));
  return file;
}
