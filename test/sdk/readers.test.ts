// The SDK's readers and key writer, compiled into a small harness module (test/sdk/harness.ts) with
// the detectors' compile options: every reader at every offset around the window's edges returns
// the value or OUT and never traps; varints and length-prefixed slices on the specs' own examples,
// truncated and overlong; a read past the window is NEED_MORE or NO_MATCH as the author chooses;
// keys that lose a byte are dropped whole.
import { beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ASCONFIG_FILE } from '../../host/plugin/build.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUT = -1;
const BAD = -2;
const NEED_MORE = 0;
const MATCH = 1;
const NO_MATCH = 2;
const INPUT_CAP = 16384;
const KEY_CAP = 1024;
const Len = { U8: 1, U16BE: 2, U24BE: 3, U32BE: 4, QUIC: 5, LEB128: 6 } as const;

interface Harness {
  memory: WebAssembly.Memory;
  inputPtr(): number;
  keyPtr(): number;
  open(len: number, eof: number): void;
  isFinal(): number;
  u8(o: number): number;
  u16be(o: number): number;
  u16le(o: number): number;
  u24be(o: number): number;
  u32be(o: number): bigint;
  u32le(o: number): bigint;
  has(o: number, n: number): number;
  quicVarint(o: number): bigint;
  uleb128(o: number, max: number): bigint;
  prefixInt(o: number, bits: number): number;
  next(): number;
  prefixed(o: number, kind: number): number;
  sliceOff(): number;
  sliceLen(): number;
  indexOf(b: number, from: number, end: number): number;
  find(from: number, end: number): number;
  startsWithGet(o: number): number;
  startsWithHostCI(o: number): number;
  allIn(o: number, n: number): number;
  sub(o: number, n: number): number;
  readAt(at: number, wait: number): number;
  keyCase(n: number): number;
}

let h: Harness;

beforeAll(async () => {
  const asc = await import('assemblyscript/asc');
  const options = (JSON.parse(await readFile(ASCONFIG_FILE, 'utf8')) as { options: Record<string, unknown> }).options;
  const args = ['test/sdk/harness.ts', '--baseDir', ROOT, '--outFile', 'harness.wasm'];
  for (const [k, v] of Object.entries(options)) {
    if (typeof v === 'boolean') {
      if (v) args.push(`--${k}`);
    } else if (Array.isArray(v)) for (const x of v) args.push(`--${k}`, String(x));
    else args.push(`--${k}`, String(v));
  }
  let wasm: Uint8Array | undefined;
  const stderr = asc.createMemoryStream();
  const { error } = await asc.main(args, {
    stderr,
    writeFile: (name: string, contents: Uint8Array | string) => {
      if (name.endsWith('.wasm') && typeof contents !== 'string') wasm = contents;
    },
  });
  if (error || !wasm) throw new Error(`harness: ${error?.message}\n${stderr.toString()}`);
  const mod = new WebAssembly.Module(wasm as Uint8Array<ArrayBuffer>);
  expect(WebAssembly.Module.imports(mod)).toEqual([]);
  h = new WebAssembly.Instance(mod, {}).exports as unknown as Harness;
}, 60_000);

/** Puts `bytes` in the input buffer and opens a window of their length. */
function win(bytes: Uint8Array | number[], eof = false): void {
  const b = Uint8Array.from(bytes);
  new Uint8Array(h.memory.buffer, h.inputPtr(), b.length).set(b);
  h.open(b.length, eof ? 1 : 0);
}

function keysText(result: number): string {
  const len = (result >>> 8) & 0xffff;
  return Buffer.from(new Uint8Array(h.memory.buffer, h.keyPtr(), len)).toString('latin1');
}

/** Offsets around every edge of a window of `len` bytes, and the extremes of i32. */
const offsets = (len: number) => [-0x8000_0000, -4, -3, -2, -1, ...Array.from({ length: len + 5 }, (_, i) => i), 0x7fff_fffe, 0x7fff_ffff];

