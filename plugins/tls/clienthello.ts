// TLS ClientHello wire format, parsed from the first bytes a client sends. Pure: no verdicts,
// no keys, no policy about what a plausible name is (that is index.ts); it says whether the bytes
// are a complete, well-formed ClientHello and where its server_name and first ALPN protocol are.
//
// Specs: record layer RFC 8446 §5.1 (RFC 5246 §6.2.1), handshake framing RFC 8446 §4,
// ClientHello RFC 8446 §4.1.2 (RFC 5246 §7.4.1.2), server_name RFC 6066 §3, ALPN RFC 7301 §3.1.

import { Bytes, OUT, INPUT_CAP, view } from "passthru-mux/sdk";

/** ContentType handshake (RFC 8446 §5.1): the only record type that may carry a ClientHello. */
const CONTENT_HANDSHAKE: i32 = 0x16;
/** ProtocolVersion major byte of SSL 3.0 through TLS 1.3 (the minor byte is ignored, §5.1). */
const VERSION_MAJOR: i32 = 3;
/** HandshakeType client_hello (RFC 8446 §4). */
const HS_CLIENT_HELLO: i32 = 1;

/** type(1) legacy_record_version(2) length(2). */
const RECORD_HEADER: i32 = 5;
/** msg_type(1) length(3). */
const HS_HEADER: i32 = 4;
/** A TLSPlaintext fragment is at most 2^14 bytes (RFC 8446 §5.1); longer is a record_overflow. */
const MAX_FRAGMENT: i32 = 16384;

/** legacy_version(2) random(32). */
const HELLO_FIXED: i32 = 34;
/** legacy_session_id<0..32> (RFC 8446 §4.1.2). */
const MAX_SESSION_ID: i32 = 32;
/**
 * Smallest body: version, random, empty session id (1), one cipher suite (2+2), one compression
 * method (1+1). Anything shorter cannot be a ClientHello, so it is rejected from its header alone.
 */
const MIN_HELLO_BODY: i32 = HELLO_FIXED + 1 + 4 + 2;

const EXT_SERVER_NAME: i32 = 0; // RFC 6066 §3
const EXT_ALPN: i32 = 16; // RFC 7301 §3.1
/** NameType host_name (RFC 6066 §3). */
const NAME_TYPE_HOST: i32 = 0;

export enum Status {
  /** A well-formed ClientHello is complete in the window; Hello holds what was found. */
  COMPLETE = 0,
  /** Everything so far is consistent with a ClientHello, but it has not all arrived. */
  INCOMPLETE = 1,
  /** Not a TLS handshake, not a ClientHello, or lengths that do not add up. */
  INVALID = 2,
  /** A ClientHello whose bytes would extend past the INPUT_CAP window: it can never complete here. */
  TOO_LARGE = 3,
}

/** What an extension said. */
export enum Field {
  /** The extension was not sent. */
  ABSENT = 0,
  /** Found: `off`/`len` locate the value in Hello.body. */
  PRESENT = 1,
  /** The extension was sent, well-framed, but with no usable value (empty, or several host names). */
  UNUSABLE = 2,
}

/** Parse result. One static instance: the parser runs once per detect() call and allocates nothing. */
@final @unmanaged
export class Hello {
  /** The ClientHello body (after the 4-byte handshake header), in the window or reassembled. */
  body: Bytes = changetype<Bytes>(0);
  sni: Field = Field.ABSENT;
  sniOff: i32 = 0;
  sniLen: i32 = 0;
  alpn: Field = Field.ABSENT;
  alpnOff: i32 = 0;
  alpnLen: i32 = 0;
}

export const hello: Hello = changetype<Hello>(memory.data(offsetof<Hello>(), 8));
const body: Bytes = view();

/**
 * Handshake bytes gathered from several records. A fragmented ClientHello is at most what fits in
 * the window, so a buffer of the window's size always suffices. Exported so that plugins/quic
 * reassembles its CRYPTO frames here too instead of taking another 16 KiB of the module's memory
 * (it never calls parse(), so the two uses never meet).
 */
export const REASSEMBLY_PTR: usize = memory.data(INPUT_CAP, 16);

/**
 * Parses the window `w` (bytes from the start of the connection). Decides as early as the bytes
 * allow: the first byte and the version major already tell a non-TLS stream apart.
 */
