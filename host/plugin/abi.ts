// Detector ABI v1, host side: every name and number of the contract lives here and only here.
// The AssemblyScript side mirrors it in sdk/assembly/abi.ts. See docs in ../shared/DESIGN.md.

export const ABI_VERSION = 1;

/** Export that marks a module as built against ABI v1 (never called). */
export const EXPORT_MARKER = 'passthru_abi_v1';
export const EXPORT_MEMORY = 'memory';
export const EXPORT_INPUT_PTR = 'input_ptr';
export const EXPORT_INPUT_CAP = 'input_cap';
export const EXPORT_KEY_PTR = 'key_ptr';
export const EXPORT_DETECT = 'detect';
/** Mutable i32 global added by the host's fuel instrumentation (never by the plugin author). */
export const EXPORT_FUEL = 'passthru_fuel';

/** Function exports every detector must have, with their parameter/result arity. */
export const REQUIRED_FUNCTIONS: ReadonlyArray<readonly [name: string, params: number]> = [
  [EXPORT_MARKER, 0],
  [EXPORT_INPUT_PTR, 0],
  [EXPORT_INPUT_CAP, 0],
  [EXPORT_KEY_PTR, 0],
  [EXPORT_DETECT, 2],
];

/** Custom section holding the detector's JSON metadata. */
export const METADATA_SECTION = 'passthru.detector';

/** Verdict codes in bits 0–7 of detect()'s result. */
export const enum Verdict {
  NEED_MORE = 0,
  MATCH = 1,
  NO_MATCH = 2,
}

export const VERDICT_MASK = 0xff;
/** Key length in bytes sits in bits 8–23 of detect()'s result. */
export const KEY_LEN_SHIFT = 8;
export const KEY_LEN_MASK = 0xffff;
/** Keys are UTF-8, several separated by this byte, most specific first. */
export const KEY_SEPARATOR = 0x0a;

/** WebAssembly page size; memory limits are counted in pages. */
export const WASM_PAGE = 65536;
