// Starts Passthru: config and detectors are loaded and checked in full before anything listens,
// so a bad config or plugin exits non-zero having bound nothing.
import { checkProtocols } from './config/check-protocols.js';
import { loadConfigFile } from './config/load.js';
import { CATCHALL, type Config, type ServerConfig } from './config/model.js';
import { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './forwarder.js';
import { DEFAULT_IDLE_TIMEOUT_MS } from './idle-sweep.js';
import { DEFAULT_MAX_CONNECTIONS, Listener } from './listener.js';
import { selectIoMode, type IoMode } from './io-mode.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import { DEFAULT_FUEL, DEFAULT_MAX_MEMORY_PAGES } from './plugin/loader.js';
import { bundledPluginFiles, loadDetectorSet, type DetectorSet } from './plugin/registry.js';
import type { SandboxEvents } from './plugin/sandbox.js';
import { BUNDLED_PLUGINS_DIR } from './paths.js';
import { buildServerRuntime, type RuntimeOptions, type ServerRuntime } from './server-runtime.js';
import { DEFAULT_WINDOW_CAP, MAX_PROTOCOLS_PER_SERVER } from './sniffer.js';
import { checkTransports } from './udp/check.js';
import { UdpServers, type UdpOptions } from './udp/udp-runtime.js';

/** 5 s, as the original's -t default. */
export const DEFAULT_TIMEOUT_MS = 5_000;

export interface PassthruOptions extends UdpOptions {
  configFile: string;
  plugins: string[];
  timeoutMs?: number;
  windowCap?: number;
  connectTimeoutMs?: number;
  idleTimeoutMs?: number;
  maxConnections?: number;
  /** Counters for `--metrics`; absent: none kept. */
  metrics?: Metrics | undefined;
  fuel?: number;
  maxMemoryPages?: number;
  /** How sockets are driven (io-mode.ts); default: PASSTHRU_IO, else the best this Node allows. */
  io?: IoMode;
  /** Where the bundled detectors are; tests may point elsewhere. */
  bundledDir?: string;
}

export interface Loaded {
  config: Config;
  detectors: DetectorSet;
  warnings: ConfigIssue[];
}

/** Reads the config and the detectors and cross-checks them. Throws ConfigError/PluginLoadError. */
export async function loadAll(options: PassthruOptions, log: Logger): Promise<Loaded> {
  const config = await loadConfigFile(options.configFile);
  const events: SandboxEvents = {
    strike: (d, reason) => {
      options.metrics?.pluginStrike(d.name);
      log.warn({ event: 'plugin-strike', plugin: d.name, source: d.source, reason }, `detector ${d.name} struck: ${reason}`);
    },
    quarantine: (d, reason) => {
      options.metrics?.pluginQuarantine(d.name);
      log.error({ event: 'plugin-quarantine', plugin: d.name, source: d.source, reason }, `detector ${d.name} quarantined: ${reason}`);
    },
  };
  const detectors = await loadDetectorSet(await bundledPluginFiles(options.bundledDir ?? BUNDLED_PLUGINS_DIR), options.plugins, {
    fuel: options.fuel ?? DEFAULT_FUEL,
    maxMemoryPages: options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES,
    events,
  });
  options.metrics?.detectorsLoaded([...detectors.byProtocol.values()].map((d) => d.name));
  const report = checkProtocols(
    config,
    [...detectors.byProtocol.values()].map((d) => ({ protocol: d.protocol, ...(d.meta.keys ? { keys: d.meta.keys } : {}) })),
  );
  const transports = checkTransports(config, [...detectors.byProtocol.values()].map((d) => ({ protocol: d.protocol, name: d.name, transports: d.meta.transports })));
  const errors = [...report.errors, ...transports.errors];
  for (const server of config.servers) {
    const detecting = server.protocols.filter((p) => p.name !== CATCHALL).length;
    if (detecting > MAX_PROTOCOLS_PER_SERVER) {
      errors.push({ path: server.path, message: `${detecting} protocol sections; at most ${MAX_PROTOCOLS_PER_SERVER} per server` });
    }
  }
  if (errors.length) throw new ConfigError(config.file, errors);
  return { config, detectors, warnings: [...config.warnings, ...report.warnings, ...transports.warnings] };
}

export interface ReloadResult {
  ok: boolean;
  /** Why the new config or plugins were refused (the old ones keep serving). */
  error?: string;
  added: string[];
  removed: string[];
  kept: string[];
  /** From the signal to the new rules in effect. */
  ms: number;
}

export interface DrainResult {
  /** Connections open when draining began. */
  open: number;
  /** Connections still open at the deadline, closed then. */
  closed: number;
  ms: number;
}

export interface Running {
  listeners: Listener[];
  /** The udp:// servers' listeners (host/udp/). */
  udp: UdpServers;
  /** Re-reads config and plugins; all or nothing. Calls are serialized. */
  reload(): Promise<ReloadResult>;
  /** Stops accepting, waits up to `timeoutMs` for open connections to end, then closes the rest. */
  drain(timeoutMs: number): Promise<DrainResult>;
  stop(abort?: boolean): Promise<void>;
}

/**
 * How long a listener the new config no longer names lets its connections finish after a reload (its
 * socket is closed at once, so nothing new arrives): the same as the default drain at shutdown.
 */
export const RETIRE_DRAIN_MS = 30_000;

/** Same listen address in two configs: same listener. A port-0 address is a fresh port each time, so only the text identifies it. */
function listenKey(server: ServerConfig): string {
  return server.listen.port === 0 ? `text ${server.address}` : `${server.listen.host.toLowerCase()} ${server.listen.port}`;
}

function runtimeOptions(options: PassthruOptions, io: IoMode): RuntimeOptions {
  return {
    io,
    fuel: options.fuel ?? DEFAULT_FUEL,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    windowCap: options.windowCap ?? DEFAULT_WINDOW_CAP,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    idleTimeoutMs: options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS,
    maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    metrics: options.metrics,
  };
}

function logLoaded(loaded: Loaded, log: Logger): void {
  for (const w of loaded.warnings) log.warn({ event: 'config-warning', path: w.path }, `config: ${formatIssue(w)}`);
  for (const d of loaded.detectors.byProtocol.values()) {
    log.info({ event: 'detector', protocol: d.protocol, plugin: d.name, version: d.meta.version, source: d.source }, `detector ${d.name} ${d.meta.version} for ${d.protocol}`);
  }
  for (const r of loaded.detectors.replaced) {
    log.info({ event: 'detector-replaced', ...r }, `--plugin ${r.by} replaces the bundled ${r.protocol} detector`);
  }
}

/** Binds each listener in turn; if one cannot bind, closes the ones this call bound and throws. */
async function startAll(listeners: Listener[]): Promise<void> {
  const started: Listener[] = [];
  try {
    for (const l of listeners) {
      await l.start();
      started.push(l);
    }
  } catch (err) {
    await Promise.all(started.map((l) => l.stop(true)));
    throw err;
  }
}

function logListening(listeners: Listener[], log: Logger): void {
  for (const l of listeners) log.info({ event: 'listening', listener: l.address, port: l.port, io: l.io }, `listening on ${l.address}`);
}

/** Lets `l`'s open connections finish for up to `timeoutMs`, then closes the rest; its socket closes at once. */
async function drainListener(l: Listener, timeoutMs: number): Promise<number> {
  await l.stop(false);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
  await Promise.race([l.whenIdle(), deadline]);
  clearTimeout(timer);
  const left = l.openConnections;
  if (left > 0) await l.stop(true);
  return left;
}

/** Loads everything, then binds every listener; if one cannot bind, closes the others and throws. */
export async function startPassthru(options: PassthruOptions, log: Logger): Promise<Running> {
  const loaded = await loadAll(options, log);
  const io = await selectIoMode(options.io, log);
  const rtOptions = runtimeOptions(options, io);
  const byKey = new Map<string, Listener>();
  for (const server of loaded.config.servers) {
    if (server.udp) continue;
    byKey.set(listenKey(server), new Listener(server.listen, buildServerRuntime(server, loaded.detectors, rtOptions, log), io));
  }
  logLoaded(loaded, log);
  await startAll([...byKey.values()]);
  const udp = new UdpServers(rtOptions, options, log);
  try {
    await udp.start(loaded.config, loaded.detectors);
  } catch (err) {
    await Promise.all([...byKey.values()].map((l) => l.stop(true)));
    throw err;
  }
  logListening([...byKey.values()], log);

  /** Listeners a reload removed, still draining. */
  const retiring = new Set<Listener>();
  let reloading: Promise<ReloadResult> = Promise.resolve({ ok: true, added: [], removed: [], kept: [], ms: 0 });

  const reloadOnce = async (): Promise<ReloadResult> => {
    const t0 = performance.now();
    const ms = () => Math.round((performance.now() - t0) * 10) / 10;
    const refuse = (err: unknown): ReloadResult => {
      const error = err instanceof Error ? err.message : String(err);
      options.metrics?.reload('refused');
      log.error({ event: 'reload', result: 'refused', ms: ms() }, `reload refused, the old config keeps serving: ${error}`);
      return { ok: false, error, added: [], removed: [], kept: [], ms: ms() };
    };
    let next: Loaded;
    try {
      next = await loadAll(options, log);
    } catch (err) {
      return refuse(err);
    }
    const runtimes = new Map<string, { server: ServerConfig; rt: ServerRuntime }>();
    for (const server of next.config.servers) if (!server.udp) runtimes.set(listenKey(server), { server, rt: buildServerRuntime(server, next.detectors, rtOptions, log) });
    // New addresses bind first: if one cannot, nothing has changed yet.
    const addedByKey = new Map<string, Listener>();
    for (const [key, { server, rt }] of runtimes) if (!byKey.has(key)) addedByKey.set(key, new Listener(server.listen, rt, io));
    const added = [...addedByKey.values()];
    let udpReload;
    try {
      udpReload = await udp.prepare(next.config, next.detectors);
    } catch (err) {
      return refuse(err);
    }
    try {
      await startAll(added);
    } catch (err) {
      await udpReload.abort();
      return refuse(err);
    }
    udpReload.commit();
    const result: ReloadResult = { ok: true, added: [...added.map((l) => l.address), ...udpReload.added], removed: [...udpReload.removed], kept: [...udpReload.kept], ms: 0 };
    for (const [key, l] of [...byKey]) {
      const entry = runtimes.get(key);
      if (entry) {
        l.swap(entry.rt);
        result.kept.push(entry.rt.address);
      } else {
        byKey.delete(key);
        retiring.add(l);
        result.removed.push(l.address);
        void drainListener(l, RETIRE_DRAIN_MS).finally(() => retiring.delete(l));
      }
    }
    for (const [key, l] of addedByKey) byKey.set(key, l);
    running.listeners = [...byKey.values()];
    result.ms = ms();
    options.metrics?.reload('ok');
    logLoaded(next, log);
    logListening(added, log);
    log.info({ event: 'reload', result: 'ok', added: result.added, removed: result.removed, kept: result.kept, ms: result.ms }, `reloaded ${options.configFile} in ${result.ms} ms`);
    return result;
  };

  const all = (): Listener[] => [...byKey.values(), ...retiring];
  const running: Running = {
    listeners: [...byKey.values()],
    udp,
    reload: () => (reloading = reloading.then(reloadOnce, reloadOnce)),
    drain: async (timeoutMs) => {
      const t0 = performance.now();
      const ls = all();
      const open = ls.reduce((n, l) => n + l.openConnections, 0);
      const [left, flows] = await Promise.all([Promise.all(ls.map((l) => drainListener(l, timeoutMs))), udp.drain(timeoutMs)]);
      return { open: open + flows.open, closed: left.reduce((a, b) => a + b, 0) + flows.closed, ms: Math.round(performance.now() - t0) };
    },
    stop: async (abort = false) => {
      await Promise.all([...all().map((l) => l.stop(abort)), udp.stop()]);
    },
  };
  return running;
}
