// HPACK Huffman decoding (RFC 7541 §5.2, Appendix B). The code is canonical, so a decoder needs
// only, per code length, how many codes there are and the first one (huffman-table.ts, generated
// from the RFC's table). Bit by bit: slower than a byte-at-a-time state table, but it is 2 KiB
// of tables less, and a detector decodes one short string per connection.

import { Bytes } from "passthru-mux/sdk";
import { HUFF_COUNT, HUFF_FIRST, HUFF_INDEX, HUFF_SYMS, HUFF_MIN_LEN, HUFF_MAX_LEN, HUFF_EOS } from "./huffman-table";

/** Decoding failed: EOS inside the string, a code longer than any, or padding that is not EOS's prefix. */
export const HUFF_INVALID: i32 = -1;
/** The decoded string does not fit the destination. */
export const HUFF_TOO_LONG: i32 = -2;
/** Padding is the most significant bits of EOS, strictly shorter than 8 bits (§5.2). */
const MAX_PADDING: i32 = 7;

/**
 * Decodes the `n` bytes at `off` of `src` into `cap` bytes at `dst`. Returns the decoded length,
 * HUFF_INVALID, or HUFF_TOO_LONG (the input is still checked up to where the room ran out).
 */
export function huffmanDecode(src: Bytes, off: i32, n: i32, dst: usize, cap: i32): i32 {
  if (!src.has(off, n)) return HUFF_INVALID;
  let code: u32 = 0;
  let len: i32 = 0;
  let out: i32 = 0;
  for (let i = 0; i < n; i++) {
    const byte = <u32>load<u8>(src.ptr + <usize>(off + i));
    for (let bit = 7; bit >= 0; bit--) {
      code = (code << 1) | ((byte >> bit) & 1);
      len++;
      if (len < HUFF_MIN_LEN) continue;
      // Canonical order puts every code of this length at or above FIRST[len]: the bits so far
      // are a whole code exactly when they fall within the length's COUNT.
      const first = load<u32>(HUFF_FIRST + (<usize>len << 2));
      const count = <u32>load<u16>(HUFF_COUNT + (<usize>len << 1));
      const k = code - first;
      if (k < count) {
        const sym = <i32>load<u16>(HUFF_SYMS + (<usize>(<i32>load<u16>(HUFF_INDEX + (<usize>len << 1)) + <i32>k) << 1));
        if (sym == HUFF_EOS) return HUFF_INVALID;
        if (out >= cap) return HUFF_TOO_LONG;
        store<u8>(dst + <usize>out, <u8>sym);
        out++;
        code = 0;
        len = 0;
      } else if (len >= HUFF_MAX_LEN) {
        return HUFF_INVALID;
      }
    }
  }
  if (len > MAX_PADDING || code != (<u32>1 << len) - 1) return HUFF_INVALID;
  return out;
}
