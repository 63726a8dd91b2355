// The ID request a tinc daemon sends first on a meta connection (tinc's doc/PROTOCOL and the
// "meta protocol" chapter of its manual):
//
//   0 SP name SP major[.minor] LF        e.g. "0 alice 17\n" (tinc 1.0), "0 alice 17.7\n" (1.1)
//
// Pure: no verdicts or keys (index.ts). Request 0 is ID; the name is a node name as tinc checks
// it (check_id: letters, digits and '_'), the version the protocol's (17 since tinc 1.0).

import { Bytes, OUT, LF, SP, isDigit, isAlpha } from "passthru-mux/sdk";

/** tinc reads each field of a request into a buffer of MAX_STRING_SIZE (2049) with "%2048s". */
export const MAX_NAME: i32 = 2048;
/** Protocol versions are small numbers (17, 17.7); three digits each is plenty and bounds the wait. */
const MAX_VERSION_DIGITS: i32 = 3;

export enum Status {
  COMPLETE = 0,
  INCOMPLETE = 1,
  INVALID = 2,
}

@final @unmanaged
export class Id {
  nameOff: i32 = 0;
  nameLen: i32 = 0;
}

export const id: Id = changetype<Id>(memory.data(offsetof<Id>(), 8));

/** Digits at `off`: the offset after them, OUT if they run to the end of the window, BAD_NUMBER if none or too many. */
const BAD_NUMBER: i32 = -2;
function number(w: Bytes, off: i32): i32 {
  let i = off;
  while (true) {
    const c = w.u8(i);
    if (c == OUT) return i - off > MAX_VERSION_DIGITS ? BAD_NUMBER : OUT;
    if (!isDigit(c)) break;
    if (++i - off > MAX_VERSION_DIGITS) return BAD_NUMBER;
  }
  return i == off ? BAD_NUMBER : i;
}

export function parse(w: Bytes): Status {
  const c0 = w.u8(0);
  if (c0 == OUT) return Status.INCOMPLETE;
  if (c0 != 0x30) return Status.INVALID; // "0": ID
  const c1 = w.u8(1);
  if (c1 == OUT) return Status.INCOMPLETE;
  if (c1 != SP) return Status.INVALID;

  let i = 2;
  while (true) {
    const c = w.u8(i);
    if (c == OUT) return Status.INCOMPLETE;
    if (c == SP) break;
    if (!(isAlpha(c) || isDigit(c) || c == 0x5f)) return Status.INVALID;
    if (++i - 2 > MAX_NAME) return Status.INVALID;
  }
  if (i == 2) return Status.INVALID;
  id.nameOff = 2;
  id.nameLen = i - 2;

  // major[.minor] LF
  let e = number(w, i + 1);
  if (e == OUT) return Status.INCOMPLETE;
  if (e < 0) return Status.INVALID;
  let c = w.u8(e);
  if (c == 0x2e) {
    e = number(w, e + 1);
    if (e == OUT) return Status.INCOMPLETE;
    if (e < 0) return Status.INVALID;
    c = w.u8(e);
  }
  if (c == OUT) return Status.INCOMPLETE;
  return c == LF ? Status.COMPLETE : Status.INVALID;
}
