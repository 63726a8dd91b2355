// ADB detector: verdict only. The wire format is cnxn.ts.
//
// No keys: a CNXN names the host's system type and features, nothing a route would be chosen by
// (the device serial a host wants is in the address it dials, not in the message).

import { Window, Verdict, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status } from "./cnxn";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  return match();
}
