#!/usr/bin/env node
// argv → a command; nothing else lives here.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import cluster from 'node:cluster';
import { parseWorkers, runCluster, SCHEDULINGS, WORKER_ENV, type Scheduling } from './cluster.js';
import { parseHostPort } from './config/address.js';
import type { HostPort } from './config/model.js';
import { parseDuration, parsePositiveDuration } from './duration.js';
import { DEFAULT_MAX_CONNECTIONS } from './listener.js';
import { processMetrics } from './metrics.js';
import { PassthruError, UsageError } from './errors.js';
import { createLogger, type LogLevel } from './log.js';
import { DEFAULT_CONFIG, PACKAGE_ROOT } from './paths.js';
import { runCheck } from './commands/check.js';
import { runExplain } from './commands/explain.js';
import { runPluginBuild } from './commands/plugin-build.js';
import { DEFAULT_IDLE_MS, runPluginCapture } from './commands/plugin-capture.js';
import { runPluginInspect } from './commands/plugin-inspect.js';
import { runPluginNew } from './commands/plugin-new.js';
import { runPluginTest } from './commands/plugin-test.js';
import { DEFAULT_FUZZ_RUNS, DEFAULT_FUZZ_SEED } from './plugin/conformance.js';
import { runSchema } from './commands/schema.js';
import { runStatus } from './commands/status.js';
import { runServe } from './commands/serve.js';
import { DEFAULT_FUEL, DEFAULT_MAX_MEMORY_PAGES } from './plugin/loader.js';
import { udpOptions, withUdp } from './udp/cli-options.js';

