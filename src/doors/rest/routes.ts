// The REST contract, declared once (docs/contract.md#rest): each route's path, parameters (with the
// parser that validates each, src/doors/rest/validation.ts) and answers (status, headers, body
// schema, examples). door.ts registers the routes and validates their requests from these
// declarations, and openapi.ts generates the OpenAPI document from them; nothing else says what a
// route takes or answers. Shared pieces (the filter parameters, the refusals, the item's schema)
// are named values, used by reference; a schema declared with `component` is named in the
// document's components and referred to wherever it is used.
import { encodeCursor } from '../../domain/cursor.js';
import { detailPattern, type JsonSchema } from '../../platform/answers.js';
import { OVERLOADED_DETAIL } from '../../platform/overload.js';
import { HISTORY_FILTER_LIMITS, NO_FILTER } from '../../queries/historyFilter.js';
import { HISTORY_LIMIT } from '../../queries/migrationRuns.js';
import {
  asSent,
  parseCursor,
  parseFormat,
  parseInstant,
  parseLastEventId,
  parseLimit,
  parseStatuses,
  pathText,
  type AnyParameter,
  type ParameterDeclaration,
  type ParameterValues,
} from './validation.js';
import { CSV_HEADER, ERROR_DETAIL, EXPORT_CONTENT_TYPES, EXPORT_FORMATS } from './wire.js';

export interface HeaderDeclaration {
  description: string;
  /** Sent with every answer of this status (absent: only sometimes, as `Link`). */
  required?: boolean;
  schema: JsonSchema;
}

export interface MediaDeclaration {
  schema: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary: string; value: unknown }>;
}

/** An answer of a route: an OpenAPI Response Object. */
export interface ResponseDeclaration {
  description: string;
  headers?: Record<string, HeaderDeclaration>;
  /** By content type; absent: no body (304). */
  content?: Record<string, MediaDeclaration>;
}

/** A REST route (GET and HEAD, a bearer token required): what it takes and what it answers. */
export interface RouteDeclaration<P extends readonly AnyParameter[] = readonly AnyParameter[], Id extends string = string> {
  /** OpenAPI's path template (`{slug}`). */
  path: string;
  /** Names the route's handler (door.ts) and its operation in the document. */
  operationId: Id;
  summary: string;
  description: string;
  /** In FastAPI's order: the order of a 422's items. */
  parameters: P;
  /** By status; the platform's refusals before any route (408, 431) are added to every route by the document. */
  responses: Record<string, ResponseDeclaration>;
}

/** The parsed values a route's handler gets. */
export type RouteValues<R extends Pick<RouteDeclaration, 'parameters'>> = ParameterValues<R['parameters']>;

const parameter = <K extends string, T>(declaration: ParameterDeclaration<K, T>) => declaration;
const route = <const P extends readonly AnyParameter[], const Id extends string>(declaration: RouteDeclaration<P, Id>) => declaration;

const COMPONENTS = new Map<JsonSchema, string>();

/** Names a schema: the document lists it under components/schemas and refers to it wherever it is used. */
export function component<S extends JsonSchema>(name: string, schema: S): S {
  COMPONENTS.set(schema, name);
  return schema;
}

/** The name `component` gave this schema, if any. */
export const componentName = (schema: JsonSchema): string | undefined => COMPONENTS.get(schema);

// --- examples ----------------------------------------------------------------------------------

const EXAMPLE_RUN = {
  id: '0a6b9e0c-0000-4000-8000-000000000006',
  graph_id: '3b9d6a52-1f0e-4c7b-a8d4-2e6f9c1b7a30',
  from_version: 4,
  to_version: 5,
  migration_id: 'add_provenance_columns',
  status: 'running',
  started_at: '2026-05-06T11:00:01.250000Z',
  finished_at: null,
  error: null,
  workflow_run_id: 'wf-20260506-1100-e4',
  created_at: '2026-05-06T11:00:00.000001Z',
};

const EXAMPLE_CURSOR = encodeCursor({ createdAt: EXAMPLE_RUN.created_at, id: EXAMPLE_RUN.id });
const EXAMPLE_ETAG = '"3q2-7wEjRWeJq83vEjRWeJq83v8"';
// A cursor that is not JSON: the codec's own words refuse it, so the example cannot drift from the service.
const NOT_JSON_CURSOR = Buffer.from('not-json').toString('base64url');