export function parse(w: Bytes): Status {
  const first = checkRecordStart(w, 0);
  if (first != Status.COMPLETE) return first;

  // Common case: the whole handshake message sits in the first record; parse it in place.
  const recLen = w.u16be(3);
  const msgLen = w.u24be(RECORD_HEADER + 1);
  if (msgLen != OUT && msgLen + HS_HEADER <= recLen) {
    const s = checkHandshakeHeader(w.u8(RECORD_HEADER), msgLen);
    if (s != Status.COMPLETE) return s;
    if (!w.sub(body, RECORD_HEADER + HS_HEADER, msgLen)) return Status.INCOMPLETE;
    return parseBody(body);
  }
  return reassemble(w);
}

/**
 * Checks the record header at `pos` with what is present of it: COMPLETE means all 5 bytes are
 * there and acceptable.
 */
function checkRecordStart(w: Bytes, pos: i32): Status {
  const type = w.u8(pos);
  if (type != OUT && type != CONTENT_HANDSHAKE) return Status.INVALID;
  const major = w.u8(pos + 1);
  if (major != OUT && major != VERSION_MAJOR) return Status.INVALID;
  const len = w.u16be(pos + 3);
  if (len == OUT) return pos + RECORD_HEADER > INPUT_CAP ? Status.TOO_LARGE : Status.INCOMPLETE;
  // Zero-length handshake fragments are forbidden (RFC 8446 §5.1); `16 03 01 00 00` is one.
  if (len == 0 || len > MAX_FRAGMENT) return Status.INVALID;
  return Status.COMPLETE;
}

function checkHandshakeHeader(msgType: i32, msgLen: i32): Status {
  if (msgType != HS_CLIENT_HELLO) return Status.INVALID;
  if (msgLen < MIN_HELLO_BODY) return Status.INVALID;
  // Even in one record it needs a record header in front: more than the window can hold.
  if (RECORD_HEADER + HS_HEADER + msgLen > INPUT_CAP) return Status.TOO_LARGE;
  return Status.COMPLETE;
}

/**
 * The handshake message spans records (RFC 8446 §5.1 lets a sender fragment it anywhere, even
 * inside the 4-byte header). Concatenates fragments until the message is whole. Every record
 * before that must be a non-empty handshake record: other types may not be interleaved.
 */
function reassemble(w: Bytes): Status {
  let pos: i32 = 0;
  let got: i32 = 0;
  let need: i32 = HS_HEADER; // grows to the whole message once its header is known
  while (true) {
    const s = checkRecordStart(w, pos);
    if (s != Status.COMPLETE) return s;
    const recLen = w.u16be(pos + 3);
    const frag = pos + RECORD_HEADER;
    let used: i32 = 0; // bytes of this record's fragment consumed
    while (got < need) {
      const inRecord = recLen - used;
      if (inRecord == 0) break;
      const want = need - got < inRecord ? need - got : inRecord;
      if (frag + used + want > INPUT_CAP) return Status.TOO_LARGE;
      const avail = w.len - (frag + used);
      const take = avail < want ? (avail > 0 ? avail : 0) : want;
      w.copyTo(REASSEMBLY_PTR + <usize>got, frag + used, take);
      got += take;
      used += take;
      // The type byte alone already rules out anything but a ClientHello.
      if (got > 0 && <i32>load<u8>(REASSEMBLY_PTR) != HS_CLIENT_HELLO) return Status.INVALID;
      if (need == HS_HEADER && got >= HS_HEADER) {
        const msgType = <i32>load<u8>(REASSEMBLY_PTR);
        const msgLen =
          (<i32>load<u8>(REASSEMBLY_PTR, 1) << 16) |
          (<i32>load<u8>(REASSEMBLY_PTR, 2) << 8) |
          <i32>load<u8>(REASSEMBLY_PTR, 3);
        const h = checkHandshakeHeader(msgType, msgLen);
        if (h != Status.COMPLETE) return h;
        need = HS_HEADER + msgLen;
      }
      if (take < want) return Status.INCOMPLETE; // the window ends inside this record
    }
    if (got >= need) break;
    pos = frag + recLen;
  }
  body.reset(REASSEMBLY_PTR + <usize>HS_HEADER, need - HS_HEADER);
  return parseBody(body);
}

