// Passthru as a real process (`node dist/host/cli.js`), for what only a process can show: signals,
// workers, the metrics listener. Its JSON log lines are parsed as they come.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/host/cli.js', import.meta.url));

export type LogLine = Record<string, unknown>;

export interface PassthruProcess {
  child: ChildProcess;
  lines: LogLine[];
  stderr: () => string;
  /** The first line (already logged or to come) for which `pred` holds. */
  waitLine(pred: (l: LogLine) => boolean): Promise<LogLine>;
  /** Resolves once `n` lines satisfy `pred`; returns them. */
  waitLines(pred: (l: LogLine) => boolean, n: number): Promise<LogLine[]>;
  exited: Promise<number | null>;
  kill(signal?: NodeJS.Signals): void;
}

export interface SpawnOptions {
  /** The program to run instead of `node dist/host/cli.js` (e.g. an installed `passthru` shim). */
  command?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export function spawnPassthru(args: string[], options: SpawnOptions = {}): PassthruProcess {
  const [cmd, argv] = options.command ? [options.command, args] : [process.execPath, [CLI, ...args]];
  const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env, cwd: options.cwd });
  const lines: LogLine[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const text = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (text.startsWith('{')) lines.push(JSON.parse(text) as LogLine);
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit').then(([code]) => code as number | null);
  const waitLines = (pred: (l: LogLine) => boolean, n: number): Promise<LogLine[]> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const found = lines.filter(pred);
        if (found.length >= n) {
          waiters.delete(check);
          resolve(found);
        }
      };
      waiters.add(check);
      check();
      void exited.then((code) => {
        if (waiters.delete(check)) reject(new Error(`passthru exited (${code}) before the awaited log line; stderr: ${err}`));
      });
    });
  return {
    child,
    lines,
    stderr: () => err,
    waitLine: (pred) => waitLines(pred, 1).then((l) => l[0]!),
    waitLines,
    exited,
    kill: (signal = 'SIGTERM') => {
      child.kill(signal);
    },
  };
}
