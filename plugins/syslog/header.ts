// The start of a syslog message sent over TCP, parsed from the window:
//
//   [MSG-LEN SP]  "<" PRIVAL ">"  ( VERSION SP ...   |   Mmm SP ... )
//   octet counting   PRI            RFC 5424 header       RFC 3164 TIMESTAMP
//
// RFC 6587 gives TCP two framings: octet counting (MSG-LEN, a decimal without leading zero, and a
// space before each message) and non-transparent framing (messages one after the other, each
// ended by LF), which starts with the message itself. PRIVAL is facility × 8 + severity, 0–191,
// one to three digits without leading zeros (RFC 5424 §6.2.1). Pure: no verdicts or keys
// (index.ts). It says whether the window starts with such a header and what its facility is.

import { Bytes, OUT, SP, isDigit } from "passthru-mux/sdk";

/**
 * MSG-LEN digits: 8 allow messages up to 99,999,999 bytes, far beyond any receiver's limit (rsyslog
 * defaults to 8 KiB, RFC 5425 asks for 2048 at least), so a longer count is not syslog.
 */
const MAX_MSG_LEN_DIGITS: i32 = 8;
/** PRIVAL: at most three digits, at most 191 (facility 23, severity 7). */
const MAX_PRIVAL_DIGITS: i32 = 3;
const MAX_PRIVAL: i32 = 191;
/** RFC 5424 VERSION: NONZERO-DIGIT 0*2DIGIT. */
const MAX_VERSION_DIGITS: i32 = 3;
const LT: i32 = 0x3c;
const GT: i32 = 0x3e;

/** RFC 3164 TIMESTAMP's month abbreviations, three bytes each. */
const MONTHS = "JanFebMarAprMayJunJulAugSepOctNovDec";

export enum Status {
  /** A syslog header; `facility` is set. */
  COMPLETE = 0,
  /** Consistent with a header so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not a syslog message over TCP. */
  INVALID = 2,
}

/** The message's facility, PRIVAL / 8 (0–23). */
export let facility: i32 = 0;
/** True when the message came with an RFC 6587 octet count. */
export let octetCounted: bool = false;

export function parse(w: Bytes): Status {
  let pos = 0;
  // Where the counted message ends, when there is a count: the header must fit inside it.
  let end = i32.MAX_VALUE;
  const first = w.u8(0);
  if (first == OUT) return Status.INCOMPLETE;
  octetCounted = first != LT;
  if (octetCounted) {
    if (first < 0x31 || first > 0x39) return Status.INVALID; // NONZERO-DIGIT
    let len = 0;
    let i = 0;
    while (true) {
      const c = w.u8(i);
      if (c == OUT) return Status.INCOMPLETE;
      if (c == SP) break;
      if (!isDigit(c) || i == MAX_MSG_LEN_DIGITS) return Status.INVALID;
      len = len * 10 + (c - 0x30);
      i++;
    }
    pos = i + 1;
    end = pos + len;
    const lt = w.u8(pos);
    if (lt == OUT) return Status.INCOMPLETE;
    if (lt != LT) return Status.INVALID;
  }
  pos++; // "<"

  let prival = 0;
  let digits = 0;
  while (true) {
    if (pos >= end) return Status.INVALID;
    const c = w.u8(pos);
    if (c == OUT) return Status.INCOMPLETE;
    if (c == GT) break;
    if (!isDigit(c) || digits == MAX_PRIVAL_DIGITS) return Status.INVALID;
    if (digits == 1 && prival == 0) return Status.INVALID; // a leading zero: "<01>"
    prival = prival * 10 + (c - 0x30);
    if (prival > MAX_PRIVAL) return Status.INVALID;
    digits++;
    pos++;
  }
  if (digits == 0) return Status.INVALID;
  facility = prival >> 3;
  pos++; // ">"

  // What follows PRI: an RFC 5424 VERSION and SP, or an RFC 3164 month and SP.
  const c = w.u8(pos);
  if (c == OUT) return Status.INCOMPLETE;
  if (c >= 0x31 && c <= 0x39) {
    for (let i = 1; ; i++) {
      if (pos + i >= end) return Status.INVALID;
      const d = w.u8(pos + i);
      if (d == OUT) return Status.INCOMPLETE;
      if (d == SP) return Status.COMPLETE;
      if (!isDigit(d) || i == MAX_VERSION_DIGITS) return Status.INVALID;
    }
  }
  if (pos + 4 > end) return Status.INVALID;
  return month(w, pos);
}

/** An RFC 3164 month abbreviation and SP at `pos`. */
function month(w: Bytes, pos: i32): Status {
  for (let m = 0; m < 12; m++) {
    // Compared byte by byte against MONTHS (a substring would allocate on every call).
    let i = 0;
    while (i < 3) {
      const c = w.u8(pos + i);
      if (c == OUT || c != MONTHS.charCodeAt(m * 3 + i)) break;
      i++;
    }
    if (i < 3) {
      if (w.u8(pos + i) == OUT) return Status.INCOMPLETE; // all present bytes agreed with this month
      continue;
    }
    const s = w.u8(pos + 3);
    if (s == OUT) return Status.INCOMPLETE;
    return s == SP ? Status.COMPLETE : Status.INVALID;
  }
  return Status.INVALID;
}
