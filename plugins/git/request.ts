// The git:// transport's first pkt-line (Git's "pack protocol" and "protocol-common" docs), the
// request a client sends to git daemon before anything else:
//
//   4 hex digits (pkt-line length, the 4 included) | service SP pathname NUL [host=name[:port] NUL]
//   [NUL extra-parameter NUL ...]
//
// where service is git-upload-pack (clone, fetch, ls-remote), git-receive-pack (push) or
// git-upload-archive (archive --remote). Pure: no verdicts or keys (index.ts). It says whether the
// window starts with a complete request and where its pathname and host name are.

import { Bytes, OUT, Prefix, isHexDigit, view } from "passthru-mux/sdk";

/**
 * Git never writes a pkt-line longer than this (LARGE_PACKET_MAX in Git's pkt-line.h, 65516 bytes
 * of data plus the 4-byte length); 4 hex digits could say 65535.
 */
export const MAX_PKT_LINE: i32 = 65520;
/** The length prefix: four hex digits. */
const LENGTH_DIGITS: i32 = 4;
/** Every service name starts so; the byte after the length tells git's request from other hex-led data. */
const SERVICE_PREFIX = "git-";
const UPLOAD_PACK = "git-upload-pack ";
const RECEIVE_PACK = "git-receive-pack ";
const UPLOAD_ARCHIVE = "git-upload-archive ";
const HOST_PARAM = "host=";

export enum Status {
  /** A complete request line; `path` is set, `host` when `hasHost`. */
  COMPLETE = 0,
  /** Consistent with a request so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not a git:// request. */
  INVALID = 2,
}

/** The pathname (from the service's space to the first NUL). */
export const path: Bytes = view();
/** The host name of `host=`, without its `:port`. */
export const host: Bytes = view();
export let hasHost: bool = false;

export function parse(w: Bytes): Status {
  // The length, digit by digit, so a non-hex first byte is out at once.
  let len = 0;
  for (let i = 0; i < LENGTH_DIGITS; i++) {
    const c = w.u8(i);
    if (c == OUT) return Status.INCOMPLETE;
    if (!isHexDigit(c)) return Status.INVALID;
    len = (len << 4) | hexValue(c);
  }
  const start = LENGTH_DIGITS;
  // The shortest request is "git-upload-pack /" NUL; "0000" (flush) and other short lines are not one.
  if (len < start + UPLOAD_PACK.length + 2 || len > MAX_PKT_LINE) return Status.INVALID;

  const s = w.startsWith(start, SERVICE_PREFIX);
  if (s == Prefix.DIFFERENT) return Status.INVALID;
  if (s == Prefix.PARTIAL) return Status.INCOMPLETE;
  const a = w.startsWith(start, UPLOAD_PACK);
  const b = w.startsWith(start, RECEIVE_PACK);
  const c = w.startsWith(start, UPLOAD_ARCHIVE);
  let pathOff: i32;
  if (a == Prefix.EQUAL) pathOff = start + UPLOAD_PACK.length;
  else if (b == Prefix.EQUAL) pathOff = start + RECEIVE_PACK.length;
  else if (c == Prefix.EQUAL) pathOff = start + UPLOAD_ARCHIVE.length;
  else if (a == Prefix.DIFFERENT && b == Prefix.DIFFERENT && c == Prefix.DIFFERENT) return Status.INVALID;
  else return Status.INCOMPLETE;

  // The pathname ends at the first NUL, which must be inside the line; then wait for the whole line.
  const pathEnd = w.indexOf(0, pathOff, len);
  if (pathEnd == OUT) return w.has(0, len) ? Status.INVALID : Status.INCOMPLETE;
  if (pathEnd == pathOff) return Status.INVALID; // git daemon refuses an empty path
  if (!w.has(0, len)) return Status.INCOMPLETE;
  w.sub(path, pathOff, pathEnd - pathOff);

  hasHost = false;
  const hostOff = pathEnd + 1;
  if (w.startsWith(hostOff, HOST_PARAM) == Prefix.EQUAL && hostOff + HOST_PARAM.length <= len) {
    const nameOff = hostOff + HOST_PARAM.length;
    const end = w.indexOf(0, nameOff, len);
    // git daemon needs the host parameter NUL-terminated inside the line.
    if (end == OUT) return Status.INVALID;
    w.sub(host, nameOff, hostNameLength(w, nameOff, end) );
    hasHost = true;
  }
  return Status.COMPLETE;
}

/** Length of the name in [off, end) without a trailing `:port` (a bracketed IPv6 literal keeps its colons). */
function hostNameLength(w: Bytes, off: i32, end: i32): i32 {
  for (let i = end - 1; i >= off; i--) {
    const ch = w.u8(i);
    if (ch == 0x3a) return i - off; // ':'
    if (ch == 0x5d || ch < 0x30 || ch > 0x39) break; // ']' or a non-digit: no port
  }
  return end - off;
}

function hexValue(c: i32): i32 {
  if (c <= 0x39) return c - 0x30;
  return (c | 0x20) - 0x61 + 10;
}
