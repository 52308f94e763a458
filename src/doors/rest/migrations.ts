// GET /api/v1/graphs/{slug}/migrations: the wire contract of the Python service it replaces
// (docs/contract.md#rest). It validates the query string as FastAPI did, then calls what the GraphQL
// resolvers call (readableGraph, loadConnection, loadAllGraphsConnection) with the
// request's context (src/domain): the same loaders, the same single statement and the same GRAPH_READ
// check as /graphql, without parsing, validating and executing an operation for a shape that never changes.
// Pages beyond the first are reached through the `Link: <...>; rel="next"` header (keyset cursor).
import { decodeCursor, encodeCursor } from '../../domain/cursor.js';
import { HISTORY_LIMIT, type MigrationRunRecord } from '../../queries/migrationRuns.js';
import { readableGraph } from '../../domain/access.js';
import type { Context } from '../../domain/context.js';
import { AccessDeniedError } from '../../domain/errors.js';
import { connectionPage, loadAllGraphsConnection, loadConnection } from '../../domain/history.js';
import { loadAllGraphsStats, loadGraphStats, loadLatestRunsConnection } from '../../domain/stats.js';
import type { MigrationStatsRecord, StatsWindow } from '../../queries/migrationStats.js';
import { isFeedCursor } from '../../domain/live.js';
import { checkHistoryFilter, HISTORY_FILTER_LIMITS, NO_FILTER, parseTimestamp, type HistoryFilter } from '../../queries/historyFilter.js';
import { FAILURE_DETAIL } from '../../platform/app.js';
import { detail, type JsonAnswer } from '../../platform/reply.js';
import { wireTimestamp } from '../../domain/timestamps.js';

/** Where the request was addressed, to build the next page's URL from. */
export interface RequestLocation {
  /**
   * scheme://host[/prefix] clients reach the service at (no trailing slash): PUBLIC_BASE_URL, or a
   * trusted proxy's forwarded headers. Absent: the link is path-absolute.
   */
  origin?: string;
  /** The path as received (percent-encoded), without the query string. */
  pathname: string;
}

/** The `detail` of every non-422 error, word for word as the Python service sent it (the OpenAPI document reuses them). */
export const ERROR_DETAIL = {
  notAuthenticated: 'Not authenticated',
  invalidToken: 'Invalid or expired token',
  graphNotFound: 'Graph not found',
  notMember: 'Not a member of this graph',
  notSuperuser: "Superusers only: every graph's history is not readable with this token",
  // The platform answers these for every route (src/platform/app.ts); the document names them.
  ...FAILURE_DETAIL,
} as const;

// FastAPI's HTTPBearer challenges with this header on every 401.
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

const NOT_FOUND = detail(404, ERROR_DETAIL.graphNotFound);

/** One item of a FastAPI 422 `detail` list. */
interface ValidationErrorItem {
  type: string;
  loc: ['query' | 'header', string];
  msg: string;
  /** The raw query-string text (a list for a repeatable parameter). */
  input: string | string[];
  ctx?: Record<string, unknown>;
}

const validationFailed = (items: ValidationErrorItem[]): JsonAnswer => ({ status: 422, body: { detail: items } });

type LimitResult = { ok: true; limit: number } | { ok: false; item: ValidationErrorItem };

/**
 * `limit` as FastAPI validated it: pydantic 2's lax `int` from a query string (pydantic-core's
 * `str_as_int`, src/input/shared.rs), then `ge` / `le`, with FastAPI's 422 bodies.
 */
