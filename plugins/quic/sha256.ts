// SHA-256 (FIPS 180-4 §6.2), HMAC-SHA256 (RFC 2104) and HKDF-SHA256 (RFC 5869), written here
// because an ABI v1 detector has no imports: the host's crypto cannot be reached from the sandbox.
// What QUIC needs of them is small: HKDF-Extract of a connection ID and HKDF-Expand-Label of at
// most 32 bytes (one HMAC block of output), so the API is raw pointers into static memory, with
// inputs bounded by the callers (labels, 20-byte connection IDs, 32-byte secrets). Nothing here
// allocates; the state lives in static buffers.
//
// The fuel meter charges per wasm instruction and every detect() call derives the keys again, so
// HMAC keeps the hash states after the key's inner and outer pad blocks (RFC 2104 §4 notes this):
// the three Expand-Labels under one secret then cost two compressions each instead of four, and
// the Initial salts' states are computed once at start.

/** FIPS 180-4 §4.2.2: the first 32 bits of the fractional parts of the cube roots of the first 64 primes. */
const K: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

/** FIPS 180-4 §5.3.3: the first 32 bits of the fractional parts of the square roots of the first 8 primes. */
const H0: StaticArray<u32> = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];

export const BLOCK: i32 = 64;
export const DIGEST: i32 = 32;

/** Hash state (8 words) of the message in progress, its partial block, the message schedule (64 words). */
const STATE: usize = memory.data(32, 16);
const BUF: usize = memory.data(BLOCK, 16);
const W: usize = memory.data(64 * 4, 16);
let bufLen: i32 = 0;
/** Message length in bytes so far (a u64 in the padding; QUIC's inputs are far below 2^32). */
let total: i64 = 0;

/** Starts a message. */
export function init(): void {
  for (let i = 0; i < 8; i++) store<u32>(STATE + (<usize>i << 2), unchecked(H0[i]));
  bufLen = 0;
  total = 0;
}

/** Starts a message whose first block (64 bytes) was compressed into the state at `from` already. */
function resume(from: usize): void {
  memory.copy(STATE, from, 32);
  bufLen = 0;
  total = BLOCK;
}

/** Appends `n` bytes at `p`. */
export function update(p: usize, n: i32): void {
  total += n;
  let i = 0;
  if (bufLen > 0) {
    const take = min(n, BLOCK - bufLen);
    memory.copy(BUF + <usize>bufLen, p, <usize>take);
    bufLen += take;
    i = take;
    if (bufLen < BLOCK) return;
    compress(STATE, BUF);
    bufLen = 0;
  }
  while (n - i >= BLOCK) {
    compress(STATE, p + <usize>i);
    i += BLOCK;
  }
  if (i < n) {
    memory.copy(BUF, p + <usize>i, <usize>(n - i));
    bufLen = n - i;
  }
}

/** Pads (FIPS 180-4 §5.1.1) and writes the 32-byte digest to `out`. */
export function finish(out: usize): void {
  const bits = total << 3;
  store<u8>(BUF + <usize>bufLen, 0x80);
  bufLen++;
  if (bufLen > BLOCK - 8) {
    memory.fill(BUF + <usize>bufLen, 0, <usize>(BLOCK - bufLen));
    compress(STATE, BUF);
    bufLen = 0;
  }
  memory.fill(BUF + <usize>bufLen, 0, <usize>(BLOCK - 8 - bufLen));
  store<u64>(BUF, bswap<u64>(<u64>bits), BLOCK - 8);
  compress(STATE, BUF);
  for (let i = 0; i < 8; i++) store<u32>(out + (<usize>i << 2), bswap<u32>(load<u32>(STATE + (<usize>i << 2))));
}

