// Starts Passthru in-process on a config written for the test, with its port numbers filled in.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startPassthru, type PassthruOptions, type Running } from '../../host/main.js';

export interface TestProxy extends Running {
  port: number;
  /** The config file it runs on: rewrite() it, then reload(). */
  configFile: string;
  rewrite(config: unknown): void;
  /** The running instance itself (its `listeners` change on reload). */
  running: Running;
  /** Every log record, parsed. */
  logs: Record<string, unknown>[];
  /** Resolves with the next log record for which `pred` holds (or one already logged). */
  waitLog(pred: (r: Record<string, unknown>) => boolean): Promise<Record<string, unknown>>;
  /** Resolves once `n` log records satisfy `pred`. */
  waitLogs(pred: (r: Record<string, unknown>) => boolean, n: number): Promise<void>;
}

const dir = mkdtempSync(join(tmpdir(), 'passthru-test-config-'));
let n = 0;

export function writeConfig(config: unknown): string {
  const file = join(dir, `config-${++n}.json`);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

export async function startProxy(config: unknown, options: Partial<PassthruOptions> = {}): Promise<TestProxy> {
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const rec = JSON.parse(line) as Record<string, unknown>;
        logs.push(rec);
        for (let i = waiters.length - 1; i >= 0; i--) {
          if (waiters[i]!.pred(rec)) waiters.splice(i, 1)[0]!.resolve(rec);
        }
      }
      cb();
    },
  });
  const log = pino({ level: 'debug', base: undefined }, sink);
  const configFile = writeConfig(config);
  const running = await startPassthru({ configFile, plugins: [], ...options }, log);
  return {
    ...running,
    // A config with only udp:// servers has no TCP listener (see helpers/udp.ts for its ports).
    port: running.listeners[0]?.port ?? 0,
    configFile,
    rewrite: (next) => writeFileSync(configFile, typeof next === 'string' ? next : JSON.stringify(next, null, 2)),
    running,
    logs,
    waitLog(pred) {
      const found = logs.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
    async waitLogs(pred, n) {
      // Woken by each new matching record; recounted, since several may arrive in one write.
      while (logs.filter(pred).length < n) {
        await new Promise<void>((resolve) => waiters.push({ pred, resolve: () => resolve() }));
      }
    },
  };
}
