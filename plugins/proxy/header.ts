// A PROXY protocol header at the start of a connection (HAProxy's "The PROXY protocol, Versions 1
// & 2", proxy-protocol.txt), which a proxy or load balancer sends before its client's own bytes:
//
//   v1, one text line:  "PROXY" SP ( "TCP4" | "TCP6" ) SP src SP dst SP sport SP dport CRLF
//                       "PROXY" SP "UNKNOWN" [ SP anything ] CRLF                 (107 bytes at most)
//   v2, binary:         signature (12) ‖ version 2 | command (1) ‖ family | transport (1) ‖
//                       u16 BE length ‖ addresses (IPv4 4+4+2+2, IPv6 16+16+2+2, UNIX 108+108) ‖ TLVs
//
// Pure: no verdicts or keys (index.ts). It says whether the window starts with a header, and the
// source address when the header carries one. A v1 line is read to its CRLF (every field of it
// can be checked); a v2 header only to the end of its source address (the rest is binary that any
// value fills, and the TLVs are the receiver's business).

import { Bytes, OUT, BAD, Prefix, isDigit, isHexDigit } from "passthru-mux/sdk";

/** The spec's bound for a v1 line, CRLF included: "PROXY UNKNOWN" with two full IPv6 addresses and ports. */
const V1_MAX_LINE: i32 = 107;
const V1_PREFIX = "PROXY ";
const TCP4 = "TCP4 ";
const TCP6 = "TCP6 ";
const UNKNOWN = "UNKNOWN";
/** Longest dotted IPv4 ("255.255.255.255") and IPv6 text ("ffff:…:255.255.255.255") a field can hold. */
const MAX_V4_TEXT: i32 = 15;
const MAX_V6_TEXT: i32 = 45;
/** Longest port ("65535"). */
const MAX_PORT_TEXT: i32 = 5;

/** `\r\n\r\n\0\r\nQUIT\n`, which the spec chose so that no text protocol can start with it. */
const V2_SIGNATURE: StaticArray<u8> = [0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a];
const V2_FIXED: i32 = 16;
const V2_VERSION: i32 = 0x20;
const CMD_LOCAL: i32 = 0x0;
const CMD_PROXY: i32 = 0x1;
// Family (high nibble) and transport (low nibble): the seven combinations the spec defines; every
// other value "must be rejected as invalid by receivers".
const AF_UNSPEC: i32 = 0x0;
const AF_INET: i32 = 0x1;
const AF_INET6: i32 = 0x2;
const AF_UNIX: i32 = 0x3;
const T_DGRAM: i32 = 0x2;
/** The address block each family needs the length to cover: src, dst and (IP) the two ports. */
const INET_BLOCK: i32 = 4 + 4 + 2 + 2;
const INET6_BLOCK: i32 = 16 + 16 + 2 + 2;
const UNIX_BLOCK: i32 = 108 + 108;

export enum Status {
  /** A header; the source is set when `hasSource`. */
  COMPLETE = 0,
  /** Consistent with a header so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not a PROXY header. */
  INVALID = 2,
}

/** The header names the client's address (v1 TCP4/TCP6, v2 PROXY over INET/INET6). */
export let hasSource: bool = false;
/** The source is an IPv6 address (16 bytes at SOURCE), else IPv4 (4 bytes). */
export let sourceIs6: bool = false;
/** The source address in network byte order. */
export const SOURCE: usize = memory.data(16);
/** Where a v1 destination address is parsed to: checked, not kept. */
const DEST: usize = memory.data(16);
/** Scratch for a v6 text address's groups before the `::` gap is expanded. */
const GROUPS: usize = memory.data(16);

export function parse(w: Bytes): Status {
  const b = w.u8(0);
  if (b == OUT) return Status.INCOMPLETE;
  hasSource = false;
  sourceIs6 = false;
  if (b == 0x50) return v1(w); // 'P'
  if (b == 0x0d) return v2(w);
  return Status.INVALID;
}

