// GIT detector: verdict and keys. The wire format is request.ts.

import { Bytes, Window, Verdict, keys, match, noMatch, incomplete, isDnsName } from "passthru-mux/sdk";
import { parse, Status, path, host, hasHost } from "./request";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // HOST only for a name a hostname rule can be written for (an IPv6 literal goes to CATCHALL);
  // the port is the one the client dialled, which is this listener's anyway.
  if (hasHost && isDnsName(host, 0, host.len)) keys.add("HOST").lower(host, 0, host.len);
  if (visible(path)) keys.add("REPO").bytes(path, 0, path.len);
  return match();
}

/** Printable ASCII without spaces: a key must not hold a separator, and REPO rules are paths. */
function visible(v: Bytes): bool {
  return v.len > 0 && v.allIn(0, v.len, 0x21, 0x7e);
}
