// The one place that decides which database the service talks to: PostgreSQL through
// @prisma/adapter-pg when DATABASE_URL is set, an embedded PGlite in DATA_DIR otherwise.
// Everything above this module sends the same SQL through the same Database.query/transaction:
// with a read replica (DATABASE_READ_URL), `query` reads from it and `transaction` goes to the
// primary (docs/decisions/0003).
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import type { PrismaPGlite } from 'pglite-prisma-adapter';
import type { SqlDriverAdapter, SqlQuery } from '@prisma/driver-adapter-utils';
import { createLogger, type Logger } from '../observability/logger.js';
import type { DatabaseTarget, Tracing } from '../observability/tracing.js';
import { DatabaseClosingError, databaseErrorType, PoolSaturatedError, type PoolRefusalReason } from './errors.js';
import { openEmbedded } from './embedded.js';
import { postgresLiveSession, type Listen, type LiveSession } from './listen.js';
import { Prisma, PrismaClient } from './generated/client.js';
import type { RunSql, TransactionSql } from './sql.js';

const { sql } = Prisma;

export type { PrismaClient };

export type DatabaseConfig =
  | {
      kind: 'postgres';
      /** The primary (or the pooler in front of it): transactions, migrations, the Prisma client. */
      url: string;
      /** A streaming replica every `query` reads from; absent: `url`. Writes and transactions never go there. */
      readUrl?: string;
      /**
       * `transaction`: the URLs reach PostgreSQL through a transaction-mode pooler (PgBouncer
       * pool_mode=transaction), where consecutive statements may run on different server sessions:
       * statements are unnamed and no session setting is sent at connect. Absent or `none`: direct.
       */
      pooler?: 'none' | 'transaction';
      /** Connections in each pool (the primary's, and the replica's when there is one). */
      poolSize: number;
      /** Longest wait for a pooled connection (a new one, or a busy pool's next free one); absent: no bound. */
      connectTimeoutMs?: number;
      /** PostgreSQL's statement_timeout for every session of the pool; absent or 0: none. */
      statementTimeoutMs?: number;
      /** Idle connections are closed after this long; absent: pg's default (10 s). */
      idleTimeoutMs?: number;
      /** Bounds on waiting for a connection while every one is busy (load shedding); absent: pg-pool's own queue, bounded by connectTimeoutMs only. */
      queue?: PoolQueueBounds;
      /** A direct session for LISTEN (live history, src/database/listen.ts); absent: `listen` is unavailable. */
      listenUrl?: string;
    }
  | { kind: 'pglite'; dataDir: string };

/**
 * How long a request may queue for a pooled connection while all of them are busy. Beyond either
 * bound it is refused with a PoolSaturatedError (a 503 on both doors) instead of waiting: under
 * overload a short queue keeps the latency of the requests served bounded (docs/decisions/0006).
 */
export interface PoolQueueBounds {
  /** Acquisitions that may wait at once (a memory bound); the next one is refused at once (`queue_full`). 0: no bound. */
  maxWaiting: number;
  /** Longest wait; then refused (`queue_wait`). 0: connectTimeoutMs's bound, as without a queue. */
  maxWaitMs: number;
}

/** Counts of the PostgreSQL pool, for tests and diagnostics (undefined on PGlite). */
export interface PoolStatus {
  total: number;
  idle: number;
  waiting: number;
}

// A busy pool counts as answering while one of its connections came back healthy this recently.
const BUSY_ANSWERING_WITHIN_MS = 10_000;

// When the server stops answering on an open socket (a network partition, a frozen host),
// statement_timeout never fires: the client gives up this long after it would have.
const CLIENT_TIMEOUT_MARGIN_MS = 1_000;

export interface QueryEvent {
  query: string;
  durationMs: number;
}

/** What answers right now (`readiness()`): the primary, and the replica when reads go to one. */
export interface Readiness {
  /** The database the service reads from answers: the replica when configured, else the primary. */
  ready: boolean;
  primary: boolean;
  /** Absent when there is no read replica. */
  replica?: boolean;
}

