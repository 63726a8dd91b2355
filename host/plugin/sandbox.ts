// Runs one detector instance under the host's rules: the host writes the window, bounds-checks the
// result, meters fuel, and turns any trap or bad result into NO_MATCH plus a strike.
import {
  EXPORT_DETECT,
  EXPORT_FUEL,
  EXPORT_INPUT_CAP,
  EXPORT_INPUT_PTR,
  EXPORT_KEY_PTR,
  EXPORT_MEMORY,
  KEY_LEN_MASK,
  KEY_LEN_SHIFT,
  KEY_SEPARATOR,
  VERDICT_MASK,
  Verdict,
} from './abi.js';
import type { DetectorMeta } from './metadata.js';

export { Verdict } from './abi.js';

export interface DetectResult {
  readonly verdict: Verdict;
  /** Rule keys, most specific first; empty unless verdict is MATCH. */
  readonly keys: readonly string[];
}

const NO_KEYS: readonly string[] = Object.freeze([]);
const NEED_MORE_RESULT: DetectResult = Object.freeze({ verdict: Verdict.NEED_MORE, keys: NO_KEYS });
const NO_MATCH_RESULT: DetectResult = Object.freeze({ verdict: Verdict.NO_MATCH, keys: NO_KEYS });

export interface SandboxLimits {
  /** Fuel units per detect() call; a call that uses more traps. 0 disables metering (module not instrumented). */
  fuel: number;
  /** Strikes within `strikeWindowMs` that put the detector in quarantine. */
  strikeLimit: number;
  strikeWindowMs: number;
}

/**
 * Five bad calls within a minute: one bad call may be a rare input hitting a bug and costs that
 * connection only its detection; a detector failing that often is broken or hostile, and every call
 * it gets costs other connections latency.
 */
export const DEFAULT_STRIKE_LIMIT = 5;
export const DEFAULT_STRIKE_WINDOW_MS = 60_000;

/**
 * Largest key text the host accepts from one MATCH (the ABI's 16-bit field allows 65535). Real keys
 * are a DNS name (≤ 253), an ALPN id (≤ 255) or a request path; 4 KiB covers them, while a detector
 * can no longer make every connection carry 64 KiB of keys into routing and the connection log.
 */
export const MAX_KEY_BYTES = 4096;

export interface SandboxEvents {
  strike(detector: Detector, reason: string): void;
  quarantine(detector: Detector, reason: string): void;
}

export interface DetectorStats {
  calls: number;
  matches: number;
  strikes: number;
  /** Fuel used by the last call (0 when not metered). */
  lastFuel: number;
  maxFuel: number;
}

interface DetectorExports {
  memory: WebAssembly.Memory;
  detect: (len: number, eof: number) => number;
  fuel: WebAssembly.Global | undefined;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A loaded detector: one instance per process (memories are costly), swapped on strikes. */
export class Detector {
  readonly stats: DetectorStats = { calls: 0, matches: 0, strikes: 0, lastFuel: 0, maxFuel: 0 };
  quarantined = false;
  private exports!: DetectorExports;
  private mem!: Uint8Array;
  private inputPtr = 0;
  /** Window bytes this instance can take; the host never writes more. */
  inputCap = 0;
  private keyPtr = 0;
  /** Bytes the host wrote into the input buffer on the last call (see detect()). */
  private written = 0;
  private strikeTimes: number[] = [];

  constructor(
    readonly meta: DetectorMeta,
    readonly source: string,
    private readonly module: WebAssembly.Module,
    private readonly limits: SandboxLimits,
    private readonly events: SandboxEvents,
  ) {
    const err = this.instantiate();
    if (err) throw new Error(err);
  }

  get name(): string {
    return this.meta.name;
  }
  get protocol(): string {
    return this.meta.protocol;
  }

  /** Asks the detector about `window` (the connection's bytes from 0). Never throws. */
  detect(window: Uint8Array, eof: boolean): DetectResult {
    if (this.quarantined) {
      this.stats.lastFuel = 0;
      return NO_MATCH_RESULT;
    }
    this.stats.calls++;
    const n = window.length < this.inputCap ? window.length : this.inputCap;
    if (this.mem.byteLength === 0) this.refreshView();
    this.mem.set(n === window.length ? window : window.subarray(0, n), this.inputPtr);
    // Bytes past `len` that the host wrote for an earlier, longer window belong to another
    // connection: clear them, so reading past `len` shows a detector nothing the host did not hand
    // it for this call. Windows only grow within a connection, so this costs a fill per connection.
    if (n < this.written) this.mem.fill(0, this.inputPtr + n, this.inputPtr + this.written);
    this.written = n;
    const fuel = this.exports.fuel;
    if (fuel) fuel.value = this.limits.fuel;
    let raw: number;
    try {
      raw = this.exports.detect(n, eof ? 1 : 0);
    } catch (err) {
      // A failed call counts as spending its whole budget (the caller caps fuel per connection).
      this.stats.lastFuel = this.limits.fuel;
      return this.strike(this.trapReason(err));
    }
    if (fuel) {
      const used = this.limits.fuel - (fuel.value as number);
      this.stats.lastFuel = used;
      if (used > this.stats.maxFuel) this.stats.maxFuel = used;
    }
    if (raw >>> 24 !== 0 || raw < 0) return this.strike(`bad result 0x${(raw >>> 0).toString(16)} (bits 24-31 must be 0)`);
    const verdict = raw & VERDICT_MASK;
    if (verdict === Verdict.NEED_MORE) return NEED_MORE_RESULT;
    if (verdict === Verdict.NO_MATCH) return NO_MATCH_RESULT;
    if (verdict !== Verdict.MATCH) return this.strike(`bad verdict ${verdict}`);
    const keyLen = (raw >>> KEY_LEN_SHIFT) & KEY_LEN_MASK;
    if (keyLen > MAX_KEY_BYTES) return this.strike(`key length ${keyLen} exceeds the host's limit of ${MAX_KEY_BYTES} bytes`);
    if (this.mem.byteLength === 0) this.refreshView();
    if (this.keyPtr + keyLen > this.mem.byteLength) {
      return this.strike(`key length ${keyLen} at ${this.keyPtr} runs past the end of memory (${this.mem.byteLength})`);
    }
    const keys = this.decodeKeys(keyLen);
    if (typeof keys === 'string') return this.strike(keys);
    this.stats.matches++;
    return { verdict: Verdict.MATCH, keys };
  }

