// TINC detector: verdict and keys. The wire format is id.ts.

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, id } from "./id";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // The node name is letters, digits and '_' (id.ts), always a usable key.
  keys.add("NAME").bytes(w, id.nameOff, id.nameLen);
  return match();
}
