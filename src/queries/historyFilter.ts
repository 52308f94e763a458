// Which runs a history page selects besides its position: statuses, and a window of created_at.
// Shared by both doors and by the cross-graph view, checked and put into one canonical form here, so
// that a page's cache key, the SQL it binds and the cursor it issues all say the same filter.

/**
 * A checked filter, as `checkHistoryFilter` returns it (build it no other way). Absent fields do not
 * filter. `statuses` are unique and sorted; a run matches when its status is one of them (an
 * unknown value matches nothing: the database's CHECK is the only list of states, and an empty list
 * selects no run). `since` (inclusive) and `until` (exclusive) are the database's timestamp text,
 * RFC 3339 UTC with microseconds, compared to `created_at` exactly.
 */
export interface HistoryFilter {
  readonly statuses?: readonly string[];
  readonly since?: string;
  readonly until?: string;
}

/** The filter that selects every run. */
export const NO_FILTER: HistoryFilter = Object.freeze({});

/**
 * Each status costs one index range scan per page, whether or not any run has it. Twice the states
 * the CHECK knows today, so a later state still fits, and a request cannot make a page cost thousands.
 */
export const HISTORY_FILTER_LIMITS = { maxStatuses: 10 } as const;

/** What a door received, before checking: absent or null means "no such filter". */
export interface HistoryFilterInput {
  statuses?: readonly string[] | null;
  /** RFC 3339 (any offset, at most six fractional digits). */
  since?: string | null;
  until?: string | null;
}

export type HistoryFilterField = 'status' | 'since' | 'until';

export type CheckedHistoryFilter =
  | { ok: true; filter: HistoryFilter }
  | {
      ok: false;
      /** The parameter or argument to blame (REST `status`/`since`/`until`, GraphQL the same names). */
      field: HistoryFilterField;
      /** What is wrong and how to fix it, as one sentence for a client. */
      reason: string;
    };

/**
 * The canonical filter for what a door received, or which input is wrong and why: a timestamp that
 * is not RFC 3339, `since` later than `until`, or more than HISTORY_FILTER_LIMITS.maxStatuses
 * distinct statuses. `since` equal to `until` is an empty window, not an error.
 */
export function checkHistoryFilter(input: HistoryFilterInput): CheckedHistoryFilter {
  const filter: { statuses?: string[]; since?: string; until?: string } = {};
  if (input.statuses != null) {
    const statuses = [...new Set(input.statuses)].sort();
    if (statuses.length > HISTORY_FILTER_LIMITS.maxStatuses) {
      return {
        ok: false,
        field: 'status',
        reason: `at most ${HISTORY_FILTER_LIMITS.maxStatuses} distinct statuses may be given; got ${statuses.length}`,
      };
    }
    filter.statuses = statuses;
  }
  for (const field of ['since', 'until'] as const) {
    const value = input[field];
    if (value == null) continue;
    const parsed = parseTimestamp(value);
    if (!parsed.ok) return { ok: false, field, reason: parsed.reason };
    filter[field] = parsed.timestamp;
  }
  if (filter.since !== undefined && filter.until !== undefined && filter.since > filter.until) {
    return {
      ok: false,
      field: 'since',
      reason:
        `since (${filter.since}) is later than until (${filter.until}): pass a since at or before until ` +
        '(since is inclusive, until exclusive), or leave one of them out',
    };
  }
  return { ok: true, filter: Object.keys(filter).length === 0 ? NO_FILTER : Object.freeze(filter) };
}

export function isFiltered(filter: HistoryFilter): boolean {
  return filter.statuses !== undefined || filter.since !== undefined || filter.until !== undefined;
}

/** One string per distinct filter ('' for none): for cache keys and the cursor's binding. */
export function filterKey(filter: HistoryFilter): string {
  if (!isFiltered(filter)) return '';
  return JSON.stringify([filter.statuses ?? null, filter.since ?? null, filter.until ?? null]);
}

/**
 * The statuses a statement binds, or null for "any status". Values PostgreSQL text cannot hold (NUL)
 * could never match and would fail the whole statement: they are dropped, which leaves a list (maybe
 * empty) that still matches nothing for them.
 */
export function statusesArray(filter: HistoryFilter | undefined): string[] | null {
  if (filter?.statuses === undefined) return null;
  return filter.statuses.filter((status) => !status.includes('\u0000'));
}

/**
 * statusesArray as JSON text, for statements that bind one value per page of a batch: PostgreSQL
 * has no ragged arrays, so a list per page cannot be one element of an array parameter.
 */
export function statusesParameter(filter: HistoryFilter | undefined): string | null {
  const statuses = statusesArray(filter);
  return statuses && JSON.stringify(statuses);
}

// --- timestamps --------------------------------------------------------------------------------

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

export type ParsedTimestamp = { ok: true; timestamp: string } | { ok: false; reason: string };

/**
 * An RFC 3339 date-time (any offset, `T`/`t`, `Z`/`z`, up to six fractional digits) as the
 * database's text: UTC, exactly six fractional digits (`2026-04-17T21:25:43.123456Z`). A JS Date is
 * not used for the value: it would drop the microseconds. Refused, with the reason: another format,
 * an impossible date or time (February 30, hour 24, a leap second), more than microsecond
 * precision, and instants outside years 0001 to 9999 UTC.
 */
export function parseTimestamp(text: string): ParsedTimestamp {
  const invalid = (what: string): ParsedTimestamp => ({
    ok: false,
    reason: `${JSON.stringify(text.length > 64 ? `${text.slice(0, 64)}…` : text)} ${what}; expected an RFC 3339 date-time such as 2026-04-17T21:25:43.123456Z`,
  });
  const match = RFC3339.exec(text);
  if (!match) return invalid('is not an RFC 3339 date-time');
  const [, year, month, day, hour, minute, second, fraction = '', zulu, sign, offsetHours, offsetMinutes] = match;
  if (fraction.length > 6) return invalid('is more precise than a microsecond');
  const [y, mo, d, h, mi, s] = [year, month, day, hour, minute, second].map(Number) as [number, number, number, number, number, number];
  // setUTCFullYear, not Date.UTC, which reads years 0–99 as 1900–1999. Out-of-range fields roll over
  // (February 30 → March 2, 24:00 → the next day); a real date-time reads back as it was written.
  const local = new Date(0);
  local.setUTCFullYear(y, mo - 1, d);
  local.setUTCHours(h, mi, s, 0);
  if (
    local.getUTCFullYear() !== y ||
    local.getUTCMonth() !== mo - 1 ||
    local.getUTCDate() !== d ||
    local.getUTCHours() !== h ||
    local.getUTCMinutes() !== mi ||
    local.getUTCSeconds() !== s
  ) {
    return invalid('is not a real date and time');
  }
  if (!zulu && (Number(offsetHours) > 23 || Number(offsetMinutes) > 59)) return invalid('has an impossible offset');
  const offsetMillis = zulu ? 0 : (sign === '-' ? -1 : 1) * (Number(offsetHours) * 60 + Number(offsetMinutes)) * 60_000;
  const utc = new Date(local.getTime() - offsetMillis);
  if (utc.getUTCFullYear() < 1 || utc.getUTCFullYear() > 9999) return invalid('is outside the years 0001 to 9999 UTC');
  return { ok: true, timestamp: `${utc.toISOString().slice(0, 19)}.${fraction.padEnd(6, '0')}Z` };
}
