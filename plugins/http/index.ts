// HTTP detector: HTTP/1.x (http1.ts) and HTTP/2 with prior knowledge (h2.ts, hpack.ts) behind one
// protocol name, so one HOST rule routes a site whatever version the client speaks, and a
// VERSION rule can still tell them apart. This file is policy: which keys, in which order.

export { passthru_abi_v1, input_ptr, input_cap, key_ptr } from "../../sdk/assembly/abi";
import { openWindow, keys, match, noMatch, incomplete, Prefix, INPUT_CAP } from "../../sdk/assembly";
import { Status, HostField, Version, request, resetRequest } from "./request";
import * as http1 from "./http1";
import * as h2 from "./h2";

export function detect(len: i32, eof: i32): i32 {
  const w = openWindow(len);
  resetRequest();
  const p = h2.prefaceState(w);
  // A window that is a prefix of the preface ("P", "PR", "PRI …") is still undecided.
  const s = p == Prefix.EQUAL ? h2.parse(w) : p == Prefix.PARTIAL ? Status.INCOMPLETE : http1.parse(w);
  if (s == Status.INCOMPLETE) {
    // A head that has not ended within the whole window never will: not a request we can route.
    return w.len >= INPUT_CAP ? noMatch() : incomplete(eof != 0);
  }
  if (s != Status.COMPLETE) return noMatch();

  // Most specific first: the host, then the version, then the method.
  if (request.host == HostField.ABSENT) {
    keys.begin("HOST"); // `HOST ` (empty): the request names no host, like TLS's `SNI `
    keys.end();
  } else if (request.host == HostField.PRESENT) {
    keys.begin("HOST");
    keys.lower(request.hostBytes, request.hostOff, request.hostLen);
    keys.end();
  }
  keys.begin("VERSION");
  if (request.version == Version.H2C) {
    keys.ascii("h2c");
  } else {
    keys.ascii("http/1.");
    keys.ascii(digit(request.minor));
  }
  keys.end();
  if (request.methodLen > 0) {
    keys.begin("METHOD");
    keys.bytes(request.methodBytes, request.methodOff, request.methodLen);
    keys.end();
  }
  return match(keys.length());
}

/** The minor version is one digit (http1.ts): its text without allocating. */
function digit(d: i32): string {
  switch (d) {
    case 0: return "0";
    case 1: return "1";
    case 2: return "2";
    case 3: return "3";
    case 4: return "4";
    case 5: return "5";
    case 6: return "6";
    case 7: return "7";
    case 8: return "8";
    default: return "9";
  }
}
