// A QUIC client's first flight, as the host hands it to a datagram detector: records
// `u16 BE length ‖ datagram`, one per datagram of the flow so far (issue 13's shared decision).
// Pure: no verdicts or keys (index.ts). Says whether the datagrams carry a complete, authenticated
// TLS ClientHello in Initial packets, and leaves it parsed in plugins/tls's `hello`.
//
// Specs: QUIC v1 RFC 9000 (§17.2 long header, §17.2.2 Initial, §12.2 coalescing, §14.1 datagram
// size, §19 frames, §A.3 packet numbers), its Initial protection RFC 9001 (§5.2 Initial secrets,
// §5.3 AEAD, §5.4 header protection), QUIC v2 RFC 9369 (§3.1 version, §3.2 packet types, §3.3
// salt and labels). Each packet is decrypted with the client Initial keys derived from the
// Destination Connection ID of the flow's first packet (RFC 9001 §5.2: the keys stay those of the
// client's first Destination Connection ID for the whole Initial space).
//
// Detectors are stateless, so every call derives the keys and decrypts the datagrams again; the
// cost is a few hundred thousand fuel units for two 1200-byte datagrams (README.md, "Cost").

import { Bytes, OUT, INPUT_CAP, view } from "passthru-mux/sdk";
import { parseBody, Status as HelloStatus, REASSEMBLY_PTR } from "../tls/clienthello";
import * as sha from "./sha256";
import { expandKey, encryptBlock, ROUND_KEY_BYTES } from "./aes";
import * as gcm from "./gcm";

export const VERSION_1: u32 = 0x00000001;
export const VERSION_2: u32 = 0x6b3343cf;

/** RFC 9000 §14.1: a server MUST discard an Initial packet in a UDP datagram with a payload under 1200 bytes. */
export const MIN_INITIAL_DATAGRAM: i32 = 1200;
/** A datagram larger than the input buffer (with its record header) can never be judged. */
const MAX_DATAGRAM: i32 = INPUT_CAP - 2;
/**
 * Datagrams looked at for the ClientHello to complete. A classic ClientHello fits one Initial
 * datagram, a post-quantum one (an ML-KEM key share adds ~1.2 KB) two, and ones with large
 * transport parameters or many ALPN ids three or four; 8 leaves room for a retransmission of
 * each. The window cap (16 KiB by default) bounds the bytes.
 */
export const MAX_DATAGRAMS: i32 = 8;
/** Reassembled CRYPTO bytes: a ClientHello longer than this (with its 4-byte header) is NO_MATCH; the size of plugins/tls's reassembly buffer. */
export const CRYPTO_CAP: i32 = INPUT_CAP;
/** CRYPTO frames remembered per call: clients that scatter their ClientHello (Chrome's) use a few dozen. */
export const MAX_CRYPTO_FRAMES: i32 = 128;
/** RFC 9000 §17.2: in QUIC v1 (and v2) a connection ID is at most 20 bytes. */
const MAX_CID: i32 = 20;
/** RFC 9001 §5.4.2: the header protection sample starts 4 bytes after the packet number's start. */
const SAMPLE_OFFSET: i32 = 4;
const SAMPLE: i32 = 16;

const FORM_LONG: i32 = 0x80;
/** Packet types (first byte bits 4-5): v1 RFC 9000 §17.2, v2 RFC 9369 §3.2. */
const V1_INITIAL: i32 = 0;
const V1_RETRY: i32 = 3;
const V2_INITIAL: i32 = 1;
const V2_RETRY: i32 = 0;
/** Reserved bits of a long header, which must be 0 once header protection is removed (RFC 9000 §17.2). */
const RESERVED_BITS: i32 = 0x0c;

/** Frame types allowed in Initial packets (RFC 9000 §12.4, Table 3). */
const FRAME_PADDING: i32 = 0x00;
const FRAME_PING: i32 = 0x01;
const FRAME_ACK: i32 = 0x02;
const FRAME_ACK_ECN: i32 = 0x03;
const FRAME_CRYPTO: i32 = 0x06;
const FRAME_CONNECTION_CLOSE: i32 = 0x1c;

const HS_CLIENT_HELLO: i32 = 1;
const HS_HEADER: i32 = 4;

