// Detector ABI v1, module side: every name and number of the contract lives here and only here.
// The host side is host/plugin/abi.ts; the two files must agree (names, numbers, bit layout).
// Authors never import this file: `passthru plugin build` compiles a generated entry that
// re-exports the glue below and wraps the author's `detect(w: Window): Verdict` as
// `detect(len, eof)` (host/plugin/build.ts, `entrySource`).

export const ABI_VERSION: i32 = 1;

/** Verdict codes in bits 0–7 of detect()'s result (host: `Verdict`). */
export enum VerdictCode {
  NEED_MORE = 0,
  MATCH = 1,
  NO_MATCH = 2,
}

export const VERDICT_MASK: i32 = 0xff;
/** The key length in bytes sits in bits 8–23 of detect()'s result. */
export const KEY_LEN_SHIFT: i32 = 8;
export const KEY_LEN_MASK: i32 = 0xffff;
/** Keys are UTF-8, several separated by this byte, most specific first. */
export const KEY_SEPARATOR: u8 = 0x0a;

/**
 * Bytes of the window a detector can see. The host's default window is 16 KiB, and a detector
 * must decide within it, so a bigger buffer would only hold bytes no default host ever sends.
 */
export const INPUT_CAP: i32 = 16384;

/**
 * Bytes of keys per verdict. The largest key the bundled detectors produce is a DNS name
 * (253 bytes) or an ALPN id (255 bytes) behind a short name; two of them with their prefixes and
 * separator stay under 530 bytes, so 1 KiB leaves room for a detector reporting a few more keys
 * while staying far below the 16-bit length field of the result.
 */
export const KEY_CAP: i32 = 1024;

/** Where the host writes the window: module-owned, zero-filled static memory. */
export const INPUT_PTR: usize = memory.data(INPUT_CAP, 16);
/** Where the detector writes its keys before returning MATCH. */
export const KEY_PTR: usize = memory.data(KEY_CAP, 16);

/** Marks the module as built against ABI v1; the host checks it is exported and never calls it. */
export function passthru_abi_v1(): void {}

export function input_ptr(): i32 {
  return <i32>INPUT_PTR;
}

export function input_cap(): i32 {
  return INPUT_CAP;
}

export function key_ptr(): i32 {
  return <i32>KEY_PTR;
}

/** Packs a verdict and a key length into detect()'s result. */
// @ts-ignore: decorator
@inline
export function packResult(verdict: VerdictCode, keyLen: i32): i32 {
  return (<i32>verdict & VERDICT_MASK) | ((keyLen & KEY_LEN_MASK) << KEY_LEN_SHIFT);
}
