// Starts the real service (src/service.ts) on a loopback port over a fresh test database, with a
// known HS256 secret and a record of every SQL statement Prisma sends.
import { pino } from 'pino';
import { signAccessToken } from '../../src/auth/viewer.js';
import { FOLD_STATEMENT_MARK } from '../../src/queries/migrationStats.js';
import { FEED_STATEMENT_MARK } from '../../src/queries/runChanges.js';
import { loadConfig } from '../../src/config.js';
import { createLogger, type Logger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service.js';
import { createTestDatabase, type DatabaseKind, type TestDatabase } from './databases.js';

export const TEST_JWT_SECRET = 'test-secret-that-is-at-least-32-characters-long';

export interface TestService {
  url: string;
  service: Service;
  database: TestDatabase;
  prisma: Service['database']['prisma'];
  /** SQL statements sent since the last `statements.length = 0`. */
  statements: string[];
  /** How many statements the change feed and the day counts' fold sent (on their own schedules) since the start. */
  background: { statements: number };
  token(sub: string, options?: { isSuperuser?: boolean; expiresIn?: string | number }): Promise<string>;
  close(): Promise<void>;
}

export async function startTestService(
  kind: DatabaseKind,
  options: {
    seed?: boolean;
    /** More variables; a function gets the fresh database's own URL (e.g. for DATABASE_MIGRATE_URL). */
    env?: Record<string, string> | ((url: string) => Record<string, string>);
    /** Rewrites the fresh database's URL before the service gets it (e.g. to go through a TCP proxy). */
    databaseUrl?: (url: string) => string;
    /** Where the service logs (default: pino at TEST_LOG_LEVEL, silent unless set). */
    logger?: Logger;
  } = {},
): Promise<TestService> {
  const database = await createTestDatabase(kind);
  const config = testConfig({
    DATA_DIR: database.dataDir,
    SEED_ON_FIRST_START: options.seed ? 'true' : 'false',
    ...(database.url ? { DATABASE_URL: options.databaseUrl ? options.databaseUrl(database.url) : database.url } : {}),
    ...(typeof options.env === 'function' ? options.env(database.url ?? '') : options.env),
  });
  const statements: string[] = [];
  const background = { statements: 0 };
  const service = await startService(config, options.logger ?? createLogger(config.logLevel), {
    // The change feed's own statements (src/queries/runChanges.ts) and the day counts' fold
    // (src/queries/migrationStats.ts), sent on their schedules, are no request's: only counted.
    onQuery: (event) => {
      if (!event.query.includes(FEED_STATEMENT_MARK) && !event.query.includes(FOLD_STATEMENT_MARK)) statements.push(event.query);
      else background.statements += 1;
    },
  });
  return {
    url: service.url,
    service,
    database,
    prisma: service.database.prisma,
    statements,
    background,
    token: testToken,
    async close() {
      await service.close();
      await database.drop();
    },
  };
}

/** The service's configuration as the tests run it (loopback, a free port, the test secret, no demo data), plus `env`. */
export function testConfig(env: Record<string, string>) {
  return loadConfig({
    NODE_ENV: 'test',
    HOST: '127.0.0.1',
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    AUTH_JWT_SECRET: TEST_JWT_SECRET,
    SEED_ON_FIRST_START: 'false',
    // The tests write their own runs; the demo activity has a test of its own (test/demo.test.ts).
    DEMO_ACTIVITY_MS: '0',
    ...env,
  });
}

/** A token the test services accept. */
export const testToken = (sub: string, claims: { isSuperuser?: boolean; expiresIn?: string | number } = {}) =>
  signAccessToken(TEST_JWT_SECRET, { sub, ...claims });

/** A pino logger that keeps every line it writes, parsed, for tests that read what the service logged. */
export function recordingLogger(level = 'info'): { logger: Logger; lines: Record<string, any>[] } {
  const lines: Record<string, any>[] = [];
  const logger = pino({ level }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, any>) });
  return { logger, lines };
}

/** POSTs a GraphQL operation and returns the parsed JSON body. */
export async function graphql<T = any>(
  url: string,
  query: string,
  options: { token?: string; variables?: Record<string, unknown> } = {},
): Promise<{ data?: T; errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[] }> {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(options.token ? { authorization: `Bearer ${options.token}` } : {}) },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  return response.json() as Promise<any>;
}
