// A DNS client's first message in its u16 length framing (RFC 1035 §4.2.2, RFC 7766 §8):
//
//   u16 BE length ‖ message                  (TCP: how DNS frames every message; UDP: the host's
//                                             datagram record, the same shape, so one parser serves both)
//   message = header (12) ‖ question ‖ …
//   header  = ID (2) ‖ QR opcode AA TC RD (1) ‖ RA Z AD CD RCODE (1) ‖ QDCOUNT ‖ ANCOUNT ‖ NSCOUNT ‖ ARCOUNT
//   question = QNAME (labels: u8 length ‖ bytes, ending in the root's 0) ‖ QTYPE (2) ‖ QCLASS (2)
//
// Pure: no verdicts or keys (index.ts). Only the header and the first question are read: they hold
// everything routed on, and the rest (more questions, EDNS, an UPDATE's records, a pipelined next
// query) is the server's business.

import { Bytes, OUT, isAlpha, isDigit } from "passthru-mux/sdk";

/** The record's length field. */
const LEN_BYTES: i32 = 2;
const HEADER: i32 = 12;
/** The smallest question: the root name (one 0 byte), QTYPE, QCLASS. */
const MIN_QUESTION: i32 = 1 + 2 + 2;
/** A message shorter than a header and one question is not a query. */
const MIN_MESSAGE: i32 = HEADER + MIN_QUESTION;
/** A name's wire form is at most 255 octets, length bytes and the root's 0 included (RFC 1035 §3.1). */
const MAX_NAME_WIRE: i32 = 255;
/** Label length bytes above this are compression pointers (0xc0) or the obsolete extended types (0x40, 0x80). */
const MAX_LABEL: i32 = 63;

// Header bits (RFC 1035 §4.1.1, RFC 6895 §2), in the two flag bytes.
const QR: i32 = 0x80;
const OPCODE_SHIFT: i32 = 3;
const OPCODE_MASK: i32 = 0x0f;
const TC: i32 = 0x02;
const Z: i32 = 0x40;
const RCODE_MASK: i32 = 0x0f;
/** The opcodes a client opens with: QUERY (0), NOTIFY (4, RFC 1996), UPDATE (5, RFC 2136). IQUERY (1) is obsolete, STATUS (2) unassigned in practice, DSO (6) has no question. */
const OP_QUERY: i32 = 0;
const OP_NOTIFY: i32 = 4;
const OP_UPDATE: i32 = 5;

// QCLASS values a question carries (RFC 1035 §3.2.4–5, RFC 2136 §2.4 for NONE).
const CLASS_IN: i32 = 1;
const CLASS_CH: i32 = 3;
const CLASS_HS: i32 = 4;
const CLASS_NONE: i32 = 254;
const CLASS_ANY: i32 = 255;

export enum Status {
  /** A query header and a complete first question; the fields below are set. */
  COMPLETE = 0,
  /** Consistent with a query so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not a DNS query. */
  INVALID = 2,
}

/** Offset of the first question's QNAME in the window (its first length byte). */
export let nameOff: i32 = 0;
/** True when every label is made of letters, digits, `-` and `_`: a name a hostname rule can be written for. */
export let nameIsHost: bool = false;
export let qtype: i32 = 0;

export function parse(w: Bytes): Status {
  const len = w.u16be(0);
  if (len == OUT) return Status.INCOMPLETE;
  if (len < MIN_MESSAGE) return Status.INVALID;
  const m = LEN_BYTES; // message start
  const end = m + len;

  const f1 = w.u8(m + 2);
  if (f1 == OUT) return Status.INCOMPLETE;
  if ((f1 & QR) != 0 || (f1 & TC) != 0) return Status.INVALID; // a response, or a truncated query
  const op = (f1 >> OPCODE_SHIFT) & OPCODE_MASK;
  if (op != OP_QUERY && op != OP_NOTIFY && op != OP_UPDATE) return Status.INVALID;
  const f2 = w.u8(m + 3);
  if (f2 == OUT) return Status.INCOMPLETE;
  // Z is zero in every message; a query's RCODE is NOERROR.
  if ((f2 & Z) != 0 || (f2 & RCODE_MASK) != 0) return Status.INVALID;
  const qd = w.u16be(m + 4);
  if (qd == OUT) return Status.INCOMPLETE;
  // At least one question (an UPDATE's zone), and no more than the message can hold.
  if (qd < 1 || qd > (len - HEADER) / MIN_QUESTION) return Status.INVALID;

  // QNAME, label by label; it must end inside the message.
  let p = m + HEADER;
  nameIsHost = true;
  while (true) {
    const n = w.u8(p);
    if (n == OUT) return Status.INCOMPLETE;
    if (n > MAX_LABEL) return Status.INVALID; // a pointer has nothing before the first name to point at
    // After a label at least the root's 0 must follow; after the root, QTYPE and QCLASS.
    const rest = n == 0 ? 4 : MIN_QUESTION;
    if (p + 1 + n + (n == 0 ? 0 : 1) - (m + HEADER) > MAX_NAME_WIRE) return Status.INVALID;
    if (p + 1 + n + rest > end) return Status.INVALID; // the question would cross the message's end
    if (n == 0) break;
    for (let i = 1; i <= n; i++) {
      const c = w.u8(p + i);
      if (c == OUT) return Status.INCOMPLETE;
      if (!hostChar(c)) nameIsHost = false;
    }
    p += 1 + n;
  }
  const t = w.u16be(p + 1);
  if (t == OUT) return Status.INCOMPLETE;
  if (t == 0) return Status.INVALID; // type 0 is reserved
  const c = w.u16be(p + 3);
  if (c == OUT) return Status.INCOMPLETE;
  if (c != CLASS_IN && c != CLASS_CH && c != CLASS_HS && c != CLASS_NONE && c != CLASS_ANY) return Status.INVALID;
  nameOff = m + HEADER;
  qtype = t;
  return Status.COMPLETE;
}

/** Letters, digits, `-` and `_` (the SDK's isDnsName alphabet): a label of others (`*`, a dot, a space, binary) is no host name. */
function hostChar(c: i32): bool {
  return isAlpha(c) || isDigit(c) || c == 0x2d || c == 0x5f;
}
