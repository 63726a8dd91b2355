// Text-protocol helpers for detectors of line-based protocols (HTTP/1, SSH, RDP cookies, …): ASCII
// classes, case-insensitive comparison, line ends, host names. Like window.ts they allocate nothing
// and read only through the bounds-checked Bytes readers, so a lying length can give a wrong
// answer but never a read outside the window.
//
//   import { findLF, equalsIgnoreCase, isDnsName } from "passthru-mux/sdk";

import { Bytes, OUT } from "./window";

export const CR: i32 = 0x0d;
export const LF: i32 = 0x0a;
export const SP: i32 = 0x20;
export const HTAB: i32 = 0x09;

/** Longest DNS name in text form: 255 wire octets (RFC 1035 §3.1) minus the length bytes. */
export const MAX_DNS_NAME: i32 = 253;
/** Longest DNS label (RFC 1035 §2.3.4). */
export const MAX_DNS_LABEL: i32 = 63;

// @ts-ignore: decorator
@inline
export function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

// @ts-ignore: decorator
@inline
export function isAlpha(c: i32): bool {
  return (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
}

// @ts-ignore: decorator
@inline
export function isHexDigit(c: i32): bool {
  return isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/** Printable ASCII without space: what can stand in a rule key without splitting it or forging a separator. */
// @ts-ignore: decorator
@inline
export function isVisible(c: i32): bool {
  return c >= 0x21 && c <= 0x7e;
}

/** ASCII A–Z to a–z; every other value unchanged (OUT stays OUT). */
// @ts-ignore: decorator
@inline
export function toLower(c: i32): i32 {
  return c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
}

/** tchar of RFC 9110 §5.6.2: the bytes of a method or a field name. */
export function isTchar(c: i32): bool {
  if (isDigit(c) || isAlpha(c)) return true;
  switch (c) {
    case 0x21: // !
    case 0x23: // #
    case 0x24: // $
    case 0x25: // %
    case 0x26: // &
    case 0x27: // '
    case 0x2a: // *
    case 0x2b: // +
    case 0x2d: // -
    case 0x2e: // .
    case 0x5e: // ^
    case 0x5f: // _
    case 0x60: // `
    case 0x7c: // |
    case 0x7e: // ~
      return true;
  }
  return false;
}

/**
 * True if the `n` bytes at `off` equal the ASCII literal `lower` ignoring ASCII case. `lower` must
 * be written in lower case; false if any byte is outside the view or the lengths differ.
 */
export function equalsIgnoreCase(b: Bytes, off: i32, n: i32, lower: string): bool {
  if (n != lower.length || !b.has(off, n)) return false;
  for (let i = 0; i < n; i++) {
    if (toLower(b.u8(off + i)) != <i32>lower.charCodeAt(i)) return false;
  }
  return true;
}

/**
 * Offset of the first LF in [from, min(end, view)), or OUT if none has arrived there. The caller
 * decides what a CR before it means (lineContentEnd) and what a missing LF means (wait, or too long).
 */
// @ts-ignore: decorator
@inline
export function findLF(b: Bytes, from: i32, end: i32 = i32.MAX_VALUE): i32 {
  return b.indexOf(LF, from, end);
}

/** End of a line's content given the offset of its LF: before the CR of a CR LF, else at the LF. */
export function lineContentEnd(b: Bytes, lf: i32): i32 {
  return lf > 0 && b.u8(lf - 1) == CR ? lf - 1 : lf;
}

/** Offset of the first byte in [from, end) that is neither SP nor HTAB, or `end`. */
export function skipSpaces(b: Bytes, from: i32, end: i32): i32 {
  let i = from;
  while (i < end) {
    const c = b.u8(i);
    if (c != SP && c != HTAB) break;
    i++;
  }
  return i;
}

/** Offset after the last byte in [from, end) that is neither SP nor HTAB, or `from`. */
export function trimSpacesEnd(b: Bytes, from: i32, end: i32): i32 {
  let i = end;
  while (i > from) {
    const c = b.u8(i - 1);
    if (c != SP && c != HTAB) break;
    i--;
  }
  return i;
}

/**
 * A DNS name a rule could be written for: letters, digits, `-` and `_` (seen in real host names)
 * in dot-separated labels of 1–63 bytes, at most 253 bytes, one trailing dot allowed (the host
 * strips it when comparing). IDNs travel as A-labels (`xn--…`) and IPv4 literals pass as
 * all-digit labels, so anything else is not a name worth a `hostname` key.
 */
export function isDnsName(b: Bytes, off: i32, len: i32): bool {
  let n = len;
  if (n > 0 && b.u8(off + n - 1) == 0x2e) n--; // one trailing dot
  if (n < 1 || n > MAX_DNS_NAME) return false;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = b.u8(off + i);
    if (c == OUT) return false;
    if (c == 0x2e) {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    if (!(isAlpha(c) || isDigit(c) || c == 0x2d || c == 0x5f)) return false;
    if (++label > MAX_DNS_LABEL) return false;
  }
  return label > 0;
}

/** True if the `n` bytes at `off` are all ASCII digits (and n > 0). */
export function allDigits(b: Bytes, off: i32, n: i32): bool {
  if (n < 1 || !b.has(off, n)) return false;
  for (let i = 0; i < n; i++) {
    if (!isDigit(b.u8(off + i))) return false;
  }
  return true;
}
