// HTTP/1.x request head (RFC 9112 §3, §5), parsed from the first bytes a client sends:
//
//   method SP request-target SP HTTP/1.x CRLF *( field-line CRLF ) CRLF
//
// It decides as soon as the bytes allow: the first byte already rules out most non-HTTP streams,
// the method has to be a known one, and the head is complete enough to route once the host is
// known: at the end of the request line for a CONNECT or absolute-form target (which carry the
// host themselves, §3.2.2), else at the end of the Host field line, or at the end of the head if
// there is none.

import { Bytes, OUT, Prefix, CR, LF, SP, equalsIgnoreCase, isAlpha, isDigit, isTchar, lineContentEnd, skipSpaces, trimSpacesEnd } from "passthru-mux/sdk";
import { Status, request, setHostFromAuthority, setPath } from "./request";

const HTTP1 = "HTTP/1.";

/**
 * Methods a client opens a connection with: RFC 9110 §9 and PATCH (RFC 5789), plus WebDAV's
 * (RFC 4918), which file-sharing clients send first. An unknown token is not taken for HTTP:
 * matching a list keeps random text out and decides from the first byte.
 */
const METHOD_COUNT: i32 = 16;
function method(i: i32): string {
  switch (i) {
    case 0: return "GET";
    case 1: return "HEAD";
    case 2: return "POST";
    case 3: return "PUT";
    case 4: return "DELETE";
    case 5: return "CONNECT";
    case 6: return "OPTIONS";
    case 7: return "TRACE";
    case 8: return "PATCH";
    case 9: return "PROPFIND";
    case 10: return "PROPPATCH";
    case 11: return "MKCOL";
    case 12: return "COPY";
    case 13: return "MOVE";
    case 14: return "LOCK";
    default: return "UNLOCK";
  }
}
const CONNECT: i32 = 5;

/** Index of the method the window starts with (followed by SP), -1 if it may still come, -2 if none can. */
function matchMethod(w: Bytes): i32 {
  let maybe = false;
  for (let i = 0; i < METHOD_COUNT; i++) {
    const name = method(i);
    const p = w.startsWith(0, name);
    if (p == Prefix.DIFFERENT) continue;
    if (p == Prefix.PARTIAL) {
      maybe = true;
      continue;
    }
    const sp = w.u8(name.length);
    if (sp == SP) return i;
    if (sp == OUT) maybe = true;
  }
  return maybe ? -1 : -2;
}

export function parse(w: Bytes): Status {
  const m = matchMethod(w);
  if (m == -2) return Status.INVALID;
  if (m == -1) return Status.INCOMPLETE;
  const methodLen = method(m).length;
  request.methodBytes = w;
  request.methodOff = 0;
  request.methodLen = methodLen;

  // request-target: visible bytes up to SP. Bytes above 0x7e are not valid there, but clients
  // do send raw UTF-8 paths and servers take them; it says nothing against HTTP.
  const t0 = methodLen + 1;
  let i = t0;
  while (true) {
    const c = w.u8(i);
    if (c == OUT) return Status.INCOMPLETE;
    if (c == SP) break;
    if (c <= SP || c == 0x7f) return Status.INVALID;
    i++;
  }
  const targetLen = i - t0;
  if (targetLen == 0) return Status.INVALID;

  const v = w.startsWith(i + 1, HTTP1);
  if (v == Prefix.DIFFERENT) return Status.INVALID;
  if (v == Prefix.PARTIAL) return Status.INCOMPLETE;
  const minor = w.u8(i + 1 + HTTP1.length);
  if (minor == OUT) return Status.INCOMPLETE;
  if (!isDigit(minor)) return Status.INVALID;
  request.minor = minor - 0x30;
  const lineEnd = endOfLine(w, i + 2 + HTTP1.length);
  if (lineEnd < 0) return lineEnd == OUT ? Status.INCOMPLETE : Status.INVALID;

  // Where the host comes from depends on the target's form (RFC 9112 §3.2).
  const first = w.u8(t0);
  if (m == CONNECT) {
    setHostFromAuthority(w, t0, targetLen); // authority-form
    return Status.COMPLETE;
  }
  if (first != 0x2f && !(first == 0x2a && targetLen == 1)) {
    // absolute-form: its authority wins over any Host field (§3.2.2).
    if (!hostFromAbsoluteUri(w, t0, targetLen)) return Status.INVALID;
    return Status.COMPLETE;
  }
  setPath(w, t0, targetLen); // origin-form; `*` (asterisk-form) has no path
  return fields(w, lineEnd);
}

