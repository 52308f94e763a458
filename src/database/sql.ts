import type { SqlRows } from './client.js';
import { Prisma } from './generated/client.js';

/**
 * A timestamptz rendered as RFC 3339 UTC text with microseconds. Prisma (like any JS Date) keeps
 * only milliseconds, which would reorder and misprint runs that differ below a millisecond.
 */
export function utcTimestamp(column: string): Prisma.Sql {
  return Prisma.raw(`to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Client-supplied ids are untrusted: a value that is not a UUID cannot match a row. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
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
