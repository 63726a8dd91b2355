// deploy/grafana/passthru-dashboard.json: a dashboard Grafana imports, whose every query names a
// metric host/metrics.ts registers, grouped and filtered only by labels that metric has.
import { readFileSync } from 'node:fs';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import { processMetrics } from '../../host/metrics.js';

const dash = JSON.parse(readFileSync(new URL('../../deploy/grafana/passthru-dashboard.json', import.meta.url), 'utf8')) as {
  schemaVersion: number;
  title: string;
  uid: string;
  templating: { list: { name: string; type: string; query?: unknown }[] };
  panels: { id: number; title: string; type: string; datasource: { uid: string }; gridPos: object; targets: { refId: string; expr: string }[] }[];
};

const FUNCTIONS = new Set(['sum', 'rate', 'increase', 'histogram_quantile', 'by', 'without', 'label_values']);

/** Metric names in a PromQL expression, with the labels its selector and the enclosing by() use. */
function uses(expr: string): { metric: string; labels: string[] }[] {
  const byLabels = [...expr.matchAll(/\bby\s*\(([^)]*)\)/g)].flatMap((m) => m[1]!.split(',').map((s) => s.trim()).filter(Boolean));
  const out: { metric: string; labels: string[] }[] = [];
  for (const m of expr.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*(\{([^}]*)\})?/g)) {
    const name = m[1]!;
    if (FUNCTIONS.has(name) || !name.startsWith('passthru_')) continue;
    const sel = m[3] ? [...m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)/g)].map((x) => x[1]!) : [];
    out.push({ metric: name, labels: [...sel, ...byLabels] });
  }
  return out;
}

/** A sample name → the registered metric's labels (a histogram's _bucket adds `le`). */
function labelsOf(sample: string): string[] | undefined {
  processMetrics();
  const direct = client.register.getSingleMetric(sample) as unknown as { labelNames?: string[] } | undefined;
  if (direct) return direct.labelNames ?? [];
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (!sample.endsWith(suffix)) continue;
    const h = client.register.getSingleMetric(sample.slice(0, -suffix.length)) as unknown as { labelNames?: string[] } | undefined;
    if (h) return [...(h.labelNames ?? []), ...(suffix === '_bucket' ? ['le'] : [])];
  }
  return undefined;
}

describe('Grafana dashboard', () => {
  it('has the shape Grafana imports: schemaVersion, uid, a Prometheus datasource variable, panels with targets', () => {
    expect(dash.schemaVersion).toBeGreaterThanOrEqual(30);
    expect(dash.uid).toBe('passthru');
    expect(dash.templating.list).toContainEqual(expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' }));
    expect(dash.panels.length).toBeGreaterThanOrEqual(8);
    const ids = new Set<number>();
    for (const p of dash.panels) {
      expect(ids.has(p.id)).toBe(false);
      ids.add(p.id);
      expect(p.datasource.uid).toBe('${datasource}');
      expect(p.gridPos).toBeTruthy();
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.expr).toMatch(/passthru_/);
    }
  });

  it('covers connections by protocol/rule, active, bytes, detection latency, outcomes, connect failures, strikes, quarantines, reloads', () => {
    const all = dash.panels.flatMap((p) => p.targets.map((t) => t.expr)).join('\n');
    for (const m of ['passthru_connections_closed_total', 'passthru_connections_active', 'passthru_bytes_total', 'passthru_detection_seconds_bucket', 'passthru_detection_outcomes_total', 'passthru_backend_connect_failures_total', 'passthru_plugin_strikes_total', 'passthru_plugin_quarantines_total', 'passthru_reloads_total']) {
      expect(all).toContain(m);
    }
    expect(all).toMatch(/histogram_quantile\(0\.5,/);
    expect(all).toMatch(/histogram_quantile\(0\.99,/);
  });

  it('every metric a query names is registered by host/metrics.ts, with every label the query uses', () => {
    const exprs = [...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dash.templating.list.map((v) => JSON.stringify(v.query ?? ''))];
    let checked = 0;
    for (const expr of exprs) {
      for (const u of uses(expr)) {
        const labels = labelsOf(u.metric);
        expect(labels, `${u.metric} in ${expr}`).toBeDefined();
        for (const l of u.labels) expect(labels, `label ${l} of ${u.metric} in ${expr}`).toContain(l);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(15);
  });
});
