import { Prisma } from './generated/client.js';

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

/**
 * A timestamptz rendered as RFC 3339 UTC text with microseconds. Prisma (like any JS Date) keeps
 * only milliseconds, which would reorder and misprint runs that differ below a millisecond.
 */
export function utcTimestamp(column: string): Prisma.Sql {
  return Prisma.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
}

/** The rows of a result as objects keyed by column name, as the SQL aliased them. */
export function records<T>({ columnNames, rows }: SqlRows): T[] {
  return rows.map((row) => {
    const record: Record<string, unknown> = {};
    for (let column = 0; column < columnNames.length; column++) record[columnNames[column]!] = row[column];
    return record as T;
  });
}

/** Where each column of a result is, by the name the SQL aliased it to. */
export function columnIndexes({ columnNames }: SqlRows): Record<string, number> {
  return Object.fromEntries(columnNames.map((name, index) => [name, index]));
}