function v1(w: Bytes): Status {
  const s = w.startsWith(0, V1_PREFIX);
  if (s != Prefix.EQUAL) return s == Prefix.PARTIAL ? Status.INCOMPLETE : Status.INVALID;
  let p = V1_PREFIX.length;
  const t4 = w.startsWith(p, TCP4);
  const t6 = w.startsWith(p, TCP6);
  const un = w.startsWith(p, UNKNOWN);
  if (un == Prefix.EQUAL) return unknownRest(w, p + UNKNOWN.length);
  if (t4 != Prefix.EQUAL && t6 != Prefix.EQUAL) {
    return t4 == Prefix.DIFFERENT && t6 == Prefix.DIFFERENT && un == Prefix.DIFFERENT ? Status.INVALID : Status.INCOMPLETE;
  }
  const is6 = t6 == Prefix.EQUAL;
  p += TCP4.length;

  // src SP dst SP sport SP dport CR LF, each field checked as it arrives.
  const srcEnd = field(w, p, is6 ? MAX_V6_TEXT : MAX_V4_TEXT, is6 ? FieldKind.V6 : FieldKind.V4, 0x20);
  if (srcEnd < 0) return srcEnd == OUT ? Status.INCOMPLETE : Status.INVALID;
  if (!(is6 ? parseV6(w, p, srcEnd, SOURCE) : parseV4(w, p, srcEnd, SOURCE))) return Status.INVALID;
  p = srcEnd + 1;
  const dstEnd = field(w, p, is6 ? MAX_V6_TEXT : MAX_V4_TEXT, is6 ? FieldKind.V6 : FieldKind.V4, 0x20);
  if (dstEnd < 0) return dstEnd == OUT ? Status.INCOMPLETE : Status.INVALID;
  if (!(is6 ? parseV6(w, p, dstEnd, DEST) : parseV4(w, p, dstEnd, DEST))) return Status.INVALID;
  p = dstEnd + 1;
  const spEnd = field(w, p, MAX_PORT_TEXT, FieldKind.PORT, 0x20);
  if (spEnd < 0) return spEnd == OUT ? Status.INCOMPLETE : Status.INVALID;
  if (!port(w, p, spEnd)) return Status.INVALID;
  p = spEnd + 1;
  const dpEnd = field(w, p, MAX_PORT_TEXT, FieldKind.PORT, 0x0d);
  if (dpEnd < 0) return dpEnd == OUT ? Status.INCOMPLETE : Status.INVALID;
  if (!port(w, p, dpEnd)) return Status.INVALID;
  const lf = w.u8(dpEnd + 1);
  if (lf == OUT) return Status.INCOMPLETE;
  if (lf != 0x0a || dpEnd + 2 > V1_MAX_LINE) return Status.INVALID;
  hasSource = true;
  sourceIs6 = is6;
  return Status.COMPLETE;
}

/** After "UNKNOWN": CRLF at once, or a space and anything up to a CRLF within the line's bound. */
function unknownRest(w: Bytes, p: i32): Status {
  const c = w.u8(p);
  if (c == OUT) return Status.INCOMPLETE;
  if (c != 0x0d && c != 0x20) return Status.INVALID;
  for (let i = p; i < V1_MAX_LINE; i++) {
    const x = w.u8(i);
    if (x == OUT) return Status.INCOMPLETE;
    if (x == 0x0a) return Status.INVALID; // a bare LF: the line must end in CRLF
    if (x == 0x0d) {
      const lf = w.u8(i + 1);
      if (lf == OUT) return Status.INCOMPLETE;
      return lf == 0x0a && i + 2 <= V1_MAX_LINE ? Status.COMPLETE : Status.INVALID;
    }
  }
  return Status.INVALID;
}

enum FieldKind {
  V4 = 0,
  V6 = 1,
  PORT = 2,
}

/**
 * The end of the field at `p` (the offset of its terminator `term`), reading at most `max` bytes
 * of the field's alphabet: OUT while it has not all arrived, BAD for a byte outside the alphabet,
 * an empty field, one too long or another terminator.
 */
function field(w: Bytes, p: i32, max: i32, kind: FieldKind, term: i32): i32 {
  for (let i = 0; i <= max; i++) {
    const c = w.u8(p + i);
    if (c == OUT) return OUT;
    if (c == term) return i == 0 ? BAD : p + i;
    const ok = kind == FieldKind.PORT ? isDigit(c) : kind == FieldKind.V4 ? isDigit(c) || c == 0x2e : isHexDigit(c) || c == 0x3a || c == 0x2e;
    if (!ok) return BAD;
  }
  return BAD;
}

/** A decimal port 0–65535 in [p, end), without leading zeros (the spec's "decimal number"). */
function port(w: Bytes, p: i32, end: i32): bool {
  if (end - p > 1 && w.u8(p) == 0x30) return false;
  let v = 0;
  for (let i = p; i < end; i++) v = v * 10 + (w.u8(i) - 0x30);
  return v <= 0xffff;
}

/**
 * Dotted-quad IPv4 in [p, end) into the 4 bytes at `dst`: four decimal octets 0–255, no leading
 * zeros (inet_pton's form; "010" would be octal to some parsers, so no sender writes it).
 */