function parseLimit(search: URLSearchParams): LimitResult {
  // Starlette keeps the last of repeated parameters.
  const raw = search.getAll('limit').at(-1);
  if (raw === undefined) return { ok: true, limit: HISTORY_LIMIT.default };
  const invalid = (type: string, msg: string, ctx?: Record<string, number>): LimitResult => ({
    ok: false,
    item: { type, loc: ['query', 'limit'], msg, input: raw, ...(ctx && { ctx }) },
  });
  const parsed = laxInteger(raw);
  if (parsed === 'int_parsing') return invalid(parsed, 'Input should be a valid integer, unable to parse string as an integer');
  if (parsed === 'int_parsing_size') return invalid(parsed, 'Unable to parse input string as an integer, exceeded maximum size');
  // pydantic checks `le` before `ge`; with 1 <= 500 at most one of them fails.
  if (parsed > BigInt(HISTORY_LIMIT.max)) {
    return invalid('less_than_equal', `Input should be less than or equal to ${HISTORY_LIMIT.max}`, { le: HISTORY_LIMIT.max });
  }
  if (parsed < BigInt(HISTORY_LIMIT.min)) {
    return invalid('greater_than_equal', `Input should be greater than or equal to ${HISTORY_LIMIT.min}`, { ge: HISTORY_LIMIT.min });
  }
  return { ok: true, limit: Number(parsed) };
}

/**
 * pydantic-core 2's `str_as_int` (src/input/shared.rs, with jiter's `NumberInt::try_from`), rule for
 * rule: the text as a JSON integer; failing that, the text "cleaned" (`clean_int_str`) and read as a
 * JSON integer again. Only the first reading reports a number too long (`int_parsing_size`).
 */
function laxInteger(text: string): bigint | 'int_parsing' | 'int_parsing_size' {
  const direct = jsonInteger(text);
  if (direct !== 'invalid') return direct;
  const cleaned = cleanIntegerText(text);
  const again = cleaned === undefined ? 'invalid' : jsonInteger(cleaned);
  return typeof again === 'bigint' ? again : 'int_parsing';
}

// jiter reads digits after a leading 1-9 into a big integer and stops once the sign and digits pass
// 4,300 characters (CPython's int-from-str limit), whatever follows them.
const JSON_INTEGER_MAX_CHARS = 4_300;

/** jiter's `NumberInt::try_from(&[u8])`: JSON's integer grammar over the whole text (`-0` included; no `+`, no leading zero). */
function jsonInteger(text: string): bigint | 'invalid' | 'int_parsing_size' {
  const run = /^-?[1-9][0-9]*/.exec(text)?.[0];
  if (run !== undefined && run.length > JSON_INTEGER_MAX_CHARS) return 'int_parsing_size';
  return /^-?(?:0|[1-9][0-9]*)$/.test(text) ? BigInt(text) : 'invalid';
}

// Rust's `str::trim`: the Unicode White_Space characters (not U+FEFF, unlike JavaScript's `trim`; U+0085 included).
const RUST_WHITESPACE = String.raw`\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000`;
const SURROUNDING_WHITESPACE = new RegExp(`^[${RUST_WHITESPACE}]+|[${RUST_WHITESPACE}]+$`, 'g');

/** pydantic-core's `clean_int_str`: undefined when nothing could be cleaned (the text stays refused). */
function cleanIntegerText(text: string): string | undefined {
  let s = text.replace(SURROUNDING_WHITESPACE, '');
  // One `+`, not followed by a `-`.
  if (s.startsWith('+')) {
    if (s.startsWith('+-')) return undefined;
    s = s.slice(1);
  }
  // One `-`, not followed by another sign; put back at the end.
  const negative = s.startsWith('-');
  if (negative) {
    if (s.startsWith('--') || s.startsWith('-+')) return undefined;
    s = s.slice(1);
  }
  const digits = stripLeadingZeros(s);
  if (digits === undefined) return undefined;
  s = digits;
  // A fraction of zeros only (`5.0`, `5.000`; not `5.`), from the first `.`.
  const dot = s.indexOf('.');
  if (dot >= 0 && /^0+$/.test(s.slice(dot + 1))) s = s.slice(0, dot);
  const sign = negative ? '-' : '';
  const joined = stripUnderscores(s);
  if (joined !== undefined) return sign + joined;
  return s.length === text.length ? undefined : sign + s;
}

/**
 * pydantic-core's `strip_leading_zeros`: the text must start with a digit; zeros and underscores
 * before the first other digit go, one zero is kept before a `.` or when nothing else follows.
 * Anything but a digit, `_`, `.` or `-` among the leading zeros refuses the text.
 */
