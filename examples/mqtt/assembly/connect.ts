// MQTT CONNECT, the first packet an MQTT client sends (MQTT 3.1.1 §3.1, MQTT 5.0 §3.1, and the
// older 3.1 "MQIsdp"), parsed as far as routing needs: the protocol level and the client id.
// Pure: no verdicts, no keys (that is index.ts).
//
//   fixed header     0x10, Remaining Length (a varint of 1-4 bytes, LEB128-style)
//   variable header  protocol name (u16 length + "MQTT" or "MQIsdp"), level, flags, keep alive (u16)
//                    [5.0: properties, a varint length and that many bytes]
//   payload          client id (u16 length + UTF-8), then will, user name, password (not read)

import { Bytes, Len, OUT, BAD, Prefix, view } from "passthru-mux/sdk";

export enum Status {
  /** A CONNECT up to and including its client id: `level` and `clientId` are set. */
  COMPLETE = 0,
  /** Consistent so far; more bytes are needed. */
  INCOMPLETE = 1,
  /** Not an MQTT CONNECT. */
  INVALID = 2,
}

/** Packet type 1 (CONNECT) with its flags, which must be 0 (3.1.1 §2.2.2). */
const CONNECT: i32 = 0x10;
/** Remaining Length is at most 4 bytes (3.1.1 §2.2.3, 5.0 §1.5.5). */
const MAX_VARINT_BYTES: i32 = 4;
/** Name "MQTT" (2+4), level, flags, keep alive (2) and a client id's length (2): no CONNECT is shorter. */
const MIN_REMAINING: i64 = 12;
const LEVEL_31: i32 = 3; // "MQIsdp"
const LEVEL_311: i32 = 4;
const LEVEL_5: i32 = 5;
const FLAG_RESERVED: i32 = 0x01;
const FLAG_WILL: i32 = 0x04;
const FLAG_WILL_QOS: i32 = 0x18;
const FLAG_WILL_RETAIN: i32 = 0x20;
const FLAG_PASSWORD: i32 = 0x40;
const FLAG_USERNAME: i32 = 0x80;

/** The protocol level: 3 (3.1), 4 (3.1.1) or 5 (5.0). */
export let level: i32 = 0;
/** The client id's bytes (empty: the client asks the server to assign one). */
export const clientId: Bytes = view();

export function parse(w: Bytes): Status {
  const type = w.u8(0);
  if (type == OUT) return Status.INCOMPLETE;
  if (type != CONNECT) return Status.INVALID;
  const remaining = w.uleb128(1, MAX_VARINT_BYTES);
  if (remaining == <i64>OUT) return Status.INCOMPLETE;
  if (remaining == <i64>BAD || remaining < MIN_REMAINING) return Status.INVALID;
  let pos = w.next;
  // At most 268,435,455 (four 7-bit groups): fits an i32 with the header.
  const packetEnd = pos + <i32>remaining;

  // Protocol name: its length says which name to expect, so a wrong one fails on its first byte.
  const nameLen = w.u16be(pos);
  if (nameLen == OUT) return w.u8(pos) == OUT || w.u8(pos) == 0 ? Status.INCOMPLETE : Status.INVALID;
  let name: string;
  if (nameLen == 4) name = "MQTT";
  else if (nameLen == 6) name = "MQIsdp";
  else return Status.INVALID;
  if (pos + 2 + nameLen + 4 > packetEnd) return Status.INVALID;
  const p = w.startsWith(pos + 2, name);
  if (p == Prefix.DIFFERENT) return Status.INVALID;
  if (p == Prefix.PARTIAL) return Status.INCOMPLETE;
  pos += 2 + nameLen;

  const lvl = w.u8(pos);
  const flags = w.u8(pos + 1);
  if (lvl != OUT && !(nameLen == 4 ? lvl == LEVEL_311 || lvl == LEVEL_5 : lvl == LEVEL_31)) return Status.INVALID;
  if (flags != OUT && !validFlags(flags, lvl)) return Status.INVALID;
  if (!w.has(pos, 4)) return Status.INCOMPLETE; // level, flags, keep alive
  pos += 4;

  if (lvl == LEVEL_5) {
    // Properties (5.0 §3.1.2.11): skipped, they only have to fit in the packet.
    const propsLen = w.uleb128(pos, MAX_VARINT_BYTES);
    if (propsLen == <i64>OUT) return Status.INCOMPLETE;
    if (propsLen == <i64>BAD || propsLen > <i64>(packetEnd - w.next)) return Status.INVALID;
    pos = w.next + <i32>propsLen;
  }

  const end = w.prefixed(clientId, pos, Len.U16BE);
  if (end == OUT) {
    // A length that cannot fit the packet is wrong now, not later.
    const n = w.u16be(pos);
    return n != OUT && pos + 2 + n > packetEnd ? Status.INVALID : Status.INCOMPLETE;
  }
  if (end > packetEnd) return Status.INVALID;
  level = lvl;
  return Status.COMPLETE;
}

/** Connect Flags (3.1.1 §3.1.2.3, 5.0 §3.1.2.3): reserved bit clear, a will's fields only with a will. */
function validFlags(flags: i32, lvl: i32): bool {
  if ((flags & FLAG_RESERVED) != 0) return false;
  if ((flags & FLAG_WILL_QOS) == FLAG_WILL_QOS) return false; // QoS 3 does not exist
  if ((flags & FLAG_WILL) == 0 && (flags & (FLAG_WILL_QOS | FLAG_WILL_RETAIN)) != 0) return false;
  // Before 5.0 a password needs a user name (3.1.1 §3.1.2.9).
  if (lvl != LEVEL_5 && (flags & FLAG_PASSWORD) != 0 && (flags & FLAG_USERNAME) == 0) return false;
  return true;
}