function parseV4(w: Bytes, p: i32, end: i32, dst: usize): bool {
  let octets = 0;
  let i = p;
  while (octets < 4) {
    let v = 0;
    let digits = 0;
    while (i < end && isDigit(w.u8(i))) {
      if (digits == 1 && v == 0) return false; // a leading zero
      v = v * 10 + (w.u8(i) - 0x30);
      if (++digits > 3 || v > 255) return false;
      i++;
    }
    if (digits == 0) return false;
    store<u8>(dst + <usize>octets, <u8>v);
    octets++;
    if (octets < 4) {
      if (i >= end || w.u8(i) != 0x2e) return false;
      i++;
    }
  }
  return i == end;
}

/**
 * IPv6 text (RFC 4291 §2.2: up to eight groups of 1–4 hex digits, one `::` standing for one or
 * more zero groups, an optional dotted IPv4 in the last 32 bits) in [p, end) into 16 bytes at `dst`.
 */
function parseV6(w: Bytes, p: i32, end: i32, dst: usize): bool {
  let groups = 0;
  let gap = -1; // group index where `::` stands
  let i = p;
  if (w.u8(i) == 0x3a) {
    if (w.u8(i + 1) != 0x3a) return false;
    gap = 0;
    i += 2;
  }
  while (i < end) {
    // An embedded IPv4 is the last part, where at most six groups came before.
    if (w.indexOf(0x3a, i, end) == OUT && w.indexOf(0x2e, i, end) != OUT) {
      if (groups > 6 || !parseV4(w, i, end, GROUPS + <usize>(groups * 2))) return false;
      groups += 2;
      i = end;
      break;
    }
    let v = 0;
    let digits = 0;
    while (i < end && isHexDigit(w.u8(i))) {
      if (++digits > 4) return false;
      const c = w.u8(i) | 0x20;
      v = (v << 4) | (c <= 0x39 ? c - 0x30 : c - 0x61 + 10);
      i++;
    }
    if (digits == 0 || groups == 8) return false;
    store<u8>(GROUPS + <usize>(groups * 2), <u8>(v >> 8));
    store<u8>(GROUPS + <usize>(groups * 2 + 1), <u8>v);
    groups++;
    if (i == end) break;
    if (w.u8(i) != 0x3a) return false; // a dot here: an IPv4 part not at the end
    i++;
    if (i < end && w.u8(i) == 0x3a) {
      if (gap >= 0) return false; // two `::`
      gap = groups;
      i++;
    } else if (i == end) {
      return false; // a trailing single ':'
    }
  }
  if (gap < 0 ? groups != 8 : groups > 7) return false;
  // Expand: the groups after the gap move to the end, zeros in between.
  const tail = gap < 0 ? 0 : groups - gap;
  const head = groups - tail;
  for (let k = 0; k < 16; k++) {
    const g = k >> 1;
    let v: u8 = 0;
    if (g < head) v = load<u8>(GROUPS + <usize>k);
    else if (g >= 8 - tail) v = load<u8>(GROUPS + <usize>(k - (8 - groups) * 2));
    store<u8>(dst + <usize>k, v);
  }
  return true;
}

function v2(w: Bytes): Status {
  for (let i = 0; i < V2_SIGNATURE.length; i++) {
    const c = w.u8(i);
    if (c == OUT) return Status.INCOMPLETE;
    if (c != <i32>V2_SIGNATURE[i]) return Status.INVALID;
  }
  const vc = w.u8(12);
  if (vc == OUT) return Status.INCOMPLETE;
  const cmd = vc & 0x0f;
  if ((vc & 0xf0) != V2_VERSION || (cmd != CMD_LOCAL && cmd != CMD_PROXY)) return Status.INVALID;
  const ft = w.u8(13);
  if (ft == OUT) return Status.INCOMPLETE;
  const fam = ft >> 4;
  const transport = ft & 0x0f;
  if (fam == AF_UNSPEC ? transport != 0 : fam > AF_UNIX || transport == 0 || transport > T_DGRAM) return Status.INVALID;
  const len = w.u16be(14);
  if (len == OUT) return Status.INCOMPLETE;
  // LOCAL (a proxy's own health check) and UNSPEC carry no client address: the receiver uses the
  // connection's own, so the address block is not read.
  if (cmd == CMD_LOCAL || fam == AF_UNSPEC) return Status.COMPLETE;
  const need = fam == AF_INET ? INET_BLOCK : fam == AF_INET6 ? INET6_BLOCK : UNIX_BLOCK;
  if (len < need) return Status.INVALID;
  if (fam == AF_UNIX) return Status.COMPLETE;
  const n = fam == AF_INET ? 4 : 16;
  if (!w.copyTo(SOURCE, V2_FIXED, n)) return Status.INCOMPLETE;
  hasSource = true;
  sourceIs6 = fam == AF_INET6;
  return Status.COMPLETE;
}
