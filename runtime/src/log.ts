import pino from 'pino';

export type Logger = pino.Logger;

/** JSON lines on stdout (synchronous writes, so nothing is lost on exit). */
export function createLogger(level: string, destination: pino.DestinationStream | number = 1): Logger {
  return pino({ level, base: { service: 'state-cache' }, timestamp: pino.stdTimeFunctions.isoTime },
    typeof destination === 'number' ? pino.destination({ fd: destination, sync: true }) : destination);
}