export interface Database {
  /**
   * The Prisma client over the same adapter, for tools and tests. The service itself does not use
   * it: its first query loads Prisma's query compiler, about 70 MB of memory (docs/decisions/0001).
   */
  prisma: PrismaClient;
  /**
   * Every statement the service sends (src/queries, migrations, demo data, readiness): the driver
   * adapter Prisma is configured with, called directly. Prisma's `$queryRaw` adds a conversion
   * layer over the adapter's rows that measured about 240 µs of CPU for a 100-run history page,
   * more than the driver itself (docs/decisions/0001).
   */
  query: RunSql;
  /** Runs `work` in one transaction on one connection: committed when it resolves, rolled back when it throws. */
  transaction<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T>;
  kind: DatabaseConfig['kind'];
  /** True when `query` reads from a replica (DATABASE_READ_URL). */
  readsFromReplica: boolean;
  /** The pool `query` uses: the replica's when there is one, else the primary's. */
  poolStatus(): PoolStatus | undefined;
  /** The primary's pool (transactions, the Prisma client); the same as `poolStatus()` without a replica. */
  primaryPoolStatus(): PoolStatus | undefined;
  /**
   * True when the database the service reads from answers a trivial query: the replica when there
   * is one (every serving read goes there), else the primary. `/readyz`'s answer.
   */
  ping(): Promise<boolean>;
  /** Checks the primary and the replica (when there is one) at once. */
  readiness(): Promise<Readiness>;
  /**
   * The start's check, before it reports ready: opens a connection on each pool as requests get
   * them (its startup parameters included) and runs a statement on it. Throws a
   * DatabaseConfigurationError when a pooler refuses or drops the session settings (DATABASE_POOLER
   * does not match the deployment), and the error itself when the database the service reads from
   * does not answer. The primary behind a replica may be down: that is returned, not thrown.
   */
  checkSessions(): Promise<{ primaryUnavailable?: unknown }>;
  /**
   * The live history's session (src/database/listen.ts): its LISTEN and the change feed's statements, on a
   * connection of its own on PostgreSQL, PGlite's own session embedded; undefined when there is no
   * session to LISTEN on (PostgreSQL through a transaction pooler without DATABASE_LISTEN_URL or
   * DATABASE_MIGRATE_URL).
   */
  liveSession: LiveSession | undefined;
  close(): Promise<void>;
}

// Values are bound as they are (strings, numbers, arrays of them, null); the SQL casts each one.
const UNTYPED = { scalarType: 'unknown', arity: 'scalar' } as const;

export interface DatabaseOptions {
  /** Called for every SQL statement sent, through `query`, `transaction` or `prisma` (query logging, statement counting in tests). */
  onQuery?: (event: QueryEvent) => void;
  /** Called for every connection the pool's wait queue refuses (PoolQueueBounds): shedding metrics. */
  onRefused?: (reason: PoolRefusalReason) => void;
  /** Where the LISTEN session logs that it is down and reconnecting. */
  logger?: Logger;
  /** A CLIENT span for every statement a request sends (src/observability/tracing.ts); absent: none. */
  tracing?: Tracing;
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

type PostgresConfig = Extract<DatabaseConfig, { kind: 'postgres' }>;

interface Waiter {
  grant(): void;
  timer?: NodeJS.Timeout;
}
type ConnectCallback = (error: Error | undefined, client: pg.PoolClient | undefined, done: (release?: boolean | Error) => void) => void;

/**
 * A pg Pool with a bounded wait queue of its own in front of pg-pool's (which has no length bound and
 * only connectionTimeoutMillis, shared with opening a connection). At most `max` acquisitions are lent
 * to pg-pool at a time; the others wait here, first come first served, until a lent one is given back
 * (`release`, or a failed connect), and are refused once `maxWaiting` already wait or after `maxWaitMs`.
 * pg-pool's `query` and the driver adapter's transactions both acquire through `connect`.
 */
class BoundedPool extends pg.Pool {
  /** Acquisitions handed to pg-pool and not given back yet: never more than `max`. */
  #lent = 0;
  /** Bounded by maxWaiting; each waiter leaves when granted a slot or when its wait times out. */
  readonly #waiting: Waiter[] = [];
  readonly #maxWaiting: number;
  readonly #maxWaitMs: number;
  /** When a connection last came back healthy (released without an error): the database answered then. */
  #lastHealthy = 0;

  constructor(
    config: pg.PoolConfig,
    bounds: PoolQueueBounds,
    private readonly onRefused?: (reason: PoolRefusalReason) => void,
  ) {
    super(config);
    this.#maxWaiting = bounds.maxWaiting;
    this.#maxWaitMs = bounds.maxWaitMs || (config.connectionTimeoutMillis ?? 0);
    // Every client pg-pool lends is released exactly once (with an error too): its slot passes on.
    this.on('release', (error?: Error) => {
      if (!error) this.#lastHealthy = Date.now();
      this.#giveBack();
    });
  }