export enum Status {
  /** A complete ClientHello, authenticated and well-formed: plugins/tls `hello` holds it. */
  COMPLETE = 0,
  /** Consistent with a client's Initial so far; more datagrams (or the rest of one) are needed. */
  INCOMPLETE = 1,
  /** Not a QUIC v1/v2 client Initial, failed authentication, or a malformed or oversized ClientHello. */
  INVALID = 2,
}

/** RFC 9001 §5.2 (v1) and RFC 9369 §3.3.1 (v2) initial salts. */
const SALT_V1: usize = memory.data<u8>([0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f, 0x0a]);
const SALT_V2: usize = memory.data<u8>([0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e, 0xd9]);
const SALT_LEN: i32 = 20;

const SECRET: usize = memory.data(32, 16);
const CLIENT_SECRET: usize = memory.data(32, 16);
const KEY: usize = memory.data(16, 16);
const IV: usize = memory.data(12, 16);
const HP: usize = memory.data(16, 16);
const HP_RK: usize = memory.data(ROUND_KEY_BYTES, 16);
const MASK: usize = memory.data(16, 16);
const NONCE: usize = memory.data(16, 16);
const DCID: usize = memory.data(MAX_CID, 16);

/** One packet's unprotected header (the AEAD's associated data) followed by its plaintext. */
const PLAIN: usize = memory.data(INPUT_CAP, 16);
/** The CRYPTO stream of the Initial space, by offset: plugins/tls's handshake reassembly buffer (CRYPTO_CAP bytes). */
const CRYPTO: usize = REASSEMBLY_PTR;
/** [start, end) of each CRYPTO frame's bytes within CRYPTO_CAP. */
const RANGES: usize = memory.data(MAX_CRYPTO_FRAMES * 8, 16);

const payload: Bytes = view();
const helloBody: Bytes = view();

let flowVersion: u32 = 0;
let ranges: i32 = 0;
/** Largest packet number decrypted so far in this call, -1 before the first (RFC 9000 §A.3). */
let largestPn: i64 = -1;

/** What opening one Initial packet gave. */
enum Opened {
  OK = 0,
  /** The AEAD tag did not verify: not this flow's keys, or bytes changed on the way. */
  AUTH_FAILED = 1,
  /** Framing that no QUIC sender produces: too short for a sample, reserved bits set. */
  MALFORMED = 2,
}

export function parse(w: Bytes): Status {
  const first = checkFirstHeader(w);
  if (first != Status.COMPLETE) return first;

  ranges = 0;
  largestPn = -1;
  let pos = 0;
  for (let d = 0; d < MAX_DATAGRAMS; d++) {
    const len = w.u16be(pos);
    if (len == OUT || !w.has(pos + 2, len)) return Status.INCOMPLETE;
    const s = datagram(w, pos + 2, pos + 2 + len, d == 0);
    if (s != Status.INCOMPLETE) return s;
    pos += 2 + len;
  }
  return Status.INVALID; // MAX_DATAGRAMS datagrams and still no whole ClientHello
}

/**
 * What the first record's first bytes already rule out, decided from what has arrived of them:
 * COMPLETE means they are a plausible client Initial header and the whole first datagram is here.
 */
function checkFirstHeader(w: Bytes): Status {
  // The record length: at least 1200 (§14.1), so its high byte is at least 4.
  const hi = w.u8(0);
  if (hi == OUT) return Status.INCOMPLETE;
  if (hi < MIN_INITIAL_DATAGRAM >> 8) return Status.INVALID;
  const len = w.u16be(0);
  if (len == OUT) return Status.INCOMPLETE;
  if (len < MIN_INITIAL_DATAGRAM || len > MAX_DATAGRAM) return Status.INVALID;
  const b = w.u8(2);
  if (b == OUT) return Status.INCOMPLETE;
  if ((b & FORM_LONG) == 0) return Status.INVALID;
  // The version, byte by byte as it arrives: v1 or v2, nothing else.
  let v1 = true;
  let v2 = true;
  for (let i = 0; i < 4; i++) {
    const c = w.u8(3 + i);
    if (c == OUT) return v1 || v2 ? Status.INCOMPLETE : Status.INVALID;
    if (c != <i32>((VERSION_1 >> (24 - 8 * i)) & 0xff)) v1 = false;
    if (c != <i32>((VERSION_2 >> (24 - 8 * i)) & 0xff)) v2 = false;
    if (!v1 && !v2) return Status.INVALID;
  }
  const type = (b >> 4) & 3;
  if (type != (v1 ? V1_INITIAL : V2_INITIAL)) return Status.INVALID;
  const dcil = w.u8(7);
  if (dcil == OUT) return Status.INCOMPLETE;
  if (dcil > MAX_CID) return Status.INVALID;
  const scil = w.u8(8 + dcil);
  if (scil == OUT) return Status.INCOMPLETE;
  if (scil > MAX_CID) return Status.INVALID;
  if (!w.has(2, len)) return Status.INCOMPLETE;
  flowVersion = v1 ? VERSION_1 : VERSION_2;
  deriveKeys(w.ptr + 8, dcil, flowVersion);
  return Status.COMPLETE;
}

