import { type DestinationStream, type LevelWithSilent, pino } from 'pino';

export type Logger = pino.Logger;

/**
 * Structured JSON logs (pino). Secrets never reach the log: the redaction list covers every place a
 * token or key could appear (headers, config objects, query strings are stripped by the callers).
 */
export function createLogger(opts: { level: LevelWithSilent; destination?: DestinationStream }): Logger {
  const options: pino.LoggerOptions = {
    level: opts.level,
    base: { service: 'tollgate-api' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        'headers.authorization',
        '*.headers.authorization',
        'token',
        '*.token',
        'secret',
        '*.secret',
        'key',
        '*.key',
        'apiKey',
        '*.apiKey',
        'jwtSecret',
        '*.jwtSecret',
      ],
      censor: '[redacted]',
    },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}
