// The PROXY protocol codec against the spec's own examples (haproxy.org proxy-protocol.txt §2.1,
// §2.2), split at every byte, and against garbage.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { formatIPv6, ipv6Bytes } from '../host/ip-bytes.js';
import {
  decodeProxyHeader,
  encodeProxyV1,
  encodeProxyV2,
  PROXY_V1_MAX_BYTES,
  PROXY_V2_MAX_LENGTH,
  PROXY_V2_SIGNATURE,
  ProxyParse,
  type ProxyDecode,
  type ProxyHeader,
} from '../host/proxy-protocol.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');

function header(d: ProxyDecode): ProxyHeader {
  if (d.state !== ProxyParse.HEADER) throw new Error(`expected a header, got ${JSON.stringify(d)}`);
  return d.header;
}

/** Every proper prefix says NEED_MORE, the whole says HEADER, and trailing bytes are left alone. */
function expectSplitEverywhere(bytes: Buffer): ProxyHeader {
  for (let i = 0; i < bytes.length; i++) expect(decodeProxyHeader(bytes.subarray(0, i)).state, `prefix ${i}`).toBe(ProxyParse.NEED_MORE);
  const h = header(decodeProxyHeader(bytes));
  expect(h.length).toBe(bytes.length);
  const withClientBytes = Buffer.concat([bytes, b('\x16\x03\x01 client hello')]);
  expect(header(decodeProxyHeader(withClientBytes))).toEqual(h);
  return h;
}

function v2(verCmd: number, fam: number, body: number[]): Buffer {
  return Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([verCmd, fam, body.length >> 8, body.length & 0xff, ...body])]);
}

