// RDP detector: verdict and keys. The wire format is connreq.ts.

import { Window, Verdict, Prefix, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, req } from "./connreq";

/** The cookie mstsc and FreeRDP send with the user name ([MS-RDPBCGR] 2.2.1.1, cookie). */
const MSTSHASH = "Cookie: mstshash=";
/** Printable ASCII including space: a key value may hold spaces (the host splits at the first one only), never a control byte that could forge a separator. */
const TEXT_MIN: i32 = 0x20;
const TEXT_MAX: i32 = 0x7e;

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // No line at all: `COOKIE ` (empty), as TLS's `SNI ` means "no server_name". A line with bytes
  // a rule could not be written for is still RDP: MATCH without its key.
  if (req.lineLen < 0) {
    keys.add("COOKIE");
  } else if (w.allIn(req.lineOff, req.lineLen, TEXT_MIN, TEXT_MAX)) {
    if (w.startsWith(req.lineOff, MSTSHASH) == Prefix.EQUAL && req.lineLen >= MSTSHASH.length) {
      keys.add("COOKIE").bytes(w, req.lineOff + MSTSHASH.length, req.lineLen - MSTSHASH.length);
    } else {
      // Any other line is a routing token: `Cookie: msts=…` from a broker, or what a client was
      // given as load-balance info (FreeRDP sends that as is). The whole line is the key.
      keys.add("TOKEN").bytes(w, req.lineOff, req.lineLen);
    }
  }
  return match();
}
