// One LISTEN session on PostgreSQL for the instance's change feed (src/domain/feed.ts). LISTEN belongs
// to a server session, so this is a connection of its own, never a pooled one and never through a
// transaction-mode pooler (DATABASE_LISTEN_URL, else DATABASE_MIGRATE_URL, else DATABASE_URL when it
// is direct). It reconnects by itself, with a growing delay, and says when it is up and down: a
// notification sent while it was down is lost, so the feed reads what it missed on each reconnect.
import pg from 'pg';
import type { Logger } from '../observability/logger.js';
import type { RunSql, SqlRows, TransactionSql } from './sql.js';
import { LiveSessionDownError } from './errors.js';

export type Listen = (
  channels: readonly string[],
  onNotification: (channel: string) => void,
  onConnection: (up: boolean) => void,
) => Promise<{ close(): Promise<void> }>;

/**
 * The live history's session: its LISTEN, and the feed's own statements on the same connection (so
 * they never take a pooled connection from requests, nor wait in the pool's queue under overload).
 * Statements and transactions run one at a time, in order; while the session is down they fail.
 */
export interface LiveSession {
  listen: Listen;
  query: RunSql;
  transaction<T>(work: (sql: TransactionSql) => Promise<T>): Promise<T>;
}

/** The session's application_name (pg_stat_activity): the operator's way to find it. */
export const LISTEN_APPLICATION = 'graph-migrations-subgraph live';
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;
// A session that stopped answering without closing (a dead peer, a network partition) is found by this probe.
const PROBE_EVERY_MS = 10_000;
const PROBE_TIMEOUT_MS = 5_000;

export function postgresLiveSession(url: string, logger: Logger, connectTimeoutMs = 5_000): LiveSession {
  let client: pg.Client | undefined;
  let up = false;
  // One statement or transaction at a time on the one connection.
  let tail: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(work: (current: pg.Client) => Promise<T>): Promise<T> => {
    const run = tail.then(() => {
      if (!client || !up) throw new LiveSessionDownError();
      return work(client);
    });
    tail = run.catch(() => {});
    return run;
  };
  const send = async (current: pg.Client, statement: { text: string; values: unknown[] }): Promise<pg.QueryArrayResult> =>
    current.query({ text: statement.text, values: statement.values, rowMode: 'array' });
  const rows = (result: pg.QueryArrayResult): SqlRows => ({ columnNames: result.fields.map((field) => field.name), rows: result.rows });

  const listen: Listen = async (channels, onNotification, onConnection) => {
    let closed = false;
    let retryMs = FIRST_RETRY_MS;
    let retry: NodeJS.Timeout | undefined;
    const setUp = (value: boolean) => {
      if (up === value) return;
      up = value;
      onConnection(value);
    };

    const lost = (current: pg.Client, error?: unknown) => {
      if (client !== current) return;
      client = undefined;
      current.removeAllListeners('notification');
      current.end().catch(() => {});
      setUp(false);
      if (closed) return;
      logger.warn({ err: error, retryInMs: retryMs }, 'the LISTEN session for live history is down; reconnecting');
      retry = setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
    };

    const connect = async () => {
      retry = undefined;
      const current = new pg.Client({
        connectionString: url,
        keepAlive: true,
        connectionTimeoutMillis: connectTimeoutMs,
        application_name: LISTEN_APPLICATION,
      });
      client = current;
      current.on('error', (error) => lost(current, error));
      current.on('end', () => lost(current));
      current.on('notification', (message) => onNotification(message.channel));
      try {
        await current.connect();
        for (const channel of channels) await current.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      } catch (error) {
        return lost(current, error);
      }
      if (client !== current || closed) return;
      retryMs = FIRST_RETRY_MS;
      setUp(true);
    };

    const probe = setInterval(() => {
      const current = client;
      if (!current || !up) return;
      const timeout = setTimeout(() => lost(current, new Error(`no answer to a probe within ${PROBE_TIMEOUT_MS} ms`)), PROBE_TIMEOUT_MS);
      exclusive((session) => session.query('SELECT 1'))
        .catch((error: unknown) => lost(current, error))
        .finally(() => clearTimeout(timeout));
    }, PROBE_EVERY_MS).unref();

    await connect();
    return {
      async close() {
        closed = true;
        clearInterval(probe);
        clearTimeout(retry);
        const current = client;
        client = undefined;
        setUp(false);
        await current?.end().catch(() => {});
      },
    };
  };

  return {
    listen,
    query: (statement) => exclusive(async (current) => rows(await send(current, statement))),
    transaction: (work) =>
      exclusive(async (current) => {
        await current.query('BEGIN');
        try {
          const result = await work({
            query: async (statement) => rows(await send(current, statement)),
            execute: async (statement) => (await send(current, statement)).rowCount ?? 0,
          });
          await current.query('COMMIT');
          return result;
        } catch (error) {
          await current.query('ROLLBACK').catch(() => {});
          throw error;
        }
      }),
  };
}
