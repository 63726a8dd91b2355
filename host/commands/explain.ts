// `passthru explain -c CONFIG [--plugin FILE]... [--server ADDR] [--hex] [--eof] FILE`: runs a
// captured first flight through each server's detectors and rules, as a connection would, and says
// what each detector answered and why the rule that applies was chosen.
//
// The decision is the proxy's own: a Sniffer over the server's compiled ServerRouter, fed the file
// as one chunk. What this adds is the report around it: every detector's answer (including those a
// real connection would not ask, after the first MATCH), fuel and time, and the router's reason.
import { readFile } from 'node:fs/promises';
import { PassthruError, UsageError } from '../errors.js';
import { createLogger } from '../log.js';
import { loadAll, type PassthruOptions } from '../main.js';
import type { Detector } from '../plugin/sandbox.js';
import { compileServer, type Route, type RouteReason } from '../router.js';
import { DEFAULT_WINDOW_CAP, Sniffer, type Candidate, type Decision } from '../sniffer.js';

export interface ExplainOptions extends PassthruOptions {
  file: string;
  hex: boolean;
  eof: boolean;
  server?: string;
  json: boolean;
}

export interface DetectorAnswer {
  protocol: string;
  plugin: string;
  version: string;
  verdict: 'NEED_MORE' | 'MATCH' | 'NO_MATCH';
  keys: string[];
  fuel: number;
  /** Best mean ns per call over repeated calls. */
  ns: number;
  /** A real connection asks detectors in config order and stops at the first MATCH. */
  asked: boolean;
  strike?: string;
}

export interface ServerExplanation {
  server: string;
  detectors: DetectorAnswer[];
  outcome: 'decided' | 'waiting';
  decision: {
    action: Route['action'];
    toAddr?: string;
    protocol: string;
    rule: string;
    /** Why: which key matched which rule, or which fallback and its cause. */
    why: string;
    reason: RouteReason['kind'] | Decision['reason'];
    key?: string;
  };
}

export interface Explanation {
  file: string;
  bytes: number;
  windowBytes: number;
  eof: boolean;
  servers: ServerExplanation[];
}

const VERDICT_NAMES = ['NEED_MORE', 'MATCH', 'NO_MATCH'] as const;
/** Timing: warm-up calls (V8 tiers wasm up), then the best of a few batches; bounded for a slow detector. */
const WARMUP_CALLS = 200;
const BATCH_CALLS = 50;
const BATCHES = 5;

export function parseHex(text: string): Uint8Array {
  const clean = text.replace(/0x/gi, '').replace(/[\s:,]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-f]/i.test(clean)) throw new UsageError('explain --hex: the file is not hex digits (whitespace, ":" and "," allowed)');
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

function answer(d: Detector, window: Uint8Array, eof: boolean, asked: boolean): DetectorAnswer {
  let strike: string | undefined;
  const strikesBefore = d.stats.strikes;
  const r = d.detect(window, eof);
  const fuel = d.stats.lastFuel;
  if (d.stats.strikes > strikesBefore) strike = 'the call struck (trap or bad result): counted as NO_MATCH';
  let ns = 0;
  if (!strike) {
    for (let i = 0; i < WARMUP_CALLS; i++) d.detect(window, eof);
    let best = Infinity;
    for (let b = 0; b < BATCHES; b++) {
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < BATCH_CALLS; i++) d.detect(window, eof);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / BATCH_CALLS);
    }
    ns = Math.round(best);
  }
  return {
    protocol: d.protocol,
    plugin: d.name,
    version: d.meta.version,
    verdict: VERDICT_NAMES[r.verdict],
    keys: [...r.keys],
    fuel,
    ns,
    asked,
    ...(strike ? { strike } : {}),
  };
}

const FALLBACK_CAUSE: Record<Decision['reason'], string> = {
  match: '',
  'no-match': 'every detector said NO_MATCH',
  'window-full': 'the window filled up without a verdict',
  eof: 'the client closed its side without a verdict',
  timeout: 'no verdict before the detection timeout (-t)',
  immediate: 'the server has no detectors: it decides at accept',
  budget: 'detection spent the connection\'s fuel budget',
};

