import { isatty } from 'node:tty';
import pino from 'pino';

export type Logger = pino.Logger;

/** JSON lines (pods, CI, pipes, files) or human-readable lines (a person at a terminal). */
export type LogFormat = 'json' | 'pretty';

/** Human-readable lines when the file descriptor is a terminal, JSON lines otherwise. */
export function logFormatFor(fd: number, isTerminal: (fd: number) => boolean = isatty): LogFormat {
  return isTerminal(fd) ? 'pretty' : 'json';
}

/**
 * A logger writing to `destination`: a stream (as given, JSON), or a file
 * descriptor, in `format` (by default pretty on a terminal, JSON otherwise).
 * Writes to a file descriptor are synchronous in both formats, so nothing is
 * lost when the process exits right after logging.
 */
export function createLogger(level: string, destination: pino.DestinationStream | number = 1,
  format: LogFormat = typeof destination === 'number' ? logFormatFor(destination) : 'json'): Logger {
  const options: pino.LoggerOptions = { level, base: { service: 'state-cache' }, timestamp: pino.stdTimeFunctions.isoTime };
  if (typeof destination !== 'number') return pino(options, destination);
  const out = pino.destination({ fd: destination, sync: true });
  if (format === 'json') return pino(options, out);
  // pino-pretty's own stream is asynchronous (a transform pipeline); its
  // prettifier is a plain function, so each line is formatted and written at once.
  // Loaded only for a terminal: a pod (JSON) keeps its 1 MB of heap and 10 MB of RSS.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { isColorSupported, prettyFactory } = require('pino-pretty') as typeof import('pino-pretty');
  const prettify = prettyFactory({
    colorize: isColorSupported,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  return pino(options, { write: (line: string) => out.write(prettify(line)) });
}
