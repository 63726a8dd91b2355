// Reading the window and answering the host, without allocating: detect() runs for every chunk
// of every connection, and the stub runtime never frees, so anything allocated per call would
// grow memory until it hits the cap. Views and the key writer live in static memory.

import { INPUT_PTR, INPUT_CAP, KEY_PTR, KEY_CAP, KEY_SEPARATOR, Verdict, packResult } from "./abi";

/** What a reader returns when the bytes asked for are not in the view (every value read is >= 0). */
export const OUT: i32 = -1;

/** Answer of a comparison against bytes that may not have arrived yet. */
export enum Prefix {
  /** A byte in the window differs: no amount of further input makes it equal. */
  DIFFERENT = 0,
  /** Every byte compared equal. */
  EQUAL = 1,
  /** Every byte present compared equal but the view ended first. */
  PARTIAL = 2,
}

/**
 * A bounds-checked read-only view of `len` bytes at `ptr`. Readers take offsets relative to the
 * view and return OUT instead of reading outside it, so a lying length field in the input can at
 * worst produce a wrong verdict, never a read past the window.
 */
@final @unmanaged
export class Bytes {
  ptr: usize = 0;
  len: i32 = 0;

  /** Points the view at `len` bytes at `ptr` (a negative `len` is taken as 0). */
  reset(ptr: usize, len: i32): Bytes {
    this.ptr = ptr;
    this.len = len > 0 ? len : 0;
    return this;
  }

  /** Points `into` at `n` bytes of this view starting at `off`; false (and `into` unchanged) if out of range. */
  sub(into: Bytes, off: i32, n: i32): bool {
    if (!this.has(off, n)) return false;
    into.reset(this.ptr + <usize>off, n);
    return true;
  }

  /** True if the `n` bytes at `off` are all inside the view. */
  // @ts-ignore: decorator
  @inline
  has(off: i32, n: i32): bool {
    // len >= 0 and n >= 0, so len - n cannot overflow.
    return (off | n) >= 0 && off <= this.len - n;
  }

  u8(off: i32): i32 {
    if (!this.has(off, 1)) return OUT;
    return <i32>load<u8>(this.ptr + <usize>off);
  }

  u16be(off: i32): i32 {
    if (!this.has(off, 2)) return OUT;
    const p = this.ptr + <usize>off;
    return (<i32>load<u8>(p) << 8) | <i32>load<u8>(p, 1);
  }

  u24be(off: i32): i32 {
    if (!this.has(off, 3)) return OUT;
    const p = this.ptr + <usize>off;
    return (<i32>load<u8>(p) << 16) | (<i32>load<u8>(p, 1) << 8) | <i32>load<u8>(p, 2);
  }

  /** 32 bits do not fit a non-negative i32, hence the i64 (OUT is still -1). */
  u32be(off: i32): i64 {
    if (!this.has(off, 4)) return <i64>OUT;
    const p = this.ptr + <usize>off;
    return <i64>bswap<u32>(load<u32>(p));
  }

  /** Compares the bytes at `off` with an ASCII literal. */
  startsWith(off: i32, ascii: string): Prefix {
    const n = ascii.length;
    if (off < 0) return Prefix.DIFFERENT;
    const avail = this.len - off;
    const m = avail < n ? (avail > 0 ? avail : 0) : n;
    for (let i = 0; i < m; i++) {
      if (<i32>load<u8>(this.ptr + <usize>(off + i)) != <i32>ascii.charCodeAt(i)) return Prefix.DIFFERENT;
    }
    return m == n ? Prefix.EQUAL : Prefix.PARTIAL;
  }

  /** Offset of the first `byte` in [from, end) clipped to the view, or OUT. */
  indexOf(byte: i32, from: i32, end: i32 = i32.MAX_VALUE): i32 {
    if (from < 0) from = 0;
    if (end > this.len) end = this.len;
    for (let i = from; i < end; i++) {
      if (<i32>load<u8>(this.ptr + <usize>i) == byte) return i;
    }
    return OUT;
  }

  /** True if the `n` bytes at `off` are in the view and each lies in [lo, hi]. */
  allIn(off: i32, n: i32, lo: i32, hi: i32): bool {
    if (!this.has(off, n)) return false;
    for (let i = 0; i < n; i++) {
      const b = <i32>load<u8>(this.ptr + <usize>(off + i));
      if (b < lo || b > hi) return false;
    }
    return true;
  }

