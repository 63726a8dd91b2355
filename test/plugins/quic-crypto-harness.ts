// AssemblyScript side of test/plugins/quic-crypto.test.ts: the QUIC detector's own SHA-256, HMAC,
// HKDF, AES-128 and AES-128-GCM behind thin exports, so the test can run them on the standard
// vectors (FIPS 180-4 / RFC 4231 / RFC 5869 / FIPS 197 / SP 800-38D test cases, RFC 9001 and
// RFC 9369 Appendix A). Compiled by the test with the detectors' options, not shipped.

import * as sha from "../../plugins/quic/sha256";
import { expandKey, encryptBlock, ROUND_KEY_BYTES } from "../../plugins/quic/aes";
import * as gcm from "../../plugins/quic/gcm";

/** Scratch the test writes inputs to and reads outputs from. */
const BUF: usize = memory.data(32768, 16);
const RK: usize = memory.data(ROUND_KEY_BYTES, 16);
const HK: usize = memory.data(sha.HMAC_KEY, 16);

export function buf(): usize { return BUF; }

export function sha256(p: usize, n: i32, out: usize): void {
  sha.init();
  sha.update(p, n);
  sha.finish(out);
}

/** The same message fed in pieces of `step` bytes (exercises the partial-block path). */
export function sha256Steps(p: usize, n: i32, step: i32, out: usize): void {
  sha.init();
  for (let i = 0; i < n; i += step) sha.update(p + <usize>i, min(step, n - i));
  sha.finish(out);
}

export function hmac(key: usize, keyLen: i32, msg: usize, msgLen: i32, out: usize): void {
  sha.hmacKey(key, keyLen, HK);
  sha.hmac(HK, msg, msgLen, out);
}

export function hkdfExtract(salt: usize, saltLen: i32, ikm: usize, ikmLen: i32, out: usize): void {
  sha.hmacKey(salt, saltLen, HK);
  sha.hkdfExtract(HK, ikm, ikmLen, out);
}

/** Expand-Label with one of QUIC's labels (by number: the harness cannot take strings). */
export function expandLabel(secret: usize, label: i32, n: i32, out: usize): void {
  const labels = ["client in", "server in", "quic key", "quic iv", "quic hp", "quicv2 key", "quicv2 iv", "quicv2 hp"];
  sha.hmacKey(secret, 32, HK);
  sha.expandLabel(HK, labels[label], n, out);
}

export function aesEncrypt(key: usize, src: usize, dst: usize): void {
  expandKey(key, RK);
  encryptBlock(RK, src, dst);
}

export function gcmOpen(key: usize, nonce: usize, aad: usize, aadLen: i32, ct: usize, ctLen: i32, out: usize): bool {
  gcm.setKey(key);
  return gcm.open(nonce, aad, aadLen, ct, ctLen, out);
}
