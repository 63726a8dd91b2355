// Prometheus metrics (prom-client). One Metrics per process, on prom-client's global registry so
// that the cluster primary can aggregate its workers' (metrics-server.ts). Label values come from
// the config (listener, protocol, rule) or small fixed sets (close reason, outcome): bounded.
import cluster from 'node:cluster';
import client from 'prom-client';
import type { DecisionReason } from './sniffer.js';

/**
 * Detection latency buckets (seconds): a ClientHello in one read decides in ~50-200 µs; a client that
 * waits for the server to speak first decides at the detection timeout (5 s by default).
 */
const DETECTION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1, 5, 10];

export type RefuseReason = 'max-connections' | 'proxy-header' | 'draining';

export class Metrics {
  readonly registry = client.register;
  private readonly accepted = new client.Counter({ name: 'passthru_connections_accepted_total', help: 'Connections accepted', labelNames: ['listener'] as const });
  private readonly active = new client.Gauge({ name: 'passthru_connections_active', help: 'Connections open now', labelNames: ['listener'] as const });
  private readonly closed = new client.Counter({
    name: 'passthru_connections_closed_total',
    help: 'Connections ended, by the rule that applied and how they ended',
    labelNames: ['listener', 'protocol', 'rule', 'action', 'close'] as const,
  });
  private readonly refused = new client.Counter({ name: 'passthru_connections_refused_total', help: 'Connections refused before detection', labelNames: ['listener', 'reason'] as const });
  private readonly bytes = new client.Counter({
    name: 'passthru_bytes_total',
    help: 'Bytes forwarded; direction up = client to backend (window included), down = backend to client',
    labelNames: ['listener', 'protocol', 'rule', 'direction'] as const,
  });
  private readonly detection = new client.Histogram({ name: 'passthru_detection_seconds', help: 'Accept to routing decision', labelNames: ['listener'] as const, buckets: DETECTION_BUCKETS });
  private readonly outcomes = new client.Counter({
    name: 'passthru_detection_outcomes_total',
    help: 'How detection ended: match, no-match, timeout, window-full (the cap), eof, budget (fuel), immediate (CATCHALL-only server)',
    labelNames: ['listener', 'outcome'] as const,
  });
  private readonly connectFailures = new client.Counter({
    name: 'passthru_backend_connect_failures_total',
    help: 'Backend dials that failed (refused, unreachable, timeout), each retry counted',
    labelNames: ['listener', 'backend'] as const,
  });
  private readonly strikes = new client.Counter({ name: 'passthru_plugin_strikes_total', help: 'Detector calls that trapped, ran out of fuel or answered out of range', labelNames: ['plugin'] as const });
  private readonly quarantines = new client.Counter({ name: 'passthru_plugin_quarantines_total', help: 'Detectors put in quarantine after repeated strikes', labelNames: ['plugin'] as const });
  private readonly proxyErrors = new client.Counter({ name: 'passthru_proxy_header_errors_total', help: 'Missing or bad PROXY headers on accept_proxy listeners', labelNames: ['listener', 'code'] as const });
  private readonly reloads = new client.Counter({ name: 'passthru_reloads_total', help: 'Config reloads', labelNames: ['result'] as const });

  constructor() {
    client.collectDefaultMetrics({ prefix: 'passthru_' });
    // prom-client answers the primary's aggregation requests only once an AggregatorRegistry exists in the worker.
    if (cluster.isWorker) new client.AggregatorRegistry();
  }

  connectionAccepted(listener: string): void {
    this.accepted.inc({ listener });
    this.active.inc({ listener });
  }

  connectionRefused(listener: string, reason: RefuseReason): void {
    this.refused.inc({ listener, reason });
  }

  decided(listener: string, outcome: DecisionReason, seconds: number): void {
    this.outcomes.inc({ listener, outcome });
    this.detection.observe({ listener }, seconds);
  }

  connectionClosed(listener: string, protocol: string, rule: string, action: string, close: string, up: number, down: number): void {
    this.active.dec({ listener });
    this.closed.inc({ listener, protocol, rule, action, close });
    if (up > 0) this.bytes.inc({ listener, protocol, rule, direction: 'up' }, up);
    if (down > 0) this.bytes.inc({ listener, protocol, rule, direction: 'down' }, down);
  }

  backendConnectFailed(listener: string, backend: string): void {
    this.connectFailures.inc({ listener, backend });
  }

  /** Zero series for each loaded detector, so a healthy one shows up (as 0 strikes) rather than being absent. */
  detectorsLoaded(plugins: Iterable<string>): void {
    for (const plugin of plugins) {
      this.strikes.inc({ plugin }, 0);
      this.quarantines.inc({ plugin }, 0);
    }
  }

  pluginStrike(plugin: string): void {
    this.strikes.inc({ plugin });
  }

  pluginQuarantine(plugin: string): void {
    this.quarantines.inc({ plugin });
  }

  proxyHeaderError(listener: string, code: string): void {
    this.proxyErrors.inc({ listener, code });
  }

  reload(result: 'ok' | 'refused'): void {
    this.reloads.inc({ result });
  }
}

let instance: Metrics | undefined;

/** The process's Metrics, created on first use (prom-client refuses a metric name registered twice). */
export function processMetrics(): Metrics {
  instance ??= new Metrics();
  return instance;
}
