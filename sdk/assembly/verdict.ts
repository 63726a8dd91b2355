// The answers of detect(). Every author function returns through one of these, so the packing of
// the ABI result lives in one place.

import { VerdictCode, packResult } from "./abi";
import { keys } from "./keys";
import { Window } from "./window";

/** What an author's detect() returns: a verdict and, for a MATCH, the length of its keys. */
export type Verdict = i32;

/** Not decided yet: call again when more bytes have arrived. */
// @ts-ignore: decorator
@inline
export function needMore(): Verdict {
  return packResult(VerdictCode.NEED_MORE, 0);
}

/** Not this protocol: the host will not ask again on this connection. */
// @ts-ignore: decorator
@inline
export function noMatch(): Verdict {
  return packResult(VerdictCode.NO_MATCH, 0);
}

/** This protocol, with the keys built so far (keys.add(…)); the open key is committed first. */
export function match(): Verdict {
  keys.commit();
  return packResult(VerdictCode.MATCH, keys.length);
}

/**
 * The answer when the bytes needed have not arrived: NEED_MORE, unless none can come any more
 * (the client closed its side, or the window is as large as the input buffer): then NO_MATCH.
 */
export function incomplete(w: Window): Verdict {
  return w.final ? noMatch() : needMore();
}
