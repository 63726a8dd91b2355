// MINECRAFT detector: verdict and keys. The wire format is handshake.ts.

import { Window, Verdict, keys, match, noMatch, incomplete, isDnsName } from "passthru-mux/sdk";
import { parse, Status, addressOff, addressLen } from "./handshake";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // The host name ends at the first NUL: Forge appends "\0FML\0" (or FML2, FML3), BungeeCord-style
  // IP forwarding "\0client-ip\0uuid…". A trailing dot (an SRV target as resolved) is dropped.
  let n = w.indexOf(0, addressOff, addressOff + addressLen);
  n = n < 0 ? addressLen : n - addressOff;
  if (n > 1 && w.u8(addressOff + n - 1) == 0x2e) n--;
  // HOST only for a name a hostname rule can be written for (an IPv6 literal goes to CATCHALL).
  if (isDnsName(w, addressOff, n)) keys.add("HOST").lower(w, addressOff, n);
  return match();
}