/** The 422 body a parameter's own parser gives for `raw`: examples are the service's answers, never written by hand. */
function refused(declaration: AnyParameter, raw: string) {
  const parsed = declaration.parse([raw], NO_FILTER);
  if (parsed.ok) throw new Error(`the example ${declaration.name}=${raw} is not refused`);
  return { detail: parsed.items };
}

// --- schemas -----------------------------------------------------------------------------------

/**
 * RFC 3339 UTC with six fractional digits (the database's microseconds, never rounded), or none on a
 * whole second, as pydantic 2 writes it: `2026-04-17T21:25:43.120000Z`, `2026-04-17T21:25:43Z`.
 */
const TIMESTAMP_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{6})?Z$';
const timestamp = (description: string): JsonSchema => ({ type: 'string', format: 'date-time', pattern: TIMESTAMP_PATTERN, description });
const nullableTimestamp = (description: string): JsonSchema => ({ ...timestamp(description), type: ['string', 'null'] });

export const GRAPH_MIGRATION_RUN = component('GraphMigrationRun', {
  title: 'GraphMigrationRun',
  description: "One migration hop a graph's data went through. Every key is always present; absent values are `null`.",
  type: 'object',
  // In the contract's key order, which is also the order of the keys on the wire.
  properties: {
    id: { type: 'string', format: 'uuid' },
    graph_id: { type: 'string', format: 'uuid' },
    from_version: { type: 'integer' },
    to_version: { type: 'integer' },
    migration_id: { type: 'string' },
    status: {
      type: 'string',
      description:
        'The state as the database holds it (today `pending`, `running`, `success`, `failed` or `skipped`). Deliberately not an enum: a state added by a database migration comes through unchanged, so clients must accept values they do not know.',
      examples: ['pending', 'running', 'success', 'failed', 'skipped'],
    },
    started_at: nullableTimestamp('When the run started; null until it does.'),
    finished_at: nullableTimestamp('When the run finished; null until it does.'),
    error: { type: ['string', 'null'], description: 'Why the run failed; null otherwise.' },
    workflow_run_id: { type: ['string', 'null'], description: 'Id of the workflow-engine run that executed this hop.' },
    created_at: timestamp('When the run was recorded.'),
  },
  required: [
    'id',
    'graph_id',
    'from_version',
    'to_version',
    'migration_id',
    'status',
    'started_at',
    'finished_at',
    'error',
    'workflow_run_id',
    'created_at',
  ],
  additionalProperties: false,
});

const detailBody = (title: string, details: readonly string[]): JsonSchema =>
  component(title, {
    title,
    type: 'object',
    properties: { detail: { type: 'string', enum: details } },
    required: ['detail'],
    additionalProperties: false,
  });

const UNAUTHORIZED_ERROR = detailBody('UnauthorizedError', [ERROR_DETAIL.notAuthenticated, ERROR_DETAIL.invalidToken]);
const FORBIDDEN_ERROR = detailBody('ForbiddenError', [ERROR_DETAIL.notMember, ERROR_DETAIL.notSuperuser]);
const NOT_FOUND_ERROR = detailBody('NotFoundError', [ERROR_DETAIL.graphNotFound]);
const INTERNAL_ERROR = detailBody('InternalError', [ERROR_DETAIL.internal]);
const UNAVAILABLE_ERROR = detailBody('UnavailableError', [ERROR_DETAIL.databaseUnavailable, OVERLOADED_DETAIL]);

const VALIDATION_ERROR = component('ValidationError', {
  title: 'ValidationError',
  description:
    'One failed check, as pydantic reports it: `int_parsing` or `int_parsing_size` (no `ctx`), `greater_than_equal` (`ctx.ge`) or `less_than_equal` (`ctx.le`) for `limit`; ' +
    '`value_error` for `cursor` (and for `since` later than `until`, and for a `Last-Event-ID` that is no event id, located `["header", "last-event-id"]`), with `msg` saying what is wrong and `ctx` `{"error": {}}` (how FastAPI serializes the ValueError its validator raised); ' +
    '`literal_error` for a `format` other than `ndjson` or `csv` (the export routes; `ctx.expected`); `too_long` for more than ' +
    `${HISTORY_FILTER_LIMITS.maxStatuses} distinct \`status\` values; \`datetime_from_date_parsing\` for a \`since\` or \`until\` that is not an RFC 3339 date-time.`,
  type: 'object',
  properties: {
    type: { type: 'string', title: 'Error Type', examples: ['int_parsing', 'greater_than_equal', 'less_than_equal', 'value_error'] },
    loc: { type: 'array', title: 'Location', items: { anyOf: [{ type: 'string' }, { type: 'integer' }] } },
    msg: { type: 'string', title: 'Message' },
    input: { title: 'Input', description: 'The value as it was sent: the raw query-string text (a list of them for `status`).' },
    ctx: {
      type: 'object',
      title: 'Context',
      additionalProperties: { anyOf: [{ type: 'integer' }, { type: 'string' }, { type: 'object' }] },
    },
  },
  required: ['type', 'loc', 'msg', 'input'],
  additionalProperties: false,
});

