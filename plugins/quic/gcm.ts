// AES-128-GCM decryption with tag verification (NIST SP 800-38D §7.2), for QUIC's
// AEAD_AES_128_GCM Initial packets (RFC 9001 §5.3): 96-bit nonce, 16-byte tag. The tag is checked
// before anything is decrypted, so a packet that fails authentication leaves no plaintext behind.
//
// GHASH multiplies in GF(2^128) with Shoup's table method at 8 bits: the 256 multiples of H, then
// per block 16 steps of "shift the accumulator by 8 bits, reduce, add a table entry", a small
// fraction of the bit-by-bit algorithm of SP 800-38D §6.3 (Algorithm 1) in instructions, which is
// what the fuel meter charges (6 KiB of tables; half the steps of the 4-bit variant). Values are
// two u64 halves, `hi` holding bytes 0-7 (GCM's bit 0 is the most significant bit of byte 0).

import { encryptBlock, expandKey, ROUND_KEY_BYTES } from "./aes";

export const TAG: i32 = 16;
export const NONCE: i32 = 12;

const RK: usize = memory.data(ROUND_KEY_BYTES, 16);
/** b·H for the 256 bytes b (bit 0x80 of b is x^0): hi words then lo words. */
const HT_HI: usize = memory.data(256 * 8, 16);
const HT_LO: usize = memory.data(256 * 8, 16);
/**
 * REM[r]: what the 8 bits `r` shifted out of the low end add back at the high end (x^128 = x^7 +
 * x^2 + x + 1, i.e. 0xe1 at the top of `hi` for each bit): the top 16 bits of a `hi` word (the
 * rest is zero), so 2 bytes an entry. Computed at start.
 */
const REM: usize = memory.data(256 * 2, 16);
const J0: usize = memory.data(16, 16);
const CTR: usize = memory.data(16, 16);
const BLK: usize = memory.data(16, 16);
const R: u64 = 0xe100000000000000;

function initRem(): void {
  for (let r = 0; r < 256; r++) {
    let hi: u64 = 0;
    let lo: u64 = <u64>r;
    for (let k = 0; k < 8; k++) {
      const carry = lo & 1;
      lo = (hi << 63) | (lo >> 1);
      hi >>= 1;
      if (carry) hi ^= R;
    }
    store<u16>(REM + (<usize>r << 1), <u16>(hi >> 48));
  }
}
initRem();

let yHi: u64 = 0;
let yLo: u64 = 0;

/** Sets the key: round keys, H = E(K, 0^128), and the multiples of H. */
export function setKey(key: usize): void {
  expandKey(key, RK);
  memory.fill(BLK, 0, 16);
  encryptBlock(RK, BLK, BLK);
  let hi = bswap<u64>(load<u64>(BLK, 0));
  let lo = bswap<u64>(load<u64>(BLK, 8));
  store<u64>(HT_HI, 0, 0);
  store<u64>(HT_LO, 0, 0);
  // 0x80 = x^0·H, 0x40 = x^1·H, …, 0x01 = x^7·H: each a multiplication by x (a right shift, reduced).
  for (let i = 0x80; i > 0; i >>= 1) {
    store<u64>(HT_HI + (<usize>i << 3), hi);
    store<u64>(HT_LO + (<usize>i << 3), lo);
    const carry = lo & 1;
    lo = (hi << 63) | (lo >> 1);
    hi >>= 1;
    if (carry) hi ^= R;
  }
  // The rest by linearity: (i + j)·H = i·H ⊕ j·H for i a power of two and j < i.
  for (let i = 2; i < 256; i <<= 1) {
    for (let j = 1; j < i; j++) {
      store<u64>(HT_HI + (<usize>(i + j) << 3), load<u64>(HT_HI + (<usize>i << 3)) ^ load<u64>(HT_HI + (<usize>j << 3)));
      store<u64>(HT_LO + (<usize>(i + j) << 3), load<u64>(HT_LO + (<usize>i << 3)) ^ load<u64>(HT_LO + (<usize>j << 3)));
    }
  }
}

