// OPENVPN detector: verdict and keys. The wire format is reset.ts.

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, opcode, P_CONTROL_HARD_RESET_CLIENT_V3 } from "./reset";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // The opcode by its protocol name: V3 is a --tls-crypt-v2 client, V2 every other.
  keys.add("OPCODE").ascii(opcode == P_CONTROL_HARD_RESET_CLIENT_V3 ? "P_CONTROL_HARD_RESET_CLIENT_V3" : "P_CONTROL_HARD_RESET_CLIENT_V2");
  return match();
}