const HTTP_VALIDATION_ERROR = component('HTTPValidationError', {
  title: 'HTTPValidationError',
  type: 'object',
  properties: { detail: { type: 'array', title: 'Detail', items: VALIDATION_ERROR } },
  required: ['detail'],
  additionalProperties: false,
});

const nullableRun = (description: string): JsonSchema => ({ oneOf: [GRAPH_MIGRATION_RUN, { type: 'null' }], description });
const seconds = (description: string): JsonSchema => ({ type: ['number', 'null'], description });

const MIGRATION_STATS = component('MigrationStats', {
  title: 'MigrationStats',
  description: 'What the runs created in the window add up to. Every key is always present.',
  type: 'object',
  properties: {
    total: { type: 'integer', minimum: 0, description: 'How many runs the window holds.' },
    by_status: {
      type: 'array',
      description: 'One entry per status that occurs, most frequent first (ties by status, in code point order). Open-ended like `status`.',
      items: {
        type: 'object',
        properties: { status: { type: 'string' }, count: { type: 'integer', minimum: 1 } },
        required: ['status', 'count'],
        additionalProperties: false,
      },
    },
    latest: nullableRun('The newest run of the window (by `created_at`, then `id`), as the list route serves it.'),
    latest_success: nullableRun('The newest run of the window with status `success`.'),
    latest_failure: nullableRun('The newest run of the window with status `failed`.'),
    duration_seconds: {
      type: 'object',
      description:
        '`finished_at - started_at` in seconds (microsecond precision) over the runs of the window that have both; `null` fields when none has. `p50` and `p95` are continuous percentiles (PostgreSQL `percentile_cont`: interpolated between the two nearest durations).',
      properties: { p50: seconds('The median.'), p95: seconds('The 95th percentile.'), max: seconds('The longest.') },
      required: ['p50', 'p95', 'max'],
      additionalProperties: false,
    },
  },
  required: ['total', 'by_status', 'latest', 'latest_success', 'latest_failure', 'duration_seconds'],
  additionalProperties: false,
});

// --- parameters --------------------------------------------------------------------------------

export const SLUG = parameter({
  key: 'slug',
  name: 'slug',
  in: 'path',
  required: true,
  description: "The graph's slug (lowercase letters, digits and `_`). An unknown or deleted graph is a 404.",
  schema: { type: 'string', title: 'Slug' },
  parse: pathText,
});

export const LIMIT = parameter({
  key: 'limit',
  name: 'limit',
  in: 'query',
  required: false,
  description: `How many runs to return at most, ${HISTORY_LIMIT.min} to ${HISTORY_LIMIT.max}.`,
  schema: { type: 'integer', title: 'Limit', minimum: HISTORY_LIMIT.min, maximum: HISTORY_LIMIT.max, default: HISTORY_LIMIT.default },
  parse: parseLimit,
});

export const CURSOR = parameter({
  key: 'cursor',
  name: 'cursor',
  in: 'query',
  required: false,
  description:
    "Where the page starts: the value the previous page's `Link` header carries, passed unchanged. Opaque: clients must not build or parse it. " +
    "Absent, the page starts at the newest run. A cursor names a position in the history's order, not a graph: used on another graph it continues from the same position there. " +
    'A value the service did not issue (malformed, altered, or of an unknown version) is a 422.',
  schema: { type: 'string', title: 'Cursor', examples: [EXAMPLE_CURSOR] },
  // Bound to the request's filters: parsed once they are.
  parse: parseCursor,
});

export const STATUS = parameter({
  key: 'status',
  name: 'status',
  in: 'query',
  required: false,
  description:
    'Only runs in one of these states; repeat the parameter for several (`?status=failed&status=running`), at most ' +
    `${HISTORY_FILTER_LIMITS.maxStatuses} distinct values. A state the database does not know is not an error: it matches no run.`,
  schema: { type: 'array', title: 'Status', items: { type: 'string' }, maxItems: HISTORY_FILTER_LIMITS.maxStatuses },
  filter: 'statuses',
  parse: parseStatuses,
});