export async function explain(o: ExplainOptions): Promise<Explanation> {
  let raw: Uint8Array;
  try {
    raw = new Uint8Array(await readFile(o.file));
  } catch (err) {
    throw new UsageError(`explain: ${o.file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  const bytes = o.hex ? parseHex(Buffer.from(raw).toString('latin1')) : raw;
  const loaded = await loadAll(o, createLogger('silent'));
  const servers = loaded.config.servers.filter((s) => o.server === undefined || s.address === o.server);
  if (!servers.length) {
    throw new UsageError(`explain --server ${o.server}: no such server in ${loaded.config.file} (servers: ${loaded.config.servers.map((s) => s.address).join(', ')})`);
  }
  const windowCap = o.windowCap ?? DEFAULT_WINDOW_CAP;
  const window = bytes.subarray(0, windowCap);
  const result: Explanation = { file: o.file, bytes: bytes.length, windowBytes: window.length, eof: o.eof, servers: [] };

  for (const server of servers) {
    const router = compileServer(server, (p) => loaded.detectors.byProtocol.get(p)?.meta.keys);
    const candidates: Candidate[] = router.protocols.map((routes) => ({ routes, detector: loaded.detectors.byProtocol.get(routes.protocol)! }));

    // The proxy's decision, from the same Sniffer a connection uses.
    const sniffer = new Sniffer(router, candidates, windowCap);
    let decision: Decision | undefined = sniffer.decidesAtOnce ? sniffer.immediate() : sniffer.push(Buffer.from(bytes));
    if (!decision && o.eof) decision = sniffer.end();
    const outcome = decision ? 'decided' : 'waiting';
    decision ??= sniffer.timeout();

    // Each detector's own answer on the whole window, in config order.
    let matchedYet = false;
    const detectors: DetectorAnswer[] = [];
    for (const c of candidates) {
      detectors.push(answer(c.detector, window, o.eof, !matchedYet));
      if (detectors.at(-1)!.verdict === 'MATCH') matchedYet = true;
    }

    const why: RouteReason = { kind: 'fallback' };
    const route = decision.route;
    let text: string;
    if (decision.matched !== undefined) {
      const p = router.protocols.find((r) => r.protocol === decision!.matched)!;
      router.route(p, decision.keys, why);
      if (why.kind === 'catchall') text = `${decision.matched} matched with keys ${JSON.stringify(decision.keys)}, none of which has a rule: the ${decision.matched} section's CATCHALL rule`;
      else if (why.kind === 'fallback') text = `${decision.matched} matched with keys ${JSON.stringify(decision.keys)}, no rule and no CATCHALL rule in its section: the CATCHALL protocol${route.protocol ? '' : ' (absent: REJECT)'}`;
      else {
        const nth = decision.keys.indexOf(why.key!) + 1;
        const how = why.kind === 'exact' ? 'exactly' : why.kind === 'wildcard' ? 'by wildcard' : 'by path prefix';
        text = `${decision.matched} key ${JSON.stringify(why.key)} (${ordinal(nth)} of ${decision.keys.length}) matches rule ${JSON.stringify(route.rule)} ${how}`;
      }
    } else {
      const cause = outcome === 'waiting' ? `no verdict with these ${window.length} bytes: a connection would wait for more, and ${FALLBACK_CAUSE.timeout}` : FALLBACK_CAUSE[decision.reason];
      text = `${cause}: ${route.protocol ? 'the CATCHALL protocol' : 'no CATCHALL protocol, so REJECT'}`;
    }
    result.servers.push({
      server: server.address,
      detectors,
      outcome,
      decision: {
        action: route.action,
        ...(route.toAddr ? { toAddr: route.toAddr } : {}),
        protocol: route.protocol,
        rule: route.rule,
        why: text,
        reason: decision.matched !== undefined ? why.kind : outcome === 'waiting' ? 'timeout' : decision.reason,
        ...(why.key !== undefined ? { key: why.key } : {}),
      },
    });
  }
  return result;
}

const ordinal = (n: number) => `${n}${n === 1 ? 'st' : n === 2 ? 'nd' : n === 3 ? 'rd' : 'th'}`;

export function formatExplanation(e: Explanation): string {
  const lines = [`first flight: ${e.file} (${e.bytes} bytes${e.windowBytes < e.bytes ? `, detectors see the first ${e.windowBytes}` : ''}${e.eof ? ', then the client closes its side' : ''})`];
  for (const s of e.servers) {
    lines.push('', `server ${s.server}`);
    if (!s.detectors.length) lines.push('  no detectors (only the CATCHALL protocol)');
    else lines.push('  detectors, in config order:');
    for (const d of s.detectors) {
      const who = `${d.protocol} (${d.plugin} ${d.version})`;
      const cost = d.strike ? d.strike : `fuel ${d.fuel}, ${d.ns} ns`;
      const keys = d.verdict === 'MATCH' ? ` ${JSON.stringify(d.keys)}` : '';
      lines.push(`    ${who.padEnd(24)} ${d.verdict.padEnd(9)} ${cost}${keys}${d.asked ? '' : '   (not asked: an earlier detector matched)'}`);
    }
    const d = s.decision;
    const target = d.action === 'FORWARD' ? `FORWARD to ${d.toAddr}` : 'REJECT';
    const where = d.protocol ? `${d.protocol}[${JSON.stringify(d.rule)}]` : d.rule;
    lines.push(`  decision: ${target}, by ${where}`);
    lines.push(`  why: ${d.why}`);
  }
  return lines.join('\n') + '\n';
}

export async function runExplain(o: ExplainOptions, out: NodeJS.WritableStream): Promise<number> {
  let e: Explanation;
  try {
    e = await explain(o);
  } catch (err) {
    if (err instanceof PassthruError && !(err instanceof UsageError)) {
      process.stderr.write(`passthru explain: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  out.write(o.json ? JSON.stringify(e, null, 2) + '\n' : formatExplanation(e));
  return 0;
}