/** The Initial salts as prepared HMAC keys: the same for every flow, so computed once at start. */
const SALT_V1_KEY: usize = memory.data(sha.HMAC_KEY, 16);
const SALT_V2_KEY: usize = memory.data(sha.HMAC_KEY, 16);
sha.hmacKey(SALT_V1, SALT_LEN, SALT_V1_KEY);
sha.hmacKey(SALT_V2, SALT_LEN, SALT_V2_KEY);
const HK: usize = memory.data(sha.HMAC_KEY, 16);

/** Client Initial keys from the Destination Connection ID (RFC 9001 §5.2, RFC 9369 §3.3). */
function deriveKeys(dcid: usize, dcil: i32, version: u32): void {
  memory.copy(DCID, dcid, <usize>dcil);
  sha.hkdfExtract(version == VERSION_1 ? SALT_V1_KEY : SALT_V2_KEY, DCID, dcil, SECRET);
  sha.hmacKey(SECRET, 32, HK);
  sha.expandLabel(HK, "client in", 32, CLIENT_SECRET);
  sha.hmacKey(CLIENT_SECRET, 32, HK);
  if (version == VERSION_1) {
    sha.expandLabel(HK, "quic key", 16, KEY);
    sha.expandLabel(HK, "quic iv", 12, IV);
    sha.expandLabel(HK, "quic hp", 16, HP);
  } else {
    sha.expandLabel(HK, "quicv2 key", 16, KEY);
    sha.expandLabel(HK, "quicv2 iv", 12, IV);
    sha.expandLabel(HK, "quicv2 hp", 16, HP);
  }
  gcm.setKey(KEY);
  expandKey(HP, HP_RK);
}

/**
 * The packets of one datagram [start, end) (coalesced ones too, §12.2). In the first datagram the
 * first packet must be an Initial that authenticates; later, what a server would drop is skipped
 * (datagrams under 1200 bytes, packets that fail authentication, 0-RTT packets, short headers, other
 * versions), so a forged datagram in the flow cannot turn a client away.
 */
function datagram(w: Bytes, start: i32, end: i32, isFirst: bool): Status {
  if (!isFirst && end - start < MIN_INITIAL_DATAGRAM) return Status.INCOMPLETE;
  let off = start;
  let firstPacket = isFirst;
  while (off < end) {
    const b = w.u8(off);
    // A short header runs to the end of the datagram (§12.2); a version we did not start with cannot be framed.
    if ((b & FORM_LONG) == 0 || w.u32be(off + 1) != <i64>flowVersion) break;
    const type = (b >> 4) & 3;
    if (type == (flowVersion == VERSION_1 ? V1_RETRY : V2_RETRY)) break; // only servers send Retry
    const dcil = w.u8(off + 5);
    if (dcil == OUT || dcil > MAX_CID) break;
    const scil = w.u8(off + 6 + dcil);
    if (scil == OUT || scil > MAX_CID) break;
    let p = off + 7 + dcil + scil;
    const initial = type == (flowVersion == VERSION_1 ? V1_INITIAL : V2_INITIAL);
    if (initial) {
      const tokenLen = w.quicVarint(p);
      if (tokenLen < 0 || tokenLen > <i64>(end - w.next)) break;
      p = w.next + <i32>tokenLen;
    }
    const length = w.quicVarint(p);
    if (length < 0 || length > <i64>(end - w.next)) break;
    const pnOff = w.next;
    const pktEnd = pnOff + <i32>length;
    if (initial) {
      const o = open(w, off, pnOff, pktEnd);
      if (o == Opened.OK) {
        const s = frames();
        if (s != Status.INCOMPLETE) return s;
        const c = cryptoComplete();
        if (c != Status.INCOMPLETE) return c;
      } else if (firstPacket) {
        return Status.INVALID;
      }
    }
    firstPacket = false;
    off = pktEnd;
  }
  // The first datagram's first packet must have been framed and opened above.
  return firstPacket ? Status.INVALID : Status.INCOMPLETE;
}

