// The first thing a SOCKS client sends, parsed from the window:
//
//   SOCKS 4 request (Ying-Da Lee, "SOCKS: A protocol for TCP proxy across firewalls"):
//     VN=4 | CD (1 CONNECT, 2 BIND) | DSTPORT u16 | DSTIP 4 bytes | USERID | NUL
//   SOCKS 4A (Ying-Da Lee, "SOCKS 4A: A Simple Extension to SOCKS 4 Protocol"): DSTIP 0.0.0.x with
//     x != 0 says "resolve it for me", and the host name follows: ... USERID | NUL | HOSTNAME | NUL
//   SOCKS 5 greeting (RFC 1928 §3): VER=5 | NMETHODS | METHODS (NMETHODS bytes)
//
// Pure: no verdicts or keys (index.ts). A SOCKS 5 client waits for the server's method choice
// before it names a destination, so a 5 greeting carries no host; a 4 request always carries one.

import { Bytes, OUT, isVisible } from "passthru-mux/sdk";

const SOCKS4: i32 = 4;
const SOCKS5: i32 = 5;
const CD_CONNECT: i32 = 1;
const CD_BIND: i32 = 2;
/** VN CD DSTPORT DSTIP: the fixed part of a SOCKS 4 request before USERID. */
const SOCKS4_FIXED: i32 = 8;
/**
 * The spec bounds neither USERID nor the 4A host name. A user id is a login name and a host name
 * is at most 253 bytes (RFC 1035), so 255 bytes each is more than any real client sends and
 * bounds how long a NUL-less stream keeps the detector waiting.
 */
export const MAX_USERID: i32 = 255;
export const MAX_HOSTNAME: i32 = 255;
/** RFC 1928 §3 IANA-assigned methods 0x00–0x09 and the private range 0x80–0xFE (0xFF only a server sends). */
const MAX_ASSIGNED_METHOD: i32 = 0x09;
const FIRST_PRIVATE_METHOD: i32 = 0x80;
const NO_ACCEPTABLE_METHODS: i32 = 0xff;

export enum Status {
  /** A whole request or greeting; `req` says what it holds. */
  COMPLETE = 0,
  /** Consistent with one so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not a SOCKS 4/4A request nor a SOCKS 5 greeting. */
  INVALID = 2,
}

@final @unmanaged
export class Request {
  /** 4 or 5. */
  version: i32 = 0;
  /** SOCKS 4 DSTIP as a big-endian number (SOCKS 4A: 0.0.0.x). */
  ip: u32 = 0;
  /** SOCKS 4A: offset and length of the host name; hostLen = -1 when the request has none. */
  hostOff: i32 = 0;
  hostLen: i32 = -1;
}

export const req: Request = changetype<Request>(memory.data(offsetof<Request>(), 8));

export function parse(w: Bytes): Status {
  const v = w.u8(0);
  if (v == OUT) return Status.INCOMPLETE;
  req.version = v;
  req.hostLen = -1;
  if (v == SOCKS4) return parse4(w);
  if (v == SOCKS5) return parse5(w);
  return Status.INVALID;
}

function parse4(w: Bytes): Status {
  const cd = w.u8(1);
  if (cd == OUT) return Status.INCOMPLETE;
  if (cd != CD_CONNECT && cd != CD_BIND) return Status.INVALID;
  // Port 0 names no service: no client asks for it, and refusing it keeps random bytes out.
  const port = w.u16be(2);
  if (port == OUT) return Status.INCOMPLETE;
  if (port == 0) return Status.INVALID;
  const ip = w.u32be(4);
  if (ip == <i64>OUT) return Status.INCOMPLETE;
  req.ip = <u32>ip;

  const userEnd = nulTerminated(w, SOCKS4_FIXED, MAX_USERID);
  if (userEnd < 0) return userEnd == OUT ? Status.INCOMPLETE : Status.INVALID;
  // 0.0.0.x, x != 0: SOCKS 4A, a host name follows USERID (the spec's "inaccessible IP address").
  if (ip > 0 && ip <= 0xff) {
    const hostOff = userEnd + 1;
    const hostEnd = nulTerminated(w, hostOff, MAX_HOSTNAME);
    if (hostEnd < 0) return hostEnd == OUT ? Status.INCOMPLETE : Status.INVALID;
    if (hostEnd == hostOff) return Status.INVALID; // 4A without a name
    req.hostOff = hostOff;
    req.hostLen = hostEnd - hostOff;
  }
  return Status.COMPLETE;
}

/** Returned by nulTerminated for a byte that cannot be in the string, or no NUL within the limit. */
const BAD_STRING: i32 = -2;

/**
 * Offset of the NUL ending a string of visible ASCII at `off` (at most `max` bytes before the NUL),
 * OUT if it has not arrived, BAD_STRING otherwise. Visible ASCII only: user ids and host names are
 * printable, and a rule key cannot hold anything else.
 */
function nulTerminated(w: Bytes, off: i32, max: i32): i32 {
  for (let i = off; i <= off + max; i++) {
    const c = w.u8(i);
    if (c == OUT) return OUT;
    if (c == 0) return i;
    if (!isVisible(c)) return BAD_STRING;
  }
  return BAD_STRING;
}

function parse5(w: Bytes): Status {
  const n = w.u8(1);
  if (n == OUT) return Status.INCOMPLETE;
  if (n == 0) return Status.INVALID; // a client offers at least one method
  for (let i = 0; i < n; i++) {
    const m = w.u8(2 + i);
    if (m == OUT) return Status.INCOMPLETE;
    if (m == NO_ACCEPTABLE_METHODS || (m > MAX_ASSIGNED_METHOD && m < FIRST_PRIVATE_METHOD)) return Status.INVALID;
  }
  // The client now waits for the server's choice (§3), so nothing follows, except from a client
  // that sends its request at once: that starts with VER 5 too (§4). Anything else after the
  // greeting means these bytes only looked like one (the method range is wide).
  const after = w.u8(2 + n);
  if (after != OUT && after != SOCKS5) return Status.INVALID;
  return Status.COMPLETE;
}
