// `passthru` (no command): run until SIGINT/SIGTERM.
import { PassthruError } from '../errors.js';
import type { Logger } from '../log.js';
import { startPassthru, type PassthruOptions } from '../main.js';

export async function runServe(options: PassthruOptions, log: Logger): Promise<number> {
  let running;
  try {
    running = await startPassthru(options, log);
  } catch (err) {
    if (err instanceof PassthruError) {
      log.fatal({ event: 'start-failed', code: err.code }, err.message);
      // The log may be batched and the process is about to exit: say it where it cannot be lost.
      process.stderr.write(`passthru: ${err.message}\n`);
      log.flush?.();
      return 1;
    }
    throw err;
  }
  return new Promise<number>((resolve) => {
    const shutdown = (signal: string): void => {
      log.info({ event: 'shutdown', signal }, `${signal}: closing listeners`);
      void running.stop(true).then(() => {
        log.flush?.();
        resolve(0);
      });
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}
