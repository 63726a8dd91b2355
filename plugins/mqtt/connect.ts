// An MQTT client's first packet, CONNECT (MQTT 3.1.1 §3.1, MQTT 5.0 §3.1; 3.1 as IBM's MQIsdp),
// parsed from the window:
//
//   0x10 | Remaining Length (varint, 1–4 bytes)
//   protocol name (u16 length + "MQTT", or "MQIsdp" for 3.1) | level (4, 5; 3) | connect flags | keep alive u16
//   [5.0: properties: varint length + bytes]
//   client id (u16 + UTF-8) | [will: [5.0: will properties] will topic (u16 + bytes), will payload (u16 + bytes)]
//   [user name (u16 + UTF-8)] [password (u16 + bytes)]
//
// Pure: no verdicts or keys (index.ts). It says whether the window starts with a CONNECT, complete
// up to the last field routing needs (the user name when there is one, else the client id), and
// where the client id and user name are.

import { Bytes, OUT, BAD, Len, Prefix, view } from "passthru-mux/sdk";

/** CONNECT is packet type 1 with all four flag bits 0 (3.1.1 §2.2.2: any other flags close the connection). */
const CONNECT_BYTE: i32 = 0x10;
/** Remaining Length is at most four bytes (3.1.1 §2.2.3); so are 5.0's property lengths (§1.5.5). */
const MAX_VARINT_BYTES: i32 = 4;
/** Protocol levels: 3.1.1, 5.0, and 3.1 (with the name MQIsdp). */
const LEVEL_311: i32 = 4;
const LEVEL_5: i32 = 5;
const LEVEL_31: i32 = 3;

// Connect flags (3.1.1 §3.1.2.3).
const FLAG_RESERVED: i32 = 0x01;
const FLAG_WILL: i32 = 0x04;
const FLAG_WILL_QOS: i32 = 0x18;
const FLAG_WILL_RETAIN: i32 = 0x20;
const FLAG_PASSWORD: i32 = 0x40;
const FLAG_USERNAME: i32 = 0x80;

export enum Status {
  /** A CONNECT, complete up to its user name (or client id): `clientId` and, if `hasUsername`, `username` are set. */
  COMPLETE = 0,
  /** Consistent with a CONNECT so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not an MQTT CONNECT. */
  INVALID = 2,
}

export const clientId: Bytes = view();
export const username: Bytes = view();
export let hasUsername: bool = false;
/** Scratch view for fields that are skipped (properties, will topic and payload). */
const field: Bytes = view();

/** The packet as far as the Remaining Length says: reads beyond it are not this packet's. */
const packet: Bytes = view();

export function parse(w: Bytes): Status {
  const first = w.u8(0);
  if (first == OUT) return Status.INCOMPLETE;
  if (first != CONNECT_BYTE) return Status.INVALID;
  const remaining = w.uleb128(1, MAX_VARINT_BYTES);
  if (remaining == <i64>OUT) return Status.INCOMPLETE;
  if (remaining == <i64>BAD) return Status.INVALID;
  const start = w.next;
  // A view over what has arrived of the packet, ended at its Remaining Length: a field crossing that
  // end is malformed (INVALID), a field crossing only the window's end is INCOMPLETE.
  const total = <i64>start + remaining;
  const arrived = total < <i64>w.len ? <i32>total : w.len;
  w.sub(packet, 0, arrived);
  const whole = <i64>arrived == total;

  // Protocol name and level, checked together: "MQTT" goes with 4 or 5, "MQIsdp" with 3. Each
  // byte of the name is checked as it arrives.
  const nameLen = packet.u16be(start);
  if (nameLen == OUT) return whole ? Status.INVALID : Status.INCOMPLETE;
  const name = nameLen == 4 ? "MQTT" : nameLen == 6 ? "MQIsdp" : "";
  if (name.length == 0) return Status.INVALID;
  const p = packet.startsWith(start + 2, name);
  if (p == Prefix.DIFFERENT) return Status.INVALID;
  if (p == Prefix.PARTIAL) return whole ? Status.INVALID : Status.INCOMPLETE;
  let pos = start + 2 + nameLen;
  const level = packet.u8(pos);
  if (level == OUT) return whole ? Status.INVALID : Status.INCOMPLETE;
  const known = nameLen == 6 ? level == LEVEL_31 : level == LEVEL_311 || level == LEVEL_5;
  if (!known) return Status.INVALID;
  const flags = packet.u8(pos + 1);
  if (flags == OUT) return whole ? Status.INVALID : Status.INCOMPLETE;
  if (!flagsValid(flags, level)) return Status.INVALID;
  pos += 4; // level, flags, keep alive
  if (!packet.has(0, pos)) return whole ? Status.INVALID : Status.INCOMPLETE;

  if (level == LEVEL_5) {
    pos = skipProperties(pos);
    if (pos < 0) return pos == BAD || whole ? Status.INVALID : Status.INCOMPLETE;
  }
  pos = packet.prefixed(clientId, pos, Len.U16BE);
  if (pos < 0) return whole ? Status.INVALID : Status.INCOMPLETE;

  hasUsername = (flags & FLAG_USERNAME) != 0;
  if (!hasUsername) return Status.COMPLETE;
  if ((flags & FLAG_WILL) != 0) {
    if (level == LEVEL_5) {
      pos = skipProperties(pos);
      if (pos < 0) return pos == BAD || whole ? Status.INVALID : Status.INCOMPLETE;
    }
    pos = packet.prefixed(field, pos, Len.U16BE); // will topic
    if (pos < 0) return whole ? Status.INVALID : Status.INCOMPLETE;
    pos = packet.prefixed(field, pos, Len.U16BE); // will payload
    if (pos < 0) return whole ? Status.INVALID : Status.INCOMPLETE;
  }
  pos = packet.prefixed(username, pos, Len.U16BE);
  if (pos < 0) return whole ? Status.INVALID : Status.INCOMPLETE;
  return Status.COMPLETE;
}

function flagsValid(flags: i32, level: i32): bool {
  if ((flags & FLAG_RESERVED) != 0) return false;
  if ((flags & FLAG_WILL_QOS) == FLAG_WILL_QOS) return false; // QoS 3 does not exist
  if ((flags & FLAG_WILL) == 0 && (flags & (FLAG_WILL_QOS | FLAG_WILL_RETAIN)) != 0) return false;
  // Before 5.0 a password needs a user name (3.1.1 §3.1.2.9).
  if (level != LEVEL_5 && (flags & FLAG_PASSWORD) != 0 && (flags & FLAG_USERNAME) == 0) return false;
  return true;
}

/** Skips an MQTT 5.0 property block at `pos`: the offset after it, OUT if not all in, BAD if malformed. */
function skipProperties(pos: i32): i32 {
  const n = packet.prefixed(field, pos, Len.LEB128);
  if (n == BAD) return BAD;
  if (n == OUT) {
    // Only a property length longer than four bytes is malformed; the bytes may still come.
    const v = packet.uleb128(pos, MAX_VARINT_BYTES);
    return v == <i64>BAD ? BAD : OUT;
  }
  return n;
}
