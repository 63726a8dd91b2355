// The QUIC detector's own crypto (plugins/quic/{sha256,aes,gcm}.ts), compiled into a small harness
// (test/plugins/quic-crypto-harness.ts) with the detectors' compile options, on the standard test
// vectors: SHA-256 (FIPS 180-4 examples), HMAC-SHA256 (RFC 4231), HKDF-Extract (RFC 5869 A.1),
// AES-128 (FIPS 197 Appendices B and C.1), AES-128-GCM (the GCM specification's test cases 1-4,
// as used by SP 800-38D validation), the QUIC Initial keys and header-protection mask of RFC 9001
// Appendix A and RFC 9369 Appendix A; and against node:crypto on random inputs.
import { beforeAll, describe, expect, it } from 'vitest';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { ASCONFIG_FILE } from '../../host/plugin/build.js';
import { mulberry32, randomBytes } from '../../host/plugin/conformance.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

interface Harness {
  memory: WebAssembly.Memory;
  buf(): number;
  sha256(p: number, n: number, out: number): void;
  sha256Steps(p: number, n: number, step: number, out: number): void;
  hmac(key: number, keyLen: number, msg: number, msgLen: number, out: number): void;
  hkdfExtract(salt: number, saltLen: number, ikm: number, ikmLen: number, out: number): void;
  expandLabel(secret: number, label: number, n: number, out: number): void;
  aesEncrypt(key: number, src: number, dst: number): void;
  gcmOpen(key: number, nonce: number, aad: number, aadLen: number, ct: number, ctLen: number, out: number): number;
}
const LABEL = { clientIn: 0, serverIn: 1, quicKey: 2, quicIv: 3, quicHp: 4, v2Key: 5, v2Iv: 6, v2Hp: 7 } as const;

let h: Harness;
/** Scratch layout in the harness buffer: A, B, C inputs; OUT output. */
let A: number, B: number, C: number, D: number, OUT: number;

beforeAll(async () => {
  const asc = await import('assemblyscript/asc');
  const options = (JSON.parse(await readFile(ASCONFIG_FILE, 'utf8')) as { options: Record<string, unknown> }).options;
  const args = ['test/plugins/quic-crypto-harness.ts', '--baseDir', ROOT, '--outFile', 'quic-crypto-harness.wasm'];
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
  const base = h.buf();
  [A, B, C, D, OUT] = [base, base + 4096, base + 8192, base + 12288, base + 16384];
}, 60_000);

const hx = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const put = (at: number, b: Uint8Array) => {
  new Uint8Array(h.memory.buffer, at, b.length).set(b);
  return b.length;
};
const get = (at: number, n: number) => Buffer.from(new Uint8Array(h.memory.buffer, at, n)).toString('hex');

const sha = (msg: Uint8Array) => {
  h.sha256(A, put(A, msg), OUT);
  return get(OUT, 32);
};