export const SINCE = parameter({
  key: 'since',
  name: 'since',
  in: 'query',
  required: false,
  description: 'Only runs created at or after this instant (inclusive): an RFC 3339 date-time, any offset, up to microseconds.',
  schema: { type: 'string', title: 'Since', format: 'date-time', examples: ['2026-04-17T00:00:00Z'] },
  filter: 'since',
  parse: parseInstant('since'),
});

export const UNTIL = parameter({
  key: 'until',
  name: 'until',
  in: 'query',
  required: false,
  description: 'Only runs created before this instant (exclusive), as `since`. A `since` later than `until` is a 422.',
  schema: { type: 'string', title: 'Until', format: 'date-time', examples: ['2026-04-18T00:00:00.000001Z'] },
  filter: 'until',
  parse: parseInstant('until'),
});

export const IF_NONE_MATCH = parameter({
  key: 'ifNoneMatch',
  name: 'If-None-Match',
  in: 'header',
  required: false,
  description:
    'The `ETag` of a page already held: when the page is still the same, the answer is 304 without a body. For pollers; `*` matches any page.',
  schema: { type: 'string', examples: [EXAMPLE_ETAG] },
  parse: asSent,
});

export const LAST_EVENT_ID = parameter({
  key: 'lastEventId',
  name: 'Last-Event-ID',
  in: 'header',
  required: false,
  description:
    'The `id` of the last event received (what a browser’s EventSource sends on reconnect): the stream replays what followed it.',
  schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$', examples: ['1042'] },
  parse: parseLastEventId,
});

export const FORMAT = parameter({
  key: 'format',
  name: 'format',
  in: 'query',
  required: false,
  description:
    '`ndjson` (the default): one JSON object per line, each followed by `\\n`. `csv`: RFC 4180, a header row of the field names, CRLF line ends, UTF-8 without a byte order mark; ' +
    'a field holding `"`, `,`, CR or LF is quoted (quotes doubled), null is an empty field, an empty string `""`, numbers are digits. Anything else is a 422 (`literal_error`).',
  schema: { type: 'string', title: 'Format', enum: EXPORT_FORMATS, default: EXPORT_FORMATS[0] },
  parse: parseFormat,
});

/** Which runs a list, export or statistics route selects besides its position. */
export const FILTER_PARAMETERS = [STATUS, SINCE, UNTIL] as const;

// --- answers -----------------------------------------------------------------------------------

const json = (schema: JsonSchema, example?: unknown): Record<string, MediaDeclaration> => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});

const ETAG_HEADER: HeaderDeclaration = {
  description: "A strong validator of the page's exact bytes (a hash): send it back as `If-None-Match` to get 304 while nothing changed.",
  required: true,
  schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]+"$', examples: [EXAMPLE_ETAG] },
};
const CACHE_CONTROL_HEADER: HeaderDeclaration = {
  description: '`private, no-cache`: clients may keep the page, shared caches may not, and it is revalidated on every use.',
  required: true,
  schema: { type: 'string', const: 'private, no-cache' },
};
const RETRY_AFTER_HEADER: HeaderDeclaration = {
  description: 'Seconds to wait before retrying.',
  required: true,
  schema: { type: 'string', pattern: '^[0-9]+$' },
};

/** A page of runs (the list routes and the latest runs); `title` as FastAPI names a route's response model. */
const page = (title: string): ResponseDeclaration => ({
  description: 'The runs, newest first.',
  headers: {
    Link: {
      description:
        'Present only when more runs follow this page: the URL of the next page (this path with `limit` and `cursor`), as `<URL>; rel="next"`. ' +
        'Absolute when the service is configured with its public base URL (PUBLIC_BASE_URL), otherwise path-absolute (`</api/v1/...>`), to resolve against the URL called. Absent on the last page.',
      schema: {
        type: 'string',
        pattern: '^<[^<>]+[?&]cursor=[A-Za-z0-9_-]+>; rel="next"$',
        examples: [`</api/v1/graphs/demo_knowledge/migrations?limit=2&cursor=${EXAMPLE_CURSOR}>; rel="next"`],
      },
    },
    ETag: ETAG_HEADER,
    'Cache-Control': CACHE_CONTROL_HEADER,
  },
  content: json({ type: 'array', title, items: GRAPH_MIGRATION_RUN }, [EXAMPLE_RUN]),
});

const NOT_MODIFIED: ResponseDeclaration = {
  description: 'Not modified: the page is the one `If-None-Match` names (same runs, same values, same next page). No body.',
  headers: { ETag: ETAG_HEADER, 'Cache-Control': CACHE_CONTROL_HEADER },
};

