// A minimal runner for detector modules, until host/plugin/loader.ts exists. It has the loader's
// shape (loadDetectorFile → { meta, detect(window, eof) → { verdict, keys } }) so that a test
// switches by changing one import. It adds detectRaw(), which the loader will not have: the
// fuzz tests need the undecoded result and a trap as an exception, not sanitised to NO_MATCH.

import { readFile } from 'node:fs/promises';
import {
  EXPORT_DETECT,
  EXPORT_INPUT_CAP,
  EXPORT_INPUT_PTR,
  EXPORT_KEY_PTR,
  EXPORT_MEMORY,
  KEY_LEN_MASK,
  KEY_LEN_SHIFT,
  KEY_SEPARATOR,
  METADATA_SECTION,
  VERDICT_MASK,
} from '../../host/plugin/abi.js';

export interface DetectorMeta {
  abi: number;
  name: string;
  protocol: string;
  version: string;
  keys?: Record<string, string>;
}

export interface DetectResult {
  verdict: 0 | 1 | 2;
  keys: string[];
}

export interface RawDetector {
  meta: DetectorMeta;
  inputCap: number;
  detect(window: Uint8Array, eof: boolean): DetectResult;
  /** detect()'s i32 as returned; a trap propagates as a WebAssembly.RuntimeError. */
  detectRaw(window: Uint8Array, eof: boolean): number;
  /** detect(len, eof) on whatever the input buffer holds, with any len, even one a host would never pass. */
  callDetect(len: number, eof: number): number;
  /** Current size of the module's memory, to check that calls do not allocate. */
  memoryBytes(): number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function loadDetectorFile(path: string): Promise<RawDetector> {
  const mod = new WebAssembly.Module(await readFile(path));
  const sections = WebAssembly.Module.customSections(mod, METADATA_SECTION);
  if (sections.length !== 1) throw new Error(`${path}: expected one ${METADATA_SECTION} section, found ${sections.length}`);
  const meta = JSON.parse(utf8.decode(sections[0])) as DetectorMeta;
  const inst = new WebAssembly.Instance(mod, {});
  const ex = inst.exports as Record<string, unknown>;
  const memory = ex[EXPORT_MEMORY] as WebAssembly.Memory;
  const detectFn = ex[EXPORT_DETECT] as (len: number, eof: number) => number;
  const inputPtr = (ex[EXPORT_INPUT_PTR] as () => number)();
  const inputCap = (ex[EXPORT_INPUT_CAP] as () => number)();
  const keyPtr = (ex[EXPORT_KEY_PTR] as () => number)();

  const detectRaw = (window: Uint8Array, eof: boolean): number => {
    const n = Math.min(window.length, inputCap);
    new Uint8Array(memory.buffer, inputPtr, n).set(window.subarray(0, n));
    return detectFn(n, eof ? 1 : 0);
  };

  const detect = (window: Uint8Array, eof: boolean): DetectResult => {
    const r = detectRaw(window, eof);
    const verdict = r & VERDICT_MASK;
    const keyLen = (r >>> KEY_LEN_SHIFT) & KEY_LEN_MASK;
    if (verdict > 2 || r >>> 24 !== 0) throw new Error(`bad result 0x${(r >>> 0).toString(16)}`);
    if (keyLen > memory.buffer.byteLength - keyPtr) throw new Error(`key length ${keyLen} past memory`);
    const text = keyLen ? utf8.decode(new Uint8Array(memory.buffer, keyPtr, keyLen)) : '';
    const keys = verdict === 1 && keyLen ? text.split(String.fromCharCode(KEY_SEPARATOR)) : [];
    return { verdict: verdict as 0 | 1 | 2, keys };
  };

  return {
    meta,
    inputCap,
    detect,
    detectRaw,
    callDetect: (len, eof) => detectFn(len, eof),
    memoryBytes: () => memory.buffer.byteLength,
  };
}
