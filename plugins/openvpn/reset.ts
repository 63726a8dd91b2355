// An OpenVPN client's first packet, the control channel's hard reset (OpenVPN's doc/protocol
// overview in ssl.h / "openvpn-rfc" draft), in its record framing:
//
//   u16 BE length ‖ packet                     (TCP: how OpenVPN frames every packet; UDP: the
//                                               host's datagram record, the same shape)
//   packet = opcode<<3 | key_id (1) ‖ session_id (8) ‖ wrapping-dependent rest, one of:
//     none:          ack_len (1) = 0 ‖ message packet_id (4) = 0 ‖ payload
//     --tls-auth:    HMAC (16–64) ‖ replay packet_id (4) = 1 ‖ net_time (4) ‖ ack_len 0 ‖ message packet_id 0 ‖ payload
//     --tls-crypt:   replay packet_id (4) ‖ net_time (4) ‖ tag (32) ‖ encrypted (ack_len, message packet_id, payload)
//     --tls-crypt-v2 (opcode V3): as --tls-crypt, then the wrapped client key WKc whose last 2 bytes are its length
//
// Pure: no verdicts or keys (index.ts). Only the first record is read: it is the whole first
// flight of a client (it waits for the server's reset), and in datagram mode one datagram.

import { Bytes, OUT } from "passthru-mux/sdk";

export const P_CONTROL_HARD_RESET_CLIENT_V2: i32 = 7;
export const P_CONTROL_HARD_RESET_CLIENT_V3: i32 = 10;
const OPCODE_SHIFT: i32 = 3;
const KEY_ID_MASK: i32 = 0x07;
/** The record's length field. */
const LEN_BYTES: i32 = 2;
/** opcode/key_id and session_id: in front of every wrapping. */
const HEAD: i32 = 1 + 8;
/** Unwrapped: ack_len and the message packet_id after the head (no payload): the smallest reset, 14 bytes. */
const MIN_PACKET: i32 = HEAD + 1 + 4;
/**
 * A client's reset is under 100 bytes, plus with --tls-crypt-v2 a wrapped client key of at most
 * 1024 bytes (TLS_CRYPT_V2_MAX_WKC_LEN); 1600 covers both with room for a payload TLV and is
 * still below a 1500-byte-MTU datagram's worth of slack. A bigger length is not a reset.
 */
export const MAX_PACKET: i32 = 1600;
/** HMAC sizes of --tls-auth's --auth digests: MD5, SHA1 (the default), SHA224, SHA256, SHA384, SHA512. */
const HMAC_SIZES: StaticArray<i32> = [20, 32, 16, 28, 48, 64];
/** --tls-crypt: replay packet_id, net_time, the 32-byte tag, then at least ack_len and a message packet_id encrypted. */
const TLS_CRYPT_MIN: i32 = HEAD + 4 + 4 + 32 + 1 + 4;
const TAG: i32 = 32;
/** The replay packet_id of a client's first wrapped packet; tls-crypt-v2 clients since 2.6 start at EARLY_NEG_START | 1. */
const FIRST_PACKET_ID: i64 = 1;
const EARLY_NEG_FIRST_PACKET_ID: i64 = 0x0f000001;

export enum Status {
  COMPLETE = 0,
  INCOMPLETE = 1,
  INVALID = 2,
}

/** The opcode of the reset found (COMPLETE only). */
export let opcode: i32 = 0;

export function parse(w: Bytes): Status {
  // The length's high byte already bounds it: MAX_PACKET >> 8 = 6.
  const hi = w.u8(0);
  if (hi == OUT) return Status.INCOMPLETE;
  if (hi > MAX_PACKET >> 8) return Status.INVALID;
  const len = w.u16be(0);
  if (len == OUT) return Status.INCOMPLETE;
  if (len < MIN_PACKET || len > MAX_PACKET) return Status.INVALID;

  const b = w.u8(LEN_BYTES);
  if (b == OUT) return Status.INCOMPLETE;
  const op = b >> OPCODE_SHIFT;
  // A new session always starts on key_id 0.
  if ((b & KEY_ID_MASK) != 0) return Status.INVALID;
  if (op != P_CONTROL_HARD_RESET_CLIENT_V2 && op != P_CONTROL_HARD_RESET_CLIENT_V3) return Status.INVALID;
  if (!w.has(0, LEN_BYTES + len)) return Status.INCOMPLETE;
  opcode = op;

  const p = LEN_BYTES; // packet start
  const end = p + len;
  if (op == P_CONTROL_HARD_RESET_CLIENT_V3) return tlsCryptV2(w, p, end) ? Status.COMPLETE : Status.INVALID;
  if (unwrapped(w, p + HEAD)) return Status.COMPLETE;
  for (let i = 0; i < HMAC_SIZES.length; i++) {
    const h = HMAC_SIZES[i];
    if (HEAD + h + 4 + 4 + 1 + 4 <= len && w.u32be(p + HEAD + h) == FIRST_PACKET_ID && unwrapped(w, p + HEAD + h + 8)) return Status.COMPLETE;
  }
  if (len >= TLS_CRYPT_MIN && w.u32be(p + HEAD) == FIRST_PACKET_ID) return Status.COMPLETE;
  return Status.INVALID;
}

/** ack_len 0 and message packet_id 0 at `off`: the first control message, acknowledging nothing. */
function unwrapped(w: Bytes, off: i32): bool {
  return w.u8(off) == 0 && w.u32be(off + 1) == 0;
}

function tlsCryptV2(w: Bytes, p: i32, end: i32): bool {
  const pid = w.u32be(p + HEAD);
  if (pid != FIRST_PACKET_ID && pid != EARLY_NEG_FIRST_PACKET_ID) return false;
  // WKc = tag ‖ encrypted key ‖ u16 length of WKc, at the end of the packet.
  const wkc = w.u16be(end - 2);
  return wkc >= TAG + 2 && wkc <= end - p - TLS_CRYPT_MIN;
}
