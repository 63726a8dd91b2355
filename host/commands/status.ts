// `passthru status`: a live view of a running Passthru, read from its --metrics endpoint. Rates are
// deltas between two scrapes, so even a one-shot view (--once, or stdout not a terminal) takes two.
import { MetricsEndpointError } from '../errors.js';
import { parsePrometheusText } from '../status/prom-text.js';
import { bucketDelta, quantile, rate, snapshot, type Snapshot } from '../status/snapshot.js';

export interface StatusOptions {
  /** http://host:port[/metrics] or host:port. */
  target: string;
  intervalMs: number;
  once: boolean;
  /** Stop after this many redraws (tests); unlimited when absent. */
  frames?: number;
}

export function metricsUrl(target: string): string {
  const withScheme = /^https?:\/\//i.test(target) ? target : `http://${target}`;
  const u = new URL(withScheme);
  if (u.pathname === '/' || u.pathname === '') u.pathname = '/metrics';
  return u.toString();
}

async function scrape(url: string, timeoutMs: number): Promise<Snapshot> {
  let text: string;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new MetricsEndpointError(url, `HTTP ${res.status}`);
    text = await res.text();
  } catch (err) {
    if (err instanceof MetricsEndpointError) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new MetricsEndpointError(url, cause?.code ?? cause?.message ?? (err as Error).message, { cause: err });
  }
  try {
    return snapshot(parsePrometheusText(text), performance.now());
  } catch (err) {
    throw new MetricsEndpointError(url, `not Prometheus text: ${(err as Error).message}`, { cause: err });
  }
}

const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
function bytesPerSec(v: number): string {
  let i = 0;
  while (v >= 1024 && i < units.length - 1) [v, i] = [v / 1024, i + 1];
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}/s`;
}
function seconds(v: number | undefined): string {
  if (v === undefined) return '-';
  if (v === Infinity) return '>10s';
  return v < 0.001 ? `${(v * 1e6).toFixed(0)}µs` : v < 1 ? `${(v * 1000).toFixed(v < 0.01 ? 1 : 0)}ms` : `${v}s`;
}
function duration(s: number): string {
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h ? `${h}h${m}m` : m ? `${m}m${Math.floor(s % 60)}s` : `${Math.floor(s)}s`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 || c === 1 || c === 2 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

/** The view of `cur`, with rates over the time since `prev`. */
export function render(url: string, prev: Snapshot, cur: Snapshot, now = Date.now()): string {
  const secs = (cur.at - prev.at) / 1000;
  const lines: string[] = [];
  const uptime = cur.startTime ? `  up ${duration(now / 1000 - cur.startTime)}` : '';
  lines.push(`passthru status  ${url}${uptime}  (rates over ${secs.toFixed(1)}s)`);
  lines.push('');
  const lrows = [['LISTENER', '', '', 'ACTIVE', 'ACCEPTED', 'ACCEPTED/S', 'DETECT P50', 'P99']];
  for (const l of cur.listeners.values()) {
    const p = prev.listeners.get(l.listener);
    const d = bucketDelta(p?.buckets, l.buckets);
    // No detection in this interval: show the whole run's, so an idle instance still says something.
    const b = quantile(d, 0.5) === undefined ? l.buckets : d;
    lrows.push([l.listener, '', '', String(l.active), String(l.accepted), rate(p?.accepted, l.accepted, secs).toFixed(1), seconds(quantile(b, 0.5)), seconds(quantile(b, 0.99))]);
  }
  lines.push(...table(lrows));
  lines.push('');
  const rrows = [['LISTENER', 'PROTOCOL', 'RULE', 'CLOSED', 'CLOSED/S', 'IN (UP)/S', 'OUT (DOWN)/S']];
  for (const [id, r] of cur.rules) {
    const p = prev.rules.get(id);
    rrows.push([r.listener, r.protocol || '-', r.rule || '-', String(r.closed), rate(p?.closed, r.closed, secs).toFixed(1), bytesPerSec(rate(p?.bytesUp, r.bytesUp, secs)), bytesPerSec(rate(p?.bytesDown, r.bytesDown, secs))]);
  }
  if (rrows.length === 1) lines.push('no connection has ended yet');
  else lines.push(...table(rrows));
  lines.push('');
  const prows = [['DETECTOR', '', '', 'STRIKES', 'QUARANTINED']];
  for (const [name, p] of [...cur.plugins].sort((a, b) => a[0].localeCompare(b[0]))) prows.push([name, '', '', String(p.strikes), p.quarantines > 0 ? `yes (${p.quarantines}x)` : 'no']);
  if (prows.length === 1) lines.push('detectors: none reported');
  else lines.push(...table(prows));
  lines.push('');
  lines.push(`reloads: ${cur.reloads.ok} ok, ${cur.reloads.refused} refused`);
  return lines.join('\n') + '\n';
}

export async function runStatus(options: StatusOptions, out: NodeJS.WritableStream & { isTTY?: boolean }): Promise<number> {
  const url = metricsUrl(options.target);
  const timeoutMs = Math.max(1000, options.intervalMs);
  const live = !options.once && out.isTTY === true;
  let prev = await scrape(url, timeoutMs);
  for (let frame = 0; ; frame++) {
    await new Promise((r) => setTimeout(r, options.intervalMs));
    const cur = await scrape(url, timeoutMs);
    const view = render(url, prev, cur);
    // Clear and home, so the view redraws in place instead of scrolling.
    out.write(live ? `\x1b[H\x1b[2J${view}` : view);
    prev = cur;
    if (!live || (options.frames !== undefined && frame + 1 >= options.frames)) return 0;
  }
}
