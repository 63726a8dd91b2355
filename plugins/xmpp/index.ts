// XMPP detector: verdict and keys. The wire format is stream.ts.

import { Window, Verdict, keys, match, noMatch, incomplete, isDnsName } from "passthru-mux/sdk";
import { parse, Status, header } from "./stream";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // `to` is the domain the client wants service from (RFC 6120 §4.7.2). One that is no DNS name
  // (an entity reference, an IP literal in brackets) is still XMPP, without DOMAIN.
  if (header.toLen >= 0 && isDnsName(w, header.toOff, header.toLen)) keys.add("DOMAIN").lower(w, header.toOff, header.toLen);
  return match();
}
