// Collects a connection's first bytes into a window and asks the server's detectors about it,
// in config order, until one MATCHes, all say NO_MATCH, the window is full, the client ends its
// side, or the detection timeout passes. Pure logic over bytes: the socket side is connection.ts.
import { Verdict, type Detector } from './plugin/sandbox.js';
import type { ProtocolRoutes, Route, ServerRouter } from './router.js';

/**
 * 16 KiB: a TLS ClientHello may fill one full record (2^14 bytes of plaintext) and real ones with
 * post-quantum key shares already reach ~1.8 KiB; HTTP header sections of real browsers fit too.
 */
export const DEFAULT_WINDOW_CAP = 16 * 1024;

/** Detectors one server may run: a 31-bit mask tracks who is out, without a per-connection array. */
export const MAX_PROTOCOLS_PER_SERVER = 31;

export type DecisionReason = 'match' | 'no-match' | 'window-full' | 'eof' | 'timeout' | 'immediate' | 'budget';

/**
 * Fuel a connection may spend on detection, over all calls, as a multiple of the per-call budget.
 * Detectors re-read the window from byte 0 on every chunk, so a client dribbling its first 16 KiB a
 * byte at a time would cost a detect call per byte: quadratic, seconds of CPU per connection. Real
 * clients need 1-3 calls of a few thousand units; the dribbled-ClientHello test ~330 calls of ~4k.
 * Past this, the connection gets the CATCHALL protocol (detection reason `budget`).
 */
export const CONNECTION_FUEL_CALLS = 8;

export interface Decision {
  route: Route;
  reason: DecisionReason;
  /** Protocol whose detector matched, or undefined when the fallback applied. */
  matched: string | undefined;
  keys: readonly string[];
}

/** One detector of this server, paired with the rules of its protocol. */
export interface Candidate {
  routes: ProtocolRoutes;
  detector: Detector;
}

export class Sniffer {
  /** Everything read from the client so far, in order: replayed to the backend byte-exactly. */
  readonly chunks: Buffer[] = [];
  bytesRead = 0;
  private window: Buffer | undefined;
  private windowLen = 0;
  private owned = false;
  /** Bit i set: candidate i already said NO_MATCH (or can see no more) and is not asked again. */
  private out = 0;
  private outCount = 0;
  private fuelSpent = 0;

  /** `fuelCap`: fuel this connection may spend on detection in all (0: no cap, unmetered detectors). */
  constructor(
    private readonly router: ServerRouter,
    private readonly candidates: readonly Candidate[],
    private readonly windowCap: number,
    private readonly fuelCap = 0,
  ) {}

  /** A server with no detectors decides before reading anything. */
  get decidesAtOnce(): boolean {
    return this.candidates.length === 0;
  }

  immediate(): Decision {
    return this.fallback('immediate');
  }

  /** Adds a chunk the client sent; returns the decision once there is one. */
  push(chunk: Buffer): Decision | undefined {
    this.chunks.push(chunk);
    this.bytesRead += chunk.length;
    const room = this.windowCap - this.windowLen;
    if (room <= 0) return this.fallback('window-full');
    this.append(chunk.length <= room ? chunk : chunk.subarray(0, room));
    const d = this.ask(false);
    if (d) return d;
    return this.windowLen >= this.windowCap ? this.fallback('window-full') : undefined;
  }

  /** The client closed its side: last call with eof=1, then the fallback. */
  end(): Decision {
    return this.ask(true) ?? this.fallback('eof');
  }

  timeout(): Decision {
    return this.fallback('timeout');
  }

  /** Drops the window once decided: an open connection must not keep up to 16 KiB it no longer needs. */
  release(): void {
    this.window = undefined;
    this.windowLen = 0;
  }

  private ask(eof: boolean): Decision | undefined {
    const view = this.window ? this.window.subarray(0, this.windowLen) : EMPTY;
    for (let i = 0; i < this.candidates.length; i++) {
      const bit = 1 << i;
      if (this.out & bit) continue;
      const c = this.candidates[i]!;
      const r = c.detector.detect(view, eof);
      this.fuelSpent += c.detector.stats.lastFuel;
      if (r.verdict === Verdict.MATCH) {
        return { route: this.router.route(c.routes, r.keys), reason: 'match', matched: c.routes.protocol, keys: r.keys };
      }
      // A detector whose input buffer is full can never see more: NEED_MORE from it is final.
      if (r.verdict === Verdict.NO_MATCH || eof || view.length >= c.detector.inputCap) {
        this.out |= bit;
        this.outCount++;
      }
    }
    if (this.outCount === this.candidates.length) return this.fallback(eof ? 'eof' : 'no-match');
    return this.fuelCap > 0 && this.fuelSpent > this.fuelCap ? this.fallback('budget') : undefined;
  }

  private append(bytes: Buffer): void {
    if (!this.window) {
      // Most first flights arrive in one read: use the chunk itself as the window, no copy.
      this.window = bytes;
      this.windowLen = bytes.length;
      return;
    }
    if (!this.owned) {
      const grown = Buffer.allocUnsafe(this.windowCap);
      this.window.copy(grown, 0, 0, this.windowLen);
      this.window = grown;
      this.owned = true;
    }
    bytes.copy(this.window, this.windowLen);
    this.windowLen += bytes.length;
  }

  private fallback(reason: DecisionReason): Decision {
    return { route: this.router.fallback, reason, matched: undefined, keys: NO_KEYS };
  }
}

const EMPTY = Buffer.alloc(0);
const NO_KEYS: readonly string[] = Object.freeze([]);
