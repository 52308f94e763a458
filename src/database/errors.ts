// The one place that decides whether an error means "the database cannot serve us right now"
// (down, restarting, refusing connections, too slow, pool exhausted) rather than a bug. Both doors
// use it: REST answers 503 {"detail":"Database unavailable"}, GraphQL an error SERVICE_UNAVAILABLE.
//
// Prisma 7 surfaces driver faults in three shapes, all seen against a real PostgreSQL:
//  1. PrismaClientKnownRequestError whose meta.driverAdapterError.cause is @prisma/adapter-pg's
//     mapping of the pg error: a `kind` such as DatabaseNotReachable (ECONNREFUSED), ConnectionClosed
//     (ECONNRESET), SocketTimeout, TooManyConnections, or kind "postgres" with the SQLSTATE `code`
//     (57P01 after pg_terminate_backend, 55000 FATAL when the database does not allow connections,
//     57014 when statement_timeout cancels a query, 40001 when a replica cancels it for a recovery
//     conflict). The Prisma code is P2010 for raw queries, P1001 etc. for model queries.
//  2. A plain Error from pg / pg-pool that the adapter does not recognise and rethrows as it is:
//     "timeout exceeded when trying to connect" (no pooled connection within connectionTimeoutMillis),
//     "Connection terminated unexpectedly", "Connection terminated due to connection timeout",
//     "Query read timeout" (query_timeout).
//  3. A Node socket error (ECONNREFUSED, ECONNRESET, ...) in any of those causes.

/** Prisma error codes that are about reaching the database, not about the query. */
const PRISMA_UNAVAILABLE_CODES = new Set([
  'P1001', // can't reach database server
  'P1002', // database server reached but timed out
  'P1008', // operations timed out
  'P1017', // server has closed the connection
  'P2024', // timed out fetching a new connection from the connection pool
  'P2037', // too many database connections opened
]);

/** @prisma/adapter-pg error kinds that mean the connection, not the statement, failed. */
const ADAPTER_UNAVAILABLE_KINDS = new Set([
  'DatabaseNotReachable',
  'ConnectionClosed',
  'SocketTimeout',
  'TooManyConnections',
  'TlsConnectionError',
  // SQLSTATE 40001 / 40P01: on this read-only service, a replica's recovery conflict (see below).
  'TransactionWriteConflict',
]);

/**
 * SQLSTATEs of a server that is going away, starting, overloaded or cancelling a statement for
 * taking too long. Class 08 (connection exception) is matched as a class.
 */
const UNAVAILABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down, recovering)
  '57014', // query_canceled: statement_timeout
  '53300', // too_many_connections
  '53400', // configuration_limit_exceeded
  // A read replica cancels a query that conflicts with the WAL it must replay (rows vacuumed on the
  // primary that the query's snapshot still needed): "canceling statement due to conflict with
  // recovery". The service never runs serializable transactions nor takes row locks, so on its
  // reads these two states mean that, and the same read succeeds when retried.
  '40001', // serialization_failure (recovery conflict: snapshot, tablespace, lock)
  '40P01', // deadlock_detected (recovery conflict: buffer pin deadlock)
]);

const SOCKET_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
]);

// pg and pg-pool give these errors no code, only a message.
const PG_CONNECTION_MESSAGES = [
  /^timeout exceeded when trying to connect$/,
  /^Connection terminated/,
  /^Query read timeout$/,
  /^Client has encountered a connection error and is not queryable$/,
  /^Client was closed and is not queryable$/,
];

type Inspectable = {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  severity?: unknown;
  kind?: unknown;
  /** The adapter's DatabaseDoesNotExist names the database. */
  db?: unknown;
  cause?: unknown;
  meta?: { driverAdapterError?: unknown };
  originalError?: unknown;
};

/** Why a pooled connection was refused without asking the database (src/database/client.ts's bounded wait queue). */
export type PoolRefusalReason = 'queue_full' | 'queue_wait';

/**
 * Every connection of the pool is busy and the request would wait too long for one: too many already
 * wait (`queue_full`, refused at once) or none came free in time (`queue_wait`). The database is
 * healthy, only saturated: logged and counted as shedding, answered as an unavailable database (503).
 */