describe('v1 (text)', () => {
  it('TCP4, the spec example', () => {
    const h = expectSplitEverywhere(b('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'));
    expect(h).toEqual({
      version: 1,
      command: 'PROXY',
      family: 'TCP4',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
      length: 47,
    });
  });

  it("the spec's worst cases fit in PROXY_V1_MAX_BYTES", () => {
    const tcp4 = b('PROXY TCP4 255.255.255.255 255.255.255.255 65535 65535\r\n');
    const tcp6 = b('PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n');
    const unknown = b('PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n');
    expect([tcp4.length, tcp6.length, unknown.length]).toEqual([56, 104, PROXY_V1_MAX_BYTES]);
    expect(expectSplitEverywhere(tcp4).family).toBe('TCP4');
    expect(expectSplitEverywhere(tcp6).source).toEqual({ address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 });
    expect(expectSplitEverywhere(unknown)).toEqual({ version: 1, command: 'PROXY', family: 'UNKNOWN', length: 107 });
  });

  it('TCP6 addresses come out canonical; UNKNOWN alone', () => {
    const h = expectSplitEverywhere(b('PROXY TCP6 2001:DB8:0:0::1 ::1 1 2\r\n'));
    expect(h.source).toEqual({ address: '2001:db8::1', port: 1 });
    expect(h.destination).toEqual({ address: '::1', port: 2 });
    expect(expectSplitEverywhere(b('PROXY UNKNOWN\r\n')).family).toBe('UNKNOWN');
  });

  it.each([
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', 'v1-syntax', /without CR/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', 'v1-syntax', /CR not followed/],
    ['PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-syntax', /unknown protocol "TCP5"/],
    ['PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-syntax', /unknown protocol ""/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', 'v1-syntax', /4 fields/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', 'v1-syntax', /4 fields/],
    ['PROXY TCP4 ::1 5.6.7.8 1 2\r\n', 'v1-syntax', /not an IPv4/],
    ['PROXY TCP6 1.2.3.4 ::1 1 2\r\n', 'v1-syntax', /not an IPv6/],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', 'v1-syntax', /not an IPv6/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', 'v1-syntax', /not a port/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n', 'v1-syntax', /not a port/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', 'v1-syntax', /not a port/],
    ['PROXY TCP4 1.2.3.4\x005.6.7.8 1 2\r\n', 'v1-syntax', /byte 0x00/],
    ['PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', 'v1-syntax', /unknown protocol/],
    ['PROXI TCP4', 'not-proxy', /not "PROXY "/],
    ['GET / HTTP/1.1\r\n', 'not-proxy', /first byte 0x47/],
  ])('refuses %j (%s)', (text, code, why) => {
    const d = decodeProxyHeader(b(text));
    expect(d).toMatchObject({ state: ProxyParse.ERROR, code });
    expect(d.state === ProxyParse.ERROR && d.reason).toMatch(why);
  });

  it('no CRLF within 107 bytes is an error at byte 107, not a wait', () => {
    const long = b(`PROXY UNKNOWN ${'x'.repeat(200)}`);
    expect(decodeProxyHeader(long.subarray(0, PROXY_V1_MAX_BYTES - 1)).state).toBe(ProxyParse.NEED_MORE);
    expect(decodeProxyHeader(long.subarray(0, PROXY_V1_MAX_BYTES))).toMatchObject({ state: ProxyParse.ERROR, code: 'v1-too-long' });
    // A CRLF at 108 is too late.
    expect(decodeProxyHeader(b(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`))).toMatchObject({ code: 'v1-too-long' });
  });

  it('garbage fails at its first wrong byte', () => {
    expect(decodeProxyHeader(b('P'))).toEqual({ state: ProxyParse.NEED_MORE });
    expect(decodeProxyHeader(b('PR0'))).toMatchObject({ state: ProxyParse.ERROR, code: 'not-proxy' });
    expect(decodeProxyHeader(b('PROXY TCP4 \x16'))).toMatchObject({ state: ProxyParse.ERROR, code: 'v1-syntax' });
  });
});

describe('v2 (binary)', () => {
  it('TCP over IPv4 (spec §2.2 layout)', () => {
    const bytes = v2(0x21, 0x11, [192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb]);
    expect(expectSplitEverywhere(bytes)).toEqual({
      version: 2,
      command: 'PROXY',
      family: 'TCP4',
      source: { address: '192.168.0.1', port: 56324 },
      destination: { address: '192.168.0.11', port: 443 },
      length: 28,
    });
  });

  it('TCP over IPv6, with TLVs after the addresses skipped', () => {
    const src = [...ipv6Bytes('2001:db8::1')!];
    const dst = [...ipv6Bytes('2001:db8::2')!];
    // PP2_TYPE_ALPN (0x01) "h2", PP2_TYPE_NOOP (0x04) of 3 bytes.
    const tlvs = [0x01, 0x00, 0x02, 0x68, 0x32, 0x04, 0x00, 0x03, 0, 0, 0];
    const h = expectSplitEverywhere(v2(0x21, 0x21, [...src, ...dst, 0x30, 0x39, 0x00, 0x50, ...tlvs]));
    expect(h).toMatchObject({ family: 'TCP6', source: { address: '2001:db8::1', port: 12345 }, destination: { address: '2001:db8::2', port: 80 } });
    expect(h.length).toBe(16 + 36 + tlvs.length);
  });

  it('LOCAL ignores the address block; UNSPEC and UNIX say UNKNOWN', () => {
    expect(expectSplitEverywhere(v2(0x20, 0x00, []))).toEqual({ version: 2, command: 'LOCAL', family: 'UNKNOWN', length: 16 });
    expect(expectSplitEverywhere(v2(0x20, 0x11, [1, 2, 3]))).toMatchObject({ command: 'LOCAL', length: 19 });
    expect(expectSplitEverywhere(v2(0x21, 0x00, []))).toMatchObject({ command: 'PROXY', family: 'UNKNOWN' });
    expect(expectSplitEverywhere(v2(0x21, 0x31, new Array(216).fill(0)))).toMatchObject({ family: 'UNKNOWN', length: 232 });
  });

  it.each([
    [v2(0x11, 0x11, []), 'v2-version'],
    [v2(0x22, 0x11, []), 'v2-command'],
    [v2(0x21, 0x41, []), 'v2-family'],
    [v2(0x21, 0x13, []), 'v2-family'],
    [v2(0x21, 0x12, new Array(12).fill(0)), 'v2-family'], // UDP over a TCP connection
    [v2(0x21, 0x11, new Array(11).fill(0)), 'v2-length'],
    [v2(0x21, 0x21, new Array(12).fill(0)), 'v2-length'],
    [Buffer.concat([PROXY_V2_SIGNATURE.subarray(0, 11), b('X')]), 'not-proxy'],
  ])('refuses case %# (%s) as soon as the bad field arrives', (bytes, code) => {
    const d = decodeProxyHeader(bytes);
    expect(d).toMatchObject({ state: ProxyParse.ERROR, code });
  });

  it(`refuses a length over PROXY_V2_MAX_LENGTH (${PROXY_V2_MAX_LENGTH}) from the length field alone`, () => {
    const head = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x10, 0x01])]);
    expect(decodeProxyHeader(head)).toMatchObject({ state: ProxyParse.ERROR, code: 'v2-too-long' });
    const max = Buffer.concat([PROXY_V2_SIGNATURE, Buffer.from([0x21, 0x11, 0x10, 0x00])]);
    expect(decodeProxyHeader(max).state).toBe(ProxyParse.NEED_MORE);
    expect(header(decodeProxyHeader(Buffer.concat([max, Buffer.alloc(PROXY_V2_MAX_LENGTH)]))).length).toBe(16 + PROXY_V2_MAX_LENGTH);
  });
});

describe('encoding', () => {
  const e4 = { source: { address: '192.168.0.1', port: 56324 }, destination: { address: '192.168.0.11', port: 443 } };
  const e6 = { source: { address: '2001:db8::1', port: 12345 }, destination: { address: '::1', port: 80 } };

  it('v1 writes the spec line', () => {
    expect(encodeProxyV1(e4).toString('latin1')).toBe('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n');
    expect(encodeProxyV1(e6).toString('latin1')).toBe('PROXY TCP6 2001:db8::1 ::1 12345 80\r\n');
    expect(encodeProxyV1(undefined).toString('latin1')).toBe('PROXY UNKNOWN\r\n');
  });

  it('v2 writes the spec bytes', () => {
    expect(encodeProxyV2(e4)).toEqual(v2(0x21, 0x11, [192, 168, 0, 1, 192, 168, 0, 11, 0xdc, 0x04, 0x01, 0xbb]));
    expect(encodeProxyV2(undefined)).toEqual(v2(0x21, 0x00, []));
    expect(encodeProxyV2(e4, true)).toEqual(v2(0x20, 0x00, []));
    expect(encodeProxyV2(e6).length).toBe(16 + 36);
  });

  it('IPv4-mapped addresses go as TCP4; a mixed pair goes as TCP6 with the IPv4 one mapped', () => {
    const mapped = { source: { address: '::ffff:10.0.0.1', port: 1 }, destination: { address: '10.0.0.2', port: 2 } };
    expect(encodeProxyV1(mapped).toString('latin1')).toBe('PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n');
    const mixed = { source: { address: '10.0.0.1', port: 1 }, destination: { address: '::1', port: 2 } };
    expect(encodeProxyV1(mixed).toString('latin1')).toBe('PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n');
    expect(header(decodeProxyHeader(encodeProxyV2(mixed))).source).toEqual({ address: '::ffff:10.0.0.1', port: 1 });
  });

  it('non-IP addresses (a Unix peer) go as UNKNOWN', () => {
    const unix = { source: { address: '/run/x.sock', port: 0 }, destination: { address: '127.0.0.1', port: 1 } };
    expect(encodeProxyV1(unix).toString('latin1')).toBe('PROXY UNKNOWN\r\n');
    expect(encodeProxyV2(unix)).toEqual(v2(0x21, 0x00, []));
  });

  it('round-trips random addresses through both versions', () => {
    for (let i = 0; i < 500; i++) {
      const r = randomBytes(40);
      const four = i % 2 === 0;
      const addr = (at: number): string => (four ? [...r.subarray(at, at + 4)].join('.') : formatIPv6(r, at));
      const e = { source: { address: addr(0), port: r.readUInt16BE(32) }, destination: { address: addr(16), port: r.readUInt16BE(34) } };
      // A random IPv6 may happen to be IPv4-mapped; then TCP4 is the right answer, checked above.
      if (!four && (e.source.address.startsWith('::ffff:') || e.destination.address.startsWith('::ffff:'))) continue;
      for (const enc of [encodeProxyV1, encodeProxyV2]) {
        const h = header(decodeProxyHeader(enc(e)));
        expect(h.family).toBe(four ? 'TCP4' : 'TCP6');
        expect({ source: h.source, destination: h.destination }).toEqual(e);
      }
    }
  });
});

describe('fuzzed garbage', () => {
  it('random bytes never make a header, and never wait past the limits', () => {
    for (let i = 0; i < 20_000; i++) {
      const g = randomBytes(1 + (i % 300));
      const d = decodeProxyHeader(g);
      expect(d.state).not.toBe(ProxyParse.HEADER);
      if (d.state === ProxyParse.NEED_MORE) expect(g.length).toBeLessThan(PROXY_V1_MAX_BYTES);
    }
  });

  it('random bytes after a valid signature: a header only with a consistent length, never a crash', () => {
    let headers = 0;
    for (let i = 0; i < 20_000; i++) {
      const tail = randomBytes(4 + (i % 120));
      // Half the time keep version, command, family and length plausible so the later checks get exercised.
      if (i % 2) {
        tail[0] = 0x20 | (tail[0]! & 0x01);
        tail[1] = [0x00, 0x11, 0x21, 0x31][tail[1]! & 3]!;
        tail[2] = 0;
        tail[3] = tail[3]! % tail.length;
      }
      const g = i % 3 === 0 ? Buffer.concat([b('PROXY '), tail]) : Buffer.concat([PROXY_V2_SIGNATURE, tail]);
      const d = decodeProxyHeader(g);
      if (d.state === ProxyParse.HEADER) {
        headers++;
        expect(d.header.length).toBeLessThanOrEqual(g.length);
      }
    }
    expect(headers).toBeGreaterThan(0);
  });

  it('a flipped byte in a valid header is refused or still parses to a header of the same length', () => {
    const valid = [encodeProxyV1({ source: { address: '10.1.2.3', port: 4000 }, destination: { address: '10.9.8.7', port: 443 } }), encodeProxyV2({ source: { address: '10.1.2.3', port: 4000 }, destination: { address: '10.9.8.7', port: 443 } })];
    for (const v of valid) {
      for (let i = 0; i < v.length; i++) {
        for (const x of [0x00, 0x20, 0x0a, 0xff]) {
          const m = Buffer.from(v);
          m[i] = x;
          const d = decodeProxyHeader(m);
          if (d.state === ProxyParse.HEADER) expect(d.header.length).toBeLessThanOrEqual(m.length);
        }
      }
    }
  });
});
