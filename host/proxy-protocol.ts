// The PROXY protocol (HAProxy's spec, "The PROXY protocol Versions 1 & 2"): a header a proxy sends
// before the client's bytes, saying which address the client connected from and to. Pure codec over
// bytes, no sockets: the accept side is proxy-accept.ts, the send side forwarder.ts.
//
// v1 is one text line:   PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\n   (or TCP6, or UNKNOWN ...)
// v2 is binary:          12-byte signature, ver|cmd, family|transport, u16 BE length, addresses, TLVs.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIPv4, formatIPv6, ipv4Bytes, ipv6Bytes, unmapIPv4 } from './ip-bytes.js';

/** The spec's own bound for a v1 line, CRLF included ("PROXY UNKNOWN" + two full IPv6 + ports). */
export const PROXY_V1_MAX_BYTES = 107;

/** `\r\n\r\n\0\r\nQUIT\n`: chosen by the spec to be invalid as the start of any text protocol. */
export const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** Signature, version/command, family/transport, and the u16 length of what follows. */
export const PROXY_V2_FIXED_BYTES = 16;

/**
 * The largest v2 length field accepted. The spec allows 65535, but what follows the addresses is
 * TLVs, and the ones real senders emit are small: ALPN, authority (a host name, ≤ 255), unique ID
 * (≤ 128), SSL info with a client CN, AWS/Azure/GCP endpoint IDs, CRC32C. 4 KiB holds all of them
 * many times over while a hostile peer cannot make the host buffer 64 KiB per connection before it
 * has said anything.
 */
export const PROXY_V2_MAX_LENGTH = 4096;

/** The most bytes a header can take: the accept side never holds more than this. */
export const PROXY_HEADER_MAX_BYTES = PROXY_V2_FIXED_BYTES + PROXY_V2_MAX_LENGTH;

/** Address block sizes of v2 (spec §2.2): two addresses then two ports. */
const V2_INET_BYTES = 12;
const V2_INET6_BYTES = 36;
const V2_UNIX_BYTES = 216;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');

export enum ProxyParse {
  /** The bytes so far are a valid beginning of a header: read more. */
  NEED_MORE,
  /** A complete header: the client's own bytes start at `header.length`. */
  HEADER,
  /** No header, or a broken one: nothing after it can be trusted. */
  ERROR,
}

export interface ProxyAddress {
  address: string;
  port: number;
}

/** TCP over IPv4 or IPv6; UNKNOWN: the sender could not or would not say (v1 UNKNOWN, v2 AF_UNSPEC/AF_UNIX). */
export type ProxyFamily = 'TCP4' | 'TCP6' | 'UNKNOWN';

export interface ProxyHeader {
  version: 1 | 2;
  /** LOCAL (v2 only): the sender's own connection, e.g. a health check; the real addresses apply. */
  command: 'PROXY' | 'LOCAL';
  family: ProxyFamily;
  /** Present exactly when family is TCP4/TCP6 and command is PROXY. */
  source?: ProxyAddress;
  destination?: ProxyAddress;
  /** Bytes the header takes. */
  length: number;
}

/** Stable codes (for counters and logs); `reason` says more. */
export type ProxyErrorCode =
  | 'not-proxy' // neither signature
  | 'v1-too-long' // no CRLF within PROXY_V1_MAX_BYTES
  | 'v1-syntax'
  | 'v2-version'
  | 'v2-command'
  | 'v2-family'
  | 'v2-length' // shorter than its address block
  | 'v2-too-long'; // over PROXY_V2_MAX_LENGTH

export type ProxyDecode =
  | { state: ProxyParse.NEED_MORE }
  | { state: ProxyParse.HEADER; header: ProxyHeader }
  | { state: ProxyParse.ERROR; code: ProxyErrorCode; reason: string };

const NEED_MORE: ProxyDecode = Object.freeze({ state: ProxyParse.NEED_MORE });

function fail(code: ProxyErrorCode, reason: string): ProxyDecode {
  return { state: ProxyParse.ERROR, code, reason };
}

/**
 * Reads a header from the first bytes a connection sent (`buf`: everything so far). Called again
 * with more bytes while it says NEED_MORE; says ERROR as soon as the prefix cannot become a header.
 */
export function decodeProxyHeader(buf: Uint8Array): ProxyDecode {
  if (buf.length === 0) return NEED_MORE;
  if (buf[0] === V1_PREFIX[0]) return decodeV1(buf);
  if (buf[0] === PROXY_V2_SIGNATURE[0]) return decodeV2(buf);
  return fail('not-proxy', `no PROXY header (first byte 0x${buf[0]!.toString(16).padStart(2, '0')})`);
}

function matchesPrefix(buf: Uint8Array, prefix: Uint8Array): boolean {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return false;
  return true;
}

// --- v1 ---------------------------------------------------------------------------------------

