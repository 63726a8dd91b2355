// QUIC detector: verdict and keys. The wire format and the Initial protection are initial.ts (with
// sha256.ts, aes.ts, gcm.ts); the ClientHello parser and the key policy are plugins/tls's, so
// `SNI`/`ALPN` rules mean the same over QUIC as over TLS on TCP.

import { Window, Verdict, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status } from "./initial";
import { addHelloKeys } from "../tls/hellokeys";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  addHelloKeys();
  return match();
}
