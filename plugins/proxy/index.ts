// PROXY detector: verdict and keys. The wire format is header.ts.

import { Window, Verdict, keys, match, noMatch, incomplete } from "passthru-mux/sdk";
import { parse, Status, hasSource, sourceIs6, SOURCE } from "./header";

/**
 * The networks reported after the address, most specific first. Rule keys are compared exactly
 * (the host's `prefix` kind cuts at `/`, which addresses have none of), so a network is routable
 * only at a length reported here: IPv4 at octet boundaries, IPv6 at the usual allocation sizes.
 */
const V4_NETS: StaticArray<i32> = [24, 16, 8];
const V6_NETS: StaticArray<i32> = [64, 48, 32];

export function detect(w: Window): Verdict {
  const s = parse(w);
  if (s == Status.INCOMPLETE) return incomplete(w);
  if (s != Status.COMPLETE) return noMatch();
  // LOCAL, UNKNOWN, UNSPEC and UNIX headers name no client address: MATCH without SOURCE.
  if (!hasSource) return match();
  if (!sourceIs6) {
    v4Keys(0);
  } else if (isV4Mapped()) {
    // ::ffff:a.b.c.d is an IPv4 client on a dual-stack socket: IPv4 rules apply.
    v4Keys(12);
  } else {
    keys.add("SOURCE");
    v6(128);
    for (let i = 0; i < V6_NETS.length; i++) {
      keys.add("SOURCE");
      v6(V6_NETS[i]);
      keys.byte(0x2f).decimal(V6_NETS[i]);
    }
  }
  return match();
}

function v4Keys(at: i32): void {
  keys.add("SOURCE");
  v4(at, 32);
  for (let i = 0; i < V4_NETS.length; i++) {
    keys.add("SOURCE");
    v4(at, V4_NETS[i]);
    keys.byte(0x2f).decimal(V4_NETS[i]);
  }
}

/** The IPv4 address at SOURCE + at, its bits past `bits` zeroed, dotted. */
function v4(at: i32, bits: i32): void {
  for (let i = 0; i < 4; i++) {
    if (i > 0) keys.byte(0x2e);
    keys.decimal(i * 8 < bits ? <i64>load<u8>(SOURCE + <usize>(at + i)) : 0);
  }
}

function isV4Mapped(): bool {
  for (let i = 0; i < 10; i++) if (load<u8>(SOURCE + <usize>i) != 0) return false;
  return load<u8>(SOURCE + 10) == 0xff && load<u8>(SOURCE + 11) == 0xff;
}

/** Group `g` of the IPv6 source with bits past `bits` zeroed (bits are multiples of 16). */
function group(g: i32, bits: i32): i32 {
  if (g * 16 >= bits) return 0;
  return (<i32>load<u8>(SOURCE + <usize>(g * 2)) << 8) | <i32>load<u8>(SOURCE + <usize>(g * 2 + 1));
}

/**
 * The IPv6 source, its bits past `bits` zeroed, in RFC 5952's text form: lower-case hex without
 * leading zeros, the longest run of two or more zero groups (the first of equals) as `::`.
 */
function v6(bits: i32): void {
  let runAt = -1;
  let runLen = 1;
  for (let g = 0; g < 8; ) {
    if (group(g, bits) != 0) {
      g++;
      continue;
    }
    let e = g;
    while (e < 8 && group(e, bits) == 0) e++;
    if (e - g > runLen) {
      runAt = g;
      runLen = e - g;
    }
    g = e;
  }
  for (let g = 0; g < 8; g++) {
    if (g == runAt) {
      keys.byte(0x3a).byte(0x3a);
      g += runLen - 1;
      continue;
    }
    if (g > 0 && g != runAt + runLen) keys.byte(0x3a);
    hex(group(g, bits));
  }
}

function hex(v: i32): void {
  let started = false;
  for (let shift = 12; shift >= 0; shift -= 4) {
    const d = (v >> shift) & 0xf;
    if (d == 0 && !started && shift > 0) continue;
    started = true;
    keys.byte(d < 10 ? 0x30 + d : 0x61 + d - 10);
  }
}