function stripLeadingZeros(s: string): string | undefined {
  if (s[0] !== '0') return /^[1-9-]/.test(s) ? s : undefined;
  for (let i = 1; i < s.length; i++) {
    const c = s[i]!;
    if (c === '0' || c === '_') continue;
    if ((c >= '1' && c <= '9') || c === '-') return s.slice(i);
    if (c === '.') return s.slice(i - 1);
    return undefined;
  }
  return s.slice(-1);
}

/** pydantic-core's `strip_underscores`: single `_` between characters are removed; none, a leading, trailing or doubled one: undefined. */
function stripUnderscores(s: string): string | undefined {
  if (!s.includes('_') || s.startsWith('_') || s.endsWith('_') || s.includes('__')) return undefined;
  return s.replaceAll('_', '');
}

type CursorResult = { ok: true; cursor: string | null } | { ok: false; item: ValidationErrorItem };

/**
 * `cursor` as a FastAPI `str | None` with a validator that raises ValueError: absent is the first
 * page, and anything the codec refuses (empty included, or issued for other filters) is pydantic's
 * `value_error`, whose `ctx` FastAPI serializes as `{"error": {}}`. `filter` is undefined when the
 * filter parameters are invalid themselves: then only the cursor's own form is checked.
 */
function parseCursor(search: URLSearchParams, filter: HistoryFilter | undefined): CursorResult {
  const raw = search.getAll('cursor').at(-1);
  if (raw === undefined) return { ok: true, cursor: null };
  const decoded = decodeCursor(raw, filter ?? NO_FILTER);
  if (decoded.ok || (filter === undefined && decoded.filterMismatch)) return { ok: true, cursor: raw };
  return {
    ok: false,
    item: { type: 'value_error', loc: ['query', 'cursor'], msg: `Value error, ${decoded.reason}`, input: raw, ctx: { error: {} } },
  };
}

/** `status` as a `list[str]` with at most HISTORY_FILTER_LIMITS.maxStatuses distinct items (pydantic's `too_long`). */
function statusItems(statuses: string[]): ValidationErrorItem[] {
  const distinct = new Set(statuses).size;
  const max = HISTORY_FILTER_LIMITS.maxStatuses;
  if (distinct <= max) return [];
  return [
    {
      type: 'too_long',
      loc: ['query', 'status'],
      msg: `List should have at most ${max} items after validation, not ${distinct}`,
      input: statuses,
      ctx: { field_type: 'List', max_length: max, actual_length: distinct },
    },
  ];
}

type FilterResult = { ok: true; filter: HistoryFilter } | { ok: false; items: ValidationErrorItem[] };

/**
 * `status` (repeatable: `list[str] | None`), `since` and `until` (`datetime | None`, the last of
 * repeated ones, as Starlette keeps), each checked on its own as pydantic would (`too_long`,
 * `datetime_from_date_parsing`); `since` after `until` is then a `value_error` on `since`.
 */
function parseFilter(search: URLSearchParams): FilterResult {
  const statuses = search.getAll('status');
  const input = {
    statuses: statuses.length > 0 ? statuses : undefined,
    since: search.getAll('since').at(-1),
    until: search.getAll('until').at(-1),
  };
  const items = statusItems(statuses);
  for (const field of ['since', 'until'] as const) {
    const raw = input[field];
    const parsed = raw === undefined ? undefined : parseTimestamp(raw);
    if (parsed && !parsed.ok) {
      items.push({
        type: 'datetime_from_date_parsing',
        loc: ['query', field],
        msg: `Input should be a valid datetime or date, ${parsed.reason}`,
        input: raw!,
        ctx: { error: parsed.reason },
      });
    }
  }
  if (items.length > 0) return { ok: false, items };
  const checked = checkHistoryFilter(input);
  if (checked.ok) return { ok: true, filter: checked.filter };
  // What is left once each value parses: the window's order.
  const raw = input[checked.field === 'status' ? 'since' : checked.field]!;
  return {
    ok: false,
    items: [{ type: 'value_error', loc: ['query', checked.field], msg: `Value error, ${checked.reason}`, input: raw, ctx: { error: {} } }],
  };
}

