// TLS detector: verdict and keys. The wire format is clienthello.ts; what this file adds is
// policy: which names are worth a key, and how parse states map to verdicts.

import { Window, Verdict, keys, match, noMatch, incomplete, isDnsName } from "passthru-mux/sdk";
import { parse, Status, Field, hello } from "./clienthello";

/** Printable ASCII without space: a space would split the rule key, a control byte could forge a `\n` separator. */
const VISIBLE_MIN: i32 = 0x21;
const VISIBLE_MAX: i32 = 0x7e;

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch(); // INVALID, or TOO_LARGE for the window

  const b = hello.body;
  // `SNI ` (empty) means "no server_name extension"; an unusable or implausible name gets no SNI
  // key at all, so that only ALPN and CATCHALL rules can apply (DESIGN.md, "Invalid names").
  if (hello.sni == Field.ABSENT) {
    keys.add("SNI");
  } else if (hello.sni == Field.PRESENT && isDnsName(b, hello.sniOff, hello.sniLen)) {
    keys.add("SNI").lower(b, hello.sniOff, hello.sniLen);
  }
  // ALPN ids are opaque bytes; rules compare them exactly, so only visible ASCII becomes a key.
  if (hello.alpn == Field.ABSENT) {
    keys.add("ALPN");
  } else if (hello.alpn == Field.PRESENT && b.allIn(hello.alpnOff, hello.alpnLen, VISIBLE_MIN, VISIBLE_MAX)) {
    keys.add("ALPN").bytes(b, hello.alpnOff, hello.alpnLen);
  }
  return match();
}
