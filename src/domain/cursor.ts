// The cursor of a migration-history page, shared by both doors: opaque to clients (base64url of a
// versioned JSON payload), exact for the database. It names a position in the (created_at, id) order,
// not a graph: a cursor handed to another graph's history (or to the cross-graph view) continues
// from the same position there. A filtered page's cursor is bound to its filter: used with other
// filters it is refused, since the position would silently start a different list.
//
// Version 1, `{"v":1,"t":…,"i":…}`, is an unfiltered page's cursor (every cursor issued before
// filters existed is one, and stays valid). Version 2 adds `"f"`, a fingerprint of the filter.
import { createHash } from 'node:crypto';
import { filterKey, isFiltered, NO_FILTER, type HistoryFilter } from '../queries/historyFilter.js';
import type { HistoryPosition } from '../queries/migrationRuns.js';
import { isUuid } from '../queries/ids.js';

const UNFILTERED_VERSION = 1;
const FILTERED_VERSION = 2;

/** The database's text (src/database/sql.ts utcTimestamp): a JS Date would drop the microseconds. */
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{6})Z$/;

// Well above any cursor this module writes (about 110 characters, 135 with a filter); longer input is not worth decoding.
const MAX_LENGTH = 256;

const HOW_TO_FIX = 'pass the endCursor (or an edge cursor) of a previous page unchanged, or omit it to start from the newest run';

interface Payload {
  v: number;
  t: string;
  i: string;
  f?: string;
}

// 16 base64url characters (96 bits) of SHA-256: tells filters apart; it guards against mistakes, not forgery.
const fingerprints = new WeakMap<HistoryFilter, string>();
function fingerprint(filter: HistoryFilter): string {
  let value = fingerprints.get(filter);
  if (value === undefined) {
    value = createHash('sha256')
      .update(`history-filter:${filterKey(filter)}`)
      .digest('base64url')
      .slice(0, 16);
    fingerprints.set(filter, value);
  }
  return value;
}

/** The cursor of `position` in the list `filter` selects (unfiltered when omitted). */
export function encodeCursor(position: HistoryPosition, filter: HistoryFilter = NO_FILTER): string {
  const payload: Payload = isFiltered(filter)
    ? { v: FILTERED_VERSION, t: position.createdAt, i: position.id, f: fingerprint(filter) }
    : { v: UNFILTERED_VERSION, t: position.createdAt, i: position.id };
  return Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
}

export type DecodedCursor =
  | { ok: true; position: HistoryPosition }
  | {
      ok: false;
      reason: string;
      /** True when the cursor is well formed but was issued for other filters than `filter`. */
      filterMismatch?: true;
    };

/**
 * The position a cursor names, or why it names none. Everything is checked before the value reaches
 * SQL, so a malformed, tampered or foreign cursor is the client's error, never a database error.
 * `filter` is the request's (checked) filter: a cursor issued for another one is refused.
 */
export function decodeCursor(cursor: string, filter: HistoryFilter = NO_FILTER): DecodedCursor {
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
  const { v, t, i, f, ...rest } = payload as Partial<Payload>;
  if (v !== UNFILTERED_VERSION && v !== FILTERED_VERSION) {
    return invalid(`version ${JSON.stringify(v ?? null)} is not supported (expected ${UNFILTERED_VERSION} or ${FILTERED_VERSION})`);
  }
  if (Object.keys(rest).length > 0) return invalid(`unexpected field "${Object.keys(rest)[0]}"`);
  if (v === UNFILTERED_VERSION && f !== undefined) return invalid('unexpected field "f"');
  if (v === FILTERED_VERSION && (typeof f !== 'string' || !/^[A-Za-z0-9_-]{16}$/.test(f)))
    return invalid('its filter fingerprint is missing or malformed');
  if (typeof t !== 'string' || !isExactTimestamp(t)) return invalid('its timestamp is not RFC 3339 UTC with microseconds');
  if (typeof i !== 'string' || !isUuid(i)) return invalid('its id is not a UUID');
  if ((f ?? null) !== (isFiltered(filter) ? fingerprint(filter) : null)) {
    return {
      ok: false,
      filterMismatch: true,
      reason:
        'Invalid cursor: it was issued for other filters (status, since, until) than this request has; ' +
        'repeat the filters of the request that returned the cursor, or omit the cursor to start from the newest run',
    };
  }
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