/** One block (FIPS 180-4 §6.2.2) at `p` into the state at `st`. */
function compress(st: usize, p: usize): void {
  for (let t = 0; t < 16; t++) store<u32>(W + (<usize>t << 2), bswap<u32>(load<u32>(p + (<usize>t << 2))));
  for (let q = W + 64; q < W + 256; q += 4) {
    const w15 = load<u32>(q - 60);
    const w2 = load<u32>(q - 8);
    const s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    const s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(q, load<u32>(q - 64) + s0 + load<u32>(q - 28) + s1);
  }
  let a = load<u32>(st, 0);
  let b = load<u32>(st, 4);
  let c = load<u32>(st, 8);
  let d = load<u32>(st, 12);
  let e = load<u32>(st, 16);
  let f = load<u32>(st, 20);
  let g = load<u32>(st, 24);
  let h = load<u32>(st, 28);
  const k = changetype<usize>(K);
  for (let t: usize = 0; t < 256; t += 4) {
    const t1 = h + (rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25)) + ((e & f) ^ (~e & g)) + load<u32>(k + t) + load<u32>(W + t);
    const t2 = (rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    h = g;
    g = f;
    f = e;
    e = d + t1;
    d = c;
    c = b;
    b = a;
    a = t1 + t2;
  }
  store<u32>(st, load<u32>(st, 0) + a, 0);
  store<u32>(st, load<u32>(st, 4) + b, 4);
  store<u32>(st, load<u32>(st, 8) + c, 8);
  store<u32>(st, load<u32>(st, 12) + d, 12);
  store<u32>(st, load<u32>(st, 16) + e, 16);
  store<u32>(st, load<u32>(st, 20) + f, 20);
  store<u32>(st, load<u32>(st, 24) + g, 24);
  store<u32>(st, load<u32>(st, 28) + h, 28);
}

/** An HMAC key as the two hash states after its inner and outer pad blocks: 64 bytes (RFC 2104 §4). */
export const HMAC_KEY: i32 = 64;
const PAD: usize = memory.data(BLOCK, 16);
const INNER: usize = memory.data(DIGEST, 16);

/** Prepares the `keyLen`-byte HMAC-SHA256 key at `key` (RFC 2104 §2) into the 64 bytes at `hk`. */
export function hmacKey(key: usize, keyLen: i32, hk: usize): void {
  memory.fill(PAD, 0, BLOCK);
  if (keyLen > BLOCK) {
    init();
    update(key, keyLen);
    finish(PAD);
  } else {
    memory.copy(PAD, key, <usize>keyLen);
  }
  for (let i = 0; i < BLOCK; i += 8) store<u64>(PAD + <usize>i, load<u64>(PAD + <usize>i) ^ 0x3636363636363636);
  init();
  compress(STATE, PAD);
  memory.copy(hk, STATE, 32);
  for (let i = 0; i < BLOCK; i += 8) store<u64>(PAD + <usize>i, load<u64>(PAD + <usize>i) ^ (0x3636363636363636 ^ 0x5c5c5c5c5c5c5c5c));
  init();
  compress(STATE, PAD);
  memory.copy(hk + 32, STATE, 32);
}

/** HMAC-SHA256 of the `n` bytes at `msg` under the prepared key `hk`, 32 bytes to `out`. */
export function hmac(hk: usize, msg: usize, n: i32, out: usize): void {
  resume(hk);
  update(msg, n);
  finish(INNER);
  resume(hk + 32);
  update(INNER, DIGEST);
  finish(out);
}

/** HKDF-Extract (RFC 5869 §2.2): PRK = HMAC(salt, ikm), with the salt prepared by hmacKey; 32 bytes to `out`. */
export function hkdfExtract(salt: usize, ikm: usize, ikmLen: i32, out: usize): void {
  hmac(salt, ikm, ikmLen, out);
}

/** HkdfLabel: u16 length ‖ u8 label length ‖ "tls13 " ‖ label ‖ u8 0 (empty context) ‖ 0x01 (T(1)'s counter). */
const INFO: usize = memory.data(2 + 1 + 255 + 1 + 1, 16);
const EXPANDED: usize = memory.data(DIGEST, 16);
const TLS13: string = "tls13 ";

/**
 * HKDF-Expand-Label (RFC 8446 §7.1) with an empty context, as QUIC's Initial keys use it
 * (RFC 9001 §5.1): HKDF-Expand(secret, HkdfLabel, n), the secret prepared by hmacKey. `n` ≤ 32:
 * one output block, T(1) = HMAC(secret, HkdfLabel ‖ 0x01) (RFC 5869 §2.3).
 */
export function expandLabel(hk: usize, label: string, n: i32, out: usize): void {
  store<u8>(INFO, <u8>(n >> 8));
  store<u8>(INFO, <u8>n, 1);
  store<u8>(INFO, <u8>(TLS13.length + label.length), 2);
  let p = INFO + 3;
  for (let i = 0; i < TLS13.length; i++) store<u8>(p++, <u8>TLS13.charCodeAt(i));
  for (let i = 0; i < label.length; i++) store<u8>(p++, <u8>label.charCodeAt(i));
  store<u8>(p++, 0);
  store<u8>(p++, 1);
  hmac(hk, INFO, <i32>(p - INFO), EXPANDED);
  memory.copy(out, EXPANDED, <usize>n);
}
