// IP addresses between their text form and their network-order bytes, for wire formats that carry
// them raw (the PROXY protocol v2). Node offers no inet_pton/inet_ntop; these follow RFC 4291 §2.2
// (reading, including `::` and an embedded dotted quad) and RFC 5952 (writing the canonical text).
import { isIPv4, isIPv6 } from 'node:net';

/** 4 bytes of a dotted quad, or undefined when `text` is not one. */
export function ipv4Bytes(text: string): Uint8Array | undefined {
  if (!isIPv4(text)) return undefined;
  return Uint8Array.from(text.split('.'), Number);
}

/** 16 bytes of an IPv6 address (zone `%eth0` dropped: it is local to this host), or undefined. */
export function ipv6Bytes(text: string): Uint8Array | undefined {
  const zone = text.indexOf('%');
  const bare = zone < 0 ? text : text.slice(0, zone);
  if (!isIPv6(bare)) return undefined;
  const out = new Uint8Array(16);
  // A trailing dotted quad (`::ffff:10.0.0.1`) stands for the last two groups.
  let groupsText = bare;
  let tail: Uint8Array | undefined;
  const lastColon = bare.lastIndexOf(':');
  if (bare.indexOf('.', lastColon) > 0) {
    tail = ipv4Bytes(bare.slice(lastColon + 1));
    if (!tail) return undefined;
    groupsText = bare.slice(0, lastColon + 1) + '0:0';
  }
  const [head, rest] = groupsText.split('::') as [string, string | undefined];
  const parse = (s: string): number[] => (s === '' ? [] : s.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = rest === undefined ? [] : parse(rest);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  for (let i = 0; i < 8; i++) {
    out[2 * i] = groups[i]! >> 8;
    out[2 * i + 1] = groups[i]! & 0xff;
  }
  if (tail) out.set(tail, 12);
  return out;
}

export function formatIPv4(b: Uint8Array, at = 0): string {
  return `${b[at]}.${b[at + 1]}.${b[at + 2]}.${b[at + 3]}`;
}

/** RFC 5952 text of 16 bytes at `at`: lower-case hex, the longest run of 2+ zero groups as `::`. */
export function formatIPv6(b: Uint8Array, at = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((b[at + 2 * i]! << 8) | b[at + 2 * i + 1]!);
  // An IPv4-mapped address reads best (and as Node prints it) with its dotted quad.
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) return `::ffff:${formatIPv4(b, at + 12)}`;
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [bestStart, bestLen] = [i, j - i];
    i = j;
  }
  const hex = (gs: number[]): string => gs.map((g) => g.toString(16)).join(':');
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** The dotted quad inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`), else undefined. */
export function unmapIPv4(text: string): string | undefined {
  const b = ipv6Bytes(text);
  if (!b || !b.subarray(0, 10).every((x) => x === 0) || b[10] !== 0xff || b[11] !== 0xff) return undefined;
  return formatIPv4(b, 12);
}
