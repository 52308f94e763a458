// Timestamps as clients see them, on both doors. Records carry the database's exact text
// (`utcTimestamp` in ./sql.ts: always six fractional digits), which cursors keep as it is
// (./cursor.ts); clients get it as pydantic 2's JSON serializer wrote it for the Python service
// this one replaces: the fraction only when there is one.

/** The database's text: RFC 3339 UTC with exactly six fractional digits. */
export const DATABASE_TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

const WHOLE_SECOND = '.000000Z';

/**
 * `2026-04-17T21:25:43.000000Z` → `2026-04-17T21:25:43Z`; `2026-04-17T21:25:43.120000Z` and
 * `2026-04-17T21:25:43.000001Z` unchanged (pydantic 2 writes six digits or none). `null` stays `null`.
 */
export function wireTimestamp<T extends string | null>(text: T): T {
  return (text !== null && text.endsWith(WHOLE_SECOND) ? `${text.slice(0, -WHOLE_SECOND.length)}Z` : text) as T;
}
