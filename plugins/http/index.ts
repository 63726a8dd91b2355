// HTTP detector: HTTP/1.x (http1.ts) and HTTP/2 with prior knowledge (h2.ts, hpack.ts) behind one
// protocol name, so one HOST rule routes a site whatever version the client speaks, and a
// VERSION rule can still tell them apart. This file is policy: which keys, in which order.

import { Window, Verdict, Prefix, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { Status, HostField, Version, request, resetRequest } from "./request";
import * as http1 from "./http1";
import * as h2 from "./h2";

export function detect(w: Window): Verdict {
  resetRequest();
  const p = h2.prefaceState(w);
  // A window that is a prefix of the preface ("P", "PR", "PRI …") is still undecided.
  const s = p == Prefix.EQUAL ? h2.parse(w) : p == Prefix.PARTIAL ? Status.INCOMPLETE : http1.parse(w);
  // A head that has not ended within the whole window never will: incomplete() says NO_MATCH then.
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();

  // Most specific first: the host, the path, then the version, then the method.
  if (request.host == HostField.ABSENT) {
    keys.add("HOST"); // `HOST ` (empty): the request names no host, like TLS's `SNI `
  } else if (request.host == HostField.PRESENT) {
    keys.add("HOST").lower(request.hostBytes, request.hostOff, request.hostLen);
  }
  if (request.pathIsRoot) {
    keys.add("PATH").ascii("/");
  } else if (request.pathLen > 0) {
    keys.add("PATH").bytes(request.pathBytes, request.pathOff, request.pathLen);
  }
  keys.add("VERSION");
  if (request.version == Version.H2C) keys.ascii("h2c");
  else keys.ascii("http/1.").decimal(request.minor);
  if (request.methodLen > 0) {
    keys.add("METHOD").bytes(request.methodBytes, request.methodOff, request.methodLen);
  }
  return match();
}