const PORT = /^(0|[1-9][0-9]{0,4})$/;

function decodeV1(buf: Uint8Array): ProxyDecode {
  if (!matchesPrefix(buf, V1_PREFIX)) return fail('not-proxy', 'no PROXY header (starts with "P" but not "PROXY ")');
  const limit = Math.min(buf.length, PROXY_V1_MAX_BYTES);
  let lf = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buf[i]!;
    if (c === 0x0a) {
      lf = i;
      break;
    }
    // The line is printable ASCII; a CR only right before the LF.
    if (c === 0x0d) {
      if (i + 1 < buf.length && buf[i + 1] !== 0x0a) return fail('v1-syntax', 'v1: CR not followed by LF');
    } else if (c < 0x20 || c > 0x7e) {
      return fail('v1-syntax', `v1: byte 0x${c.toString(16).padStart(2, '0')} at ${i} in the header line`);
    }
  }
  if (lf < 0) {
    return buf.length >= PROXY_V1_MAX_BYTES ? fail('v1-too-long', `v1: no CRLF within ${PROXY_V1_MAX_BYTES} bytes`) : NEED_MORE;
  }
  if (buf[lf - 1] !== 0x0d) return fail('v1-syntax', 'v1: line ends in LF without CR');
  const line = Buffer.from(buf.buffer, buf.byteOffset, lf - 1).toString('latin1');
  const length = lf + 1;
  const fields = line.split(' ');
  const proto = fields[1];
  if (proto === 'UNKNOWN') {
    // The spec: a receiver must ignore whatever follows UNKNOWN.
    return { state: ProxyParse.HEADER, header: { version: 1, command: 'PROXY', family: 'UNKNOWN', length } };
  }
  if (proto !== 'TCP4' && proto !== 'TCP6') return fail('v1-syntax', `v1: unknown protocol ${JSON.stringify(proto ?? '')}`);
  if (fields.length !== 6) return fail('v1-syntax', `v1: ${proto} needs 4 fields after it, got ${fields.length - 2}`);
  const [, , src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const isFamily = proto === 'TCP4' ? isIPv4 : (a: string) => isIPv6(a) && !a.includes('%');
  for (const a of [src, dst]) if (!isFamily(a)) return fail('v1-syntax', `v1: ${JSON.stringify(a)} is not an ${proto === 'TCP4' ? 'IPv4' : 'IPv6'} address`);
  for (const p of [sport, dport]) {
    if (!PORT.test(p) || Number(p) > 65535) return fail('v1-syntax', `v1: ${JSON.stringify(p)} is not a port`);
  }
  return {
    state: ProxyParse.HEADER,
    header: {
      version: 1,
      command: 'PROXY',
      family: proto,
      source: { address: proto === 'TCP6' ? formatIPv6(ipv6Bytes(src)!) : src, port: Number(sport) },
      destination: { address: proto === 'TCP6' ? formatIPv6(ipv6Bytes(dst)!) : dst, port: Number(dport) },
      length,
    },
  };
}

// --- v2 ---------------------------------------------------------------------------------------

