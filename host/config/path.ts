// Every config message and log line locates its subject with the same path syntax, so a user can
// grep their file for it: `servers["127.0.0.1:443"].TLS["SNI a.test"].to_addr`.

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

export type PathSegment = string | number;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  segments.forEach((seg, i) => {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (IDENTIFIER.test(seg) && !isListenAddress(segments, i)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  });
  return out;
}

// A key of `servers` is an address even when it is malformed: `servers["bad"]` reads as the address it was
// meant to be, and looks like every valid one (which always needs brackets for its `:`).
function isListenAddress(segments: readonly PathSegment[], i: number): boolean {
  const parent = segments[i - 1];
  return i === 1 && typeof parent === 'string' && parent.toLowerCase() === 'servers';
}

/** Segments of an RFC 6901 JSON pointer, as ajv reports `instancePath`. Every segment stays a string:
 * the config has no arrays, and a map key `"0"` must not be rendered as an index. */
export function pointerToSegments(pointer: string): string[] {
  if (pointer === '') return [];
  // `~1` before `~0`, so that `~01` decodes to `~1` and not to `/`.
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}