type HistoryQuery = { ok: true; limit: number; cursor: string | null; filter: HistoryFilter } | { ok: false; answer: JsonAnswer };

/**
 * The query string of a history route, checked as FastAPI would: 401 before 422 (the auth
 * dependency resolves first), then every parameter, all failures reported in the parameters' order.
 */
function historyQuery(context: Context, search: URLSearchParams): HistoryQuery {
  const refused = unauthenticated(context);
  if (refused) return { ok: false, answer: refused };
  const limit = parseLimit(search);
  const filter = parseFilter(search);
  const cursor = parseCursor(search, filter.ok ? filter.filter : undefined);
  if (!limit.ok || !cursor.ok || !filter.ok) {
    const items = [...(limit.ok ? [] : [limit.item]), ...(cursor.ok ? [] : [cursor.item]), ...(filter.ok ? [] : filter.items)];
    return { ok: false, answer: validationFailed(items) };
  }
  return { ok: true, limit: limit.limit, cursor: cursor.cursor, filter: filter.filter };
}

/** The formats of the export routes, in the order pydantic's `Literal['ndjson', 'csv']` names them; the first is the default. */
export const EXPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

type FormatResult = { ok: true; format: ExportFormat } | { ok: false; item: ValidationErrorItem };

/**
 * `format` as a FastAPI `Literal['ndjson', 'csv'] = 'ndjson'` query parameter: the last of repeated
 * ones (Starlette), compared exactly (case included), anything else pydantic 2's `literal_error`.
 */
function parseFormat(search: URLSearchParams): FormatResult {
  const raw = search.getAll('format').at(-1);
  if (raw === undefined) return { ok: true, format: EXPORT_FORMATS[0] };
  if ((EXPORT_FORMATS as readonly string[]).includes(raw)) return { ok: true, format: raw as ExportFormat };
  const expected = EXPORT_FORMATS.map((format) => `'${format}'`).join(' or ');
  return {
    ok: false,
    item: { type: 'literal_error', loc: ['query', 'format'], msg: `Input should be ${expected}`, input: raw, ctx: { expected } },
  };
}

export type ExportQuery = { ok: true; format: ExportFormat; filter: HistoryFilter } | { ok: false; answer: JsonAnswer };

/**
 * An export route's query string, checked as its list route checks the same parameters: 401 before
 * 422, then `status`, `since` and `until` exactly as the list route validates them (`limit` and
 * `cursor` do not apply: they are ignored, as any other parameter), then `format`; every failure
 * reported together, in that order.
 */
export function exportQuery(context: Context, search: URLSearchParams): ExportQuery {
  const refused = unauthenticated(context);
  if (refused) return { ok: false, answer: refused };
  const filter = parseFilter(search);
  const format = parseFormat(search);
  if (!filter.ok || !format.ok) {
    return { ok: false, answer: validationFailed([...(filter.ok ? [] : filter.items), ...(format.ok ? [] : [format.item])]) };
  }
  return { ok: true, format: format.format, filter: filter.filter };
}

/** FastAPI's HTTPBearer answer when no token, or one that does not verify, was sent; undefined otherwise. */
function unauthenticated(context: Context): JsonAnswer | undefined {
  if (context.viewer.kind === 'anonymous') return detail(401, ERROR_DETAIL.notAuthenticated, BEARER_CHALLENGE);
  if (context.viewer.kind === 'invalid') return detail(401, ERROR_DETAIL.invalidToken, BEARER_CHALLENGE);
  return undefined;
}

export type StreamQuery = { ok: true; statuses: string[] | undefined; after: string | undefined } | { ok: false; answer: JsonAnswer };

/**
 * A stream route's request, checked as its list route checks the same parameters: 401, then
 * `status` (the list route's 422 items; `limit`, `cursor`, `since` and `until` do not apply), then
 * the `Last-Event-ID` header (a 422 item located in the header, as FastAPI locates header parameters).
 */
