// Reading the window without allocating: detect() runs for every chunk of every connection, and
// the stub runtime never frees, so anything allocated per call would grow memory until it hits the
// cap. Views live in static memory (view() below), the window is one of them.
//
// Every reader takes offsets relative to its view and returns OUT instead of reading outside it, so
// a lying length field can at worst produce a wrong verdict, never a read past the window; whether
// "not there yet" means NEED_MORE or NO_MATCH is the caller's choice (Window.incomplete()).

import { INPUT_PTR, INPUT_CAP } from "./abi";

/** What a reader returns when the bytes asked for are not in the view (every value read is >= 0). */
export const OUT: i32 = -1;
/** What a varint or slice reader returns when the bytes are there but malformed (too long, bad kind). */
export const BAD: i32 = -2;

/**
 * A LEB128 longer than this cannot be an i64: 9 × 7 = 63 bits. Bounding the loop also bounds the
 * fuel a hostile run of continuation bytes can cost.
 */
const MAX_LEB128_BYTES: i32 = 9;
/** An HPACK-style integer (RFC 7541 §5.1) with more continuation bytes than this overflows 31 bits. */
const MAX_PREFIX_INT_CONTINUATION: i32 = 4;

/** Answer of a comparison against bytes that may not have arrived yet. */
export enum Prefix {
  /** A byte in the window differs: no amount of further input makes it equal. */
  DIFFERENT = 0,
  /** Every byte compared equal. */
  EQUAL = 1,
  /** Every byte present compared equal but the view ended first. */
  PARTIAL = 2,
}

/** How a length-prefixed slice spells its length (Bytes.prefixed). */
export enum Len {
  U8 = 1,
  U16BE = 2,
  U24BE = 3,
  U32BE = 4,
  /** QUIC variable-length integer (RFC 9000 §16), as HTTP/3 frames use it. */
  QUIC = 5,
  /** Unsigned LEB128, as protobuf, wasm and (capped at 4 bytes) MQTT's Remaining Length use it. */
  LEB128 = 6,
}

/**
 * A bounds-checked read-only view of `len` bytes at `ptr`. Declare extra views (over a reassembled
 * message, a sub-slice) at module level with `const v = view();`.
 */
@unmanaged
export class Bytes {
  ptr: usize = 0;
  len: i32 = 0;
  /** Offset just after the last varint or slice read through this view (see the readers). */
  next: i32 = 0;

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

  u16le(off: i32): i32 {
    if (!this.has(off, 2)) return OUT;
    const p = this.ptr + <usize>off;
    return <i32>load<u8>(p) | (<i32>load<u8>(p, 1) << 8);
  }

  u24be(off: i32): i32 {
    if (!this.has(off, 3)) return OUT;
    const p = this.ptr + <usize>off;
    return (<i32>load<u8>(p) << 16) | (<i32>load<u8>(p, 1) << 8) | <i32>load<u8>(p, 2);
  }

  /** 32 bits do not fit a non-negative i32, hence the i64 (OUT is still -1). */
  u32be(off: i32): i64 {
    if (!this.has(off, 4)) return <i64>OUT;
    return <i64>bswap<u32>(load<u32>(this.ptr + <usize>off));
  }

  u32le(off: i32): i64 {
    if (!this.has(off, 4)) return <i64>OUT;
    return <i64>load<u32>(this.ptr + <usize>off);
  }

  /**
   * QUIC variable-length integer at `off` (RFC 9000 §16): the top two bits of the first byte give
   * its length (1, 2, 4 or 8 bytes). The value (< 2^62), or OUT if not all its bytes are in the
   * view; `next` is set to the offset after it.
   */
  quicVarint(off: i32): i64 {
    const first = this.u8(off);
    if (first == OUT) return <i64>OUT;
    const n = 1 << (first >> 6);
    if (!this.has(off, n)) return <i64>OUT;
    let v = <i64>(first & 0x3f);
    for (let i = 1; i < n; i++) v = (v << 8) | <i64>load<u8>(this.ptr + <usize>(off + i));
    this.next = off + n;
    return v;
  }

  /**
   * Unsigned LEB128 at `off` of at most `maxBytes` bytes (1–9; MQTT's Remaining Length is 4). The
   * value, OUT if it runs past the view, BAD if it is longer than `maxBytes`; `next` is set after it.
   */
  uleb128(off: i32, maxBytes: i32 = MAX_LEB128_BYTES): i64 {
    if (maxBytes > MAX_LEB128_BYTES) maxBytes = MAX_LEB128_BYTES;
    let v: i64 = 0;
    for (let i = 0; i < maxBytes; i++) {
      const c = this.u8(off + i);
      if (c == OUT) return <i64>OUT;
      v |= <i64>(c & 0x7f) << <i64>(7 * i);
      if ((c & 0x80) == 0) {
        this.next = off + i + 1;
        return v;
      }
    }
    return <i64>BAD;
  }

