// SOCKS detector: verdict and keys. The wire format is request.ts.

import { Window, Verdict, keys, match, noMatch, incomplete, isDnsName } from "passthru-mux/sdk";
import { parse, Status, req } from "./request";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  if (req.version == 4) {
    // The destination a SOCKS 4 client asks for: the 4A host name, else DSTIP in dotted form.
    // A 4A name that is no DNS name is still SOCKS, without HOST (as TLS does with odd SNI).
    if (req.hostLen >= 0) {
      if (isDnsName(w, req.hostOff, req.hostLen)) keys.add("HOST").lower(w, req.hostOff, req.hostLen);
    } else {
      const ip = req.ip;
      keys.add("HOST").decimal(ip >>> 24).byte(0x2e).decimal((ip >>> 16) & 0xff).byte(0x2e).decimal((ip >>> 8) & 0xff).byte(0x2e).decimal(ip & 0xff);
    }
    keys.add("VERSION").ascii("4");
  } else {
    keys.add("VERSION").ascii("5");
  }
  return match();
}
