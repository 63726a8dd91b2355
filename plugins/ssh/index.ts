// SSH detector: verdict and keys. The wire format is ident.ts.

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, ident } from "./ident";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // softwareversion is visible ASCII without spaces (ident.ts), so it is always a usable key;
  // empty means the client sent none, like TLS's `SNI `.
  keys.add("SOFTWARE").bytes(w, ident.softOff, ident.softLen);
  return match();
}
