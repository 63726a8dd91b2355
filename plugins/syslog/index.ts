// SYSLOG detector: verdict and keys. The wire format is header.ts.

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, facility } from "./header";

/**
 * Facility names by code (RFC 5424 §6.2.1, Table 1), as logger(1) and syslog.conf spell them;
 * 12–15 have no name in glibc's syslog.h, so they take the RFC's words (NTP, log audit, log alert,
 * clock daemon). Space-separated: the stub runtime allocates no arrays.
 */
const NAMES = "kern user mail daemon auth syslog lpr news uucp cron authpriv ftp ntp audit alert clock local0 local1 local2 local3 local4 local5 local6 local7 ";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  keys.add("FACILITY");
  // The facility-th name in NAMES (facility is 0–23, checked by header.ts), byte by byte:
  // substring() would allocate on every call.
  let i = 0;
  for (let n = 0; n < facility; i++) if (NAMES.charCodeAt(i) == 0x20) n++;
  for (let c = NAMES.charCodeAt(i); c != 0x20; c = NAMES.charCodeAt(++i)) keys.byte(c);
  return match();
}