/**
 * Parses a complete ClientHello body (the handshake message after its 4-byte header); every length
 * must fit exactly in what contains it. COMPLETE or INVALID. Exported for transports that carry the
 * handshake in their own framing: QUIC's CRYPTO frames (plugins/quic) hand over the reassembled body.
 */
export function parseBody(b: Bytes): Status {
  hello.body = b;
  hello.sni = Field.ABSENT;
  hello.alpn = Field.ABSENT;

  if (b.u8(0) != VERSION_MAJOR) return Status.INVALID; // legacy_version: SSL 3.0 and later
  let off = HELLO_FIXED;

  const sidLen = b.u8(off);
  if (sidLen == OUT || sidLen > MAX_SESSION_ID) return Status.INVALID;
  off += 1 + sidLen;

  const csLen = b.u16be(off); // cipher_suites<2..2^16-2>, two bytes each
  if (csLen == OUT || csLen < 2 || (csLen & 1) != 0) return Status.INVALID;
  off += 2 + csLen;

  const cmLen = b.u8(off); // legacy_compression_methods<1..2^8-1>
  if (cmLen == OUT || cmLen < 1) return Status.INVALID;
  off += 1 + cmLen;

  const end = b.len;
  if (off > end) return Status.INVALID;
  if (off == end) return Status.COMPLETE; // no extensions: allowed before TLS 1.3 (RFC 5246 §7.4.1.2)

  const extLen = b.u16be(off);
  if (extLen == OUT || off + 2 + extLen != end) return Status.INVALID;
  off += 2;

  while (off < end) {
    const type = b.u16be(off);
    const len = b.u16be(off + 2);
    if (type == OUT || len == OUT || !b.has(off + 4, len)) return Status.INVALID;
    const data = off + 4;
    if (type == EXT_SERVER_NAME) {
      // At most one extension of each type (RFC 8446 §4.2); two could route one way and serve another.
      if (hello.sni != Field.ABSENT || !parseServerName(b, data, len)) return Status.INVALID;
    } else if (type == EXT_ALPN) {
      if (hello.alpn != Field.ABSENT || !parseAlpn(b, data, len)) return Status.INVALID;
    }
    off = data + len;
  }
  return Status.COMPLETE;
}

/**
 * server_name_list<1..2^16-1> of { name_type(1), opaque HostName<1..2^16-1> } (RFC 6066 §3).
 * Entries of unknown name types are skipped with the same 2-byte length framing, the only one
 * defined. False if the framing does not add up; an empty list, an empty name, or several
 * host_name entries (the RFC forbids more than one per type) leave the field UNUSABLE.
 */
function parseServerName(b: Bytes, off: i32, len: i32): bool {
  const listLen = b.u16be(off);
  if (listLen == OUT || listLen + 2 != len) return false;
  const end = off + len;
  let p = off + 2;
  let found = 0;
  while (p < end) {
    const nameType = b.u8(p);
    const nameLen = b.u16be(p + 1);
    if (nameType == OUT || nameLen == OUT || p + 3 + nameLen > end) return false;
    if (nameType == NAME_TYPE_HOST) {
      found++;
      hello.sniOff = p + 3;
      hello.sniLen = nameLen;
    }
    p += 3 + nameLen;
  }
  hello.sni = found == 1 && hello.sniLen > 0 ? Field.PRESENT : Field.UNUSABLE;
  return true;
}

/**
 * protocol_name_list<2..2^16-1> of opaque ProtocolName<1..2^8-1> (RFC 7301 §3.1). Only the first
 * protocol is reported (the rule key compares it alone), but the whole list must be well-framed.
 */
function parseAlpn(b: Bytes, off: i32, len: i32): bool {
  const listLen = b.u16be(off);
  if (listLen == OUT || listLen + 2 != len) return false;
  const end = off + len;
  let p = off + 2;
  let first = true;
  hello.alpn = Field.UNUSABLE;
  while (p < end) {
    const n = b.u8(p);
    if (p + 1 + n > end) return false;
    if (first && n > 0) {
      hello.alpn = Field.PRESENT;
      hello.alpnOff = p + 1;
      hello.alpnLen = n;
    }
    first = false;
    p += 1 + n;
  }
  return true;
}
