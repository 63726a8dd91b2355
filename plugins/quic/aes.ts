// AES-128 encryption (FIPS 197), the only direction QUIC's Initial protection needs: header
// protection is AES-ECB of a 16-byte sample (RFC 9001 §5.4.3) and AES-GCM decrypts by running the
// block cipher forwards in counter mode. Written here because an ABI v1 detector has no imports.
//
// Round function as four table lookups per column (FIPS 197 §5.1 SubBytes, ShiftRows and
// MixColumns folded into four 256-entry tables of 32-bit words, one per row): the fuel meter
// charges per wasm instruction, and this is the fewest for a software AES. Each lookup is one
// load whose table address is the load's constant offset and whose index is masked already
// scaled by 4 (`(w >>> 14) & 0x3fc`), so a column costs about 30 instructions. The S-box is
// computed at start from its definition (§5.1.1: multiplicative inverse in GF(2^8), then the affine
// transform) rather than typed in; the FIPS 197 Appendix C vectors in test/plugins/quic-crypto.test.ts
// check the result.

/** The S-box (256 bytes), and T0[x] = (2·S[x], S[x], S[x], 3·S[x]) as a big-endian word; T1-T3 are T0 rotated right by 8, 16, 24 bits. */
const SBOX: usize = memory.data(256, 16);
const T0: usize = memory.data(256 * 4 * 4, 16);
const T1: usize = T0 + 1024;
const T2: usize = T0 + 2048;
const T3: usize = T0 + 3072;

export const ROUND_KEY_BYTES: i32 = 44 * 4;

/** xtime (FIPS 197 §4.2.1): multiplication by x in GF(2^8) modulo x^8 + x^4 + x^3 + x + 1. */
// @ts-ignore: decorator
@inline
function xtime(b: u32): u32 {
  return ((b << 1) ^ (b & 0x80 ? 0x1b : 0)) & 0xff;
}

function initTables(): void {
  // Powers of the generator 3 enumerate GF(2^8)*: EXP[i] = 3^i, LOG its inverse; then
  // inverse(x) = 3^(255 - log x). Both live in T3's space until the T-tables are filled: the
  // module's memory is one 64 KiB page, and 512 bytes are what it lacked.
  const EXP = T3;
  const LOG = T3 + 256;
  let p: u32 = 1;
  for (let i = 0; i < 255; i++) {
    store<u8>(EXP + <usize>i, <u8>p);
    store<u8>(LOG + <usize>p, <u8>i);
    p ^= xtime(p); // p·3 = p·2 ⊕ p
  }
  for (let x = 0; x < 256; x++) {
    const inv: u32 = x == 0 ? 0 : <u32>load<u8>(EXP + <usize>((255 - <i32>load<u8>(LOG + <usize>x)) % 255));
    // Affine transform: b ⊕ rotl(b,1) ⊕ rotl(b,2) ⊕ rotl(b,3) ⊕ rotl(b,4) ⊕ 0x63, on 8 bits.
    let s = inv;
    let r = inv;
    for (let k = 0; k < 4; k++) {
      r = ((r << 1) | (r >> 7)) & 0xff;
      s ^= r;
    }
    store<u8>(SBOX + <usize>x, <u8>(s ^ 0x63));
  }
  for (let x = 0; x < 256; x++) {
    const s = <u32>load<u8>(SBOX + <usize>x);
    const t0 = (xtime(s) << 24) | (s << 16) | (s << 8) | (xtime(s) ^ s);
    store<u32>(T0 + (<usize>x << 2), t0);
    store<u32>(T1 + (<usize>x << 2), rotr<u32>(t0, 8));
    store<u32>(T2 + (<usize>x << 2), rotr<u32>(t0, 16));
    store<u32>(T3 + (<usize>x << 2), rotr<u32>(t0, 24));
  }
}
initTables();