/**
 * The field lines from `pos` up to and including the Host line, or to the empty line ending the
 * head. Names must be tokens directly followed by `:` (§5.1); values are not inspected except Host's.
 */
function fields(w: Bytes, pos: i32): Status {
  while (true) {
    const c = w.u8(pos);
    if (c == OUT) return Status.INCOMPLETE;
    if (c == CR || c == LF) {
      // The empty line: a head without Host (HTTP/1.0, or a broken 1.1 client).
      const e = endOfLine(w, pos);
      if (e < 0) return e == OUT ? Status.INCOMPLETE : Status.INVALID;
      return Status.COMPLETE;
    }
    let i = pos;
    while (true) {
      const n = w.u8(i);
      if (n == OUT) return Status.INCOMPLETE;
      if (n == 0x3a) break;
      // Whitespace before the colon, or a line starting with it (obs-fold after the request
      // line), must be rejected (§5.1, §2.2): so must we.
      if (!isTchar(n)) return Status.INVALID;
      i++;
    }
    if (i == pos) return Status.INVALID;
    const lf = w.indexOf(LF, i + 1);
    if (lf == OUT) return Status.INCOMPLETE;
    if (equalsIgnoreCase(w, pos, i - pos, "host")) {
      const end = trimSpacesEnd(w, i + 1, lineContentEnd(w, lf));
      const start = skipSpaces(w, i + 1, end);
      setHostFromAuthority(w, start, end - start);
      return Status.COMPLETE;
    }
    pos = lf + 1;
  }
}

/**
 * Offset after the line end at `pos`: CR LF, or a bare LF, which RFC 9112 §2.2 lets a recipient
 * accept. OUT if it has not arrived, -2 if another byte stands there.
 */
function endOfLine(w: Bytes, pos: i32): i32 {
  const c = w.u8(pos);
  if (c == OUT) return OUT;
  if (c == LF) return pos + 1;
  if (c != CR) return -2;
  const n = w.u8(pos + 1);
  if (n == OUT) return OUT;
  return n == LF ? pos + 2 : -2;
}

/**
 * `scheme "://" [userinfo "@"] host [":" port] [path…]` (RFC 3986 §3): sets the host from the
 * authority. False if the target is not an absolute URI with an authority.
 */
function hostFromAbsoluteUri(w: Bytes, off: i32, len: i32): bool {
  const end = off + len;
  let i = off;
  if (!isAlpha(w.u8(i))) return false;
  while (i < end) {
    const c = w.u8(i);
    if (!(isAlpha(c) || isDigit(c) || c == 0x2b || c == 0x2d || c == 0x2e)) break;
    i++;
  }
  if (w.startsWith(i, "://") != Prefix.EQUAL || i + 3 > end) return false;
  const a0 = i + 3;
  let a1 = a0;
  let at = a0; // after the last `@`: userinfo is not part of the host
  while (a1 < end) {
    const c = w.u8(a1);
    if (c == 0x2f || c == 0x3f || c == 0x23) break;
    if (c == 0x40) at = a1 + 1;
    a1++;
  }
  setHostFromAuthority(w, at, a1 - at);
  if (a1 < end && w.u8(a1) == 0x2f) setPath(w, a1, end - a1);
  else request.pathIsRoot = true;
  return true;
}
