import { pino, type Logger } from 'pino';
import { SERVICE_NAME } from '../config.js';

export type { Logger };

export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: SERVICE_NAME },
    // Tokens travel in Authorization headers; they must never reach a log line.
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
  });
}