const UNAUTHORIZED: ResponseDeclaration = {
  description: 'No bearer token, or a token that is malformed, expired or not signed by a trusted key.',
  headers: { 'WWW-Authenticate': { description: 'Always `Bearer`.', required: true, schema: { type: 'string', const: 'Bearer' } } },
  content: json(UNAUTHORIZED_ERROR, { detail: ERROR_DETAIL.notAuthenticated }),
};

const NOT_MEMBER: ResponseDeclaration = {
  description: 'The viewer may not read this graph (not a member, not a superuser, not the default graph).',
  content: json(FORBIDDEN_ERROR, { detail: ERROR_DETAIL.notMember }),
};

const NOT_SUPERUSER: ResponseDeclaration = {
  description: "The token is not a superuser's.",
  content: json(FORBIDDEN_ERROR, { detail: ERROR_DETAIL.notSuperuser }),
};

const GRAPH_NOT_FOUND: ResponseDeclaration = {
  description: 'No graph has this slug, or it has been deleted.',
  content: json(NOT_FOUND_ERROR, { detail: ERROR_DETAIL.graphNotFound }),
};

const INTERNAL: ResponseDeclaration = {
  description: 'An internal error: logged by the service under the request id (`X-Request-Id`), answered without details.',
  content: json(INTERNAL_ERROR, { detail: ERROR_DETAIL.internal }),
};

const UNAVAILABLE: ResponseDeclaration = {
  description:
    'The database is unreachable, restarting or saturated, or the instance is overloaded and refused the request before reading it: retry after `Retry-After` seconds.',
  headers: { 'Retry-After': RETRY_AFTER_HEADER },
  content: json(UNAVAILABLE_ERROR, { detail: ERROR_DETAIL.databaseUnavailable }),
};

/** The refusals of a graph's routes besides 422, in the list route's order of checks: 401, 404, 403; and the failures. */
const GRAPH_REFUSALS = { '401': UNAUTHORIZED, '403': NOT_MEMBER, '404': GRAPH_NOT_FOUND, '500': INTERNAL, '503': UNAVAILABLE };
/** The refusals of the routes over every graph (superusers only) besides 422. */
const ALL_GRAPHS_REFUSALS = { '401': UNAUTHORIZED, '403': NOT_SUPERUSER, '500': INTERNAL, '503': UNAVAILABLE };