  /**
   * Every connection is lent to requests and one came back healthy within `withinMs`: the database
   * answers, it is only busy. The readiness probe then answers without a statement of its own,
   * which would queue behind requests and be refused like them (docs/decisions/0006).
   */
  busyAndAnswering(withinMs: number): boolean {
    return this.#lent >= (this.options.max ?? 10) && Date.now() - this.#lastHealthy < withinMs;
  }

  /** Acquisitions waiting in this queue (pg-pool's own `waitingCount` holds the few handed over a moment ago). */
  get queued(): number {
    return this.#waiting.length;
  }

  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    const acquired = this.#acquire();
    if (!callback) return acquired;
    acquired.then(
      (client) => callback(undefined, client, client.release),
      (error: Error) => callback(error, undefined, () => {}),
    );
  }

  #acquire(): Promise<pg.PoolClient> {
    if (this.#lent < (this.options.max ?? 10) && this.#waiting.length === 0) {
      this.#lent += 1;
      return this.#lend();
    }
    if (this.#maxWaiting > 0 && this.#waiting.length >= this.#maxWaiting) {
      return Promise.reject(
        this.#refuse(
          'queue_full',
          `All ${this.options.max} pooled connections are busy and ${this.#maxWaiting} requests already wait for one (DATABASE_POOL_QUEUE_MAX)`,
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        grant: () => {
          clearTimeout(waiter.timer);
          resolve(this.#lend());
        },
      };
      if (this.#maxWaitMs > 0) {
        waiter.timer = setTimeout(() => {
          this.#waiting.splice(this.#waiting.indexOf(waiter), 1);
          reject(
            this.#refuse('queue_wait', `No pooled connection came free within ${this.#maxWaitMs} ms (DATABASE_POOL_QUEUE_TIMEOUT_MS)`),
          );
        }, this.#maxWaitMs);
        waiter.timer.unref();
      }
      this.#waiting.push(waiter);
    });
  }

  /** One slot's acquisition from pg-pool; a failed one gives its slot back at once. */
  #lend(): Promise<pg.PoolClient> {
    return super.connect().catch((error: unknown) => {
      this.#giveBack();
      throw error;
    });
  }

  /** A slot comes back: the longest waiter takes it over, or it is free. */
  #giveBack(): void {
    const next = this.#waiting.shift();
    if (next) next.grant();
    else this.#lent -= 1;
  }

  #refuse(reason: PoolRefusalReason, message: string): PoolSaturatedError {
    this.onRefused?.(reason);
    return new PoolSaturatedError(reason, message);
  }
}