function decodeV2(buf: Uint8Array): ProxyDecode {
  if (!matchesPrefix(buf, PROXY_V2_SIGNATURE)) return fail('not-proxy', 'no PROXY header (not the v2 signature)');
  if (buf.length <= 12) return NEED_MORE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return fail('v2-version', `v2: version ${verCmd >> 4} (only 2 exists)`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return fail('v2-command', `v2: command ${cmd} (0 LOCAL, 1 PROXY)`);
  if (buf.length <= 13) return NEED_MORE;
  const famByte = buf[13]!;
  const fam = famByte >> 4;
  const transport = famByte & 0x0f;
  if (fam > 3 || transport > 2) return fail('v2-family', `v2: family/transport byte 0x${famByte.toString(16).padStart(2, '0')}`);
  if (buf.length < PROXY_V2_FIXED_BYTES) return NEED_MORE;
  const len = (buf[14]! << 8) | buf[15]!;
  if (len > PROXY_V2_MAX_LENGTH) return fail('v2-too-long', `v2: length ${len} over the ${PROXY_V2_MAX_LENGTH} accepted`);
  const local = cmd === 0;
  const needed = fam === 1 ? V2_INET_BYTES : fam === 2 ? V2_INET6_BYTES : fam === 3 ? V2_UNIX_BYTES : 0;
  // LOCAL: the spec says to ignore the address block entirely, whatever its family says.
  if (!local && len < needed) return fail('v2-length', `v2: length ${len} is shorter than the ${needed}-byte address block`);
  if (!local && transport === 2) return fail('v2-family', 'v2: datagram transport on a stream connection');
  const length = PROXY_V2_FIXED_BYTES + len;
  if (buf.length < length) return NEED_MORE;
  if (local) return { state: ProxyParse.HEADER, header: { version: 2, command: 'LOCAL', family: 'UNKNOWN', length } };
  // Unspecified or UNIX: real addresses stand (spec: accept the connection, use the real endpoints).
  if (fam !== 1 && fam !== 2) return { state: ProxyParse.HEADER, header: { version: 2, command: 'PROXY', family: 'UNKNOWN', length } };
  const a = PROXY_V2_FIXED_BYTES;
  const port = (at: number): number => (buf[at]! << 8) | buf[at + 1]!;
  const header: ProxyHeader =
    fam === 1
      ? {
          version: 2,
          command: 'PROXY',
          family: 'TCP4',
          source: { address: formatIPv4(buf, a), port: port(a + 8) },
          destination: { address: formatIPv4(buf, a + 4), port: port(a + 10) },
          length,
        }
      : {
          version: 2,
          command: 'PROXY',
          family: 'TCP6',
          source: { address: formatIPv6(buf, a), port: port(a + 32) },
          destination: { address: formatIPv6(buf, a + 16), port: port(a + 34) },
          length,
        };
  // What follows the addresses (TLVs) is skipped: nothing here routes on it.
  return { state: ProxyParse.HEADER, header };
}

// --- encoding ---------------------------------------------------------------------------------

export interface ProxyEndpoints {
  source: ProxyAddress;
  destination: ProxyAddress;
}

interface Normalized {
  family: 'TCP4' | 'TCP6';
  src: string;
  dst: string;
}

/**
 * The family both addresses can be sent in: TCP4 when both are IPv4 (IPv4-mapped IPv6 counts, as a
 * dual-stack socket reports it), TCP6 when either is IPv6 (an IPv4 one then goes mapped), else none.
 */
function normalize(e: ProxyEndpoints): Normalized | undefined {
  const v4 = (a: string): string | undefined => (isIPv4(a) ? a : unmapIPv4(a));
  const s4 = v4(e.source.address);
  const d4 = v4(e.destination.address);
  if (s4 && d4) return { family: 'TCP4', src: s4, dst: d4 };
  const v6 = (a: string): string | undefined => {
    const b = isIPv4(a) ? ipv6Bytes(`::ffff:${a}`) : ipv6Bytes(a);
    return b ? formatIPv6(b) : undefined;
  };
  const s6 = v6(e.source.address);
  const d6 = v6(e.destination.address);
  return s6 && d6 ? { family: 'TCP6', src: s6, dst: d6 } : undefined;
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

/** A v1 line; UNKNOWN when `e` is absent or its addresses are not IP (e.g. a Unix socket peer). */
export function encodeProxyV1(e: ProxyEndpoints | undefined): Buffer {
  const n = e && validPort(e.source.port) && validPort(e.destination.port) ? normalize(e) : undefined;
  if (!n || !e) return Buffer.from('PROXY UNKNOWN\r\n', 'latin1');
  return Buffer.from(`PROXY ${n.family} ${n.src} ${n.dst} ${e.source.port} ${e.destination.port}\r\n`, 'latin1');
}

/**
 * A v2 header without TLVs. `e` absent (or not IP): PROXY with AF_UNSPEC, so the receiver uses the
 * connection's own addresses; `local`: the LOCAL command (the sender's own connection).
 */
export function encodeProxyV2(e: ProxyEndpoints | undefined, local = false): Buffer {
  const n = !local && e && validPort(e.source.port) && validPort(e.destination.port) ? normalize(e) : undefined;
  const block = !n ? 0 : n.family === 'TCP4' ? V2_INET_BYTES : V2_INET6_BYTES;
  const out = Buffer.alloc(PROXY_V2_FIXED_BYTES + block);
  PROXY_V2_SIGNATURE.copy(out, 0);
  out[12] = 0x20 | (local ? 0 : 1);
  out[13] = !n ? 0x00 : n.family === 'TCP4' ? 0x11 : 0x21;
  out.writeUInt16BE(block, 14);
  if (n && e) {
    const a = PROXY_V2_FIXED_BYTES;
    if (n.family === 'TCP4') {
      out.set(ipv4Bytes(n.src)!, a);
      out.set(ipv4Bytes(n.dst)!, a + 4);
      out.writeUInt16BE(e.source.port, a + 8);
      out.writeUInt16BE(e.destination.port, a + 10);
    } else {
      out.set(ipv6Bytes(n.src)!, a);
      out.set(ipv6Bytes(n.dst)!, a + 16);
      out.writeUInt16BE(e.source.port, a + 32);
      out.writeUInt16BE(e.destination.port, a + 34);
    }
  }
  return out;
}

export function encodeProxyHeader(version: 'v1' | 'v2', e: ProxyEndpoints | undefined): Buffer {
  return version === 'v1' ? encodeProxyV1(e) : encodeProxyV2(e);
}

/** `address:port`, IPv6 bracketed, for logs. */
export function formatProxyAddress(a: ProxyAddress): string {
  return a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}
