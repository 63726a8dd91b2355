// One scrape of a running Passthru reduced to what `passthru status` shows, and the rates between two.
import type { Sample } from './prom-text.js';

export interface RuleRow {
  listener: string;
  protocol: string;
  rule: string;
  closed: number;
  bytesUp: number;
  bytesDown: number;
}

export interface ListenerRow {
  listener: string;
  accepted: number;
  active: number;
  /** Cumulative histogram buckets of passthru_detection_seconds: upper bound → count. */
  buckets: [number, number][];
}

export interface Snapshot {
  /** ms, when it was taken (performance.now() or Date.now(), the caller's clock). */
  at: number;
  listeners: Map<string, ListenerRow>;
  rules: Map<string, RuleRow>;
  plugins: Map<string, { strikes: number; quarantines: number }>;
  reloads: { ok: number; refused: number };
  startTime?: number;
}

const ruleId = (l: Record<string, string>) => JSON.stringify([l.listener ?? '', l.protocol ?? '', l.rule ?? '']);

export function snapshot(samples: Sample[], at: number): Snapshot {
  const s: Snapshot = { at, listeners: new Map(), rules: new Map(), plugins: new Map(), reloads: { ok: 0, refused: 0 } };
  const listener = (name: string): ListenerRow => {
    let row = s.listeners.get(name);
    if (!row) s.listeners.set(name, (row = { listener: name, accepted: 0, active: 0, buckets: [] }));
    return row;
  };
  const rule = (l: Record<string, string>): RuleRow => {
    const id = ruleId(l);
    let row = s.rules.get(id);
    if (!row) s.rules.set(id, (row = { listener: l.listener ?? '', protocol: l.protocol ?? '', rule: l.rule ?? '', closed: 0, bytesUp: 0, bytesDown: 0 }));
    return row;
  };
  const plugin = (name: string) => {
    let p = s.plugins.get(name);
    if (!p) s.plugins.set(name, (p = { strikes: 0, quarantines: 0 }));
    return p;
  };
  for (const { name, labels, value } of samples) {
    switch (name) {
      case 'passthru_connections_accepted_total':
        listener(labels.listener ?? '').accepted += value;
        break;
      case 'passthru_connections_active':
        listener(labels.listener ?? '').active += value;
        break;
      case 'passthru_connections_closed_total':
        rule(labels).closed += value;
        break;
      case 'passthru_bytes_total':
        if (labels.direction === 'up') rule(labels).bytesUp += value;
        else rule(labels).bytesDown += value;
        break;
      case 'passthru_detection_seconds_bucket':
        listener(labels.listener ?? '').buckets.push([labels.le === '+Inf' ? Infinity : Number(labels.le), value]);
        break;
      case 'passthru_plugin_strikes_total':
        plugin(labels.plugin ?? '').strikes += value;
        break;
      case 'passthru_plugin_quarantines_total':
        plugin(labels.plugin ?? '').quarantines += value;
        break;
      case 'passthru_reloads_total':
        if (labels.result === 'ok') s.reloads.ok += value;
        else s.reloads.refused += value;
        break;
      case 'passthru_process_start_time_seconds':
        s.startTime = value;
        break;
    }
  }
  for (const l of s.listeners.values()) l.buckets.sort((a, b) => a[0] - b[0]);
  return s;
}

/** The q-quantile's bucket upper bound from cumulative buckets (as Prometheus' histogram_quantile, without interpolation); undefined with no observations. */
export function quantile(buckets: [number, number][], q: number): number | undefined {
  const total = buckets.length ? buckets[buckets.length - 1]![1] : 0;
  if (!(total > 0)) return undefined;
  const want = q * total;
  for (const [le, count] of buckets) if (count >= want) return le;
  return Infinity;
}

/** Bucket counts observed between two snapshots (a restarted counter: the newer counts alone). */
export function bucketDelta(prev: [number, number][] | undefined, cur: [number, number][]): [number, number][] {
  if (!prev) return cur;
  const before = new Map(prev);
  const d = cur.map(([le, c]): [number, number] => [le, c - (before.get(le) ?? 0)]);
  return d.some(([, c]) => c < 0) ? cur : d;
}

/** Per second between snapshots; a counter that went down (restart) counts from zero. */
export function rate(prev: number | undefined, cur: number, seconds: number): number {
  if (!(seconds > 0)) return 0;
  const d = prev === undefined || cur < prev ? cur : cur - prev;
  return d / seconds;
}
