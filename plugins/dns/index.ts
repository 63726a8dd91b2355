// DNS detector: verdict and keys. The wire format is query.ts.

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, nameOff, nameIsHost, qtype } from "./query";

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // QNAME only for a name a hostname rule can be written for: a label holding a dot, a space, `*`
  // or binary would read as something else once dotted. The root (`.`) names nothing to route by.
  if (nameIsHost && w.u8(nameOff) != 0) {
    keys.add("QNAME");
    let p = nameOff;
    let n = w.u8(p);
    while (n > 0) {
      if (p != nameOff) keys.byte(0x2e);
      keys.lower(w, p + 1, n);
      p += 1 + n;
      n = w.u8(p);
    }
  }
  const m = mnemonic(qtype);
  if (m.length > 0) keys.add("QTYPE").ascii(m);
  else keys.add("QTYPE").decimal(qtype);
  return match();
}

/**
 * The IANA registry's mnemonic of the types people route or filter on (dig's names), '' for the
 * rest, which are reported by number (`QTYPE 65534`), as dig's `TYPE65534` means.
 */
function mnemonic(t: i32): string {
  switch (t) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 25: return "KEY";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 33: return "SRV";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 39: return "DNAME";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 53: return "SMIMEA";
    case 55: return "HIP";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 61: return "OPENPGPKEY";
    case 62: return "CSYNC";
    case 63: return "ZONEMD";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 108: return "EUI48";
    case 109: return "EUI64";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
  }
  return "";
}
