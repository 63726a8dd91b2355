// HPACK (RFC 7541) header block decoding, as far as routing needs it: the :authority, host,
// :method and :path fields of a request's first header block. No dynamic table is kept: on a new
// connection the table starts empty, so a dynamic index can only point at a field this same block
// added before, and none of the three fields is sent twice in a valid request.

import { Bytes, OUT, view, isTchar } from "passthru-mux/sdk";
import { huffmanDecode, HUFF_INVALID, HUFF_TOO_LONG } from "./huffman";
import { HostField, MAX_PATH, request, setHostFromAuthority, setPath } from "./request";

/** Entries of the static table (Appendix A); higher indices are the dynamic table's. */
const STATIC_ENTRIES: i32 = 61;
// The static entries that name fields routing reads (Appendix A).
const IDX_AUTHORITY: i32 = 1;
const IDX_METHOD_GET: i32 = 2;
const IDX_METHOD_POST: i32 = 3;
const IDX_PATH_ROOT: i32 = 4; // `:path /`
const IDX_PATH_INDEX: i32 = 5; // `:path /index.html`
const IDX_HOST: i32 = 38;

/**
 * Continuation bytes of a prefixed integer (§5.1) before it is an error: 4 carry 28 bits, more
 * than any length or index within a 16 KiB window. Bounding them also keeps the shift in range.
 */
const MAX_INT_CONTINUATION: i32 = 4;

/**
 * Room for a decoded :authority or host value: a 253-byte name, brackets and a port fit easily;
 * anything longer cannot be a usable host, so it is reported as unusable rather than decoded.
 */
const HOST_CAP: i32 = 512;
/** Longest method kept: longer tokens exist in no registry a rule would name. */
const METHOD_CAP: i32 = 32;
/** A literal field name longer than the longest one we look for (":authority") is not one of them. */
const NAME_CAP: i32 = 16;
/**
 * Room for a decoded :path, which carries the query too: a path of MAX_PATH bytes with a query of
 * up to three times that still decodes; a longer value is skipped and yields no PATH key.
 */
const PATH_CAP: i32 = 4 * MAX_PATH;

const HOST_BUF: usize = memory.data(HOST_CAP);
const METHOD_BUF: usize = memory.data(METHOD_CAP);
const NAME_BUF: usize = memory.data(NAME_CAP);
const PATH_BUF: usize = memory.data(PATH_CAP);
const hostView: Bytes = view();
const methodView: Bytes = view();
const nameView: Bytes = view();
const pathView: Bytes = view();

enum Name {
  OTHER = 0,
  AUTHORITY = 1,
  HOST = 2,
  METHOD = 3,
  PATH = 4,
}

// Results of the small readers below, which would otherwise need tuples.
let intValue: i32 = 0;
let strLen: i32 = 0;

/**
 * Decodes the header block `blk`. Returns false if it is malformed (a truncated representation, a
 * bad integer or Huffman string, index 0); sets request.host and the method otherwise.
 */
export function decodeBlock(blk: Bytes): bool {
  let authority = HostField.ABSENT;
  let authorityLen: i32 = 0;
  let hostHdr = HostField.ABSENT;
  let hostHdrLen: i32 = 0;
  let pos = 0;
  while (pos < blk.len) {
    const b = blk.u8(pos);
    let name = Name.OTHER;
    let prefix: i32;
    if ((b & 0x80) != 0) {
      // Indexed field (§6.1): the whole field comes from the table.
      pos = readInt(blk, pos, 7);
      if (pos == OUT || intValue == 0) return false;
      if (intValue == IDX_METHOD_GET) setMethod("GET");
      else if (intValue == IDX_METHOD_POST) setMethod("POST");
      else if (intValue == IDX_PATH_ROOT) setStaticPath("/");
      else if (intValue == IDX_PATH_INDEX) setStaticPath("/index.html");
      // :authority and host have empty values in the static table: as good as not sent.
      continue;
    } else if ((b & 0xc0) == 0x40) {
      prefix = 6; // literal with incremental indexing (§6.2.1)
    } else if ((b & 0xe0) == 0x20) {
      pos = readInt(blk, pos, 5); // dynamic table size update (§6.3): nothing to route by
      if (pos == OUT) return false;
      continue;
    } else {
      prefix = 4; // literal without indexing, or never indexed (§6.2.2, §6.2.3)
    }
    pos = readInt(blk, pos, prefix);
    if (pos == OUT) return false;
    if (intValue == 0) {
      pos = readString(blk, pos, NAME_BUF, NAME_CAP);
      if (pos == OUT) return false;
      if (strLen >= 0) name = literalName(strLen);
    } else {
      name = indexedName(intValue);
    }
    if (name == Name.AUTHORITY || name == Name.HOST) {
      // Only a value still needed is decoded: HOST_BUF holds one, and :authority wins over host.
      const wanted = name == Name.AUTHORITY ? authority == HostField.ABSENT : hostHdr == HostField.ABSENT && authority == HostField.ABSENT;
      pos = wanted ? readString(blk, pos, HOST_BUF, HOST_CAP) : readString(blk, pos, 0, 0);
      if (pos == OUT) return false;
      if (wanted) {
        const field = strLen < 0 ? HostField.UNUSABLE : strLen == 0 ? HostField.ABSENT : HostField.PRESENT;
        if (name == Name.AUTHORITY) {
          authority = field;
          authorityLen = strLen;
        } else {
          hostHdr = field;
          hostHdrLen = strLen;
        }
      }
    } else if (name == Name.METHOD) {
      pos = readString(blk, pos, METHOD_BUF, METHOD_CAP);
      if (pos == OUT) return false;
      // The buffer now holds this value, whatever an earlier :method left there: report it only if
      // it is a token, else no method at all (never a mix of the two).
      request.methodLen = 0;
      if (strLen > 0) {
        methodView.reset(METHOD_BUF, strLen);
        if (isToken(methodView)) {
          request.methodBytes = methodView;
          request.methodOff = 0;
          request.methodLen = strLen;
        }
      }
    } else if (name == Name.PATH) {
      pos = readString(blk, pos, PATH_BUF, PATH_CAP);
      if (pos == OUT) return false;
      if (strLen > 0) {
        pathView.reset(PATH_BUF, strLen);
        setPath(pathView, 0, strLen);
      }
    } else {
      pos = readString(blk, pos, 0, 0);
      if (pos == OUT) return false;
    }
  }
  // :authority is what HTTP/2 clients send; a Host field stands in for it (RFC 9113 §8.3.1).
  const field = authority != HostField.ABSENT ? authority : hostHdr;
  const len = authority != HostField.ABSENT ? authorityLen : hostHdrLen;
  if (field == HostField.PRESENT) {
    hostView.reset(HOST_BUF, len);
    setHostFromAuthority(hostView, 0, len);
  } else {
    request.hostBytes = hostView;
    request.host = field;
  }
  return true;
}

