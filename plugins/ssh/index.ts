// SSH detector: ABI glue, verdict and keys. The wire format is ident.ts.

export { passthru_abi_v1, input_ptr, input_cap, key_ptr } from "../../sdk/assembly/abi";
import { openWindow, keys, match, noMatch, incomplete } from "../../sdk/assembly";
import { parse, Status, ident } from "./ident";

export function detect(len: i32, eof: i32): i32 {
  const w = openWindow(len);
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(eof != 0);
  if (s != Status.COMPLETE) return noMatch();
  // softwareversion is visible ASCII without spaces (ident.ts), so it is always a usable key;
  // empty means the client sent none, like TLS's `SNI `.
  keys.begin("SOFTWARE");
  keys.bytes(w, ident.softOff, ident.softLen);
  keys.end();
  return match(keys.length());
}
