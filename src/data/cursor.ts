// The cursor of a migration-history page, shared by both doors: opaque to clients (base64url of a
// versioned JSON payload), exact for the database. It names a position in the (created_at, id) order,
// not a graph: a cursor handed to another graph's history continues from the same position there.
import type { HistoryPosition } from './migrationRuns.js';
import { isUuid } from './sql.js';

const VERSION = 1;

/** The database's text (src/data/sql.ts utcTimestamp): a JS Date would drop the microseconds. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;

// Well above any cursor this module writes (about 110 characters); longer input is not worth decoding.
const MAX_LENGTH = 256;

const HOW_TO_FIX = 'pass the endCursor (or an edge cursor) of a previous page unchanged, or omit it to start from the newest run';

interface Payload {
  v: number;
  t: string;
  i: string;
}

export function encodeCursor(position: HistoryPosition): string {
  const payload: Payload = { v: VERSION, t: position.createdAt, i: position.id };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

export type DecodedCursor = { ok: true; position: HistoryPosition } | { ok: false; reason: string };

/**
 * The position a cursor names, or why it names none. Everything is checked before the value reaches
 * SQL, so a malformed, tampered or foreign cursor is the client's error, never a database error.
 */
export function decodeCursor(cursor: string): DecodedCursor {
  const invalid = (what: string): DecodedCursor => ({ ok: false, reason: `Invalid cursor: ${what}; ${HOW_TO_FIX}` });
  if (cursor.length === 0) return invalid('it is empty');
  if (cursor.length > MAX_LENGTH) return invalid(`it is longer than ${MAX_LENGTH} characters`);
  // Node's decoder skips characters outside the alphabet; re-encoding proves there were none.
  const bytes = Buffer.from(cursor, 'base64url');
  if (!/^[A-Za-z0-9_-]+$/.test(cursor) || bytes.toString('base64url') !== cursor) return invalid('it is not base64url text');
  let payload: unknown;
  try {
    payload = JSON.parse(bytes.toString('utf8'));
  } catch {
    return invalid('its payload is not JSON');
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return invalid('its payload is not an object');
  const { v, t, i, ...rest } = payload as Partial<Payload>;
  if (v !== VERSION) return invalid(`version ${JSON.stringify(v ?? null)} is not supported (expected ${VERSION})`);
  if (Object.keys(rest).length > 0) return invalid(`unexpected field "${Object.keys(rest)[0]}"`);
  if (typeof t !== 'string' || !isExactTimestamp(t)) return invalid('its timestamp is not RFC 3339 UTC with microseconds');
  if (typeof i !== 'string' || !isUuid(i)) return invalid('its id is not a UUID');
  return { ok: true, position: { createdAt: t, id: i.toLowerCase() } };
}

/** The format, and a real instant: no 2026-02-30, no 24:00, no year 0 (PostgreSQL would refuse them). */
function isExactTimestamp(text: string): boolean {
  const match = TIMESTAMP.exec(text);
  if (!match || match[1] === '0000') return false;
  const milliseconds = `${text.slice(0, 23)}Z`;
  const date = new Date(milliseconds);
  return !Number.isNaN(date.getTime()) && date.toISOString() === milliseconds;
}
