// SSH client identification line (RFC 4253 §4.2), parsed from the first bytes a client sends:
//
//   SSH-protoversion-softwareversion SP comments CR LF
//
// Pure: no verdicts or keys (index.ts). It says whether the window starts with a complete
// identification line and where its softwareversion is. A client sends this line first; only a
// server may send other lines before it (§4.2), so anything else in front means "not SSH".

import { Bytes, OUT, Prefix, CR, LF, SP, isVisible } from "passthru-mux/sdk";

const MAGIC = "SSH-";
/** The protocol versions a client speaking SSH 2 announces: 2.0, or 1.99 for "2.0 and 1.x" (§5.1). */
const PROTO_2_0 = "2.0-";
const PROTO_1_99 = "1.99-";
/**
 * The identification string is at most 255 bytes including CR LF (§4.2). A line whose LF has not
 * come by then is not an SSH identification, whatever follows.
 */
export const MAX_IDENT_LINE: i32 = 255;

export enum Status {
  /** A complete identification line; `ident` says where its parts are. */
  COMPLETE = 0,
  /** Consistent with an identification line so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not an SSH-2 client identification line. */
  INVALID = 2,
}

@final @unmanaged
export class Ident {
  /** Offset and length of softwareversion (may be empty: `SSH-2.0-` CR LF). */
  softOff: i32 = 0;
  softLen: i32 = 0;
}

export const ident: Ident = changetype<Ident>(memory.data(offsetof<Ident>(), 8));

/** Parses the window `w`, deciding at the first byte that cannot belong to an identification line. */
export function parse(w: Bytes): Status {
  const m = w.startsWith(0, MAGIC);
  if (m == Prefix.DIFFERENT) return Status.INVALID;
  if (m == Prefix.PARTIAL) return Status.INCOMPLETE;

  const off = MAGIC.length;
  const a = w.startsWith(off, PROTO_2_0);
  const b = w.startsWith(off, PROTO_1_99);
  let soft: i32;
  if (a == Prefix.EQUAL) soft = off + PROTO_2_0.length;
  else if (b == Prefix.EQUAL) soft = off + PROTO_1_99.length;
  else if (a == Prefix.DIFFERENT && b == Prefix.DIFFERENT) return Status.INVALID;
  else return Status.INCOMPLETE;
  ident.softOff = soft;

  // softwareversion: printable US-ASCII without whitespace. The RFC also excludes '-', but real
  // clients put one there (JSch sent "SSH-2.0-JSCH-0.1.54"), and it cannot confuse the key.
  let i = soft;
  let c: i32;
  while (true) {
    if (i >= MAX_IDENT_LINE) return Status.INVALID;
    c = w.u8(i);
    if (c == OUT) return Status.INCOMPLETE;
    if (c == SP || c == CR || c == LF) break;
    if (!isVisible(c)) return Status.INVALID;
    i++;
  }
  ident.softLen = i - soft;

  // comments: anything but NUL (§4.2 forbids it) and line ends, up to the line end.
  if (c == SP) {
    while (true) {
      i++;
      if (i >= MAX_IDENT_LINE) return Status.INVALID;
      c = w.u8(i);
      if (c == OUT) return Status.INCOMPLETE;
      if (c == CR || c == LF) break;
      if (c == 0) return Status.INVALID;
    }
  }
  // The RFC wants CR LF; a bare LF is accepted because OpenSSH's server accepts it too, so a
  // client that sends one works against the backend. A CR must be followed by LF.
  if (c == CR) {
    i++;
    if (i >= MAX_IDENT_LINE) return Status.INVALID;
    const n = w.u8(i);
    if (n == OUT) return Status.INCOMPLETE;
    if (n != LF) return Status.INVALID;
  }
  return Status.COMPLETE;
}
