// The detection window of a UDP flow: the flow's datagrams so far as records `u16 BE length ‖
// datagram` (issue 13's shared decision, the same framing OpenVPN and DNS use over TCP), asked of
// the server's detectors in config order after each datagram, like the TCP sniffer asks after each
// chunk. Bounded by a datagram count and the window's bytes; the detection timeout is the caller's.
import type { Candidate, Decision, DecisionReason } from '../sniffer.js';
import { Verdict } from '../plugin/sandbox.js';
import type { ServerRouter } from '../router.js';

/** Bytes of a record's length prefix. */
export const RECORD_HEADER_BYTES = 2;

/**
 * Datagrams a flow may send before detection gives up (reason `window-full`, then the CATCHALL
 * protocol). The protocols that need more than one are QUIC, whose ClientHello may span several
 * Initial packets (two with a post-quantum key share, ~1.2 KB each), and a client that retries its
 * first datagram; 8 leaves room for both without letting a flow of NEED_MORE bait cost more than 8
 * detect calls per detector.
 */
export const MAX_SNIFF_DATAGRAMS = 8;

/** First allocation of a window that must grow past the first datagram (then doubling up to the cap). */
const INITIAL_GROWN_WINDOW = 4096;

/** Writes `datagram` as one record into `out` at `at`, cut to `room` bytes in all; returns the bytes written. */
export function writeRecord(out: Buffer, at: number, datagram: Uint8Array, room: number): number {
  if (room < RECORD_HEADER_BYTES) return 0;
  // A UDP payload is at most 65,507 bytes over IPv4 and 65,527 over IPv6: it fits in 16 bits.
  const len = datagram.length > 0xffff ? 0xffff : datagram.length;
  out[at] = len >>> 8;
  out[at + 1] = len & 0xff;
  const body = Math.min(len, room - RECORD_HEADER_BYTES);
  out.set(body === datagram.length ? datagram : datagram.subarray(0, body), at + RECORD_HEADER_BYTES);
  return RECORD_HEADER_BYTES + body;
}

/** `u16 BE length ‖ bytes` for each datagram: the framed form fixtures are stored in. */
export function frameDatagrams(datagrams: readonly Uint8Array[]): Buffer {
  const total = datagrams.reduce((n, d) => n + RECORD_HEADER_BYTES + d.length, 0);
  const out = Buffer.allocUnsafe(total);
  let at = 0;
  for (const d of datagrams) at += writeRecord(out, at, d, total - at);
  return out;
}

/** Splits a framed window back into datagrams (a record cut short at the end is returned cut). */
export function unframeDatagrams(window: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + RECORD_HEADER_BYTES <= window.length) {
    const len = (window[at]! << 8) | window[at + 1]!;
    const start = at + RECORD_HEADER_BYTES;
    const end = Math.min(start + len, window.length);
    out.push(Buffer.from(window.subarray(start, end)));
    at = start + len;
  }
  return out;
}

export class DatagramSniffer {
  /** Datagrams pushed so far. */
  datagrams = 0;
  private window: Buffer | undefined;
  private windowLen = 0;
  /** Bit i set: candidate i said NO_MATCH (or can see no more) and is not asked again. */
  private out = 0;
  private outCount = 0;
  private fuelSpent = 0;

  /**
   * `windowCap`: bytes of records the detectors may see; `maxDatagrams`: records; `fuelCap`: fuel
   * the flow may spend on detection in all (0: no cap).
   */
  constructor(
    private readonly router: ServerRouter,
    private readonly candidates: readonly Candidate[],
    private readonly windowCap: number,
    private readonly maxDatagrams = MAX_SNIFF_DATAGRAMS,
    private readonly fuelCap = 0,
  ) {}

  /** A server with only the CATCHALL protocol decides on the first datagram without asking anyone. */
  get decidesAtOnce(): boolean {
    return this.candidates.length === 0;
  }

  immediate(): Decision {
    return this.fallback('immediate');
  }

  timeout(): Decision {
    return this.fallback('timeout');
  }

  /** The framed window so far (a view; valid until the next push). */
  get view(): Buffer {
    return this.window ? this.window.subarray(0, this.windowLen) : EMPTY;
  }

  /** Adds the flow's next datagram as a record; returns the decision once there is one. */
  push(datagram: Uint8Array): Decision | undefined {
    this.datagrams++;
    const room = this.windowCap - this.windowLen;
    if (room < RECORD_HEADER_BYTES) return this.fallback('window-full');
    const need = Math.min(room, RECORD_HEADER_BYTES + datagram.length);
    this.reserve(this.windowLen + need);
    this.windowLen += writeRecord(this.window!, this.windowLen, datagram, room);
    const d = this.ask();
    if (d) return d;
    return this.windowLen >= this.windowCap || this.datagrams >= this.maxDatagrams ? this.fallback('window-full') : undefined;
  }

  /** Drops the window once decided: a bound flow must not keep bytes it no longer needs. */
  release(): void {
    this.window = undefined;
    this.windowLen = 0;
  }

  /** Grows the window to hold `bytes`: most flows decide on their first datagram, so start at its size. */
  private reserve(bytes: number): void {
    const w = this.window;
    if (w && w.length >= bytes) return;
    let size = w ? Math.max(w.length * 2, INITIAL_GROWN_WINDOW) : bytes;
    if (size < bytes) size = bytes;
    if (size > this.windowCap) size = this.windowCap;
    const grown = Buffer.allocUnsafe(size);
    if (w) w.copy(grown, 0, 0, this.windowLen);
    this.window = grown;
  }

  private ask(): Decision | undefined {
    const view = this.view;
    for (let i = 0; i < this.candidates.length; i++) {
      const bit = 1 << i;
      if (this.out & bit) continue;
      const c = this.candidates[i]!;
      const r = c.detector.detect(view, false);
      this.fuelSpent += c.detector.stats.lastFuel;
      if (r.verdict === Verdict.MATCH) {
        return { route: this.router.route(c.routes, r.keys), reason: 'match', matched: c.routes.protocol, keys: r.keys };
      }
      // A detector whose input buffer is full can never see more: NEED_MORE from it is final.
      if (r.verdict === Verdict.NO_MATCH || view.length >= c.detector.inputCap) {
        this.out |= bit;
        this.outCount++;
      }
    }
    if (this.outCount === this.candidates.length) return this.fallback('no-match');
    return this.fuelCap > 0 && this.fuelSpent > this.fuelCap ? this.fallback('budget') : undefined;
  }

  private fallback(reason: DecisionReason): Decision {
    return { route: this.router.fallback, reason, matched: undefined, keys: NO_KEYS };
  }
}

const EMPTY = Buffer.alloc(0);
const NO_KEYS: readonly string[] = Object.freeze([]);