/** The 422 of a route: its items come in the order the route declares the parameters they locate. */
function invalidParameters(
  parameters: readonly AnyParameter[],
  examples: Pick<MediaDeclaration, 'example' | 'examples'>,
): ResponseDeclaration {
  const checked = parameters.filter((declaration) => declaration.in !== 'path' && declaration.parse !== asSent);
  const which = checked.every((declaration) => declaration.in === 'query') ? 'query parameters' : 'parameters';
  return {
    description: `Invalid ${which} (FastAPI validation error): one item per invalid parameter, in this order: ${checked.map((declaration) => `\`${declaration.name}\``).join(', ')}.`,
    content: { 'application/json': { schema: HTTP_VALIDATION_ERROR, ...examples } },
  };
}

const PAGE_EXAMPLES = {
  examples: {
    limit: { summary: '`limit` out of bounds', value: refused(LIMIT, String(HISTORY_LIMIT.min - 1)) },
    cursor: { summary: 'A `cursor` the service did not issue', value: refused(CURSOR, NOT_JSON_CURSOR) },
  },
};

// --- routes ------------------------------------------------------------------------------------

export const MIGRATIONS_PATH = '/api/v1/graphs/{slug}/migrations';
export const ALL_MIGRATIONS_PATH = '/api/v1/migrations';
export const LATEST_MIGRATIONS_PATH = `${ALL_MIGRATIONS_PATH}/latest`;
export const MIGRATIONS_STATS_PATH = `${MIGRATIONS_PATH}/stats`;
export const ALL_MIGRATIONS_STATS_PATH = `${ALL_MIGRATIONS_PATH}/stats`;
export const MIGRATIONS_STREAM_PATH = `${MIGRATIONS_PATH}/stream`;
export const ALL_MIGRATIONS_STREAM_PATH = `${ALL_MIGRATIONS_PATH}/stream`;
export const MIGRATIONS_EXPORT_PATH = `${MIGRATIONS_PATH}/export`;
export const ALL_MIGRATIONS_EXPORT_PATH = `${ALL_MIGRATIONS_PATH}/export`;

const LIST_PARAMETERS = [LIMIT, CURSOR, ...FILTER_PARAMETERS, IF_NONE_MATCH] as const;

export const LIST_GRAPH_MIGRATIONS = route({
  path: MIGRATIONS_PATH,
  operationId: 'listGraphMigrations',
  summary: "A graph's migration-run history, newest first",
  description:
    "A bare JSON array of the graph's migration runs, newest first (`created_at` descending, then `id` descending), at most `limit` items; `[]` for a graph that never migrated. " +
    'Requires GRAPH_READ: a superuser, any authenticated user on the default graph, or a member of the graph. ' +
    'When more runs follow, the response carries a `Link: <...>; rel="next"` header (RFC 8288) to the next page: follow it as it is. ' +
    'Pages are keyset pages on (`created_at`, `id`), so runs recorded while a client pages through never make it skip or repeat a run. ' +
    'Checks run in this order: token (401), query parameters (422), graph exists and is not deleted (404), permission (403).',
  parameters: [SLUG, ...LIST_PARAMETERS],
  responses: {
    '200': page('Response List Graph Migrations'),
    '304': NOT_MODIFIED,
    ...GRAPH_REFUSALS,
    '422': invalidParameters(LIST_PARAMETERS, PAGE_EXAMPLES),
  },
});

export const LIST_ALL_MIGRATIONS = route({
  path: ALL_MIGRATIONS_PATH,
  operationId: 'listAllMigrations',
  summary: "Every graph's migration runs, newest first (superusers)",
  description:
    'A bare JSON array of the runs of every graph that is not deleted, newest first (`created_at` descending, then `id` descending), at most `limit` items, each with its `graph_id`. ' +
    'Superusers only. Filters, paging (`Link`) and revalidation (`ETag`) as on the graph route. ' +
    'Checks run in this order: token (401), query parameters (422), superuser (403).',
  parameters: LIST_PARAMETERS,
  responses: {
    '200': page('Response List All Migrations'),
    '304': NOT_MODIFIED,
    ...ALL_GRAPHS_REFUSALS,
    '422': invalidParameters(LIST_PARAMETERS, PAGE_EXAMPLES),
  },
});

const LATEST_PARAMETERS = [LIMIT, CURSOR, STATUS, IF_NONE_MATCH] as const;

export const LATEST_MIGRATIONS = route({
  path: LATEST_MIGRATIONS_PATH,
  operationId: 'latestMigrations',
  summary: "Each graph's latest run, when its status is one of `status` (superusers)",
  description:
    "A bare JSON array of each graph's latest run (its newest by `created_at`, then `id`; deleted graphs left out) whose status is one of `status` (any when absent): " +
    '"which graphs\' latest run failed". Newest first, at most `limit` items, paged with `Link` as the list routes are; `since` and `until` do not apply. ' +
    'Checks run in this order: token (401), query parameters (422), superuser (403).',
  parameters: LATEST_PARAMETERS,
  responses: {
    '200': page('Response Latest Migrations'),
    '304': NOT_MODIFIED,
    ...ALL_GRAPHS_REFUSALS,
    '422': invalidParameters(LATEST_PARAMETERS, PAGE_EXAMPLES),
  },
});

const WINDOW_PARAMETERS = [SINCE, UNTIL, IF_NONE_MATCH] as const;
const STATS_DESCRIPTION =
  'Counts by status, the latest runs and the durations of the runs created at or after `since` and before `until` (both optional). ' +
  'Counts come from counts kept per day, so they do not read the whole history. Revalidation (`ETag`, 304) as on the list route. ' +
  'Checks run in the list route’s order.';
const STATS: ResponseDeclaration = {
  description: 'The statistics.',
  headers: { ETag: ETAG_HEADER, 'Cache-Control': CACHE_CONTROL_HEADER },
  content: json(MIGRATION_STATS),
};
const WINDOW_INVALID = invalidParameters(WINDOW_PARAMETERS, { example: refused(SINCE, 'yesterday') });

export const GRAPH_MIGRATION_STATS = route({
  path: MIGRATIONS_STATS_PATH,
  operationId: 'graphMigrationStats',
  summary: "Statistics of one graph's runs (GRAPH_READ) created in a window",
  description: STATS_DESCRIPTION,
  parameters: [SLUG, ...WINDOW_PARAMETERS],
  responses: { '200': STATS, '304': NOT_MODIFIED, ...GRAPH_REFUSALS, '422': WINDOW_INVALID },
});

export const ALL_MIGRATION_STATS = route({
  path: ALL_MIGRATIONS_STATS_PATH,
  operationId: 'allMigrationStats',
  summary: "Statistics of every graph's runs, deleted graphs left out (superusers) created in a window",
  description: STATS_DESCRIPTION,
  parameters: WINDOW_PARAMETERS,
  responses: { '200': STATS, '304': NOT_MODIFIED, ...ALL_GRAPHS_REFUSALS, '422': WINDOW_INVALID },
});

const STREAM_PARAMETERS = [STATUS, LAST_EVENT_ID] as const;
const streamSummary = (whose: string) => `The migration runs of ${whose} as they are recorded and as they change (Server-Sent Events)`;
const STREAM_DESCRIPTION =
  'A `text/event-stream`. Each insert and each change of a run is one event: `id: <cursor>`, `event: run`, `data: <the item exactly as the list route serves it>`, in commit order; ' +
  'a deleted run is `event: run_deleted` with the item as it was. ' +
  'Without `Last-Event-ID` the stream starts with the changes after it opened (the list route gives the past); with it, it first replays every event after that id, then continues live, with no gap and no duplicate. ' +
  'A comment line (`: keep-alive`) comes at least every 15 s. The stream ends with an `end` event whose data is `{"reason", "detail", "last_event_id"}`: ' +
  '`overflow` (the reader fell behind: reconnect with `Last-Event-ID: <last_event_id>`), `reset` (the runs were truncated, the history emptied: reload the list route, then reconnect with `Last-Event-ID: <last_event_id>`, also the `end` event’s own `id`), ' +
  '`access` (membership removed or token expired), `graph_gone`, `shutdown` (reconnect, to another instance). ' +
  'Before the stream opens, every refusal is the list route’s answer; checks run in the list route’s order, then the resume id. ' +
  'A request accepting `text/event-stream` (a browser’s EventSource) that cannot be served for now (too many open streams, the instance overloaded, the database out of reach) is not refused with 503, which an EventSource takes as final: ' +
  'it gets 200 with a `retry: <ms>` field (1 to 5 s), one `end` event whose `reason` is `busy` or `unavailable`, and the end of the stream, and reconnects after the delay with its `Last-Event-ID`.';
const STREAM_ANSWERS = {
  '200': {
    description:
      'The event stream; or, to an EventSource that cannot be served for now, `retry:` and an `end` event telling it to reconnect.',
    content: {
      'text/event-stream': {
        schema: { type: 'string' },
        examples: {
          stream: { summary: 'An event', value: `id: 1042\nevent: run\ndata: ${JSON.stringify(EXAMPLE_RUN)}\n\n` },
          comeBack: {
            summary: 'Told to come back (an EventSource over LIVE_MAX_STREAMS)',
            value:
              'retry: 3172\n\nevent: end\ndata: {"reason":"busy","detail":"Too many open streams on this instance (2000): reconnecting in 4 s","last_event_id":null}\n\n',
          },
        },
      },
    },
  },
  '410': {
    description: 'The `Last-Event-ID` is older than the change history kept (`LIVE_RETENTION_MS`): reconnect without it.',
    content: json(detailPattern('Gone', '^Last-Event-ID is older than the change history kept')),
  },
  '422': invalidParameters(STREAM_PARAMETERS, { example: refused(LAST_EVENT_ID, 'yesterday') }),
  '503': {
    description:
      'As on the list route, and: every stream this instance may hold is open (`LIVE_MAX_STREAMS`), or it has no LISTEN session (`DATABASE_LISTEN_URL`): retry after `Retry-After` seconds. A request accepting `text/event-stream` gets the 200 above instead, except for a missing LISTEN session.',
    headers: { 'Retry-After': RETRY_AFTER_HEADER },
    content: json(
      detailPattern('StreamUnavailableError', '^(Database unavailable|Service overloaded|Too many open streams|Live history unavailable)'),
    ),
  },
} satisfies Record<string, ResponseDeclaration>;

export const STREAM_GRAPH_MIGRATIONS = route({
  path: MIGRATIONS_STREAM_PATH,
  operationId: 'streamGraphMigrations',
  summary: streamSummary("one graph's runs (GRAPH_READ)"),
  description: STREAM_DESCRIPTION,
  parameters: [SLUG, ...STREAM_PARAMETERS],
  responses: { ...GRAPH_REFUSALS, ...STREAM_ANSWERS },
});

export const STREAM_ALL_MIGRATIONS = route({
  path: ALL_MIGRATIONS_STREAM_PATH,
  operationId: 'streamAllMigrations',
  summary: streamSummary("every graph's runs (superusers)"),
  description: STREAM_DESCRIPTION,
  parameters: STREAM_PARAMETERS,
  responses: { ...ALL_GRAPHS_REFUSALS, ...STREAM_ANSWERS },
});

const EXPORT_PARAMETERS = [...FILTER_PARAMETERS, FORMAT] as const;
const exportSummary = (whose: string) => `The whole history of ${whose} that the filters select, as one NDJSON or CSV download`;
const EXPORT_DESCRIPTION =
  'Every selected run, newest first (`created_at` descending, then `id` descending), each exactly as the list route serves it: the same eleven fields in the same order, the same timestamps. ' +
  'Read page by page as the client takes the body (a slow reader slows the read; one that disconnects stops it), chunked, without `Content-Length`. ' +
  'Filters as on the list route; `limit` and `cursor` do not apply. Checks run in the list route’s order (401, 422, then 404 and 403, or 403 for the superusers’ route), each answered as the list route answers it, and so is a database down before the first byte (503). ' +
  'A failure after the body has started cannot change the status: an NDJSON body then ends with one last line `{"export_error": {"status", "detail", "runs_sent", "cursor"}}` (no run has the key `export_error`; `cursor` continues on the list route with the same filters, null when no run was sent); ' +
  'a CSV body ends without the terminating chunk (the connection is closed), which HTTP clients report as an incomplete transfer (curl: exit code 18). A body that ends normally is the whole export.';
const EXAMPLE_EXPORT_ERROR = {
  export_error: { status: 503, detail: ERROR_DETAIL.databaseUnavailable, runs_sent: 1500, cursor: EXAMPLE_CURSOR },
};
const exported = (filename: string): ResponseDeclaration => ({
  description: 'The export.',
  headers: {
    'Content-Disposition': {
      description: `\`attachment; filename="${filename}"\`.`,
      required: true,
      schema: { type: 'string', pattern: '^attachment; filename="[a-z0-9_-]*migrations\\.(ndjson|csv)"$' },
    },
    'Cache-Control': { description: '`no-store`.', required: true, schema: { type: 'string', const: 'no-store' } },
  },
  content: {
    [EXPORT_CONTENT_TYPES.ndjson]: {
      schema: { type: 'string', description: 'One GraphMigrationRun per line; after a failure, an `export_error` line last.' },
      example: `${JSON.stringify(EXAMPLE_RUN)}\n${JSON.stringify(EXAMPLE_EXPORT_ERROR)}\n`,
    },
    [EXPORT_CONTENT_TYPES.csv]: {
      schema: { type: 'string' },
      example:
        CSV_HEADER +
        `${EXAMPLE_RUN.id},${EXAMPLE_RUN.graph_id},4,5,add_provenance_columns,running,2026-05-06T11:00:01.250000Z,,,wf-20260506-1100-e4,2026-05-06T11:00:00.000001Z\r\n`,
    },
  },
});
const EXPORT_INVALID = invalidParameters(EXPORT_PARAMETERS, { example: refused(FORMAT, 'xml') });