const version = (JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;


function withConfig<T>(y: Argv<T>) {
  return y
    .option('c', { alias: 'config', type: 'string', describe: 'config file (v0.2.0 JSON)', default: DEFAULT_CONFIG, defaultDescription: 'the bundled config/default.json', requiresArg: true })
    .option('plugin', { type: 'string', array: true, describe: 'detector .wasm to load (repeatable); replaces a bundled detector of the same protocol', default: [] as string[], requiresArg: true });
}

function withSandbox<T>(y: Argv<T>) {
  return y
    .option('plugin-fuel', { type: 'number', describe: 'fuel budget per detect() call; a call that needs more traps and counts as a strike', default: DEFAULT_FUEL, requiresArg: true })
    .option('plugin-max-memory', { type: 'number', describe: 'largest memory maximum (64 KiB pages) a detector may declare', default: DEFAULT_MAX_MEMORY_PAGES, requiresArg: true });
}

function withServe<T>(y: Argv<T>) {
  return withUdp(withSandbox(withConfig(y)))
    .option('t', { alias: 'timeout', type: 'string', describe: 'detection timeout from accept, a Go duration (5s, 500ms, 1m30s); then the CATCHALL protocol applies', default: '5s', requiresArg: true })
    .option('w', { alias: 'workers', type: 'string', describe: 'worker processes sharing the listeners (0 or auto: one per core)', default: '1', requiresArg: true })
    .option('scheduling', { type: 'string', choices: SCHEDULINGS as unknown as string[], describe: 'with -w: rr = the primary accepts and hands connections out in turn; none = workers accept from the shared socket', default: 'none' })
    .option('max-connections', { type: 'number', describe: 'concurrent connections per listener; over it new ones are reset', default: DEFAULT_MAX_CONNECTIONS, requiresArg: true })
    .option('connect-timeout', { type: 'string', describe: 'backend connect timeout (then the next backend of the rule, or the client is closed)', default: '10s', requiresArg: true })
    .option('idle-timeout', { type: 'string', describe: 'close a forwarded connection with no data either way for this long (0: never)', default: '1h', requiresArg: true })
    .option('drain-timeout', { type: 'string', describe: 'at SIGTERM/SIGINT, how long open connections may finish before they are closed', default: '30s', requiresArg: true })
    .option('watch', { type: 'boolean', describe: 'reload when the config file or a --plugin file changes (SIGHUP always reloads)', default: false })
    .option('metrics', { type: 'string', describe: 'serve Prometheus metrics at http://HOST:PORT/metrics and /healthz', requiresArg: true })
    .option('log-level', { type: 'string', choices: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info' });
}

function sandboxOptions(args: { 'plugin-fuel': number; 'plugin-max-memory': number }): { fuel: number; maxMemoryPages: number } {
  const fuel = args['plugin-fuel'];
  const pages = args['plugin-max-memory'];
  // 2^31-1: the meter is an i32 global.
  if (!Number.isInteger(fuel) || fuel < 1 || fuel > 0x7fffffff) throw new UsageError(`--plugin-fuel: ${fuel} is not a whole number from 1 to 2147483647`);
  // 65536 pages = 4 GiB, the whole 32-bit address space.
  if (!Number.isInteger(pages) || pages < 1 || pages > 65536) throw new UsageError(`--plugin-max-memory: ${pages} is not a whole number of pages from 1 to 65536`);
  return { fuel, maxMemoryPages: pages };
}

function workersOption(text: string): number {
  try {
    return parseWorkers(text);
  } catch (err) {
    throw new UsageError(`-w: ${(err as Error).message}`);
  }
}

function metricsOption(text: string | undefined): HostPort | undefined {
  if (text === undefined) return undefined;
  const r = parseHostPort(text, { allowEmptyHost: true, allowPortZero: true });
  if (!r.ok) throw new UsageError(`--metrics: ${JSON.stringify(text)} is not host:port: ${r.reason}`);
  return r.value;
}

interface LimitArgs {
  'max-connections': number;
  'connect-timeout': string;
  'idle-timeout': string;
  'drain-timeout': string;
}

function limitOptions(args: LimitArgs): { maxConnections: number; connectTimeoutMs: number; idleTimeoutMs: number; drainTimeoutMs: number } {
  const max = args['max-connections'];
  if (!Number.isInteger(max) || max < 1) throw new UsageError(`--max-connections: ${max} is not a whole number of at least 1`);
  const idle = parseDuration(args['idle-timeout'], '--idle-timeout');
  if (idle < 0) throw new UsageError(`--idle-timeout: ${args['idle-timeout']} is negative`);
  const drain = parseDuration(args['drain-timeout'], '--drain-timeout');
  if (drain < 0) throw new UsageError(`--drain-timeout: ${args['drain-timeout']} is negative`);
  return { maxConnections: max, connectTimeoutMs: parsePositiveDuration(args['connect-timeout'], '--connect-timeout'), idleTimeoutMs: idle, drainTimeoutMs: drain };
}

async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  await yargs(argv)
    .scriptName('passthru')
    .usage('$0 [-c FILE] [-t TIMEOUT] [-w N] [--plugin FILE.wasm]...\n\nListens on every server address of the config, sniffs each connection\'s first bytes with the loaded detectors, and forwards or rejects it by the config\'s rules.')
    .command(
      '$0',
      'run the proxy',
      (y) => withServe(y),
      async (args) => {
        const log = createLogger(args['log-level'] as LogLevel);
        const timeoutMs = parsePositiveDuration(args.t, '-t');
        const workers = workersOption(args.w);
        const metricsAt = metricsOption(args.metrics);
        const limits = limitOptions(args);
        const sandbox = sandboxOptions(args);
        const worker = cluster.isWorker && process.env[WORKER_ENV] === '1';
        if (workers > 1 && !worker) {
          exitCode = await runCluster({ workers, scheduling: args.scheduling as Scheduling, metricsAt }, log);
          return;
        }
        exitCode = await runServe(
          {
            configFile: args.c,
            plugins: args.plugin,
            timeoutMs,
            ...limits,
            ...sandbox,
            ...udpOptions(args),
            watch: args.watch,
            worker,
            // A worker keeps counts for the primary's aggregate; it serves none itself.
            metricsAt: worker ? undefined : metricsAt,
            metrics: metricsAt ? processMetrics() : undefined,
          },
          log,
        );
      },
    )
    .command(
      'check',
      'validate the config and plugins, print a summary, exit 0 or 1 without listening',
      (y) => withSandbox(withConfig(y)),
      async (args) => {
        exitCode = await runCheck({ configFile: args.c, plugins: args.plugin, ...sandboxOptions(args) }, process.stdout);
      },
    )
    .command(
      'schema',
      'print the config\'s JSON Schema (draft-07) for editors: completion and checks of field names, addresses, durations; the bundled detectors\' protocols plus each --plugin\'s',
      (y) => y.option('plugin', { type: 'string', array: true, describe: 'detector .wasm whose protocol the schema should know (repeatable)', default: [] as string[], requiresArg: true }),
      async (args) => {
        exitCode = await runSchema({ plugins: args.plugin }, process.stdout);
      },
    )
    .command(
      'status [target]',
      'a live view of a running passthru from its --metrics endpoint: connections and rates per listener and rule, detection latency, detector health, reloads',
      (y) =>
        y
          .positional('target', { type: 'string', describe: 'the metrics endpoint: HOST:PORT or http://HOST:PORT' })
          .option('metrics', { type: 'string', describe: 'the metrics endpoint (as --metrics of the running instance)', requiresArg: true })
          .option('interval', { type: 'string', describe: 'time between scrapes, a Go duration', default: '1s', requiresArg: true })
          .option('once', { type: 'boolean', describe: 'print one view (rates over one interval) and exit; the default when stdout is not a terminal', default: false }),
      async (args) => {
        const target = args.target ?? args.metrics;
        if (!target) throw new UsageError('status: name the metrics endpoint (HOST:PORT or http://HOST:PORT, or --metrics HOST:PORT)');
        exitCode = await runStatus({ target, intervalMs: parsePositiveDuration(args.interval, '--interval'), once: args.once }, process.stdout);
      },
    )
    .command('plugin', 'work with detector plugins (.wasm)', (y) =>
      y
        .command(
          'inspect <file>',
          'show a detector\'s metadata, exports, imports and memory, whether it passes the load checks (exit 1 if not), and its verdicts, fuel and time on built-in samples',
          (y) =>
            withSandbox(y)
              .positional('file', { type: 'string', describe: 'the detector .wasm', demandOption: true })
              .option('json', { type: 'boolean', describe: 'print the report as JSON', default: false }),
          async (args) => {
            exitCode = await runPluginInspect({ file: args.file, json: args.json, ...sandboxOptions(args) }, process.stdout);
          },
        )
        .command(
          'new <name> [dir]',
          'scaffold a detector project (package.json, asconfig.json, assembly/index.ts, fixtures/) in DIR (default ./NAME)',
          (y) =>
            y
              .positional('name', { type: 'string', describe: 'detector name: lower-case letters, digits, _ . - (build/NAME.wasm)', demandOption: true })
              .positional('dir', { type: 'string', describe: 'directory to create (must not exist or be empty)' })
              .option('protocol', { type: 'string', describe: 'protocol name the config sections use', defaultDescription: 'NAME in upper case', requiresArg: true }),
          async (args) => {
            exitCode = await runPluginNew({ name: args.name, ...(args.dir ? { dir: args.dir } : {}), ...(args.protocol ? { protocol: args.protocol } : {}) }, process.stdout);
          },
        )
        .command(
          'build [dir]',
          'compile a detector project to DIR/build/NAME.wasm with the sandbox\'s settings and this Passthru\'s SDK and AssemblyScript',
          (y) => y.positional('dir', { type: 'string', describe: 'the project (with package.json)', default: '.' }),
          async (args) => {
            exitCode = await runPluginBuild({ dir: args.dir }, process.stdout);
          },
        )
        .command(
          'capture <out>',
          'record the first bytes a real client sends (for fixtures): listen on 127.0.0.1, accept one connection, write what it sends to OUT, never answer',
          (y) =>
            y
              .positional('out', { type: 'string', describe: 'file to write', demandOption: true })
              .option('port', { type: 'number', describe: 'port to listen on (0: any; printed as "listening P")', default: 0, requiresArg: true })
              .option('idle', { type: 'number', describe: 'stop after the client is quiet this many ms', default: DEFAULT_IDLE_MS, requiresArg: true }),
          async (args) => {
            exitCode = await runPluginCapture({ out: args.out, port: args.port, idleMs: args.idle }, process.stdout);
          },
        )
        .command(
          'test <file>',
          'the conformance kit: load checks, fixtures at every split point, determinism, other protocols\' captures, fuzzing, fuel, time; exit 1 on failure',
          (y) =>
            withSandbox(y)
              .positional('file', { type: 'string', describe: 'the detector .wasm', demandOption: true })
              .option('fixtures', { type: 'string', describe: 'directory with manifest.json and the captures', defaultDescription: 'the project\'s fixtures/', requiresArg: true })
              .option('fuzz-runs', { type: 'number', describe: 'random and mutated windows to try', default: DEFAULT_FUZZ_RUNS, requiresArg: true })
              .option('seed', { type: 'number', describe: 'fuzzing seed (fixed, so a failure reproduces)', default: DEFAULT_FUZZ_SEED, requiresArg: true })
              .option('json', { type: 'boolean', describe: 'print the report as JSON', default: false }),
          async (args) => {
            const runs = args['fuzz-runs'];
            if (!Number.isInteger(runs) || runs < 0) throw new UsageError(`--fuzz-runs: ${runs} is not a whole number`);
            exitCode = await runPluginTest(
              { file: args.file, ...(args.fixtures ? { fixtures: args.fixtures } : {}), fuzzRuns: runs, seed: args.seed, json: args.json, ...sandboxOptions(args) },
              process.stdout,
            );
          },
        )
        .demandCommand(1, 'plugin: name a subcommand (new, build, test, capture, inspect)'),
    )
    .command(
      'explain <file>',
      'run a captured first flight through the detectors and rules of each server of the config; print every detector\'s verdict, keys, fuel and time, and the rule chosen and why',
      (y) =>
        withSandbox(withConfig(y))
          // One file per --plugin here: a greedy array would swallow the capture after it.
          .option('plugin', { type: 'string', array: true, nargs: 1, describe: 'detector .wasm to load (repeatable); replaces a bundled detector of the same protocol', default: [] as string[], requiresArg: true })
          .positional('file', { type: 'string', describe: 'the bytes a client sent first (raw, or hex with --hex)', demandOption: true })
          .option('hex', { type: 'boolean', describe: 'FILE is hex text (whitespace, ":" and "," ignored)', default: false })
          .option('eof', { type: 'boolean', describe: 'the client closes its side after FILE (else it waits, and undecided means the timeout)', default: false })
          .option('server', { type: 'string', describe: 'only this server address (as written in the config)', requiresArg: true })
          .option('json', { type: 'boolean', describe: 'print the explanation as JSON', default: false }),
      async (args) => {
        exitCode = await runExplain(
          {
            configFile: args.c,
            plugins: args.plugin,
            file: args.file,
            hex: args.hex,
            eof: args.eof,
            json: args.json,
            ...(args.server !== undefined ? { server: args.server } : {}),
            ...sandboxOptions(args),
          },
          process.stdout,
        );
      },
    )
    // A single-valued flag given twice: the last one wins, as with Go's flag package (yargs would
    // make an array of it). --plugin stays a list.
    .middleware((argv) => {
      for (const [k, v] of Object.entries(argv)) if (Array.isArray(v) && k !== 'plugin' && k !== '_') argv[k] = v[v.length - 1];
    }, true)
    .strict()
    .version(version)
    .alias('h', 'help')
    .alias('version', 'V')
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .parseAsync();
  return exitCode;
}

main(hideBin(process.argv)).then(
  (code) => {
    // A cluster worker's IPC channel would keep it alive after it has drained.
    if (code !== 0 || cluster.isWorker) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof PassthruError) {
      process.stderr.write(`passthru: ${err.message}\n`);
      if (err instanceof UsageError) process.stderr.write('Run passthru --help for usage.\n');
      process.exit(err instanceof UsageError ? 2 : 1);
    }
    process.stderr.write(`passthru: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
