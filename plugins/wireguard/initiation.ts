// A WireGuard client's first packet, the handshake initiation (the WireGuard paper, "WireGuard: Next
// Generation Kernel Network Tunnel", §5.4.2; the same layout in wireguard-go's noise-protocol.go and
// the kernel's messages.h), as the host hands a datagram detector its flow: records
// `u16 BE length ‖ datagram` (issue 13's shared decision). Only the first record is read: it is the
// whole first message (the initiator then waits for the response, or sends a new initiation).
//
//   type (1) = 1 ‖ reserved (3) = 0 ‖ sender index (4) ‖ unencrypted ephemeral (32)
//   ‖ encrypted static (32 + 16) ‖ encrypted timestamp (12 + 16) ‖ mac1 (16) ‖ mac2 (16)   = 148 bytes
//
// Everything after the reserved bytes is a random index, a Curve25519 public key, AEAD output and
// MACs: nothing a detector can check without the responder's static public key (mac1 is keyed by
// it). The fixed type, the zero reserved bytes and the exact length are what tell it apart.
// Pure: no verdicts (index.ts).

import { Bytes, OUT } from "passthru-mux/sdk";

/** Message type 1: handshake initiation (2 response, 3 cookie reply, 4 transport data). */
export const TYPE_INITIATION: i32 = 1;
/** The initiation's fixed size (§5.4.2). */
export const INITIATION_BYTES: i32 = 148;
/** The record's length field. */
const LEN_BYTES: i32 = 2;
/** type(1) reserved(3). */
const HEADER: i32 = 4;

export enum Status {
  COMPLETE = 0,
  INCOMPLETE = 1,
  INVALID = 2,
}

export function parse(w: Bytes): Status {
  // The record length, byte by byte: 148 is 0x00 0x94.
  const hi = w.u8(0);
  if (hi == OUT) return Status.INCOMPLETE;
  if (hi != INITIATION_BYTES >> 8) return Status.INVALID;
  const lo = w.u8(1);
  if (lo == OUT) return Status.INCOMPLETE;
  if (lo != (INITIATION_BYTES & 0xff)) return Status.INVALID;
  // The message header as it arrives: type 1, then three zero bytes.
  for (let i = 0; i < HEADER; i++) {
    const b = w.u8(LEN_BYTES + i);
    if (b == OUT) return Status.INCOMPLETE;
    if (b != (i == 0 ? TYPE_INITIATION : 0)) return Status.INVALID;
  }
  return w.has(0, LEN_BYTES + INITIATION_BYTES) ? Status.COMPLETE : Status.INCOMPLETE;
}
