// The one place that decides which database the service talks to: PostgreSQL through
// @prisma/adapter-pg when DATABASE_URL is set, an embedded PGlite in DATA_DIR otherwise.
// Everything above this module sees the same PrismaClient and runs the same SQL.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import { PrismaClient } from './generated/client.js';

export type { PrismaClient };

export type DatabaseConfig =
  | {
      kind: 'postgres';
      url: string;
      poolSize: number;
      /** Longest wait for a pooled connection (a new one, or a busy pool's next free one); absent: no bound. */
      connectTimeoutMs?: number;
      /** PostgreSQL's statement_timeout for every session of the pool; absent or 0: none. */
      statementTimeoutMs?: number;
      /** Idle connections are closed after this long; absent: pg's default (10 s). */
      idleTimeoutMs?: number;
    }
  | { kind: 'pglite'; dataDir: string };

/** Counts of the PostgreSQL pool, for tests and diagnostics (undefined on PGlite). */
export interface PoolStatus {
  total: number;
  idle: number;
  waiting: number;
}

// When the server stops answering on an open socket (a network partition, a frozen host),
// statement_timeout never fires: the client gives up this long after it would have.
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

export interface QueryEvent {
  query: string;
  durationMs: number;
}

export interface Database {
  prisma: PrismaClient;
  kind: DatabaseConfig['kind'];
  poolStatus(): PoolStatus | undefined;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Called for every SQL statement Prisma sends (query logging, statement counting in tests). */
  onQuery?: (event: QueryEvent) => void;
}

export async function createDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Promise<Database> {
  let closeDriver = async () => {};
  let adapter: PrismaPg | PrismaPGlite;
  let pool: pg.Pool | undefined;
  if (config.kind === 'postgres') {
    // Our own pool, so its counts can be read and it is ended exactly once, by close().
    pool = new pg.Pool({
      connectionString: config.url,
      max: config.poolSize,
      // pg-pool applies this both to opening a connection and to waiting in its queue for a free
      // one: the queue is bounded in time, and a database that is down fails fast instead of hanging.
      connectionTimeoutMillis: config.connectTimeoutMs ?? 0,
      idleTimeoutMillis: config.idleTimeoutMs ?? 10_000,
      ...(config.statementTimeoutMs
        ? { statement_timeout: config.statementTimeoutMs, query_timeout: config.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS }
        : {}),
      // Dead peers behind a silent network are noticed by the kernel instead of never.
      keepAlive: true,
    });
    // An idle connection the server terminates (restart, pg_terminate_backend) emits 'error' on the
    // pool, which has already discarded it; unhandled, that would crash the process, and Prisma only
    // attaches its own listener once it first connects.
    pool.on('error', () => {});
    const ownPool = pool;
    adapter = new PrismaPg(ownPool);
    closeDriver = async () => {
      if (!ownPool.ended) await ownPool.end();
    };
  } else {
    const directory = path.resolve(config.dataDir, 'pglite');
    mkdirSync(directory, { recursive: true });
    // Loaded only for the embedded database: a PostgreSQL deployment does not carry PGlite in memory.
    const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
    const pglite = await PGlite.create(directory);
    closeDriver = () => pglite.close();
    adapter = new PrismaPGlite(pglite);
  }
  const onQuery = options.onQuery;
  const prisma = onQuery
    ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] }).$on('query', (event) =>
        onQuery({ query: event.query, durationMs: event.duration }),
      )
    : new PrismaClient({ adapter });
  return {
    prisma,
    kind: config.kind,
    poolStatus: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : undefined),
    async ping() {
      try {
        await prisma.$queryRaw`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}
