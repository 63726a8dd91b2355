// TLS detector: verdict and keys. The wire format is clienthello.ts, the key policy (which names
// are worth a key) hellokeys.ts, shared with the QUIC detector; this file maps parse states to verdicts.

import { Window, Verdict, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status } from "./clienthello";
import { addHelloKeys } from "./hellokeys";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch(); // INVALID, or TOO_LARGE for the window
  addHelloKeys();
  return match();
}