export function streamQuery(context: Context, search: URLSearchParams, lastEventId: string | undefined): StreamQuery {
  const refused = unauthenticated(context);
  if (refused) return { ok: false, answer: refused };
  const statuses = search.getAll('status');
  const items = statuses.length > 0 ? statusItems(statuses) : [];
  if (lastEventId !== undefined && !isFeedCursor(lastEventId)) {
    items.push({
      type: 'value_error',
      loc: ['header', 'last-event-id'],
      msg: 'Value error, not an event id of this stream: send the id of the last event received, or no Last-Event-ID to start from now',
      input: lastEventId,
      ctx: { error: {} },
    });
  }
  if (items.length > 0) return { ok: false, answer: validationFailed(items) };
  return { ok: true, statuses: statuses.length > 0 ? statuses : undefined, after: lastEventId };
}

/** The 403 of the access refusals a route meets after its 401 checks (not a member; superusers only); undefined for anything else. */
export function forbidden(error: unknown): JsonAnswer | undefined {
  if (!(error instanceof AccessDeniedError)) return undefined;
  if (error.denial === 'not_member') return detail(403, ERROR_DETAIL.notMember);
  if (error.denial === 'superusers_only') return detail(403, ERROR_DETAIL.notSuperuser);
  return undefined;
}

/**
 * A route's reads, with their access refusals answered (`forbidden`). A database outage (503) and
 * anything unexpected (500, logged) are rethrown, for src/platform/app.ts's error handler to answer.
 */
async function answeringDenials(work: () => Promise<JsonAnswer>): Promise<JsonAnswer> {
  try {
    return await work();
  } catch (error) {
    const refused = forbidden(error);
    if (refused) return refused;
    throw error;
  }
}

/** `GET /api/v1/graphs/{slug}/migrations`: one graph's history (GRAPH_READ). */
export async function graphMigrations(
  context: Context,
  slug: string,
  search: URLSearchParams,
  location: RequestLocation,
): Promise<JsonAnswer> {
  const query = historyQuery(context, search);
  if (!query.ok) return query.answer;
  const { limit, cursor, filter } = query;
  return answeringDenials(async () => {
    const graph = await readableGraph(context, { slug }, [connectionPage(limit, cursor, filter)]);
    if (!graph) return NOT_FOUND;
    return page(await loadConnection(context, graph.id, limit, cursor, filter), location, limit);
  });
}

/** `GET /api/v1/migrations`: every graph's runs, newest first (deleted graphs left out); superusers only. */
export async function allMigrations(context: Context, search: URLSearchParams, location: RequestLocation): Promise<JsonAnswer> {
  const query = historyQuery(context, search);
  if (!query.ok) return query.answer;
  const { limit, cursor, filter } = query;
  return answeringDenials(async () => {
    return page(await loadAllGraphsConnection(context, limit, cursor, filter), location, limit);
  });
}

/** Only the named parameters of a query string (FastAPI ignores those a route does not declare). */
const only = (search: URLSearchParams, names: readonly string[]) =>
  new URLSearchParams([...search].filter(([name]) => names.includes(name)));

type WindowQuery = { ok: true; window: StatsWindow } | { ok: false; answer: JsonAnswer };

/** A stats route's query string: 401, then `since` and `until` as the list route checks them (422 items). */
function windowQuery(context: Context, search: URLSearchParams): WindowQuery {
  const refused = unauthenticated(context);
  if (refused) return { ok: false, answer: refused };
  const filter = parseFilter(only(search, ['since', 'until']));
  if (!filter.ok) return { ok: false, answer: validationFailed(filter.items) };
  // The REST body always holds the durations.
  return { ok: true, window: { filter: filter.filter, durations: true } };
}