export const EXPORT_GRAPH_MIGRATIONS = route({
  path: MIGRATIONS_EXPORT_PATH,
  operationId: 'exportGraphMigrations',
  summary: exportSummary("one graph's runs (GRAPH_READ)"),
  description: EXPORT_DESCRIPTION,
  parameters: [SLUG, ...EXPORT_PARAMETERS],
  responses: { '200': exported('<slug>-migrations.<format>'), ...GRAPH_REFUSALS, '422': EXPORT_INVALID },
});

export const EXPORT_ALL_MIGRATIONS = route({
  path: ALL_MIGRATIONS_EXPORT_PATH,
  operationId: 'exportAllMigrations',
  summary: exportSummary("every graph's runs (superusers)"),
  description: EXPORT_DESCRIPTION,
  parameters: EXPORT_PARAMETERS,
  responses: { '200': exported('migrations.<format>'), ...ALL_GRAPHS_REFUSALS, '422': EXPORT_INVALID },
});

/** Every REST route, in the document's order. */
export const REST_ROUTES = [
  LIST_GRAPH_MIGRATIONS,
  LIST_ALL_MIGRATIONS,
  LATEST_MIGRATIONS,
  GRAPH_MIGRATION_STATS,
  ALL_MIGRATION_STATS,
  STREAM_GRAPH_MIGRATIONS,
  STREAM_ALL_MIGRATIONS,
  EXPORT_GRAPH_MIGRATIONS,
  EXPORT_ALL_MIGRATIONS,
] as const;

export type RestRoute = (typeof REST_ROUTES)[number];
