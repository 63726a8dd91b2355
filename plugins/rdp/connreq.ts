// RDP Connection Request PDU ([MS-RDPBCGR] 2.2.1.1), the first bytes an RDP client sends:
//
//   TPKT header (RFC 1006 §6: version 3, reserved 0, length u16be of the whole packet)
//   X.224 Connection Request TPDU (X.224 §13.3, 7 bytes: LI, CR code, DST-REF, SRC-REF, class)
//   optional routingToken or cookie, a line ending CR LF ([MS-RDPBCGR] 2.2.1.1)
//   optional RDP_NEG_REQ (2.2.1.1.1), and after it optional RDP_NEG_CORRELATION_INFO (2.2.1.1.2)
//
// Pure: it says whether the window holds a complete, well-formed Connection Request and where its
// cookie line is. What the line means for keys is index.ts.

import { Bytes, OUT, INPUT_CAP, CR, LF } from "passthru-mux/sdk";

/** TPKT version (RFC 1006 §6); the byte after it is reserved and must be 0. */
const TPKT_VERSION: i32 = 3;
const TPKT_HEADER: i32 = 4;
/** LI, CR|CDT, DST-REF(2), SRC-REF(2), class option: the fixed part of a class 0 CR TPDU. */
const X224_CR_FIXED: i32 = 7;
/** Connection Request code in the high nibble, credit 0 in the low one, as [MS-RDPBCGR] requires. */
const X224_CR_CODE: i32 = 0xe0;
/** Class 0, no options: the only class RDP uses. */
const X224_CLASS_0: i32 = 0;
/** Where the variable part (cookie, negotiation) starts. */
export const VARIABLE_PART: i32 = TPKT_HEADER + X224_CR_FIXED;

/** RDP_NEG_REQ: type 0x01, flags, length 8 (u16le), requestedProtocols (u32le). */
const NEG_REQ_TYPE: i32 = 0x01;
const NEG_REQ_LEN: i32 = 8;
/** RDP_NEG_CORRELATION_INFO: type 0x06, flags, length 36 (u16le), correlation id, reserved. */
const CORRELATION_TYPE: i32 = 0x06;
const CORRELATION_LEN: i32 = 36;

export enum Status {
  /** The whole Connection Request is in the window and well-formed; `req` says what it holds. */
  COMPLETE = 0,
  /** Consistent so far; the TPKT length says more bytes are coming. */
  INCOMPLETE = 1,
  /** Not an X.224 Connection Request in a TPKT. */
  INVALID = 2,
}

@final @unmanaged
export class ConnReq {
  /** Offset and length of the cookie or routing-token line without its CR LF; lineLen -1 if absent. */
  lineOff: i32 = 0;
  lineLen: i32 = -1;
}

export const req: ConnReq = changetype<ConnReq>(memory.data(offsetof<ConnReq>(), 8));

/** Parses the window `w`, rejecting as soon as a header byte is wrong. */
export function parse(w: Bytes): Status {
  req.lineOff = 0;
  req.lineLen = -1;
  // Each fixed byte is checked as soon as it arrives, so a non-RDP stream is rejected early.
  const version = w.u8(0);
  if (version == OUT) return Status.INCOMPLETE;
  if (version != TPKT_VERSION) return Status.INVALID;
  const reserved = w.u8(1);
  if (reserved == OUT) return Status.INCOMPLETE;
  if (reserved != 0) return Status.INVALID;
  const total = w.u16be(2);
  if (total == OUT) return Status.INCOMPLETE;
  // The window must be able to hold the packet: a bigger Connection Request is no client's.
  if (total < VARIABLE_PART || total > INPUT_CAP) return Status.INVALID;
  const li = w.u8(4);
  if (li == OUT) return Status.INCOMPLETE;
  // The length indicator counts the TPDU's bytes after itself: all of the rest of the packet.
  if (li != total - TPKT_HEADER - 1) return Status.INVALID;
  const code = w.u8(5);
  if (code == OUT) return Status.INCOMPLETE;
  if (code != X224_CR_CODE) return Status.INVALID;
  // DST-REF is 0 in a Connection Request (X.224 §13.3.4 b); SRC-REF is the client's choice.
  const dst = w.u16be(6);
  if (dst == OUT) return Status.INCOMPLETE;
  if (dst != 0) return Status.INVALID;
  const cls = w.u8(10);
  if (cls == OUT) return Status.INCOMPLETE;
  if (cls != X224_CLASS_0) return Status.INVALID;
  if (w.len < total) return Status.INCOMPLETE;
  return parseVariable(w, VARIABLE_PART, total);
}

/** [pos, end): optional CR LF-terminated line, optional RDP_NEG_REQ, optional correlation info. */
function parseVariable(w: Bytes, pos: i32, end: i32): Status {
  // A line is there unless the part is empty or starts with a negotiation request. Its text is
  // free-form: `Cookie: mstshash=NAME`, `Cookie: msts=…`, or a load balancer's token as is.
  if (pos < end && !isNegReq(w, pos, end)) {
    const lf = w.indexOf(LF, pos, end);
    if (lf == OUT || lf == pos || w.u8(lf - 1) != CR) return Status.INVALID;
    req.lineOff = pos;
    req.lineLen = lf - 1 - pos;
    pos = lf + 1;
  }
  if (pos == end) return Status.COMPLETE;
  if (!isNegReq(w, pos, end)) return Status.INVALID;
  pos += NEG_REQ_LEN;
  if (pos == end) return Status.COMPLETE;
  if (w.u8(pos) != CORRELATION_TYPE || u16le(w, pos + 2) != CORRELATION_LEN || end - pos != CORRELATION_LEN) return Status.INVALID;
  return Status.COMPLETE;
}

function isNegReq(w: Bytes, pos: i32, end: i32): bool {
  return end - pos >= NEG_REQ_LEN && w.u8(pos) == NEG_REQ_TYPE && u16le(w, pos + 2) == NEG_REQ_LEN;
}

/** RDP's own structures are little-endian, unlike the TPKT and X.224 headers around them. */
function u16le(w: Bytes, off: i32): i32 {
  const v = w.u16be(off);
  return v == OUT ? OUT : ((v & 0xff) << 8) | (v >> 8);
}