  private decodeKeys(keyLen: number): string[] | string {
    if (keyLen === 0) return [];
    const bytes = this.mem.subarray(this.keyPtr, this.keyPtr + keyLen);
    let text: string;
    try {
      text = utf8.decode(bytes);
    } catch {
      return 'keys are not valid UTF-8';
    }
    const keys: string[] = [];
    let start = 0;
    for (let i = 0; i <= text.length; i++) {
      if (i === text.length || text.charCodeAt(i) === KEY_SEPARATOR) {
        if (i > start) keys.push(text.slice(start, i));
        start = i + 1;
      }
    }
    return keys;
  }

  private trapReason(err: unknown): string {
    const fuel = this.exports.fuel;
    if (fuel && (fuel.value as number) < 0) return `fuel exhausted (budget ${this.limits.fuel})`;
    if (err instanceof RangeError) return `stack overflow (${err.message})`;
    if (err instanceof WebAssembly.RuntimeError) return `trap: ${err.message}`;
    return `exception: ${err instanceof Error ? err.message : String(err)}`;
  }

  private strike(reason: string): DetectResult {
    this.stats.strikes++;
    const now = Date.now();
    const horizon = now - this.limits.strikeWindowMs;
    this.strikeTimes = this.strikeTimes.filter((t) => t > horizon);
    this.strikeTimes.push(now);
    this.events.strike(this, reason);
    if (this.strikeTimes.length >= this.limits.strikeLimit) {
      this.quarantined = true;
      this.events.quarantine(this, `${this.strikeTimes.length} strikes within ${this.limits.strikeWindowMs} ms; last: ${reason}`);
      return NO_MATCH_RESULT;
    }
    // A trapped instance may hold any state in its memory and globals: start from a fresh one.
    const err = this.instantiate();
    if (err) {
      this.quarantined = true;
      this.events.quarantine(this, `cannot re-instantiate: ${err}`);
    }
    return NO_MATCH_RESULT;
  }

  /** Creates a fresh instance; returns a reason when the module cannot serve. */
  private instantiate(): string | undefined {
    let instance: WebAssembly.Instance;
    try {
      instance = new WebAssembly.Instance(this.module, {});
    } catch (err) {
      // With no imports, only the start function can trap here; when metered it had a fuel budget.
      if (err instanceof WebAssembly.RuntimeError) {
        return `start function trapped (${err.message}${this.limits.fuel > 0 ? '; it may have run out of fuel' : ''})`;
      }
      return `instantiation failed: ${err instanceof Error ? err.message : String(err)}`;
    }
    const ex = instance.exports as Record<string, unknown>;
    const memory = ex[EXPORT_MEMORY];
    const detect = ex[EXPORT_DETECT];
    if (!(memory instanceof WebAssembly.Memory)) return `export "${EXPORT_MEMORY}" is not a memory`;
    if (typeof detect !== 'function' || detect.length !== 2) return `export "${EXPORT_DETECT}" must be a function (i32, i32) -> i32`;
    const fuel = ex[EXPORT_FUEL];
    this.exports = {
      memory,
      detect: detect as DetectorExports['detect'],
      fuel: fuel instanceof WebAssembly.Global ? fuel : undefined,
    };
    this.refreshView();
    const size = this.mem.byteLength;
    const call = (name: string): number | string => {
      const f = ex[name];
      if (typeof f !== 'function' || f.length !== 0) return `export "${name}" must be a function () -> i32`;
      try {
        if (this.exports.fuel) this.exports.fuel.value = this.limits.fuel;
        const v = (f as () => unknown)();
        return typeof v === 'number' ? v : `export "${name}" returned ${typeof v}`;
      } catch (err) {
        return `export "${name}" trapped: ${err instanceof Error ? err.message : String(err)}`;
      }
    };
    const inputPtr = call(EXPORT_INPUT_PTR);
    const inputCap = call(EXPORT_INPUT_CAP);
    const keyPtr = call(EXPORT_KEY_PTR);
    if (typeof inputPtr === 'string') return inputPtr;
    if (typeof inputCap === 'string') return inputCap;
    if (typeof keyPtr === 'string') return keyPtr;
    if (inputPtr < 0 || inputCap <= 0 || inputPtr + inputCap > size) {
      return `input buffer [${inputPtr}, +${inputCap}) is not inside memory (${size} bytes)`;
    }
    if (keyPtr < 0 || keyPtr >= size) return `key buffer at ${keyPtr} is not inside memory (${size} bytes)`;
    // Read once per instance: a detector cannot move the buffers the host uses mid-life.
    this.inputPtr = inputPtr;
    this.inputCap = inputCap;
    this.keyPtr = keyPtr;
    this.written = 0;
    return undefined;
  }

  private refreshView(): void {
    // memory.grow detaches the old ArrayBuffer; a fresh view sees the new size.
    this.mem = new Uint8Array(this.exports.memory.buffer);
  }
}
