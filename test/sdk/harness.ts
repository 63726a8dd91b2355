// AssemblyScript side of test/sdk/readers.test.ts: thin exports over the SDK, so the test can drive
// every reader at every offset of windows of every length. Compiled by the test, not shipped.

import { Bytes, Window, Len, Prefix, keys, match, needMore, noMatch, incomplete, view, OUT } from "../../sdk/assembly/index";
import { openWindow } from "../../sdk/assembly/window";
import { resetKeys } from "../../sdk/assembly/keys";
import { INPUT_PTR, KEY_PTR } from "../../sdk/assembly/abi";

let w: Window = openWindow(0, 0);
const slice = view();

export function inputPtr(): usize { return INPUT_PTR; }
export function keyPtr(): usize { return KEY_PTR; }
export function open(len: i32, eof: i32): void { w = openWindow(len, eof); resetKeys(); }
export function isFinal(): bool { return w.final; }

export function u8(off: i32): i32 { return w.u8(off); }
export function u16be(off: i32): i32 { return w.u16be(off); }
export function u16le(off: i32): i32 { return w.u16le(off); }
export function u24be(off: i32): i32 { return w.u24be(off); }
export function u32be(off: i32): i64 { return w.u32be(off); }
export function u32le(off: i32): i64 { return w.u32le(off); }
export function has(off: i32, n: i32): bool { return w.has(off, n); }
export function quicVarint(off: i32): i64 { return w.quicVarint(off); }
export function uleb128(off: i32, max: i32): i64 { return w.uleb128(off, max); }
export function prefixInt(off: i32, bits: i32): i32 { return w.prefixInt(off, bits); }
export function next(): i32 { return w.next; }
export function prefixed(off: i32, kind: i32): i32 { return w.prefixed(slice, off, <Len>kind); }
export function sliceOff(): i32 { return <i32>(slice.ptr - w.ptr); }
export function sliceLen(): i32 { return slice.len; }
export function indexOf(b: i32, from: i32, end: i32): i32 { return w.indexOf(b, from, end); }
export function find(off: i32, end: i32): i32 { return w.find("ab", off, end); }
export function startsWithGet(off: i32): Prefix { return w.startsWith(off, "GET "); }
export function startsWithHostCI(off: i32): Prefix { return w.startsWithIgnoreCase(off, "host:"); }
export function allIn(off: i32, n: i32): bool { return w.allIn(off, n, 0x21, 0x7e); }
export function sub(off: i32, n: i32): bool { return w.sub(slice, off, n); }

/** An author's detector that reads byte `at`: past the window it answers as `wait` says. */
export function readAt(at: i32, wait: bool): i32 {
  const c = w.u8(at);
  if (c == OUT) return wait ? incomplete(w) : noMatch();
  keys.add("B").decimal(c);
  return match();
}

/** Key writer scenarios; the test reads the keys at keyPtr(). */
export function keyCase(n: i32): i32 {
  if (n == 0) { keys.add("A").ascii("x"); keys.add("B"); return match(); }
  if (n == 1) { keys.add("A").bytes(w, 0, 3); keys.add("B").bytes(w, w.len, 1); keys.add("C").ascii("z"); return match(); }
  if (n == 2) { keys.add("A").lower(w, 0, 4); return match(); }
  if (n == 3) { keys.add("A").ascii("1").cancel(); keys.add("B").decimal(0).add("C").decimal(1234567890123); return match(); }
  if (n == 4) { keys.add("A").decimal(-1); keys.add("B").byte(0x41).byte(256); keys.add("C").byte(0x7a); return match(); }
  if (n == 5) { for (let i = 0; i < 400; i++) keys.add("K").ascii("v"); return match(); }
  if (n == 6) { keys.add("A").bytes(w, 0, 2000); return match(); }
  return needMore();
}
