// The rule keys of a parsed ClientHello: policy on which names are worth a key. Shared by the TLS
// detector (index.ts) and the QUIC detector (plugins/quic), whose CRYPTO frames carry the same
// ClientHello, so that `SNI`/`ALPN` rules mean the same over TCP and over QUIC.

import { keys, isDnsName } from "passthru-mux/sdk";
import { Field, hello } from "./clienthello";

/** Printable ASCII without space: a space would split the rule key, a control byte could forge a `\n` separator. */
const VISIBLE_MIN: i32 = 0x21;
const VISIBLE_MAX: i32 = 0x7e;

/** Adds the keys of the ClientHello that parse()/parseBody() left in `hello`: `SNI …` first, then `ALPN …`. */
export function addHelloKeys(): void {
  const b = hello.body;
  // `SNI ` (empty) means "no server_name extension"; an unusable or implausible name gets no SNI
  // key at all, so that only ALPN and CATCHALL rules can apply (DESIGN.md, "Invalid names").
  if (hello.sni == Field.ABSENT) {
    keys.add("SNI");
  } else if (hello.sni == Field.PRESENT && isDnsName(b, hello.sniOff, hello.sniLen)) {
    keys.add("SNI").lower(b, hello.sniOff, hello.sniLen);
  }
  // ALPN ids are opaque bytes; rules compare them exactly, so only visible ASCII becomes a key.
  if (hello.alpn == Field.ABSENT) {
    keys.add("ALPN");
  } else if (hello.alpn == Field.PRESENT && b.allIn(hello.alpnOff, hello.alpnLen, VISIBLE_MIN, VISIBLE_MAX)) {
    keys.add("ALPN").bytes(b, hello.alpnOff, hello.alpnLen);
  }
}
