// What the HTTP/1 and HTTP/2 parsers found, in one shape, so that index.ts turns either into the
// same keys. One static instance: a parse runs once per detect() call and allocates nothing.

import { Bytes, OUT, isDigit, isDnsName, isHexDigit } from "passthru-mux/sdk";

export enum Status {
  /** A request head complete enough to route: the fields below are set. */
  COMPLETE = 0,
  /** Consistent so far; more bytes are needed. */
  INCOMPLETE = 1,
  /** Not an HTTP request (or one that cannot fit the window). */
  INVALID = 2,
}

export enum HostField {
  /** The request names no host (HTTP/1.0 without Host, an empty Host, no :authority): key `HOST `. */
  ABSENT = 0,
  /** A plausible host: `hostOff`/`hostLen` in `hostBytes` (port and IPv6 brackets already stripped). */
  PRESENT = 1,
  /** A host was sent but is not a name a rule could be written for: no HOST key. */
  UNUSABLE = 2,
}

/** HTTP version, as the VERSION key spells it. */
export enum Version {
  HTTP1 = 0, // http/1.<minor>
  H2C = 1, // HTTP/2 over cleartext with prior knowledge
}

@final @unmanaged
export class Request {
  version: Version = Version.HTTP1;
  /** The digit after `HTTP/1.` (0 or 1 in practice). */
  minor: i32 = 0;
  host: HostField = HostField.ABSENT;
  hostBytes: Bytes = changetype<Bytes>(0);
  hostOff: i32 = 0;
  hostLen: i32 = 0;
  /** The method, or methodLen 0 if none could be read (an :method that is not a token). */
  methodBytes: Bytes = changetype<Bytes>(0);
  methodOff: i32 = 0;
  methodLen: i32 = 0;
  /**
   * The path of the target without its query (origin-form, absolute-form, or :path), or pathLen
   * -1 when the request has none a rule could match (CONNECT, `*`, bytes outside visible ASCII).
   */
  pathBytes: Bytes = changetype<Bytes>(0);
  pathOff: i32 = 0;
  pathLen: i32 = -1;
  /** An absolute-form target with an empty path: its path is `/` (RFC 9112 §3.2.1). */
  pathIsRoot: bool = false;
}

export const request: Request = changetype<Request>(memory.data(offsetof<Request>(), 8));

export function resetRequest(): void {
  request.version = Version.HTTP1;
  request.minor = 0;
  request.host = HostField.ABSENT;
  request.hostLen = 0;
  request.methodLen = 0;
  request.pathLen = -1;
  request.pathIsRoot = false;
}

/**
 * Longest path reported as a key. Paths are routed by prefix, and a rule is written for a
 * directory, not for a 2 KB generated URL; longer paths get no PATH key (only HOST, VERSION,
 * METHOD and CATCHALL rules apply), which keeps the keys within the module's 1 KiB key buffer.
 */
export const MAX_PATH: i32 = 512;

/**
 * Sets the path from a target `/path?query#fragment` at `off` (`len` bytes): the bytes before `?`
 * or `#`. Only visible ASCII: a key must be valid UTF-8, and clients percent-encode the rest.
 */
export function setPath(b: Bytes, off: i32, len: i32): void {
  if (len < 1 || b.u8(off) != 0x2f) return;
  let end = off + len;
  const q = b.indexOf(0x3f, off, end);
  if (q != OUT) end = q;
  const h = b.indexOf(0x23, off, end);
  if (h != OUT) end = h;
  const n = end - off;
  if (n > MAX_PATH || !b.allIn(off, n, 0x21, 0x7e)) return;
  request.pathBytes = b;
  request.pathOff = off;
  request.pathLen = n;
}

/**
 * Sets the request's host from an authority `host[:port]` (RFC 3986 §3.2.2, §3.2.3), as a Host
 * field, a CONNECT target, an absolute URI or an :authority carries it. The port is dropped, since
 * rules name hosts; an IPv6 literal loses its brackets (`[::1]:8080` → `::1`). Empty → ABSENT.
 */
export function setHostFromAuthority(b: Bytes, off: i32, len: i32): void {
  request.hostBytes = b;
  if (len <= 0) {
    request.host = HostField.ABSENT;
    return;
  }
  request.host = HostField.UNUSABLE;
  const end = off + len;
  let hostOff = off;
  let hostEnd: i32;
  let portStart: i32;
  if (b.u8(off) == 0x5b) {
    // IP-literal: `[` IPv6address `]`. IPvFuture (`[v1.…]`) is left unusable: nothing routes by it.
    const close = b.indexOf(0x5d, off + 1, end);
    if (close == OUT || !isIPv6Text(b, off + 1, close - off - 1)) return;
    hostOff = off + 1;
    hostEnd = close;
    portStart = close + 1;
    if (portStart < end && b.u8(portStart) != 0x3a) return;
  } else {
    const colon = b.indexOf(0x3a, off, end);
    hostEnd = colon == OUT ? end : colon;
    portStart = hostEnd;
    if (!isDnsName(b, off, hostEnd - off)) return;
  }
  // `:` then digits; an empty port is allowed by RFC 3986 §3.2.3.
  for (let i = portStart + 1; i < end; i++) {
    if (!isDigit(b.u8(i))) return;
  }
  request.host = HostField.PRESENT;
  request.hostOff = hostOff;
  request.hostLen = hostEnd - hostOff;
}

/** Hex digits, `:` and `.` (an embedded IPv4), with at least two colons: the shape of an IPv6 address. */
function isIPv6Text(b: Bytes, off: i32, len: i32): bool {
  if (len < 2) return false;
  let colons = 0;
  for (let i = 0; i < len; i++) {
    const c = b.u8(off + i);
    if (c == 0x3a) colons++;
    else if (!(isHexDigit(c) || c == 0x2e)) return false;
  }
  return colons >= 2;
}
