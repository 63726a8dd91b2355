// HTTP/2 with prior knowledge (RFC 9113 §3.4): the client preface, then frames (§4.1) up to and
// including the first request's header block, which hpack.ts decodes.
//
// The preface must be followed by a SETTINGS frame (§3.4). Connection-level frames a client sends
// before its first request (SETTINGS, WINDOW_UPDATE, PING, PRIORITY, and extension types, which
// §5.5 says to ignore) are skipped; anything else before HEADERS means this is not a well-behaved
// HTTP/2 client. A header block continued in CONTINUATION frames (§6.10) is reassembled.

import { Bytes, OUT, Prefix, INPUT_CAP, view } from "passthru-mux/sdk";
import { Status, Version, request } from "./request";
import { decodeBlock } from "./hpack";

export const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
const FRAME_HEADER: i32 = 9;
/** SETTINGS_MAX_FRAME_SIZE's initial value (§6.5.2): a client may not send more before the server raises it. */
const MAX_FRAME: i32 = 16384;

const HEADERS: i32 = 0x1;
const PRIORITY: i32 = 0x2;
const SETTINGS: i32 = 0x4;
const PING: i32 = 0x6;
const WINDOW_UPDATE: i32 = 0x8;
const CONTINUATION: i32 = 0x9;
/** Types from 0xa on are extensions (ALTSVC, ORIGIN, PRIORITY_UPDATE, …), to be ignored (§5.5). */
const FIRST_EXTENSION_TYPE: i32 = 0xa;

const FLAG_ACK: i32 = 0x1;
const FLAG_END_HEADERS: i32 = 0x4;
const FLAG_PADDED: i32 = 0x8;
const FLAG_PRIORITY: i32 = 0x20;
/** Stream dependency (4) and weight (1) of a HEADERS frame with the PRIORITY flag (§6.2). */
const PRIORITY_FIELDS: i32 = 5;
const SETTING_SIZE: i32 = 6;
const WINDOW_UPDATE_SIZE: i32 = 4;
const PING_SIZE: i32 = 8;
const PRIORITY_SIZE: i32 = 5;

/** A header block split over CONTINUATION frames, joined. It came from the window, so the window's size bounds it. */
const BLOCK_PTR: usize = memory.data(INPUT_CAP, 16);
const block: Bytes = view();

/** The window starts with the whole preface: EQUAL; might still: PARTIAL. */
export function prefaceState(w: Bytes): Prefix {
  return w.startsWith(0, PREFACE);
}

/** Parses the frames after the preface up to the end of the first header block. */
export function parse(w: Bytes): Status {
  request.version = Version.H2C;
  let pos = PREFACE.length;
  let first = true;
  while (true) {
    const h = frameHeader(w, pos);
    if (h != Status.COMPLETE) return h;
    const len = w.u24be(pos);
    const type = w.u8(pos + 3);
    const flags = w.u8(pos + 4);
    const stream = <i32>(w.u32be(pos + 5) & 0x7fffffff);
    const end = pos + FRAME_HEADER + len;
    if (first && (type != SETTINGS || (flags & FLAG_ACK) != 0)) return Status.INVALID;
    first = false;
    if (type == HEADERS) return headers(w, pos, len, flags, stream);
    if (!skippable(type, len, stream)) return Status.INVALID;
    if (w.len < end) return Status.INCOMPLETE;
    pos = end;
  }
}

/** Checks the 9-byte frame header at `pos` once present: its length must fit both the limit and the window. */
function frameHeader(w: Bytes, pos: i32): Status {
  const len = w.u24be(pos);
  if (len != OUT && (len > MAX_FRAME || pos + FRAME_HEADER + len > INPUT_CAP)) return Status.INVALID;
  if (!w.has(pos, FRAME_HEADER)) return pos + FRAME_HEADER > INPUT_CAP ? Status.INVALID : Status.INCOMPLETE;
  return Status.COMPLETE;
}

/** Connection-level frames a client may send before its first request, with their fixed sizes. */
function skippable(type: i32, len: i32, stream: i32): bool {
  if (type == SETTINGS) return stream == 0 && len % SETTING_SIZE == 0;
  if (type == WINDOW_UPDATE) return len == WINDOW_UPDATE_SIZE;
  if (type == PING) return stream == 0 && len == PING_SIZE;
  if (type == PRIORITY) return stream != 0 && len == PRIORITY_SIZE;
  return type >= FIRST_EXTENSION_TYPE;
}

function headers(w: Bytes, pos: i32, len: i32, flags: i32, stream: i32): Status {
  // Client-initiated streams are odd (§5.1.1).
  if ((stream & 1) == 0) return Status.INVALID;
  const end = pos + FRAME_HEADER + len;
  if (w.len < end) return Status.INCOMPLETE;
  let fragOff = pos + FRAME_HEADER;
  let fragEnd = end;
  if ((flags & FLAG_PADDED) != 0) {
    const pad = w.u8(fragOff);
    if (pad == OUT) return Status.INVALID;
    fragOff++;
    fragEnd -= pad;
  }
  if ((flags & FLAG_PRIORITY) != 0) fragOff += PRIORITY_FIELDS;
  // Padding and priority fields longer than the payload: a PROTOCOL_ERROR (§6.2).
  if (fragEnd < fragOff) return Status.INVALID;
  if ((flags & FLAG_END_HEADERS) != 0) {
    w.sub(block, fragOff, fragEnd - fragOff);
  } else {
    const s = joinContinuations(w, fragOff, fragEnd, end, stream);
    if (s != Status.COMPLETE) return s;
  }
  return decodeBlock(block) ? Status.COMPLETE : Status.INVALID;
}

/** Copies the first fragment and the CONTINUATION frames after `pos` into `block` until END_HEADERS. */
function joinContinuations(w: Bytes, fragOff: i32, fragEnd: i32, pos: i32, stream: i32): Status {
  let got = fragEnd - fragOff;
  w.copyTo(BLOCK_PTR, fragOff, got);
  while (true) {
    const h = frameHeader(w, pos);
    if (h != Status.COMPLETE) return h;
    const len = w.u24be(pos);
    // Nothing but CONTINUATION frames of the same stream may come until END_HEADERS (§6.10).
    if (w.u8(pos + 3) != CONTINUATION || <i32>(w.u32be(pos + 5) & 0x7fffffff) != stream) return Status.INVALID;
    const end = pos + FRAME_HEADER + len;
    if (w.len < end) return Status.INCOMPLETE;
    w.copyTo(BLOCK_PTR + <usize>got, pos + FRAME_HEADER, len);
    got += len;
    if ((w.u8(pos + 4) & FLAG_END_HEADERS) != 0) break;
    pos = end;
  }
  block.reset(BLOCK_PTR, got);
  return Status.COMPLETE;
}