/**
 * Removes header protection (RFC 9001 §5.4.1: AES-128-ECB of the sample masks the low 4 bits of
 * the first byte and the packet number) and decrypts (§5.3: AES-128-GCM, nonce = IV ⊕ packet
 * number, associated data = the unprotected header). On OK, `payload` views the plaintext.
 */
function open(w: Bytes, off: i32, pnOff: i32, end: i32): Opened {
  if (end - pnOff < SAMPLE_OFFSET + SAMPLE) return Opened.MALFORMED;
  encryptBlock(HP_RK, w.ptr + <usize>(pnOff + SAMPLE_OFFSET), MASK);
  const first = w.u8(off) ^ (<i32>load<u8>(MASK) & 0x0f);
  const pnLen = (first & 3) + 1;
  const hdrLen = pnOff + pnLen - off;
  memory.copy(PLAIN, w.ptr + <usize>off, <usize>hdrLen);
  store<u8>(PLAIN, <u8>first);
  let truncated: i64 = 0;
  for (let i = 0; i < pnLen; i++) {
    const at = PLAIN + <usize>(hdrLen - pnLen + i);
    const c = load<u8>(at) ^ load<u8>(MASK + <usize>(1 + i));
    store<u8>(at, c);
    truncated = (truncated << 8) | <i64>c;
  }
  const pn = decodePacketNumber(truncated, pnLen << 3);
  // Nonce: the IV with the 62-bit packet number XORed into its last 8 bytes, big-endian.
  memory.copy(NONCE, IV, gcm.NONCE);
  store<u64>(NONCE, load<u64>(NONCE, 4) ^ bswap<u64>(<u64>pn), 4);
  const ctLen = end - pnOff - pnLen - gcm.TAG;
  if (!gcm.open(NONCE, PLAIN, hdrLen, w.ptr + <usize>(pnOff + pnLen), ctLen, PLAIN + <usize>hdrLen)) return Opened.AUTH_FAILED;
  // Checked only now: before authentication the bit could be any sender's (§17.2, "after removing both").
  if ((first & RESERVED_BITS) != 0) return Opened.MALFORMED;
  if (pn > largestPn) largestPn = pn;
  payload.reset(PLAIN + <usize>hdrLen, ctLen);
  return Opened.OK;
}

/** RFC 9000 §A.3, relative to the largest packet number this call has decrypted. */
function decodePacketNumber(truncated: i64, bits: i32): i64 {
  const expected = largestPn + 1;
  const win: i64 = <i64>1 << bits;
  const hwin = win >> 1;
  const candidate = (expected & ~(win - 1)) | truncated;
  if (candidate <= expected - hwin && candidate < (<i64>1 << 62) - win) return candidate + win;
  if (candidate > expected + hwin && candidate >= win) return candidate - win;
  return candidate;
}

/**
 * The frames of an authenticated Initial payload (RFC 9000 §19). INVALID on a frame an Initial
 * packet may not carry (§12.4: PROTOCOL_VIOLATION), a frame that runs past the payload, or a
 * CONNECTION_CLOSE (the client is giving up); INCOMPLETE otherwise, with the CRYPTO ranges recorded.
 */
