// WIREGUARD detector: verdict only. The wire format is initiation.ts.
//
// No keys: an initiation names its peer only inside the encrypted static key, and the sender index
// is random; route the section by its CATCHALL rule.

import { Window, Verdict, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status } from "./initiation";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  return match();
}
