// The process logger: JSON lines (pino) when stdout is not a terminal, readable lines when it is.
import { pino, type Logger as PinoLogger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

export type Logger = PinoLogger;
export type LogLevel = LevelWithSilent;

export function createLogger(level: LogLevel = 'info', stream: NodeJS.WritableStream = process.stdout): Logger {
  const tty = (stream as NodeJS.WriteStream).isTTY === true;
  if (tty) {
    return pino({ level, base: undefined }, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: 1, sync: true }));
  }
  return pino({ level, base: undefined }, stream === process.stdout ? pino.destination({ fd: 1, sync: false }) : stream);
}