/** Y = (Y ⊕ X)·H for the 16-byte block at `p` (SP 800-38D §6.4). */
function ghashBlock(p: usize): void {
  const xHi = yHi ^ bswap<u64>(load<u64>(p, 0));
  const xLo = yLo ^ bswap<u64>(load<u64>(p, 8));
  // Horner over the 16 bytes from the last (highest degree) to the first: Z = Z·x^8 ⊕ X_i·H.
  let b = <usize>(xLo & 0xff) << 3;
  let zHi = load<u64>(HT_HI + b);
  let zLo = load<u64>(HT_LO + b);
  for (let i: u64 = 8; i < 128; i += 8) {
    b = <usize>((i < 64 ? xLo >> i : xHi >> (i - 64)) & 0xff) << 3;
    const rem = <usize>(zLo & 0xff) << 1;
    zLo = (zHi << 56) | (zLo >> 8);
    zHi = (zHi >> 8) ^ (<u64>load<u16>(REM + rem) << 48) ^ load<u64>(HT_HI + b);
    zLo ^= load<u64>(HT_LO + b);
  }
  yHi = zHi;
  yLo = zLo;
}

/** GHASH over `n` bytes at `p`, the last block zero-padded. */
function ghash(p: usize, n: i32): void {
  let i = 0;
  for (; i + 16 <= n; i += 16) ghashBlock(p + <usize>i);
  if (i < n) {
    memory.fill(BLK, 0, 16);
    memory.copy(BLK, p + <usize>i, <usize>(n - i));
    ghashBlock(BLK);
  }
}

/**
 * Authenticates and decrypts: `ctLen` bytes of ciphertext at `ct` followed by the 16-byte tag, with
 * `aadLen` bytes of associated data at `aad`, under the key given to setKey and the 12-byte nonce
 * at `nonce`. On success writes the plaintext to `out` (which may be `ct`) and returns true; on a
 * tag mismatch writes nothing and returns false.
 */
export function open(nonce: usize, aad: usize, aadLen: i32, ct: usize, ctLen: i32, out: usize): bool {
  // J0 = IV ‖ 0^31 ‖ 1 for a 96-bit IV (§7.2 step 2).
  memory.copy(J0, nonce, NONCE);
  store<u32>(J0, bswap<u32>(1), 12);
  yHi = 0;
  yLo = 0;
  ghash(aad, aadLen);
  ghash(ct, ctLen);
  // The length block: len(A) ‖ len(C) in bits, 64 bits each.
  store<u64>(BLK, bswap<u64>(<u64>aadLen << 3), 0);
  store<u64>(BLK, bswap<u64>(<u64>ctLen << 3), 8);
  ghashBlock(BLK);
  // T = E(K, J0) ⊕ S, compared in full (no early exit: the bytes are the sender's, but it costs nothing).
  encryptBlock(RK, J0, BLK);
  const tag = ct + <usize>ctLen;
  const d =
    (load<u64>(BLK, 0) ^ bswap<u64>(yHi) ^ load<u64>(tag, 0)) |
    (load<u64>(BLK, 8) ^ bswap<u64>(yLo) ^ load<u64>(tag, 8));
  if (d != 0) return false;
  // GCTR from inc32(J0) (§7.2 step 3 of decryption).
  memory.copy(CTR, J0, 16);
  let counter: u32 = 1;
  for (let i = 0; i < ctLen; i += 16) {
    counter++;
    store<u32>(CTR, bswap<u32>(counter), 12);
    encryptBlock(RK, CTR, BLK);
    const n = min(16, ctLen - i);
    if (n == 16) {
      store<u64>(out + <usize>i, load<u64>(ct + <usize>i) ^ load<u64>(BLK, 0));
      store<u64>(out + <usize>i, load<u64>(ct + <usize>i, 8) ^ load<u64>(BLK, 8), 8);
    } else {
      for (let k = 0; k < n; k++) store<u8>(out + <usize>(i + k), load<u8>(ct + <usize>(i + k)) ^ load<u8>(BLK + <usize>k));
    }
  }
  return true;
}