// @ts-ignore: decorator
@inline
function sub(w: u32): u32 {
  return (
    (<u32>load<u8>(SBOX + <usize>(w >>> 24)) << 24) |
    (<u32>load<u8>(SBOX + <usize>((w >>> 16) & 0xff)) << 16) |
    (<u32>load<u8>(SBOX + <usize>((w >>> 8) & 0xff)) << 8) |
    <u32>load<u8>(SBOX + <usize>(w & 0xff))
  );
}

/** Key expansion (FIPS 197 §5.2) of the 16-byte key at `key` into 44 words at `rk`. */
export function expandKey(key: usize, rk: usize): void {
  for (let i = 0; i < 4; i++) store<u32>(rk + (<usize>i << 2), bswap<u32>(load<u32>(key + (<usize>i << 2))));
  let rcon: u32 = 1;
  for (let i = 4; i < 44; i++) {
    let t = load<u32>(rk + (<usize>(i - 1) << 2));
    if ((i & 3) == 0) {
      t = sub(rotl<u32>(t, 8)) ^ (rcon << 24);
      rcon = xtime(rcon);
    }
    store<u32>(rk + (<usize>i << 2), load<u32>(rk + (<usize>(i - 4) << 2)) ^ t);
  }
}

// @ts-ignore: decorator
@inline
function t(a: u32, b: u32, c: u32, d: u32): u32 {
  return (
    load<u32>(<usize>((a >>> 22) & 0x3fc), T0) ^
    load<u32>(<usize>((b >>> 14) & 0x3fc), T1) ^
    load<u32>(<usize>((c >>> 6) & 0x3fc), T2) ^
    load<u32>(<usize>((d << 2) & 0x3fc), T3)
  );
}

// @ts-ignore: decorator
@inline
function last(a: u32, b: u32, c: u32, d: u32): u32 {
  return (
    (<u32>load<u8>(<usize>(a >>> 24), SBOX) << 24) |
    (<u32>load<u8>(<usize>((b >>> 16) & 0xff), SBOX) << 16) |
    (<u32>load<u8>(<usize>((c >>> 8) & 0xff), SBOX) << 8) |
    <u32>load<u8>(<usize>(d & 0xff), SBOX)
  );
}

/** Encrypts the 16 bytes at `src` into `dst` (may be the same) with the round keys at `rk` (FIPS 197 §5.1). */
export function encryptBlock(rk: usize, src: usize, dst: usize): void {
  let s0 = bswap<u32>(load<u32>(src, 0)) ^ load<u32>(rk, 0);
  let s1 = bswap<u32>(load<u32>(src, 4)) ^ load<u32>(rk, 4);
  let s2 = bswap<u32>(load<u32>(src, 8)) ^ load<u32>(rk, 8);
  let s3 = bswap<u32>(load<u32>(src, 12)) ^ load<u32>(rk, 12);
  let k = rk + 16;
  for (let r = 1; r < 10; r++) {
    const u0 = t(s0, s1, s2, s3) ^ load<u32>(k, 0);
    const u1 = t(s1, s2, s3, s0) ^ load<u32>(k, 4);
    const u2 = t(s2, s3, s0, s1) ^ load<u32>(k, 8);
    const u3 = t(s3, s0, s1, s2) ^ load<u32>(k, 12);
    s0 = u0;
    s1 = u1;
    s2 = u2;
    s3 = u3;
    k += 16;
  }
  store<u32>(dst, bswap<u32>(last(s0, s1, s2, s3) ^ load<u32>(k, 0)), 0);
  store<u32>(dst, bswap<u32>(last(s1, s2, s3, s0) ^ load<u32>(k, 4)), 4);
  store<u32>(dst, bswap<u32>(last(s2, s3, s0, s1) ^ load<u32>(k, 8)), 8);
  store<u32>(dst, bswap<u32>(last(s3, s0, s1, s2) ^ load<u32>(k, 12)), 12);
}
