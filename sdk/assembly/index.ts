// The detector SDK in one import:
//   import { openWindow, keys, match, noMatch, incomplete } from "../../sdk/assembly";
// The ABI glue exports are re-exported by each plugin's entry from "../../sdk/assembly/abi",
// so that a module exports exactly the ABI and nothing else.

export {
  ABI_VERSION,
  Verdict,
  INPUT_CAP,
  KEY_CAP,
  INPUT_PTR,
  KEY_PTR,
  KEY_SEPARATOR,
  packResult,
} from "./abi";
export {
  OUT,
  Prefix,
  Bytes,
  input,
  openWindow,
  keys,
  needMore,
  noMatch,
  match,
  incomplete,
} from "./window";