/** One pg pool and the driver adapter over it, for one URL. */
function postgresAdapter(
  config: PostgresConfig,
  url: string,
  onRefused?: DatabaseOptions['onRefused'],
): { pool: pg.Pool; adapter: PrismaPg } {
  const direct = (config.pooler ?? 'none') === 'none';
  // Our own pool, so its counts can be read and it is ended exactly once, by close().
  const poolConfig: pg.PoolConfig = {
    connectionString: url,
    max: config.poolSize,
    // pg-pool applies this both to opening a connection and to waiting in its queue for a free
    // one: the queue is bounded in time, and a database that is down fails fast instead of hanging.
    connectionTimeoutMillis: config.connectTimeoutMs ?? 0,
    idleTimeoutMillis: config.idleTimeoutMs ?? 10_000,
    ...(config.statementTimeoutMs
      ? {
          // Behind a transaction pooler the server's statement_timeout comes from the role's or the
          // database's settings (the pooler refuses it as a startup parameter); the client-side bound stays.
          ...(direct ? { statement_timeout: config.statementTimeoutMs } : {}),
          query_timeout: config.statementTimeoutMs + CLIENT_TIMEOUT_MARGIN_MS,
        }
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
    // A transaction pooler refuses session settings at connect, and keeps no statement between
    // transactions: there, jit=off belongs to the role's settings (README, Running in production).
    ...(direct ? { options: '-c plan_cache_mode=force_generic_plan -c jit=off' } : {}),
  };
  const bounded = config.queue && (config.queue.maxWaiting > 0 || config.queue.maxWaitMs > 0);
  const pool = bounded ? new BoundedPool(poolConfig, config.queue!, onRefused) : new pg.Pool(poolConfig);
  // An idle connection the server terminates (restart, pg_terminate_backend) emits 'error' on the
  // pool, which has already discarded it; unhandled, that would crash the process, and Prisma only
  // attaches its own listener once it first connects.
  pool.on('error', () => {});
  // Named statements live in one server session: behind a transaction pooler the next execution may
  // reach another session, where the name is unknown (or already taken), so they stay unnamed there.
  const adapter = new PrismaPg(pool, direct ? { statementNameGenerator: preparedStatementName } : {});
  return { pool, adapter };
}

/** A database configuration the service cannot serve with: the start fails with this message, which says what to set. */
export class DatabaseConfigurationError extends Error {
  override name = 'DatabaseConfigurationError';
}

// What a direct session is given at connect (postgresAdapter): the start checks that it arrived.
const SESSION_SETTINGS = sql`SELECT name, setting FROM pg_settings WHERE name IN ('plan_cache_mode', 'jit', 'statement_timeout')`;

/** PgBouncer's answer to a startup parameter it does not know (SQLSTATE 08P01), anywhere in the error's causes. */
function refusedStartupParameter(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Object && depth < 8; depth++) {
    const { message, originalMessage, cause } = current as { message?: unknown; originalMessage?: unknown; cause?: unknown };
    for (const text of [originalMessage, message]) {
      if (typeof text === 'string' && /unsupported startup parameter/i.test(text)) return text;
    }
    current = cause;
  }
  return undefined;
}

/**
 * Runs the session check on one pool (`variable` names its URL). Through a transaction pooler the
 * service sends no settings, so only the connection itself is checked.
 */
async function checkSession(run: RunSql, variable: string, config: PostgresConfig): Promise<void> {
  const direct = (config.pooler ?? 'none') === 'none';
  let rows: unknown[][];
  try {
    ({ rows } = await run(SESSION_SETTINGS));
  } catch (error) {
    const refusal = direct ? refusedStartupParameter(error) : undefined;
    if (refusal === undefined) throw error;
    throw new DatabaseConfigurationError(
      `${variable} reaches a connection pooler that refuses the session settings a direct connection sends at connect ` +
        `("${refusal}"). Set DATABASE_POOLER=transaction when ${variable} goes through PgBouncer (pool_mode=transaction) ` +
        'or another transaction-mode pooler: the service then sends unnamed statements and no startup parameters. ' +
        'Keep DATABASE_MIGRATE_URL on a direct connection to the primary.',
      { cause: error },
    );
  }
  if (!direct) return;
  const got = new Map(rows.map(([name, setting]) => [String(name), String(setting)]));
  const sent: Record<string, string> = { plan_cache_mode: 'force_generic_plan', jit: 'off' };
  if (config.statementTimeoutMs) sent.statement_timeout = String(config.statementTimeoutMs);
  const dropped = Object.entries(sent).filter(([name, value]) => got.get(name) !== value);
  if (dropped.length === 0) return;
  throw new DatabaseConfigurationError(
    `${variable}'s sessions did not get the settings the service sends at connect ` +
      `(${dropped.map(([name, value]) => `${name} is ${got.get(name) ?? 'unknown'}, not ${value}`).join('; ')}): ` +
      'something between the service and PostgreSQL drops startup parameters, as PgBouncer does with ignore_startup_parameters. ' +
      `Set DATABASE_POOLER=transaction when ${variable} goes through PgBouncer (pool_mode=transaction) or another transaction-mode pooler: ` +
      'there, the prepared statements of a direct connection fail once the pooler lends another server session ' +
      '(behind a session-mode pooler, DATABASE_POOLER=transaction works too, or remove these parameters from ignore_startup_parameters).',
  );
}

const status = (pool: pg.Pool): PoolStatus => ({
  total: pool.totalCount,
  idle: pool.idleCount,
  waiting: pool.waitingCount + (pool instanceof BoundedPool ? pool.queued : 0),
});

/** The database a statement goes to, as the tracing conventions name it: PGlite's one database is `postgres`. */
function databaseTarget(url: string | undefined): DatabaseTarget {
  if (url === undefined) return { namespace: 'postgres', errorType: databaseErrorType };
  const parsed = new URL(url);
  return {
    errorType: databaseErrorType,
    namespace: decodeURIComponent(parsed.pathname.slice(1)),
    address: parsed.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: parsed.port === '' ? 5432 : Number(parsed.port),
  };
}

