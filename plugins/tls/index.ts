// TLS detector: ABI glue, verdict and keys. The wire format is clienthello.ts; what this file adds
// is policy: which names are worth a key, and how parse states map to verdicts.

export { passthru_abi_v1, input_ptr, input_cap, key_ptr } from "../../sdk/assembly/abi";
import { Bytes, openWindow, keys, match, noMatch, incomplete } from "../../sdk/assembly";
import { parse, Status, Field, hello } from "./clienthello";

/** Longest DNS name in text form: 255 wire octets (RFC 1035 §3.1) minus the length bytes. */
const MAX_DNS_NAME: i32 = 253;
/** Longest DNS label (RFC 1035 §2.3.4). */
const MAX_LABEL: i32 = 63;
/** Printable ASCII without space: a space would split the rule key, a control byte could forge a `\n` separator. */
const VISIBLE_MIN: i32 = 0x21;
const VISIBLE_MAX: i32 = 0x7e;

export function detect(len: i32, eof: i32): i32 {
  const w = openWindow(len);
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(eof != 0);
  if (s != Status.COMPLETE) return noMatch(); // INVALID, or TOO_LARGE for the window

  const b = hello.body;
  // `SNI ` (empty) means "no server_name extension"; an unusable or implausible name gets no SNI
  // key at all, so that only ALPN and CATCHALL rules can apply (DESIGN.md, "Invalid names").
  if (hello.sni == Field.ABSENT) {
    keys.begin("SNI");
    keys.end();
  } else if (hello.sni == Field.PRESENT && isPlausibleDnsName(b, hello.sniOff, hello.sniLen)) {
    keys.begin("SNI");
    keys.lower(b, hello.sniOff, hello.sniLen);
    keys.end();
  }
  // ALPN ids are opaque bytes; rules compare them exactly, so only visible ASCII becomes a key.
  if (hello.alpn == Field.ABSENT) {
    keys.begin("ALPN");
    keys.end();
  } else if (hello.alpn == Field.PRESENT && b.allIn(hello.alpnOff, hello.alpnLen, VISIBLE_MIN, VISIBLE_MAX)) {
    keys.begin("ALPN");
    keys.bytes(b, hello.alpnOff, hello.alpnLen);
    keys.end();
  }
  return match(keys.length());
}

/**
 * Letters, digits, `-` and `_` (seen in real host names) in dot-separated labels of 1–63 bytes,
 * at most 253 bytes, one trailing dot allowed (the host strips it when comparing). IDNs travel as
 * A-labels (`xn--…`), so nothing else is a name a rule could be written for.
 */
function isPlausibleDnsName(b: Bytes, off: i32, len: i32): bool {
  let n = len;
  if (n > 0 && b.u8(off + n - 1) == 0x2e) n--; // one trailing dot
  if (n < 1 || n > MAX_DNS_NAME) return false;
  let label = 0;
  for (let i = 0; i < n; i++) {
    const c = b.u8(off + i);
    if (c == 0x2e) {
      if (label == 0) return false;
      label = 0;
      continue;
    }
    const isAlpha = (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7a;
    const isDigit = c >= 0x30 && c <= 0x39;
    if (!(isAlpha || isDigit || c == 0x2d || c == 0x5f)) return false;
    if (++label > MAX_LABEL) return false;
  }
  return label > 0;
}