describe('fixed-width readers', () => {
  it('return the value inside the window and OUT at every offset outside, never trapping', () => {
    const data = [0x01, 0x82, 0xff, 0x00, 0x7f, 0x80, 0x10, 0xfe];
    for (let len = 0; len <= data.length; len++) {
      const b = Buffer.from(data.slice(0, len));
      win(b);
      for (const off of offsets(len)) {
        const inside = (n: number) => off >= 0 && off + n <= len;
        expect(h.u8(off), `u8(${off}) of ${len}`).toBe(inside(1) ? b[off] : OUT);
        expect(h.u16be(off), `u16be(${off}) of ${len}`).toBe(inside(2) ? b.readUInt16BE(off) : OUT);
        expect(h.u16le(off)).toBe(inside(2) ? b.readUInt16LE(off) : OUT);
        expect(h.u24be(off)).toBe(inside(3) ? b.readUIntBE(off, 3) : OUT);
        expect(h.u32be(off)).toBe(inside(4) ? BigInt(b.readUInt32BE(off)) : -1n);
        expect(h.u32le(off)).toBe(inside(4) ? BigInt(b.readUInt32LE(off)) : -1n);
      }
    }
  });

  it('has(off, n) holds only for ranges inside the window, negative and overflowing ones included', () => {
    win([1, 2, 3, 4]);
    expect(h.has(0, 4)).toBe(1);
    expect(h.has(4, 0)).toBe(1);
    expect(h.has(3, 2)).toBe(0);
    expect(h.has(-1, 1)).toBe(0);
    expect(h.has(1, -1)).toBe(0);
    expect(h.has(0x7fff_ffff, 1)).toBe(0);
    expect(h.has(1, 0x7fff_ffff)).toBe(0);
    expect(h.has(-0x8000_0000, -0x8000_0000)).toBe(0);
  });

  it('sub() points a view inside the window only', () => {
    win([1, 2, 3, 4]);
    expect(h.sub(1, 3)).toBe(1);
    expect([h.sliceOff(), h.sliceLen()]).toEqual([1, 3]);
    expect(h.sub(2, 3)).toBe(0);
    expect(h.sub(-1, 2)).toBe(0);
  });
});

describe('varints', () => {
  it('QUIC (RFC 9000 §16 and A.1 examples), every truncation OUT', () => {
    const cases: Array<[string, bigint]> = [
      ['25', 37n],
      ['4025', 37n],
      ['7bbd', 15293n],
      ['9d7f3e7d', 494878333n],
      ['c2197c5eff14e88c', 151288809941952652n],
      ['ffffffffffffffff', (1n << 62n) - 1n],
    ];
    for (const [hex, value] of cases) {
      const b = Buffer.from(hex, 'hex');
      win([0xaa, ...b, 0xbb]);
      expect(h.quicVarint(1), hex).toBe(value);
      expect(h.next(), hex).toBe(1 + b.length);
      for (let n = 0; n < b.length; n++) {
        win([0xaa, ...b.subarray(0, n)]);
        expect(h.quicVarint(1), `${hex} cut at ${n}`).toBe(-1n);
      }
    }
    win([0x25]);
    expect(h.quicVarint(-1)).toBe(-1n);
    expect(h.quicVarint(0x7fff_ffff)).toBe(-1n);
  });

  it('LEB128: values, the byte limit (BAD past it), truncation (OUT)', () => {
    const check = (bytes: number[], max: number, value: bigint, next?: number) => {
      win(bytes);
      expect(h.uleb128(0, max), `${bytes} max ${max}`).toBe(value);
      if (next !== undefined) expect(h.next()).toBe(next);
    };
    check([0x00], 4, 0n, 1);
    check([0x7f], 4, 127n, 1);
    check([0x80, 0x01], 4, 128n, 2);
    check([0xe5, 0x8e, 0x26], 5, 624485n, 3); // the Wikipedia/DWARF example
    check([0xff, 0xff, 0xff, 0x7f], 4, 268435455n, 4); // MQTT's largest Remaining Length
    check([0xff, 0xff, 0xff, 0xff, 0x01], 4, BigInt(BAD));
    check([0xff, 0xff, 0xff], 4, BigInt(OUT));
    check([0x80], 1, BigInt(BAD));
    check([...Array(8).fill(0xff), 0x7f], 99, (1n << 63n) - 1n, 9); // a limit over 9 is taken as 9
    check([...Array(9).fill(0xff), 0x01], 99, BigInt(BAD));
  });

  it('HPACK prefix integers (RFC 7541 C.1), truncation OUT, overflow BAD', () => {
    win([0xea]); // 3 flag bits, then 01010
    expect(h.prefixInt(0, 5)).toBe(10);
    win([0x1f, 0x9a, 0x0a]);
    expect(h.prefixInt(0, 5)).toBe(1337);
    expect(h.next()).toBe(3);
    win([0x2a]);
    expect(h.prefixInt(0, 8)).toBe(42);
    win([0x1f, 0x9a]);
    expect(h.prefixInt(0, 5)).toBe(OUT);
    win([0x1f, 0xff, 0xff, 0xff, 0xff, 0x01]);
    expect(h.prefixInt(0, 5)).toBe(BAD);
    win([]);
    expect(h.prefixInt(0, 5)).toBe(OUT);
  });
});

