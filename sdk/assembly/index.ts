// The detector SDK in one import, for authors (`import { … } from "passthru-mux/sdk"`) and for the
// bundled detectors alike. An author's module exports one function,
//
//   export function detect(w: Window): Verdict
//
// and `passthru plugin build` turns it into ABI v1 (docs/plugins.md).

export { INPUT_CAP, KEY_CAP } from "./abi";
export { OUT, BAD, Prefix, Len, Bytes, Window, view } from "./window";
export { KeyWriter, keys } from "./keys";
export { Verdict, needMore, noMatch, match, incomplete } from "./verdict";
export {
  CR,
  LF,
  SP,
  HTAB,
  MAX_DNS_NAME,
  MAX_DNS_LABEL,
  isDigit,
  isAlpha,
  isHexDigit,
  isVisible,
  toLower,
  isTchar,
  equalsIgnoreCase,
  findLF,
  lineContentEnd,
  skipSpaces,
  trimSpacesEnd,
  isDnsName,
  allDigits,
} from "./text";