  /** Copies `n` bytes at `off` to `dst` (which the caller owns and sized); false if out of range. */
  copyTo(dst: usize, off: i32, n: i32): bool {
    if (!this.has(off, n)) return false;
    memory.copy(dst, this.ptr + <usize>off, <usize>n);
    return true;
  }
}

// A detector needing another view (say, over a reassembled message) declares one the same way:
//   const hello = changetype<Bytes>(memory.data(offsetof<Bytes>(), 8));
// at module level. (Not a helper function: memory.data inside a function is one static chunk,
// so every call would return the same view.)

/** The host's window, reset by openWindow() at the start of every detect() call. */
export const input: Bytes = changetype<Bytes>(memory.data(offsetof<Bytes>(), 8));

/**
 * Starts a detect() call: views the first `len` bytes of the input buffer (clamped to
 * [0, INPUT_CAP], since a host bug must not make the module read past its buffer) and clears the keys.
 */
export function openWindow(len: i32): Bytes {
  keys.reset();
  return input.reset(INPUT_PTR, len < INPUT_CAP ? len : INPUT_CAP);
}

// Key writer state. A key is built between begin() and end(); end() commits it, or drops it whole
// if it did not fit or its source bytes were out of range, so a half-written key never reaches the host.
let keyLen: i32 = 0;
let keyStart: i32 = 0;
let keyFailed: bool = false;

export namespace keys {
  export function reset(): void {
    keyLen = 0;
    keyStart = 0;
    keyFailed = false;
  }

  /** Bytes committed so far: the length to pass to match(). */
  export function length(): i32 {
    return keyStart;
  }

  /** Starts a key `name ` (the rule-key name and its separating space), after a separator if needed. */
  export function begin(name: string): void {
    keyLen = keyStart;
    keyFailed = false;
    if (keyStart > 0) put(KEY_SEPARATOR);
    ascii(name);
    put(0x20);
  }

  /** Appends an ASCII literal. */
  export function ascii(s: string): void {
    const n = s.length;
    for (let i = 0; i < n; i++) put(<u8>s.charCodeAt(i));
  }

  /** Appends `n` bytes of `src` at `off` as they are. */
  export function bytes(src: Bytes, off: i32, n: i32): void {
    if (!room(n) || !src.copyTo(KEY_PTR + <usize>keyLen, off, n)) {
      keyFailed = true;
      return;
    }
    keyLen += n;
  }

  /** Appends `n` bytes of `src` at `off` with ASCII A–Z lower-cased (other bytes unchanged). */
  export function lower(src: Bytes, off: i32, n: i32): void {
    if (!room(n) || !src.has(off, n)) {
      keyFailed = true;
      return;
    }
    const dst = KEY_PTR + <usize>keyLen;
    for (let i = 0; i < n; i++) {
      let b = load<u8>(src.ptr + <usize>(off + i));
      if (b >= 0x41 && b <= 0x5a) b |= 0x20;
      store<u8>(dst + <usize>i, b);
    }
    keyLen += n;
  }

  /** Commits the key begun last; false if it was dropped. */
  export function end(): bool {
    if (keyFailed) {
      keyLen = keyStart;
      return false;
    }
    keyStart = keyLen;
    return true;
  }

  /** Drops the key begun last. */
  export function cancel(): void {
    keyLen = keyStart;
    keyFailed = false;
  }

  function room(n: i32): bool {
    return n >= 0 && n <= KEY_CAP - keyLen;
  }

  function put(b: u8): void {
    if (!room(1)) {
      keyFailed = true;
      return;
    }
    store<u8>(KEY_PTR + <usize>keyLen, b);
    keyLen++;
  }
}

// Verdicts. Every detect() returns through one of these, so the packing lives in one place.

export function needMore(): i32 {
  return packResult(Verdict.NEED_MORE, 0);
}

export function noMatch(): i32 {
  return packResult(Verdict.NO_MATCH, 0);
}

/** MATCH with the first `keyLen` bytes of the key buffer (usually keys.length()). */
export function match(keyLen: i32): i32 {
  return packResult(Verdict.MATCH, keyLen);
}

/** The answer when the window ends too early: wait for more, unless the client is done sending. */
export function incomplete(eof: bool): i32 {
  return eof ? noMatch() : needMore();
}
