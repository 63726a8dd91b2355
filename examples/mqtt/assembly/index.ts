// MQTT detector: verdict and keys. The wire format is connect.ts.
//
// Keys, most specific first:
//   CLIENT <id>       the client id, when it is visible ASCII (`CLIENT ` when empty)
//   VERSION <v>       3.1, 3.1.1 or 5.0

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, level, clientId } from "./connect";

/** Printable ASCII without space: a space would split the rule key, a control byte could forge a separator. */
const VISIBLE_MIN: i32 = 0x21;
const VISIBLE_MAX: i32 = 0x7e;

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s == Status.INVALID) return noMatch();
  // A client id a rule could not be written for is still MQTT: MATCH without CLIENT.
  if (clientId.allIn(0, clientId.len, VISIBLE_MIN, VISIBLE_MAX)) {
    keys.add("CLIENT").bytes(clientId, 0, clientId.len);
  }
  keys.add("VERSION").ascii(level == 3 ? "3.1" : level == 4 ? "3.1.1" : "5.0");
  return match();
}