function frames(): Status {
  const p = payload;
  let off = 0;
  const end = p.len;
  if (end == 0) return Status.INVALID; // a packet with no frames (§12.4)
  while (off < end) {
    const type = p.u8(off);
    if (type == FRAME_PADDING) {
      // Clients pad their Initials to 1200 bytes with runs of PADDING: skip a run in one tight loop.
      let q = p.ptr + <usize>off + 1;
      const stop = p.ptr + <usize>end;
      while (q < stop && load<u8>(q) == 0) q++;
      off = <i32>(q - p.ptr);
    } else if (type == FRAME_PING) {
      off++;
    } else if (type == FRAME_CRYPTO) {
      const cOff = p.quicVarint(off + 1);
      if (cOff < 0) return Status.INVALID;
      const n = p.quicVarint(p.next);
      if (n < 0 || n > <i64>(end - p.next)) return Status.INVALID;
      const data = p.next;
      addCrypto(data, cOff, <i32>n);
      off = data + <i32>n;
    } else if (type == FRAME_ACK || type == FRAME_ACK_ECN) {
      off = skipAck(p, off + 1, type == FRAME_ACK_ECN);
      if (off < 0) return Status.INVALID;
    } else {
      // FRAME_CONNECTION_CLOSE and everything not allowed in an Initial packet.
      return Status.INVALID;
    }
  }
  return Status.INCOMPLETE;
}

/** Skips an ACK frame's fields after its type (§19.3); the offset after it, or -1 if it runs past the payload. */
function skipAck(p: Bytes, off: i32, ecn: bool): i32 {
  if (p.quicVarint(off) < 0) return -1; // Largest Acknowledged
  if (p.quicVarint(p.next) < 0) return -1; // ACK Delay
  const count = p.quicVarint(p.next); // ACK Range Count
  if (count < 0) return -1;
  if (p.quicVarint(p.next) < 0) return -1; // First ACK Range
  // Each range is two varints of at least one byte: a count larger than what is left is a lie.
  if (count > <i64>((p.len - p.next) >> 1)) return -1;
  for (let i: i64 = 0; i < count; i++) {
    if (p.quicVarint(p.next) < 0 || p.quicVarint(p.next) < 0) return -1; // Gap, ACK Range Length
  }
  if (ecn) {
    for (let i = 0; i < 3; i++) if (p.quicVarint(p.next) < 0) return -1; // ECT0, ECT1, ECN-CE counts
  }
  return p.next;
}

/** Copies a CRYPTO frame's bytes into the stream at their offset (those past CRYPTO_CAP cannot be ClientHello bytes). */
function addCrypto(data: i32, cOff: i64, n: i32): void {
  if (n == 0 || cOff >= <i64>CRYPTO_CAP) return;
  const start = <i32>cOff;
  const stop = min(CRYPTO_CAP, start + n);
  payload.copyTo(CRYPTO + <usize>start, data, stop - start);
  if (ranges == MAX_CRYPTO_FRAMES) {
    ranges = MAX_CRYPTO_FRAMES + 1; // marks the overflow for cryptoComplete()
    return;
  }
  if (ranges > MAX_CRYPTO_FRAMES) return;
  store<i32>(RANGES + (<usize>ranges << 3), start);
  store<i32>(RANGES + (<usize>ranges << 3), stop, 4);
  ranges++;
}

/** Whether the CRYPTO bytes from offset 0 hold a whole ClientHello yet; COMPLETE parses it. */
function cryptoComplete(): Status {
  if (ranges > MAX_CRYPTO_FRAMES) return Status.INVALID;
  // The contiguous prefix: extend it by any range that starts inside it, until none does.
  let covered = 0;
  let grew = true;
  while (grew) {
    grew = false;
    for (let i = 0; i < ranges; i++) {
      const s = load<i32>(RANGES + (<usize>i << 3));
      const e = load<i32>(RANGES + (<usize>i << 3), 4);
      if (s <= covered && e > covered) {
        covered = e;
        grew = true;
      }
    }
  }
  if (covered >= 1 && <i32>load<u8>(CRYPTO) != HS_CLIENT_HELLO) return Status.INVALID;
  if (covered < HS_HEADER) return Status.INCOMPLETE;
  const msgLen = (<i32>load<u8>(CRYPTO, 1) << 16) | (<i32>load<u8>(CRYPTO, 2) << 8) | <i32>load<u8>(CRYPTO, 3);
  if (HS_HEADER + msgLen > CRYPTO_CAP) return Status.INVALID;
  if (covered < HS_HEADER + msgLen) return Status.INCOMPLETE;
  helloBody.reset(CRYPTO + HS_HEADER, msgLen);
  return parseBody(helloBody) == HelloStatus.COMPLETE ? Status.COMPLETE : Status.INVALID;
}