export class PoolSaturatedError extends Error {
  override readonly name = 'PoolSaturatedError';
  constructor(
    readonly reason: PoolRefusalReason,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A statement or transaction asked for once the instance has begun closing its database (its
 * shutdown, after the drain): the work of a request whose client has already left, since the drain
 * waited for every connected one. Answered as an unavailable database (503), logged quietly.
 */
export class DatabaseClosingError extends Error {
  override readonly name = 'DatabaseClosingError';
  constructor() {
    super('The database is closing: the instance is shutting down');
  }
}

/** The live history's session (src/database/listen.ts) is reconnecting: its statements fail until it is back. */
export class LiveSessionDownError extends Error {
  override readonly name = 'LiveSessionDownError';
  constructor() {
    super('the live history session is down');
  }
}

/** True when `error` is (or wraps) a refusal by a closing database (src/database/client.ts, close()). */
export function isDatabaseClosing(error: unknown): boolean {
  return findInChain(error, (candidate) => (candidate instanceof DatabaseClosingError ? true : undefined)) ?? false;
}

/** Errors nest (GraphQLError → Prisma error → DriverAdapterError → its cause): the first in the chain that `matches`, bounded. */
function findInChain<T>(error: unknown, matches: (candidate: Inspectable) => T | undefined): T | undefined {
  const seen = new Set<unknown>();
  const pending: unknown[] = [error];
  while (pending.length > 0 && seen.size < 16) {
    const current = pending.shift();
    if (current === null || typeof current !== 'object' || seen.has(current)) continue;
    seen.add(current);
    const candidate = current as Inspectable;
    const found = matches(candidate);
    if (found !== undefined) return found;
    pending.push(candidate.cause, candidate.meta?.driverAdapterError, candidate.originalError);
  }
  return undefined;
}

/** The reason when `error` is (or wraps) a refusal of the pool's wait queue, else undefined. */
export function poolRefusal(error: unknown): PoolRefusalReason | undefined {
  return findInChain(error, (candidate) => (candidate instanceof PoolSaturatedError ? candidate.reason : undefined));
}

/** True for an unavailable database, and for a saturated pool's refusal (the same answer on the wire: 503). */
export function isDatabaseUnavailable(error: unknown): boolean {
  return (
    findInChain(error, (candidate) =>
      candidate instanceof PoolSaturatedError ||
      candidate instanceof DatabaseClosingError ||
      candidate instanceof LiveSessionDownError ||
      describesUnavailable(candidate)
        ? true
        : undefined,
    ) ?? false
  );
}

function describesUnavailable(error: Inspectable): boolean {
  const code = typeof error.code === 'string' ? error.code : undefined;
  if (code && typeof error.name === 'string' && error.name.startsWith('PrismaClient') && PRISMA_UNAVAILABLE_CODES.has(code)) return true;
  if (typeof error.kind === 'string' && ADAPTER_UNAVAILABLE_KINDS.has(error.kind)) return true;
  if (code && SOCKET_ERROR_CODES.has(code)) return true;
  if (code && /^[0-9A-Z]{5}$/.test(code)) {
    if (UNAVAILABLE_SQLSTATES.has(code) || code.startsWith('08')) return true;
    // 55000 is a generic state; as FATAL at connection time it is "database is not currently accepting connections".
    if (code === '55000' && error.severity === 'FATAL') return true;
  }
  return typeof error.message === 'string' && PG_CONNECTION_MESSAGES.some((pattern) => pattern.test(error.message as string));
}

/**
 * What kind of failure a statement met, for a span's `error.type`: its SQLSTATE, else the adapter's
 * error kind or a socket's error code, else the error's name; never a message (it may quote values).
 */
export function databaseErrorType(error: unknown): string {
  const found = findInChain(error, (candidate) => {
    // The adapter maps some SQLSTATEs to kinds of its own (TableDoesNotExist) and keeps the code as originalCode.
    const sqlState = [candidate.code, (candidate as { originalCode?: unknown }).originalCode].find(
      (code): code is string => typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code),
    );
    if (sqlState) return sqlState;
    if (typeof candidate.kind === 'string' && candidate.kind !== 'postgres') return candidate.kind;
    if (typeof candidate.code === 'string' && SOCKET_ERROR_CODES.has(candidate.code)) return candidate.code;
    return undefined;
  });
  return found ?? (error instanceof Error ? error.name : 'Error');
}

/** How long clients are asked to wait before retrying after a 503 (Retry-After, seconds). */
export const RETRY_AFTER_SECONDS = 1;

/**
 * When `error` is (or wraps) "database does not exist" (SQLSTATE 3D000), what to do about it: which
 * variable of `urls` names that database, on which server, and the command that creates it (never
 * the password). Undefined for any other error.
 */
export function missingDatabaseAdvice(error: unknown, urls: Record<string, string | undefined>): string | undefined {
  const name = findInChain(error, (candidate) => {
    if (candidate.kind === 'DatabaseDoesNotExist') return typeof candidate.db === 'string' ? candidate.db : '';
    if (candidate.code !== '3D000') return undefined;
    return typeof candidate.message === 'string' ? (/database "(.*)" does not exist/.exec(candidate.message)?.[1] ?? '') : '';
  });
  if (name === undefined) return undefined;
  const found = Object.entries(urls).find(([, url]) => url !== undefined && databaseOf(new URL(url)) === name);
  const [variable, url] = found ?? Object.entries(urls).find(([, value]) => value !== undefined) ?? ['DATABASE_URL', undefined];
  if (!url) return `The database ${JSON.stringify(name)} does not exist: create it, then start again`;
  const server = new URL(url);
  const host = server.hostname || 'localhost';
  const port = server.port || '5432';
  const user = decodeURIComponent(server.username) || undefined;
  const database = name || databaseOf(server);
  const command = ['createdb', `--host=${host}`, `--port=${port}`, ...(user ? [`--username=${user}`] : []), database].join(' ');
  return (
    `The database ${JSON.stringify(database)} (${variable}) does not exist on ${host}:${port}: create it with \`${command}\` ` +
    `(or CREATE DATABASE as a role that may create databases), then start again; the service creates its tables itself`
  );
}

/** The database a PostgreSQL URL names: its path, else the user's name (libpq's default). */
function databaseOf(url: URL): string {
  return decodeURIComponent(url.pathname.replace(/^\//, '')) || decodeURIComponent(url.username);
}