export async function createDatabase(config: DatabaseConfig, options: DatabaseOptions = {}): Promise<Database> {
  const closers: (() => Promise<void>)[] = [];
  let adapter: PrismaPg | PrismaPGlite;
  let pool: pg.Pool | undefined;
  let readPool: pg.Pool | undefined;
  let readAdapter: PrismaPg | undefined;
  let liveSession: LiveSession | undefined;
  let listen: Listen | undefined;
  if (config.kind === 'postgres') {
    if (config.listenUrl)
      liveSession = postgresLiveSession(config.listenUrl, options.logger ?? createLogger('silent'), config.connectTimeoutMs);
    ({ pool, adapter } = postgresAdapter(config, config.url, options.onRefused));
    if (config.readUrl) ({ pool: readPool, adapter: readAdapter } = postgresAdapter(config, config.readUrl, options.onRefused));
    for (const ownPool of [pool, readPool]) {
      if (ownPool)
        closers.push(async () => {
          if (!ownPool.ended) await ownPool.end();
        });
    }
  } else {
    const directory = path.resolve(config.dataDir, 'pglite');
    mkdirSync(directory, { recursive: true });
    // Loaded only for the embedded database: a PostgreSQL deployment does not carry PGlite in memory.
    const [{ PGlite }, { PrismaPGlite }] = await Promise.all([import('@electric-sql/pglite'), import('pglite-prisma-adapter')]);
    const pglite = await openEmbedded(PGlite, directory);
    closers.push(() => pglite.close());
    adapter = new PrismaPGlite(pglite);
    // The embedded database is one session in this process: its LISTEN is never down.
    listen = async (channels, onNotification, onConnection) => {
      const unlisten = await Promise.all(channels.map((channel) => pglite.listen(channel, () => onNotification(channel))));
      onConnection(true);
      return {
        async close() {
          if (!pglite.closed) await Promise.all(unlisten.map((stop) => stop()));
        },
      };
    };
  }
  const onQuery = options.onQuery;
  const driver: SqlDriverAdapter = await adapter.connect();
  const readDriver: SqlDriverAdapter = readAdapter ? await readAdapter.connect() : driver;
  // Statements are logged (and counted by the tests) here, as Prisma's query events would, and traced.
  const primaryTarget = databaseTarget(config.kind === 'postgres' ? config.url : undefined);
  const loggedTo =
    (target: DatabaseTarget) =>
    <T>(send: (request: SqlQuery) => Promise<T>) => {
      const traced = options.tracing?.statements(target);
      const sendTraced = traced ? (request: SqlQuery) => traced(request.sql, () => send(request)) : send;
      return async (statement: Prisma.Sql): Promise<T> => {
        const request: SqlQuery = { sql: statement.text, args: statement.values, argTypes: statement.values.map(() => UNTYPED) };
        if (!onQuery) return sendTraced(request);
        const started = performance.now();
        try {
          return await sendTraced(request);
        } finally {
          onQuery({ query: request.sql, durationMs: performance.now() - started });
        }
      };
    };
  const logged = loggedTo(primaryTarget);
  // Every read the service serves goes to the replica when there is one; the primary gets transactions.
  const query: RunSql =
    readDriver === driver
      ? logged((request) => driver.queryRaw(request))
      : loggedTo(databaseTarget(config.kind === 'postgres' ? config.readUrl : undefined))((request) => readDriver.queryRaw(request));
  const primaryQuery: RunSql = readDriver === driver ? query : logged((request) => driver.queryRaw(request));
  // Readiness is not load: a pool busy with requests answers true without queueing a probe behind them.
  const answers = (run: RunSql, ownPool: pg.Pool | undefined) =>
    ownPool instanceof BoundedPool && ownPool.busyAndAnswering(BUSY_ANSWERING_WITHIN_MS)
      ? Promise.resolve(true)
      : run(sql`SELECT 1`).then(
          () => true,
          () => false,
        );
  const unlogged =
    <T>(send: (request: SqlQuery) => Promise<T>) =>
    (statement: Prisma.Sql): Promise<T> =>
      send({ sql: statement.text, args: statement.values, argTypes: statement.values.map(() => UNTYPED) });
  const transactionWith =
    (wrap: typeof logged) =>
    async <T>(work: (sql: TransactionSql) => Promise<T>): Promise<T> => {
      const tx = await driver.startTransaction();
      // An adapter either wraps the transaction itself (PGlite) or expects its user to send the
      // COMMIT or ROLLBACK before releasing the connection (pg), as Prisma's engine does.
      const finish = (sql: 'COMMIT' | 'ROLLBACK') =>
        tx.options.usePhantomQuery ? undefined : tx.executeRaw({ sql, args: [], argTypes: [] });
      let result: T;
      try {
        result = await work({ query: wrap((request) => tx.queryRaw(request)), execute: wrap((request) => tx.executeRaw(request)) });
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
  const transaction = transactionWith(logged);
  const work = workInProgress();
  const prisma = onQuery
    ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] }).$on('query', (event) =>
        onQuery({ query: event.query, durationMs: event.duration }),
      )
    : new PrismaClient({ adapter });
  return {
    prisma,
    query: (statement) => work.run(() => query(statement)),
    transaction: (statements) => work.run(() => transaction(statements)),
    kind: config.kind,
    readsFromReplica: readDriver !== driver,
    poolStatus: () => (readPool ? status(readPool) : pool ? status(pool) : undefined),
    primaryPoolStatus: () => (pool ? status(pool) : undefined),
    ping: () => answers(query, readPool ?? pool),
    async readiness() {
      const [replica, primary] = await Promise.all([
        answers(query, readPool ?? pool),
        readDriver === driver ? undefined : answers(primaryQuery, pool),
      ]);
      return primary === undefined ? { ready: replica, primary: replica } : { ready: replica, primary, replica };
    },
    async checkSessions() {
      if (config.kind !== 'postgres') return {};
      await checkSession(query, readDriver === driver ? 'DATABASE_URL' : 'DATABASE_READ_URL', config);
      if (readDriver === driver) return {};
      try {
        await checkSession(primaryQuery, 'DATABASE_URL', config);
        return {};
      } catch (error) {
        if (error instanceof DatabaseConfigurationError) throw error;
        return { primaryUnavailable: error };
      }
    },
    // The embedded database's statements are its only session's: the feed's go through them too.
    // Not logged, as the PostgreSQL session's are not: they run on the feed's schedule, not a request's.
    liveSession:
      liveSession ??
      (listen ? { listen, query: unlogged((request) => driver.queryRaw(request)), transaction: transactionWith(unlogged) } : undefined),
    async close() {
      await work.finish();
      if (readDriver !== driver) await readDriver.dispose();
      await driver.dispose();
      await prisma.$disconnect();
      for (const close of closers) await close();
    },
  };
}

