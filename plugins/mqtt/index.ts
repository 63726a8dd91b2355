// MQTT detector: verdict and keys. The wire format is connect.ts.

import { Bytes, Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, clientId, username, hasUsername } from "./connect";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // An empty client id (a 5.0 or clean-session client asking the server to assign one) is the key
  // `CLIENTID `, like TLS's `SNI `: it can be routed too.
  if (clientId.len == 0) keys.add("CLIENTID");
  else value("CLIENTID", clientId);
  if (hasUsername && username.len > 0) value("USERNAME", username);
  return match();
}

/**
 * A key only for printable ASCII (space included): MQTT strings are UTF-8, but the host takes keys
 * as text and a separator byte would split one; other ids go to CATCHALL.
 */
function value(key: string, v: Bytes): void {
  if (v.allIn(0, v.len, 0x20, 0x7e)) keys.add(key).bytes(v, 0, v.len);
}