describe('SHA-256 (FIPS 180-4)', () => {
  it('gives the standard digests', () => {
    expect(sha(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha(Buffer.alloc(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(sha(Buffer.from('abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu'))).toBe(
      'cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1',
    );
  });

  it('agrees with node:crypto at every length around the padding edges, whole and fed in pieces', () => {
    const rnd = mulberry32(0x5eed_5a256);
    for (let n = 0; n <= 300; n++) {
      const m = randomBytes(rnd, n);
      const want = createHash('sha256').update(m).digest('hex');
      expect(sha(m), `length ${n}`).toBe(want);
      h.sha256Steps(A, put(A, m), 1 + (n % 70), OUT);
      expect(get(OUT, 32), `length ${n} in pieces`).toBe(want);
    }
  });
});

describe('HMAC-SHA256 (RFC 4231) and HKDF-Extract (RFC 5869)', () => {
  const hmac = (key: Uint8Array, msg: Uint8Array) => {
    h.hmac(A, put(A, key), B, put(B, msg), OUT);
    return get(OUT, 32);
  };

  it('gives the RFC 4231 test cases 1, 2, 3 and 6 (a key longer than a block)', () => {
    expect(hmac(Buffer.alloc(20, 0x0b), Buffer.from('Hi There'))).toBe('b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7');
    expect(hmac(Buffer.from('Jefe'), Buffer.from('what do ya want for nothing?'))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(hmac(Buffer.alloc(20, 0xaa), Buffer.alloc(50, 0xdd))).toBe('773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe');
    expect(hmac(Buffer.alloc(131, 0xaa), Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'))).toBe(
      '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
    );
  });

  it('agrees with node:crypto for keys of 0 to 140 bytes', () => {
    const rnd = mulberry32(0x5eed_4ac);
    for (let k = 0; k <= 140; k++) {
      const key = randomBytes(rnd, k);
      const msg = randomBytes(rnd, Math.floor(rnd() * 200));
      expect(hmac(key, msg), `key ${k}`).toBe(createHmac('sha256', key).update(msg).digest('hex'));
    }
  });

  it('gives RFC 5869 A.1 PRK', () => {
    h.hkdfExtract(A, put(A, hx('000102030405060708090a0b0c')), B, put(B, Buffer.alloc(22, 0x0b)), OUT);
    expect(get(OUT, 32)).toBe('077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5');
  });
});

describe('QUIC Initial secrets and keys (RFC 9001 A.1, RFC 9369 A.1)', () => {
  const dcid = hx('8394c8f03e515708');
  const initialSecret = (salt: string) => {
    h.hkdfExtract(A, put(A, hx(salt)), B, put(B, dcid), C);
    return get(C, 32);
  };
  const label = (secretAt: number, l: number, n: number) => {
    h.expandLabel(secretAt, l, n, OUT);
    return get(OUT, n);
  };

  it('derives RFC 9001 A.1 (v1)', () => {
    expect(initialSecret('38762cf7f55934b34d179ae6a4c80cadccbb7f0a')).toBe('7db5df06e7a69e432496adedb00851923595221596ae2ae9fb8115c1e9ed0a44');
    expect(label(C, LABEL.clientIn, 32)).toBe('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea');
    expect(label(C, LABEL.serverIn, 32)).toBe('3c199828fd139efd216c155ad844cc81fb82fa8d7446fa7d78be803acdda951b');
    put(D, hx('c00cf151ca5be075ed0ebfb5c80323c42d6b7db67881289af4008f1f6c357aea'));
    expect(label(D, LABEL.quicKey, 16)).toBe('1f369613dd76d5467730efcbe3b1a22d');
    expect(label(D, LABEL.quicIv, 12)).toBe('fa044b2f42a3fd3b46fb255c');
    expect(label(D, LABEL.quicHp, 16)).toBe('9f50449e04a0e810283a1e9933adedd2');
  });

  it('derives RFC 9369 A.1 (v2)', () => {
    initialSecret('0dede3def700a6db819381be6e269dcbf9bd2ed9');
    expect(label(C, LABEL.clientIn, 32)).toBe('14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b');
    put(D, hx('14ec9d6eb9fd7af83bf5a668bc17a7e283766aade7ecd0891f70f9ff7f4bf47b'));
    expect(label(D, LABEL.v2Key, 16)).toBe('8b1a0bc121284290a29e0971b5cd045d');
    expect(label(D, LABEL.v2Iv, 12)).toBe('91f73e2351d8fa91660e909f');
    expect(label(D, LABEL.v2Hp, 16)).toBe('45b95e15235d6f45a6b19cbcb0294ba9');
  });
});

describe('AES-128 (FIPS 197)', () => {
  const aes = (key: string, pt: string) => {
    put(A, hx(key));
    put(B, hx(pt));
    h.aesEncrypt(A, B, OUT);
    return get(OUT, 16);
  };

  it('gives FIPS 197 Appendix B and C.1', () => {
    expect(aes('2b7e151628aed2a6abf7158809cf4f3c', '3243f6a8885a308d313198a2e0370734')).toBe('3925841d02dc09fbdc118597196a0b32');
    expect(aes('000102030405060708090a0b0c0d0e0f', '00112233445566778899aabbccddeeff')).toBe('69c4e0d86a7b0430d8cdb78070b4c55a');
  });

  it('gives the header-protection masks of RFC 9001 A.2 and RFC 9369 A.2', () => {
    expect(aes('9f50449e04a0e810283a1e9933adedd2', 'd1b1c98dd7689fb8ec11d242b123dc9b').slice(0, 10)).toBe('437b9aec36');
    expect(aes('45b95e15235d6f45a6b19cbcb0294ba9', 'ffe67b6abcdb4298b485dd04de806071').slice(0, 10)).toBe('94a0c95e80');
  });

  it('agrees with node:crypto AES-128-ECB on random keys and blocks', () => {
    const rnd = mulberry32(0x5eed_ae5);
    for (let i = 0; i < 500; i++) {
      const key = randomBytes(rnd, 16);
      const pt = randomBytes(rnd, 16);
      const want = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false).update(pt).toString('hex');
      expect(aes(Buffer.from(key).toString('hex'), Buffer.from(pt).toString('hex'))).toBe(want);
    }
  });
});

describe('AES-128-GCM decryption (SP 800-38D)', () => {
  /** Opens ct ‖ tag; the plaintext, or null when the tag does not verify. */
  const open = (key: Uint8Array, iv: Uint8Array, aad: Uint8Array, ctTag: Uint8Array): string | null => {
    put(A, key);
    put(B, iv);
    put(C, aad);
    put(D, ctTag);
    const ok = h.gcmOpen(A, B, C, aad.length, D, ctTag.length - 16, OUT);
    return ok ? get(OUT, ctTag.length - 16) : null;
  };
  const K3 = hx('feffe9928665731c6d6a8f9467308308');
  const IV3 = hx('cafebabefacedbaddecaf888');
  const P3 = 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
  const C3 = '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985';

  it('opens the GCM test cases 1-4 and refuses them with any tag bit changed', () => {
    const cases = [
      { key: Buffer.alloc(16), iv: Buffer.alloc(12), aad: '', ct: '', tag: '58e2fccefa7e3061367f1d57a4e7455a', pt: '' },
      { key: Buffer.alloc(16), iv: Buffer.alloc(12), aad: '', ct: '0388dace60b6a392f328c2b971b2fe78', tag: 'ab6e47d42cec13bdf53a67b21257bddf', pt: '00000000000000000000000000000000' },
      { key: K3, iv: IV3, aad: '', ct: C3, tag: '4d5c2af327cd64a62cf35abd2ba6fab4', pt: P3 },
      { key: K3, iv: IV3, aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2', ct: C3.slice(0, 120), tag: '5bc94fbc3221a5db94fae95ae7121a47', pt: P3.slice(0, 120) },
    ];
    for (const [i, c] of cases.entries()) {
      const ctTag = hx(c.ct + c.tag);
      expect(open(c.key, c.iv, hx(c.aad), ctTag), `case ${i + 1}`).toBe(c.pt);
      for (let bit = 0; bit < 128; bit += 9) {
        const bad = Buffer.from(ctTag);
        bad[bad.length - 16 + (bit >> 3)]! ^= 1 << (bit & 7);
        expect(open(c.key, c.iv, hx(c.aad), bad), `case ${i + 1} tag bit ${bit}`).toBeNull();
      }
    }
  });

  it('agrees with node:crypto on random keys, nonces, associated data and lengths, and refuses any changed byte', () => {
    const rnd = mulberry32(0x5eed_6c3);
    for (let i = 0; i < 300; i++) {
      const key = randomBytes(rnd, 16);
      const iv = randomBytes(rnd, 12);
      const aad = randomBytes(rnd, Math.floor(rnd() * 70));
      const pt = randomBytes(rnd, Math.floor(rnd() * 1300));
      const c = createCipheriv('aes-128-gcm', key, iv);
      c.setAAD(aad);
      const ctTag = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]);
      expect(open(key, iv, aad, ctTag), `run ${i}`).toBe(Buffer.from(pt).toString('hex'));
      const at = Math.floor(rnd() * ctTag.length);
      const bad = Buffer.from(ctTag);
      bad[at]! ^= 1 + Math.floor(rnd() * 255);
      expect(open(key, iv, aad, bad), `run ${i}, byte ${at} changed`).toBeNull();
      if (aad.length) {
        const badAad = Buffer.from(aad);
        badAad[0]! ^= 0x80;
        expect(open(key, iv, badAad, ctTag), `run ${i}, aad changed`).toBeNull();
      }
    }
  });
});