describe('length-prefixed slices', () => {
  const payload = [0x61, 0x62, 0x63];
  const kinds: Array<[keyof typeof Len, number[]]> = [
    ['U8', [3]],
    ['U16BE', [0, 3]],
    ['U24BE', [0, 0, 3]],
    ['U32BE', [0, 0, 0, 3]],
    ['QUIC', [0x40, 0x03]],
    ['LEB128', [0x83, 0x00]],
  ];

  it.each(kinds)('%s: the slice and the offset after it; OUT for every truncation', (kind, prefix) => {
    const all = [0xee, ...prefix, ...payload, 0xee];
    win(all);
    expect(h.prefixed(1, Len[kind])).toBe(1 + prefix.length + 3);
    expect(h.next()).toBe(1 + prefix.length + 3);
    expect([h.sliceOff(), h.sliceLen()]).toEqual([1 + prefix.length, 3]);
    for (let n = 1; n < 1 + prefix.length + 3; n++) {
      win(all.slice(0, n));
      expect(h.prefixed(1, Len[kind]), `cut at ${n}`).toBe(OUT);
    }
  });

  it('an unknown kind, a length beyond 2^31 or a malformed varint is BAD', () => {
    win([3, 1, 2, 3]);
    expect(h.prefixed(0, 0)).toBe(BAD);
    expect(h.prefixed(0, 7)).toBe(BAD);
    win([0xff, 0xff, 0xff, 0xff, 1]);
    expect(h.prefixed(0, Len.U32BE)).toBe(BAD);
    win([0x7f, 0xff, 0xff, 0xff, 1]);
    expect(h.prefixed(0, Len.U32BE)).toBe(OUT);
    win([...Array(10).fill(0x80), 0]);
    expect(h.prefixed(0, Len.LEB128)).toBe(BAD);
  });
});

describe('text helpers', () => {
  it('startsWith: EQUAL, PARTIAL while it may still come, DIFFERENT at once; never before the window', () => {
    const [DIFFERENT, EQUAL, PARTIAL] = [0, 1, 2];
    win([...Buffer.from('GET /')]);
    expect(h.startsWithGet(0)).toBe(EQUAL);
    expect(h.startsWithGet(1)).toBe(DIFFERENT);
    expect(h.startsWithGet(-1)).toBe(DIFFERENT);
    expect(h.startsWithGet(0x7fff_ffff)).toBe(PARTIAL);
    win([...Buffer.from('GE')]);
    expect(h.startsWithGet(0)).toBe(PARTIAL);
    win([...Buffer.from('HoSt: x')]);
    expect(h.startsWithHostCI(0)).toBe(EQUAL);
    win([...Buffer.from('Hos')]);
    expect(h.startsWithHostCI(0)).toBe(PARTIAL);
  });

  it('indexOf and find clip [from, end) to the window', () => {
    win([...Buffer.from('xabxab')]);
    expect(h.indexOf(0x62, -5, 100)).toBe(2);
    expect(h.indexOf(0x62, 3, 100)).toBe(5);
    expect(h.indexOf(0x62, 3, 5)).toBe(OUT);
    expect(h.find(0, 100)).toBe(1);
    expect(h.find(2, 100)).toBe(4);
    expect(h.find(2, 5)).toBe(OUT);
    expect(h.find(-10, 3)).toBe(1);
    win([...Buffer.from('xa')]);
    expect(h.find(0, 100)).toBe(OUT);
  });

  it('allIn checks a range inside the window only', () => {
    win([...Buffer.from('ab c')]);
    expect(h.allIn(0, 2)).toBe(1);
    expect(h.allIn(0, 3)).toBe(0);
    expect(h.allIn(3, 2)).toBe(0);
    expect(h.allIn(0, 0)).toBe(1);
  });
});

