// A Minecraft Java Edition client's first packet, Handshake (the Java Edition protocol
// documentation, "Handshaking" state, packet 0x00), uncompressed as every connection starts:
//
//   VarInt packet length (of what follows) ‖ VarInt packet id = 0x00 ‖ VarInt protocol version ‖
//   String server address (VarInt byte length ‖ UTF-8) ‖ u16 BE server port ‖ VarInt intent (next state)
//
// where a VarInt is an i32 in 7-bit groups, least significant first, high bit = more (at most 5
// bytes: an unsigned LEB128 of 32 bits), and the intent is 1 (status), 2 (login) or 3 (transfer, 1.20.5+). Pure: no verdicts or
// keys (index.ts). The whole packet is read, nothing after it (the status request or Login Start).

import { Bytes, OUT, BAD } from "passthru-mux/sdk";

/** A VarInt holds an i32: five 7-bit groups, the last with only 4 bits used. */
const MAX_VARINT_BYTES: i32 = 5;
/** The address is a String(255): 255 UTF-16 code units, at most 3 UTF-8 bytes each. */
export const MAX_ADDRESS_BYTES: i32 = 255 * 3;
/**
 * The longest handshake: packet id (1), protocol version (5), the address's length (2 bytes for
 * up to 765) and bytes, port (2), intent (1). So the packet length is at most a 2-byte VarInt,
 * and a longer first packet is not a handshake.
 */
const MAX_PACKET: i32 = 1 + MAX_VARINT_BYTES + 2 + MAX_ADDRESS_BYTES + 2 + 1;
/** The shortest: id, a 1-byte version, a 1-byte address length and one byte, port, intent. */
const MIN_PACKET: i32 = 1 + 1 + 1 + 1 + 2 + 1;
const HANDSHAKE_ID: i32 = 0x00;
const INTENT_STATUS: i32 = 1;
const INTENT_TRANSFER: i32 = 3;
const PORT_BYTES: i32 = 2;

export enum Status {
  /** A whole handshake; `addressOff`/`addressLen` are set. */
  COMPLETE = 0,
  /** Consistent with a handshake so far, not complete yet. */
  INCOMPLETE = 1,
  /** Not a handshake. */
  INVALID = 2,
}

/** The server address as sent (a Forge or proxy suffix after a NUL included). */
export let addressOff: i32 = 0;
export let addressLen: i32 = 0;

/** The largest value a five-byte VarInt may carry: 32 bits (an i32, negative ones included). */
const MAX_VARINT_VALUE: i64 = 0xffffffff;

export function parse(w: Bytes): Status {
  // Packet length: one byte, or two with the second at most MAX_PACKET >> 7, so a byte that
  // cannot start such a length is refused before any more arrive.
  const b0 = w.u8(0);
  if (b0 == OUT) return Status.INCOMPLETE;
  let len: i32;
  let p: i32;
  if (b0 < 0x80) {
    len = b0;
    p = 1;
  } else {
    const b1 = w.u8(1);
    if (b1 == OUT) return Status.INCOMPLETE;
    if (b1 > MAX_PACKET >> 7) return Status.INVALID;
    len = (b0 & 0x7f) | (b1 << 7);
    p = 2;
  }
  if (len < MIN_PACKET || len > MAX_PACKET) return Status.INVALID;
  const end = p + len;

  const id = w.u8(p);
  if (id == OUT) return Status.INCOMPLETE;
  if (id != HANDSHAKE_ID) return Status.INVALID;
  p++;

  // The protocol version: any i32 (a pinging client may send -1, five bytes).
  const version = w.uleb128(p, MAX_VARINT_BYTES);
  if (version == <i64>OUT) return Status.INCOMPLETE;
  if (version == <i64>BAD || version > MAX_VARINT_VALUE) return Status.INVALID;
  p = w.next;

  const n = w.uleb128(p, MAX_VARINT_BYTES);
  if (n == <i64>OUT) return Status.INCOMPLETE;
  if (n < 1 || n > <i64>MAX_ADDRESS_BYTES) return Status.INVALID; // BAD is negative
  p = w.next;
  const addr = p;
  // The address, port and intent must end exactly where the packet does.
  if (p + <i32>n + PORT_BYTES + 1 != end) return Status.INVALID;
  p += <i32>n + PORT_BYTES;

  const intent = w.u8(p);
  if (intent == OUT) return Status.INCOMPLETE;
  if (intent < INTENT_STATUS || intent > INTENT_TRANSFER) return Status.INVALID;
  addressOff = addr;
  addressLen = <i32>n;
  return Status.COMPLETE;
}
