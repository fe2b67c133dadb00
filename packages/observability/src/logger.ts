import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/**
 * The process logger: JSON lines on stdout, `app` on every line, tokens and secrets redacted.
 * Use `logger.child({ orderId, eventId, requestId })` per request or message. `destination` (default stdout)
 * lets a test read the lines.
 */
export function createLogger(app: string, level: string = 'info', destination?: DestinationStream): Logger {
  const options = {
    level,
    base: { app },
    redact: {
      paths: ['req.headers.authorization', 'headers.authorization', '*.token', 'token', '*.password', 'password', '*.secret'],
      censor: '[redacted]',
    },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
