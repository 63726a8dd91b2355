// POSTGRES detector: verdict and keys. The wire format is startup.ts.

import { Bytes, Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Message, user, database, application, hasUser, hasDatabase, hasApplication } from "./startup";

export function detect(w: Window): Verdict {
  const m = parse(w);
  if (m == Message.INCOMPLETE) return incomplete(w);
  if (m == Message.INVALID) return noMatch();
  // The three requests carry nothing to route by: flag keys with an empty value, like TLS's `SNI `.
  if (m == Message.SSL_REQUEST) keys.add("SSL");
  else if (m == Message.GSSENC_REQUEST) keys.add("GSSENC");
  else if (m == Message.CANCEL_REQUEST) keys.add("CANCEL");
  else {
    // DATABASE first: it is what names the backend; the server takes the user name for a missing
    // database (libpq always sends one), so the key is the database the connection will use.
    if (hasDatabase) value("DATABASE", database);
    else if (hasUser) value("DATABASE", user);
    if (hasUser) value("USER", user);
    if (hasApplication) value("APPLICATION", application);
  }
  return match();
}

/**
 * A key only for printable ASCII (space included) and not empty: the host takes keys as UTF-8 and
 * a separator byte would split one, and names outside ASCII are rare enough to route by CATCHALL.
 */
function value(key: string, v: Bytes): void {
  if (v.len > 0 && v.allIn(0, v.len, 0x20, 0x7e)) keys.add(key).bytes(v, 0, v.len);
}
