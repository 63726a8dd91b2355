// The first message of a PostgreSQL client (frontend/backend protocol 3, "Message Formats" and
// "Start-up" in the PostgreSQL documentation), parsed from the window. All of them are
//
//   Int32 length (itself included) | Int32 code | body
//
// where code is SSLRequest (80877103, no body), GSSENCRequest (80877104, no body), CancelRequest
// (80877102, Int32 process id and Int32 secret key), or a protocol version, major 3, for a
// StartupMessage whose body is name NUL value NUL pairs ended by one more NUL.
//
// Pure: no verdicts or keys (index.ts). It says which message the window starts with and, for a
// StartupMessage, where the user, database and application_name values are.

import { Bytes, OUT, view } from "passthru-mux/sdk";

/**
 * The server refuses a startup packet longer than this (MAX_STARTUP_PACKET_LENGTH in PostgreSQL's
 * src/include/libpq/pqcomm.h), so a client's first message is never longer.
 */
export const MAX_STARTUP_PACKET: i32 = 10000;
/** Length and code: the shortest message (SSLRequest, GSSENCRequest). */
const HEADER: i32 = 8;
/** CancelRequest: header, process id, secret key. */
const CANCEL_LENGTH: i32 = 16;
const SSL_REQUEST_CODE: i64 = 80877103;
const GSSENC_REQUEST_CODE: i64 = 80877104;
const CANCEL_REQUEST_CODE: i64 = 80877102;
/** Protocol 3.x (3.0; 3.2 since PostgreSQL 18): the major version in the code's high 16 bits. */
const PROTOCOL_MAJOR: i64 = 3;

export enum Message {
  SSL_REQUEST = 0,
  GSSENC_REQUEST = 1,
  CANCEL_REQUEST = 2,
  STARTUP = 3,
  /** Consistent with a message so far, not complete yet. */
  INCOMPLETE = 4,
  /** Not a PostgreSQL client's first message. */
  INVALID = 5,
}

/** StartupMessage values, valid where the matching `has…` is true. */
export const user: Bytes = view();
export const database: Bytes = view();
export const application: Bytes = view();
export let hasUser: bool = false;
export let hasDatabase: bool = false;
export let hasApplication: bool = false;
const name: Bytes = view();

export function parse(w: Bytes): Message {
  // The length is at most 10000 = 0x2710: its first two bytes are 0, the third at most 0x27. Each
  // is checked as it arrives, so most other protocols are out at the first byte.
  for (let i = 0; i < 3; i++) {
    const b = w.u8(i);
    if (b == OUT) return Message.INCOMPLETE;
    if (b > (i < 2 ? 0 : MAX_STARTUP_PACKET >> 8)) return Message.INVALID;
  }
  const len = <i32>w.u32be(0);
  if (len == OUT) return Message.INCOMPLETE;
  if (len < HEADER || len > MAX_STARTUP_PACKET) return Message.INVALID;
  const code = w.u32be(4);
  if (code == <i64>OUT) return Message.INCOMPLETE;

  if (code == SSL_REQUEST_CODE) return len == HEADER ? Message.SSL_REQUEST : Message.INVALID;
  if (code == GSSENC_REQUEST_CODE) return len == HEADER ? Message.GSSENC_REQUEST : Message.INVALID;
  if (code == CANCEL_REQUEST_CODE) {
    if (len != CANCEL_LENGTH) return Message.INVALID;
    return w.has(0, CANCEL_LENGTH) ? Message.CANCEL_REQUEST : Message.INCOMPLETE;
  }
  if (code >> 16 != PROTOCOL_MAJOR) return Message.INVALID;
  return parseParameters(w, len);
}

function parseParameters(w: Bytes, len: i32): Message {
  hasUser = false;
  hasDatabase = false;
  hasApplication = false;
  let pos = HEADER;
  // Decide on the bytes that have arrived, then wait for the rest of the packet: a NUL-less run
  // longer than the packet is out at once.
  while (true) {
    if (pos >= len) return Message.INVALID; // the terminating NUL is missing
    const end = w.indexOf(0, pos, len);
    if (end == OUT) return w.has(0, len) ? Message.INVALID : Message.INCOMPLETE;
    if (end == pos) break; // the empty name: end of the list
    w.sub(name, pos, end - pos);
    const vOff = end + 1;
    const vEnd = w.indexOf(0, vOff, len);
    if (vEnd == OUT) return w.has(0, len) ? Message.INVALID : Message.INCOMPLETE;
    if (name.equals(0, "user")) {
      w.sub(user, vOff, vEnd - vOff);
      hasUser = true;
    } else if (name.equals(0, "database")) {
      w.sub(database, vOff, vEnd - vOff);
      hasDatabase = true;
    } else if (name.equals(0, "application_name")) {
      w.sub(application, vOff, vEnd - vOff);
      hasApplication = true;
    }
    pos = vEnd + 1;
  }
  // The list's NUL must be the packet's last byte.
  if (pos != len - 1) return Message.INVALID;
  return Message.STARTUP;
}