/** How long close() lets the statements and transactions under way finish before it ends the pools. */
const CLOSE_WAIT_MS = 5_000;

/**
 * The statements and transactions under way. close() lets them finish (after the drain, those of
 * requests whose clients left: they still run to their end) and from then on refuses new ones with
 * DatabaseClosingError, an unavailable database logged quietly, instead of letting them meet pools
 * already ended (an error with a stack per abandoned request on every deploy under load).
 */
function workInProgress() {
  let running = 0;
  let closing = false;
  let idle: (() => void) | undefined;
  return {
    async run<T>(work: () => Promise<T>): Promise<T> {
      if (closing) throw new DatabaseClosingError();
      running += 1;
      try {
        return await work();
      } finally {
        running -= 1;
        if (running === 0) idle?.();
      }
    },
    async finish(): Promise<void> {
      closing = true;
      if (running === 0) return;
      const { promise, resolve } = Promise.withResolvers<void>();
      idle = resolve;
      const timer = setTimeout(resolve, CLOSE_WAIT_MS);
      await promise;
      clearTimeout(timer);
    },
  };
}

/** The role, database and statement_timeout a serving session gets from the server (one read, through `query`). */
export async function serverSession(
  database: Pick<Database, 'query'>,
): Promise<{ role: string; database: string; statementTimeoutMs: number }> {
  const { rows } = await database.query(
    sql`SELECT current_user::text, current_database()::text, setting FROM pg_settings WHERE name = 'statement_timeout'`,
  );
  const [role, name, timeout] = rows[0] as [string, string, string];
  return { role, database: name, statementTimeoutMs: Number(timeout) };
}