  /**
   * Integer with an N-bit prefix (RFC 7541 §5.1, HPACK and QPACK): the low `bits` bits of the byte
   * at `off`, continued in 7-bit groups when they are all ones. The value, OUT if it runs past the
   * view, BAD if it overflows 31 bits; `next` is set after it.
   */
  prefixInt(off: i32, bits: i32): i32 {
    const first = this.u8(off);
    if (first == OUT) return OUT;
    const max = (1 << bits) - 1;
    let v = first & max;
    let pos = off + 1;
    if (v == max) {
      let shift = 0;
      while (true) {
        const c = this.u8(pos);
        if (c == OUT) return OUT;
        if (shift >= 7 * MAX_PREFIX_INT_CONTINUATION) return BAD;
        pos++;
        v += (c & 0x7f) << shift;
        shift += 7;
        if ((c & 0x80) == 0) break;
      }
      if (v < 0) return BAD;
    }
    this.next = pos;
    return v;
  }

  /**
   * A length-prefixed slice at `off`: reads the length as `kind` says, points `into` at the bytes
   * after it and returns the offset after them (also left in `next`). OUT if the length or the bytes
   * have not all arrived, BAD if the length is malformed.
   */
  prefixed(into: Bytes, off: i32, kind: Len): i32 {
    let n: i64;
    let start: i32;
    if (kind >= Len.U8 && kind <= Len.U32BE) {
      start = off + <i32>kind;
      n = kind == Len.U8 ? <i64>this.u8(off) : kind == Len.U16BE ? <i64>this.u16be(off) : kind == Len.U24BE ? <i64>this.u24be(off) : this.u32be(off);
    } else if (kind == Len.QUIC || kind == Len.LEB128) {
      n = kind == Len.QUIC ? this.quicVarint(off) : this.uleb128(off);
      start = this.next;
    } else {
      return BAD;
    }
    if (n < 0) return <i32>n;
    // A slice longer than any view (views never exceed 2 GiB) cannot arrive: it is not "not yet".
    if (n > <i64>i32.MAX_VALUE) return BAD;
    if (!this.sub(into, start, <i32>n)) return OUT;
    this.next = start + <i32>n;
    return this.next;
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

  /** As startsWith, ignoring ASCII case; `lower` must be written in lower case. */
  startsWithIgnoreCase(off: i32, lower: string): Prefix {
    const n = lower.length;
    if (off < 0) return Prefix.DIFFERENT;
    const avail = this.len - off;
    const m = avail < n ? (avail > 0 ? avail : 0) : n;
    for (let i = 0; i < m; i++) {
      let c = <i32>load<u8>(this.ptr + <usize>(off + i));
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c != <i32>lower.charCodeAt(i)) return Prefix.DIFFERENT;
    }
    return m == n ? Prefix.EQUAL : Prefix.PARTIAL;
  }

  /** True if the view is exactly `ascii` from `off` for its length (all present and equal). */
  // @ts-ignore: decorator
  @inline
  equals(off: i32, ascii: string): bool {
    return this.startsWith(off, ascii) == Prefix.EQUAL;
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

  /** Offset of the first occurrence of the ASCII literal `ascii` within [from, end) clipped to the view, or OUT. */
  find(ascii: string, from: i32, end: i32 = i32.MAX_VALUE): i32 {
    const n = ascii.length;
    if (n == 0) return from >= 0 && from <= this.len ? from : OUT;
    if (from < 0) from = 0;
    if (end > this.len) end = this.len;
    const first = <i32>ascii.charCodeAt(0);
    for (let i = from; i <= end - n; i++) {
      if (<i32>load<u8>(this.ptr + <usize>i) != first) continue;
      let j = 1;
      while (j < n && <i32>load<u8>(this.ptr + <usize>(i + j)) == <i32>ascii.charCodeAt(j)) j++;
      if (j == n) return i;
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

/**
 * A new view in static memory, for module-level constants: `const hello = view();`. Inlined, so
 * every call site gets its own memory; never call it per detect() call (it would hand out the same
 * view each time, which is as good as a global, but say so with a module-level const).
 */
// @ts-ignore: decorator
@inline
export function view(): Bytes {
  return changetype<Bytes>(memory.data(offsetof<Bytes>(), 8));
}

/** Whether more bytes can come, computed once per call by openWindow() (see Window.final). */
let windowFinal: bool = false;

/** The window the host handed over for this call: the connection's first `len` bytes, and whether more can come. */
@final @unmanaged
export class Window extends Bytes {
  /** The client closed its side: no more bytes will come. */
  eof: bool = false;

  /**
   * True when no more bytes can come to this detector: the client is done, or the window is
   * already as large as the input buffer. Then "not there yet" means "never".
   */
  // @ts-ignore: decorator
  @inline
  get final(): bool {
    return windowFinal;
  }
}

/** The host's window, reset by openWindow() at the start of every detect() call. */
export const input: Window = changetype<Window>(memory.data(offsetof<Window>(), 8));

/**
 * Views the first `len` bytes of the input buffer (clamped to [0, INPUT_CAP], since a host bug must
 * not make the module read past its buffer). Called by the generated entry, not by authors.
 */
export function openWindow(len: i32, eof: i32): Window {
  const n = len < INPUT_CAP ? len : INPUT_CAP;
  input.reset(INPUT_PTR, n);
  input.eof = eof != 0;
  windowFinal = eof != 0 || n >= INPUT_CAP;
  return input;
}
