// Starts Passthru: config and detectors are loaded and checked in full before anything listens,
// so a bad config or plugin exits non-zero having bound nothing.
import { checkProtocols } from './config/check-protocols.js';
import { loadConfigFile } from './config/load.js';
import { CATCHALL, type Config } from './config/model.js';
import { ConfigError, formatIssue, type ConfigIssue } from './errors.js';
import { DEFAULT_CONNECT_TIMEOUT_MS } from './forwarder.js';
import { Listener } from './listener.js';
import { selectIoMode, type IoMode } from './io-mode.js';
import type { Logger } from './log.js';
import { DEFAULT_FUEL, DEFAULT_MAX_MEMORY_PAGES } from './plugin/loader.js';
import { bundledPluginFiles, loadDetectorSet, type DetectorSet } from './plugin/registry.js';
import type { SandboxEvents } from './plugin/sandbox.js';
import { BUNDLED_PLUGINS_DIR } from './paths.js';
import { buildServerRuntime, type RuntimeOptions } from './server-runtime.js';
import { DEFAULT_WINDOW_CAP, MAX_PROTOCOLS_PER_SERVER } from './sniffer.js';

/** 5 s, as the original's -t default. */
export const DEFAULT_TIMEOUT_MS = 5_000;

export interface PassthruOptions {
  configFile: string;
  plugins: string[];
  timeoutMs?: number;
  windowCap?: number;
  connectTimeoutMs?: number;
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
    strike: (d, reason) => log.warn({ event: 'plugin-strike', plugin: d.name, source: d.source, reason }, `detector ${d.name} struck: ${reason}`),
    quarantine: (d, reason) => log.error({ event: 'plugin-quarantine', plugin: d.name, source: d.source, reason }, `detector ${d.name} quarantined: ${reason}`),
  };
  const detectors = await loadDetectorSet(await bundledPluginFiles(options.bundledDir ?? BUNDLED_PLUGINS_DIR), options.plugins, {
    fuel: options.fuel ?? DEFAULT_FUEL,
    maxMemoryPages: options.maxMemoryPages ?? DEFAULT_MAX_MEMORY_PAGES,
    events,
  });
  const report = checkProtocols(
    config,
    [...detectors.byProtocol.values()].map((d) => ({ protocol: d.protocol, ...(d.meta.keys ? { keys: d.meta.keys } : {}) })),
  );
  const errors = [...report.errors];
  for (const server of config.servers) {
    const detecting = server.protocols.filter((p) => p.name !== CATCHALL).length;
    if (detecting > MAX_PROTOCOLS_PER_SERVER) {
      errors.push({ path: server.path, message: `${detecting} protocol sections; at most ${MAX_PROTOCOLS_PER_SERVER} per server` });
    }
  }
  if (errors.length) throw new ConfigError(config.file, errors);
  return { config, detectors, warnings: [...config.warnings, ...report.warnings] };
}

export interface Running {
  listeners: Listener[];
  stop(abort?: boolean): Promise<void>;
}

/** Loads everything, then binds every listener; if one cannot bind, closes the others and throws. */
export async function startPassthru(options: PassthruOptions, log: Logger): Promise<Running> {
  const loaded = await loadAll(options, log);
  const io = await selectIoMode(options.io, log);
  const rtOptions: RuntimeOptions = {
    io,
    fuel: options.fuel ?? DEFAULT_FUEL,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    windowCap: options.windowCap ?? DEFAULT_WINDOW_CAP,
    connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
  };
  const listeners = loaded.config.servers.map(
    (server) => new Listener(server.listen, buildServerRuntime(server, loaded.detectors, rtOptions, log), io),
  );
  for (const w of loaded.warnings) log.warn({ event: 'config-warning', path: w.path }, `config: ${formatIssue(w)}`);
  for (const d of loaded.detectors.byProtocol.values()) {
    log.info({ event: 'detector', protocol: d.protocol, plugin: d.name, version: d.meta.version, source: d.source }, `detector ${d.name} ${d.meta.version} for ${d.protocol}`);
  }
  for (const r of loaded.detectors.replaced) {
    log.info({ event: 'detector-replaced', ...r }, `--plugin ${r.by} replaces the bundled ${r.protocol} detector`);
  }
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
  for (const l of listeners) log.info({ event: 'listening', listener: l.address, port: l.port, io: l.io }, `listening on ${l.address}`);
  return {
    listeners,
    stop: async (abort = false) => {
      await Promise.all(listeners.map((l) => l.stop(abort)));
    },
  };
}