function indexedName(i: i32): Name {
  if (i == IDX_AUTHORITY) return Name.AUTHORITY;
  if (i == IDX_METHOD_GET || i == IDX_METHOD_POST) return Name.METHOD;
  if (i == IDX_HOST) return Name.HOST;
  if (i == IDX_PATH_ROOT || i == IDX_PATH_INDEX) return Name.PATH;
  return Name.OTHER; // other static names, or a dynamic entry (see the file comment)
}

/** Field names are lower case in HTTP/2 (RFC 9113 §8.2.1): an upper-case one is not a match. */
function literalName(n: i32): Name {
  nameView.reset(NAME_BUF, n);
  if (equals(nameView, ":authority")) return Name.AUTHORITY;
  if (equals(nameView, "host")) return Name.HOST;
  if (equals(nameView, ":method")) return Name.METHOD;
  if (equals(nameView, ":path")) return Name.PATH;
  return Name.OTHER;
}

function equals(b: Bytes, s: string): bool {
  if (b.len != s.length) return false;
  for (let i = 0; i < b.len; i++) {
    if (b.u8(i) != <i32>s.charCodeAt(i)) return false;
  }
  return true;
}

function isToken(b: Bytes): bool {
  for (let i = 0; i < b.len; i++) {
    if (!isTchar(b.u8(i))) return false;
  }
  return b.len > 0;
}

/** A :path from the static table, copied so that it is a view like any decoded one. */
function setStaticPath(s: string): void {
  const n = s.length;
  for (let i = 0; i < n; i++) store<u8>(PATH_BUF + <usize>i, <u8>s.charCodeAt(i));
  pathView.reset(PATH_BUF, n);
  setPath(pathView, 0, n);
}

function setMethod(s: string): void {
  const n = s.length;
  for (let i = 0; i < n; i++) store<u8>(METHOD_BUF + <usize>i, <u8>s.charCodeAt(i));
  methodView.reset(METHOD_BUF, n);
  request.methodBytes = methodView;
  request.methodOff = 0;
  request.methodLen = n;
}

/** Prefixed integer (§5.1) at `pos` with an N-bit prefix: sets intValue, returns the next offset or OUT. */
function readInt(b: Bytes, pos: i32, bits: i32): i32 {
  const first = b.u8(pos);
  if (first == OUT) return OUT;
  const max = (1 << bits) - 1;
  let v = first & max;
  pos++;
  if (v == max) {
    let shift = 0;
    while (true) {
      const c = b.u8(pos);
      if (c == OUT || shift >= 7 * MAX_INT_CONTINUATION) return OUT;
      pos++;
      v += (c & 0x7f) << shift;
      shift += 7;
      if ((c & 0x80) == 0) break;
    }
  }
  intValue = v;
  return pos;
}

/**
 * String literal (§5.2) at `pos`: decodes it into `cap` bytes at `dst` and sets strLen, or -1 if
 * it does not fit (cap 0 only skips it). Returns the next offset, or OUT if it is malformed.
 */
function readString(b: Bytes, pos: i32, dst: usize, cap: i32): i32 {
  const h = b.u8(pos);
  if (h == OUT) return OUT;
  pos = readInt(b, pos, 7);
  if (pos == OUT) return OUT;
  const n = intValue;
  if (!b.has(pos, n)) return OUT;
  if (cap == 0) {
    strLen = -1;
  } else if ((h & 0x80) != 0) {
    const r = huffmanDecode(b, pos, n, dst, cap);
    if (r == HUFF_INVALID) return OUT;
    strLen = r == HUFF_TOO_LONG ? -1 : r;
  } else if (n > cap) {
    strLen = -1;
  } else {
    b.copyTo(dst, pos, n);
    strLen = n;
  }
  return pos + n;
}