/** `GET /api/v1/graphs/{slug}/migrations/stats`: one graph's statistics over a window (GRAPH_READ). */
export async function graphMigrationStats(context: Context, slug: string, search: URLSearchParams): Promise<JsonAnswer> {
  const query = windowQuery(context, search);
  if (!query.ok) return query.answer;
  return answeringDenials(async () => {
    const graph = await readableGraph(context, { slug });
    if (!graph) return NOT_FOUND;
    return { status: 200, body: statsBody(await loadGraphStats(context, graph.id, query.window)) };
  });
}

/** `GET /api/v1/migrations/stats`: every graph's statistics (deleted graphs left out); superusers only. */
export async function allMigrationStats(context: Context, search: URLSearchParams): Promise<JsonAnswer> {
  const query = windowQuery(context, search);
  if (!query.ok) return query.answer;
  return answeringDenials(async () => {
    return { status: 200, body: statsBody(await loadAllGraphsStats(context, query.window)) };
  });
}

/**
 * `GET /api/v1/migrations/latest`: each graph's latest run whose status is one of `status` (any
 * when absent), newest first, paged as the list routes are (`limit`, `cursor`, `Link`); superusers only.
 */
export async function latestMigrations(context: Context, search: URLSearchParams, location: RequestLocation): Promise<JsonAnswer> {
  const query = historyQuery(context, only(search, ['limit', 'cursor', 'status']));
  if (!query.ok) return query.answer;
  const { limit, cursor, filter } = query;
  return answeringDenials(async () => {
    return page(await loadLatestRunsConnection(context, limit, cursor, filter.statuses), location, limit);
  });
}

/** The stats body: snake_case keys, runs as the list route's items. */
function statsBody(stats: MigrationStatsRecord) {
  const item = (run: MigrationRunRecord | null) => (run ? restItem(run) : null);
  return {
    total: stats.total,
    by_status: stats.byStatus,
    latest: item(stats.latest),
    latest_success: item(stats.latestSuccess),
    latest_failure: item(stats.latestFailure),
    duration_seconds: stats.durationSeconds ?? { p50: null, p95: null, max: null },
  };
}

function page(
  { runs, hasNextPage, filter }: { runs: MigrationRunRecord[]; hasNextPage: boolean; filter: HistoryFilter },
  location: RequestLocation,
  limit: number,
): JsonAnswer {
  const next = hasNextPage ? nextPageLink(location, limit, filter, encodeCursor(runs.at(-1)!, filter)) : undefined;
  return { status: 200, body: runs.map(restItem), headers: next ? { Link: next } : undefined };
}

/** The item of the Python service: snake_case keys, in its order (the event streams' `data` too). */
export function restItem(run: MigrationRunRecord) {
  return {
    id: run.id,
    graph_id: run.graphId,
    from_version: run.fromVersion,
    to_version: run.toVersion,
    migration_id: run.migrationId,
    status: run.status,
    started_at: wireTimestamp(run.startedAt),
    finished_at: wireTimestamp(run.finishedAt),
    error: run.error,
    workflow_run_id: run.workflowRunId,
    created_at: wireTimestamp(run.createdAt),
  };
}

/**
 * RFC 8288 `Link` to the next page: the request's own path with `limit`, the filters (in their
 * canonical form: statuses sorted and unique, timestamps as UTC microseconds) and the page's end
 * cursor, which is bound to them; nothing else from the query string. Absolute when PUBLIC_BASE_URL or a trusted proxy says
 * where clients reach the service; otherwise path-absolute, which RFC 8288 allows and clients
 * resolve against the URL they called. Never built from the request's own Host header: a client
 * could make it point anywhere.
 */
function nextPageLink({ origin = '', pathname }: RequestLocation, limit: number, filter: HistoryFilter, cursor: string): string {
  const filters = [
    ...(filter.statuses ?? []).map((status) => `&status=${encodeURIComponent(status)}`),
    filter.since === undefined ? '' : `&since=${encodeURIComponent(filter.since)}`,
    filter.until === undefined ? '' : `&until=${encodeURIComponent(filter.until)}`,
  ].join('');
  return `<${origin}${pathname}?limit=${limit}${filters}&cursor=${cursor}>; rel="next"`;
}