describe('reading past the window', () => {
  it("is NEED_MORE or NO_MATCH as the author chooses, NO_MATCH once nothing more can come, never a trap", () => {
    win([1, 2, 3]);
    expect(h.readAt(1, 1) & 0xff).toBe(MATCH);
    for (const at of [-1, 3, 4, 0x7fff_ffff]) {
      win([1, 2, 3]);
      expect(h.readAt(at, 1), `at ${at}`).toBe(NEED_MORE);
      expect(h.readAt(at, 0), `at ${at}`).toBe(NO_MATCH);
      win([1, 2, 3], true);
      expect(h.readAt(at, 1), `at ${at} with eof`).toBe(NO_MATCH);
    }
  });

  it('a window as large as the input buffer is final: waiting is NO_MATCH', () => {
    win(new Uint8Array(INPUT_CAP));
    expect(h.isFinal()).toBe(1);
    expect(h.readAt(INPUT_CAP, 1)).toBe(NO_MATCH);
    win(new Uint8Array(INPUT_CAP - 1));
    expect(h.isFinal()).toBe(0);
    expect(h.readAt(INPUT_CAP - 1, 1)).toBe(NEED_MORE);
  });

  it('a length the host should never pass is clamped to the input buffer', () => {
    for (const len of [-1, -0x8000_0000, INPUT_CAP + 1, 0x7fff_ffff]) {
      h.open(len, 0);
      expect(h.u8(-1)).toBe(OUT);
      expect(h.u8(INPUT_CAP)).toBe(OUT);
    }
  });
});

describe('key writer', () => {
  it('separates keys with LF, keeps an empty value (`B `)', () => {
    win([]);
    const r = h.keyCase(0);
    expect(r & 0xff).toBe(MATCH);
    expect(keysText(r)).toBe('A x\nB ');
  });

  it('drops a key whose source bytes are out of range, whole, and goes on', () => {
    win([...Buffer.from('abcdef')]);
    expect(keysText(h.keyCase(1))).toBe('A abc\nC z');
  });

  it('lower-cases ASCII only', () => {
    win([0x41, 0x62, 0x43, 0xc4]);
    expect([...Buffer.from(keysText(h.keyCase(2)), 'latin1')]).toEqual([...Buffer.from('A abc'), 0xc4]);
  });

  it('cancel() drops the open key; decimal() writes numbers', () => {
    win([]);
    expect(keysText(h.keyCase(3))).toBe('B 0\nC 1234567890123');
  });

  it('a negative number or a byte over 255 drops its key', () => {
    win([]);
    expect(keysText(h.keyCase(4))).toBe('C z');
  });

  it(`stops at the ${KEY_CAP}-byte buffer with whole keys only`, () => {
    win([]);
    const text = keysText(h.keyCase(5));
    expect(text.length).toBeLessThanOrEqual(KEY_CAP);
    expect(text.split('\n').every((k) => k === 'K v')).toBe(true);
    expect(text.split('\n').length).toBe(Math.floor((KEY_CAP + 1) / 4));
  });

  it('a key longer than the buffer is dropped', () => {
    win(new Uint8Array(3000));
    const r = h.keyCase(6);
    expect(r).toBe(MATCH);
  });
});
