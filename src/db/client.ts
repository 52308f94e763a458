// The one place that decides which database the service talks to: PostgreSQL through
// @prisma/adapter-pg when DATABASE_URL is set, an embedded PGlite in DATA_DIR otherwise.
// Everything above this module sends the same SQL through the same Database.query/transaction.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import type { SqlDriverAdapter, SqlQuery } from '@prisma/driver-adapter-utils';
import { Prisma, PrismaClient } from './generated/client.js';

const { sql } = Prisma;

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

/** A result as the driver adapter gives it: column names, and one array of values per row. */
export interface SqlRows {
  columnNames: string[];
  rows: unknown[][];
}

/** Runs one statement built with `Prisma.sql` (parameters bound, never spliced into the text). */
export type RunSql = (statement: Prisma.Sql) => Promise<SqlRows>;

/** A transaction's statements: `query` for rows, `execute` for statements whose result is not read (DDL, writes, locks). */
export interface TransactionSql {
  query: RunSql;
  /** Returns the number of rows affected. */
  execute(statement: Prisma.Sql): Promise<number>;
}

export interface Database {
  /**
   * The Prisma client over the same adapter, for tools and tests. The service itself does not use
   * it: its first query loads Prisma's query compiler, about 70 MB of memory (docs/decisions/0001).
   */
  prisma: PrismaClient;
  /**
   * Every statement the service sends (src/data, migrations, demo data, readiness): the driver
   * adapter Prisma is configured with, called directly. Prisma's `$queryRaw` adds a conversion
   * layer over the adapter's rows that measured about 240 µs of CPU for a 100-run history page,
   * more than the driver itself (docs/decisions/0001).
   */
  query: RunSql;
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T>;
  kind: DatabaseConfig['kind'];
  poolStatus(): PoolStatus | undefined;
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

// Values are bound as they are (strings, numbers, arrays of them, null); the SQL casts each one.
const UNTYPED = { scalarType: 'unknown', arity: 'scalar' } as const;

export interface DatabaseOptions {
  /** Called for every SQL statement sent, through `query`, `transaction` or `prisma` (query logging, statement counting in tests). */
  onQuery?: (event: QueryEvent) => void;
}

/**
 * Every statement the service sends is one of a few fixed texts: naming them makes each pooled
 * connection parse and plan a text once and then only bind and execute it, instead of paying
 * PostgreSQL's parse and plan on every request (measured: most of a history request's server time).
 */
const statementNames = new Map<string, string>();
function preparedStatementName({ sql }: { sql: string }): string {
  let name = statementNames.get(sql);
  if (name === undefined) {
    name = `gms_${createHash('sha256').update(sql).digest('base64url').slice(0, 24)}`;
    // A bounded cache: texts beyond it are still named (deterministically), just hashed again.
    if (statementNames.size < 1_000) statementNames.set(sql, name);
  }
  return name;
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
      // Our statements are prepared (preparedStatementName) and their best plan does not depend on
      // the values bound: key arrays, a limit. PostgreSQL would still re-plan them on every
      // execution (it judges the generic plan by an estimate of unnest's size), which was a third
      // of a history request's database time; the generic plan is the same index range scans.
      // JIT off: a generic plan is costed without the bound values (LIMIT $n counts as a tenth of
      // the rows), so its estimate grows with the table. An early form of the cross-graph page
      // passed jit_above_cost on 1,000,000 runs and spent 700–900 ms compiling on every execution
      // of a 1 ms statement; the history statement's estimate (17,600 on 1,100,000 runs) would pass
      // it near 6,000,000 (docs/decisions/0004). No statement here reads enough rows for JIT to pay.
      options: '-c plan_cache_mode=force_generic_plan -c jit=off',
    });
    // An idle connection the server terminates (restart, pg_terminate_backend) emits 'error' on the
    // pool, which has already discarded it; unhandled, that would crash the process, and Prisma only
    // attaches its own listener once it first connects.
    pool.on('error', () => {});
    const ownPool = pool;
    adapter = new PrismaPg(ownPool, { statementNameGenerator: preparedStatementName });
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
  const driver: SqlDriverAdapter = await adapter.connect();
  // Statements are logged (and counted by the tests) here, as Prisma's query events would.
  const logged =
    <T>(send: (request: SqlQuery) => Promise<T>) =>
    async (statement: Prisma.Sql): Promise<T> => {
      const request: SqlQuery = { sql: statement.text, args: statement.values, argTypes: statement.values.map(() => UNTYPED) };
      if (!onQuery) return send(request);
      const started = performance.now();
      try {
        return await send(request);
      } finally {
        onQuery({ query: request.sql, durationMs: performance.now() - started });
      }
    };
  const query: RunSql = logged((request) => driver.queryRaw(request));
  const transaction = async <T>(work: (sql: TransactionSql) => Promise<T>): Promise<T> => {
    const tx = await driver.startTransaction();
    // An adapter either wraps the transaction itself (PGlite) or expects its user to send the
    // COMMIT or ROLLBACK before releasing the connection (pg), as Prisma's engine does.
    const finish = (sql: 'COMMIT' | 'ROLLBACK') =>
      tx.options.usePhantomQuery ? undefined : tx.executeRaw({ sql, args: [], argTypes: [] });
    let result: T;
    try {
      result = await work({ query: logged((request) => tx.queryRaw(request)), execute: logged((request) => tx.executeRaw(request)) });
    } catch (error) {
      // The statement's error is the one to report, even when the connection is gone and the
      // ROLLBACK fails too (the server then ends the transaction with the session).
      await Promise.resolve(finish('ROLLBACK')).catch(() => {});
      await tx.rollback();
      throw error;
    }
    try {
      await finish('COMMIT');
    } catch (error) {
      await tx.rollback();
      throw error;
    }
    await tx.commit();
    return result;
  };
  const prisma = onQuery
    ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] }).$on('query', (event) =>
        onQuery({ query: event.query, durationMs: event.duration }),
      )
    : new PrismaClient({ adapter });
  return {
    prisma,
    query,
    transaction,
    kind: config.kind,
    poolStatus: () => (pool ? { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount } : undefined),
    async ping() {
      try {
        await query(sql`SELECT 1`);
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await driver.dispose();
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}
