// The built HTTP detector (dist/plugins/http.wasm) against its fixtures, every prefix of each, and
// random or mutated windows (shared checks: test/helpers/detector-fixtures.ts), plus HTTP/2
// header blocks built here: the RFC 7541 examples and Huffman strings made from the RFC's table.

import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { describeDetector, ROOT, NEED_MORE, NO_MATCH, MATCH } from '../helpers/detector-fixtures.js';

const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';

const { det } = describeDetector({
  plugin: 'http',
  protocol: 'HTTP',
  keyPattern: /^(HOST [a-z0-9_.:-]*|PATH \/[\x21-\x7e]*|VERSION (h2c|http\/1\.[0-9])|METHOD [!#$%&'*+.^_`|~0-9A-Za-z-]+)$/,
  seed: 0x5eed_4777,
  randomPrefix: new TextEncoder().encode('GET / HTTP/1.1\r\nHost: '),
});

const enc = (s: string) => new TextEncoder().encode(s);
const hexBytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(9 + payload.length);
  b.set([payload.length >> 16, (payload.length >> 8) & 0xff, payload.length & 0xff, type, flags, stream >>> 24, (stream >> 16) & 0xff, (stream >> 8) & 0xff, stream & 0xff]);
  b.set(payload, 9);
  return b;
}
/** Preface, an empty SETTINGS frame, and one HEADERS frame (END_HEADERS) on stream 1 with `block`. */
function h2c(block: Uint8Array): Uint8Array {
  return Uint8Array.from([...enc(PREFACE), ...frame(4, 0, 0, new Uint8Array(0)), ...frame(1, 0x5, 1, block)]);
}

/** An HPACK Huffman encoder from the same transcription of RFC 7541 Appendix B the detector is generated from. */
const table = readFileSync(`${ROOT}plugins/http/hpack-huffman.txt`, 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => l.trim().split(/\s+/))
  .map(([, hex, len]) => ({ code: BigInt(`0x${hex}`), len: Number(len) }));
function huffman(s: string): Uint8Array {
  let acc = 0n;
  let bits = 0;
  for (const c of Buffer.from(s, 'latin1')) {
    const { code, len } = table[c]!;
    acc = (acc << BigInt(len)) | code;
    bits += len;
  }
  const pad = (8 - (bits % 8)) % 8;
  acc = (acc << BigInt(pad)) | ((1n << BigInt(pad)) - 1n);
  bits += pad;
  const out = new Uint8Array(bits / 8);
  for (let i = out.length - 1; i >= 0; i--, acc >>= 8n) out[i] = Number(acc & 0xffn);
  return out;
}
/** `:authority` as a literal with incremental indexing and a Huffman value (short strings only). */
const authorityHuffman = (s: string) => {
  const h = huffman(s);
  if (h.length > 126) throw new Error('test helper: value too long for a one-byte length');
  return Uint8Array.from([0x82, 0x86, 0x84, 0x41, 0x80 | h.length, ...h]);
};

describe('http detector decisions', () => {
  it('says NO_MATCH from the first byte unless a known method or the preface can start with it', () => {
    const starts = new Set('GHPDCOTMLU'.split('').map((c) => c.charCodeAt(0)));
    for (let b = 0; b < 256; b++) expect(det().detect(Uint8Array.of(b), false).verdict, `byte ${b}`).toBe(starts.has(b) ? NEED_MORE : NO_MATCH);
  });

  it.each(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'PROPFIND', 'PROPPATCH', 'MKCOL', 'COPY', 'MOVE', 'LOCK', 'UNLOCK'])('knows the method %s', (m) => {
    expect(det().detect(enc(`${m} /x HTTP/1.1\r\nHost: A.Test:80\r\n\r\n`), false).keys).toEqual(['HOST a.test', 'PATH /x', 'VERSION http/1.1', `METHOD ${m}`]);
  });

  it('reads Host case-insensitively with optional whitespace, and strips one port', () => {
    expect(det().detect(enc('GET / HTTP/1.1\r\nhOsT:\t x.test \r\n\r\n'), false).keys[0]).toBe('HOST x.test');
    expect(det().detect(enc('GET / HTTP/1.1\r\nHost: x.test:\r\n\r\n'), false).keys[0]).toBe('HOST x.test');
    expect(det().detect(enc('GET / HTTP/1.1\r\nHost: x.test:8a\r\n\r\n'), false).keys[0]).toBe('PATH /');
    expect(det().detect(enc('GET / HTTP/1.1\r\nHost: [::1\r\n\r\n'), false).keys[0]).toBe('PATH /');
  });

  it('an empty Host is `HOST `; OPTIONS * waits for Host', () => {
    expect(det().detect(enc('GET / HTTP/1.1\r\nHost:\r\n\r\n'), false).keys[0]).toBe('HOST ');
    expect(det().detect(enc('OPTIONS * HTTP/1.1\r\n'), false).verdict).toBe(NEED_MORE);
    expect(det().detect(enc('OPTIONS * HTTP/1.1\r\nHost: o.test\r\n'), false).keys[0]).toBe('HOST o.test');
  });

  it('takes the host of an absolute-form target without its userinfo', () => {
    expect(det().detect(enc('GET http://user:pw@Abs.Test:8080/p HTTP/1.1\r\n'), false).keys[0]).toBe('HOST abs.test');
  });

  it('decodes the RFC 7541 C.3.1 (plain) and C.4.1 (Huffman) request header blocks', () => {
    expect(det().detect(h2c(hexBytes('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d')), false)).toEqual({ verdict: MATCH, keys: ['HOST www.example.com', 'PATH /', 'VERSION h2c', 'METHOD GET'] });
    expect(det().detect(h2c(hexBytes('8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff')), false)).toEqual({ verdict: MATCH, keys: ['HOST www.example.com', 'PATH /', 'VERSION h2c', 'METHOD GET'] });
  });

  it('decodes Huffman strings over every host-name byte and every code length', () => {
    const names = [
      'abcdefghijklmnopqrstuvwxyz.test',
      'ABCDEFGHIJKLMNOPQRSTUVWXYZ.test',
      '0123456789-_.example',
      `${'a'.repeat(63)}.${'b'.repeat(50)}`,
    ];
    for (const n of names) expect(det().detect(h2c(authorityHuffman(n)), false).keys[0], n).toBe(`HOST ${n.toLowerCase()}`);
    // Bytes with long codes (up to 30 bits) decode to a value that is no host name: MATCH without HOST.
    const odd = String.fromCharCode(0, 10, 13, 22, 127, 128, 200, 255);
    expect(det().detect(h2c(authorityHuffman(odd)), false)).toEqual({ verdict: MATCH, keys: ['PATH /', 'VERSION h2c', 'METHOD GET'] });
  });

  it('an :authority too long to be a host gives no HOST key, and the block is still decoded', () => {
    const long = 'a'.repeat(600);
    // Length 600 on a 7-bit prefix: 127, then 473 = 0x59 + 3 × 128 as continuation bytes d9 03.
    const block = Uint8Array.from([0x41, 0x7f, 0xd9, 0x03, ...enc(long), 0x83]);
    expect(det().detect(h2c(block), false)).toEqual({ verdict: MATCH, keys: ['VERSION h2c', 'METHOD POST'] });
  });

  it('a second :method that is no token leaves no METHOD key, never a mix of the two (fuzz finding)', () => {
    // GET indexed, then a literal :method (name index 3) whose value is `/ap`.
    expect(det().detect(h2c(Uint8Array.from([0x82, 0x03, 0x03, ...enc('/ap'), 0x84])), false).keys).toEqual(['HOST ', 'PATH /', 'VERSION h2c']);
  });

  it('rejects index 0 and a string running past the block', () => {
    expect(det().detect(h2c(Uint8Array.of(0x80)), false).verdict).toBe(NO_MATCH);
    expect(det().detect(h2c(Uint8Array.of(0x41, 0x05, 0x61)), false).verdict).toBe(NO_MATCH);
  });

  it('skips WINDOW_UPDATE, PING, PRIORITY and extension frames before HEADERS, and rejects a frame over 16 KiB', () => {
    const pre = [...enc(PREFACE), ...frame(4, 0, 0, new Uint8Array(6))];
    const hdr = frame(1, 0x5, 1, hexBytes('8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d'));
    const ok = Uint8Array.from([...pre, ...frame(8, 0, 0, new Uint8Array(4)), ...frame(6, 0, 0, new Uint8Array(8)), ...frame(2, 0, 3, new Uint8Array(5)), ...frame(0x10, 0, 0, new Uint8Array(7)), ...hdr]);
    expect(det().detect(ok, false).keys[0]).toBe('HOST www.example.com');
    const big = Uint8Array.from([...pre, 0x00, 0x40, 0x01, 0x08, 0, 0, 0, 0, 0]);
    expect(det().detect(big, false).verdict).toBe(NO_MATCH);
  });

  describe('PATH', () => {
    const keysOf = (req: string) => det().detect(enc(req), false).keys;
    const path = (req: string) => keysOf(req).find((k) => k.startsWith('PATH ')) ?? null;

    it('comes after HOST and before VERSION and METHOD', () => {
      expect(keysOf('GET /a/b HTTP/1.1\r\nHost: x.test\r\n\r\n')).toEqual(['HOST x.test', 'PATH /a/b', 'VERSION http/1.1', 'METHOD GET']);
    });

    it('is the target without its query or fragment, byte for byte (no decoding, no dot-segment removal)', () => {
      expect(path('GET /api/v1?x=/y HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('PATH /api/v1');
      expect(path('GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('PATH /a');
      expect(path('GET /A/%2e%2E/./b HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('PATH /A/%2e%2E/./b');
      expect(path('GET /? HTTP/1.1\r\nHost: x\r\n\r\n')).toBe('PATH /');
    });

    it('absolute-form: the path after the authority, `/` when it is empty', () => {
      expect(path('GET http://b.test:81/p/q?z HTTP/1.1\r\n')).toBe('PATH /p/q');
      expect(path('GET http://b.test HTTP/1.1\r\n')).toBe('PATH /');
      expect(path('GET http://b.test?z=1 HTTP/1.1\r\n')).toBe('PATH /');
    });

    it('none for CONNECT, for `*`, for bytes outside visible ASCII, and past 512 bytes', () => {
      expect(path('CONNECT b.test:443 HTTP/1.1\r\n')).toBeNull();
      expect(path('OPTIONS * HTTP/1.1\r\nHost: o.test\r\n')).toBeNull();
      const utf8 = new Uint8Array([...enc('GET /caf'), 0xc3, 0xa9, ...enc(' HTTP/1.1\r\nHost: x\r\n\r\n')]);
      expect(det().detect(utf8, false).keys).toEqual(['HOST x', 'VERSION http/1.1', 'METHOD GET']);
      expect(path(`GET /${'a'.repeat(511)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toBe(`PATH /${'a'.repeat(511)}`);
      expect(path(`GET /${'a'.repeat(512)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toBeNull();
      expect(path(`GET /${'a'.repeat(100)}?${'q'.repeat(2000)} HTTP/1.1\r\nHost: x\r\n\r\n`)).toBe(`PATH /${'a'.repeat(100)}`);
    });

    it('h2c: from :path, indexed (`/`, `/index.html`) or literal (plain or Huffman), without its query', () => {
      const h2keys = (block: number[]) => det().detect(h2c(Uint8Array.from(block)), false).keys;
      expect(h2keys([0x82, 0x85])).toEqual(['HOST ', 'PATH /index.html', 'VERSION h2c', 'METHOD GET']);
      // Literal without indexing, name index 4 (:path), plain value.
      expect(h2keys([0x82, 0x04, 0x08, ...enc('/a/b?c=d')])).toEqual(['HOST ', 'PATH /a/b', 'VERSION h2c', 'METHOD GET']);
      const huff = huffman('/x/y?q');
      expect(h2keys([0x82, 0x04, 0x80 | huff.length, ...huff])).toEqual(['HOST ', 'PATH /x/y', 'VERSION h2c', 'METHOD GET']);
      // Literal name `:path`, as a new name.
      expect(h2keys([0x82, 0x00, 0x05, ...enc(':path'), 0x02, ...enc('/z')])).toEqual(['HOST ', 'PATH /z', 'VERSION h2c', 'METHOD GET']);
      // `*` (OPTIONS) is no path.
      expect(h2keys([0x04, 0x01, ...enc('*'), 0x00, 0x07, ...enc(':method'), 0x07, ...enc('OPTIONS')])).toEqual(['HOST ', 'VERSION h2c', 'METHOD OPTIONS']);
    });
  });
});
