// The OpenAPI 3.1 description of the REST door, served at GET /openapi.json. Bounds come from
// HISTORY_LIMIT and error texts from ERROR_DETAIL, so the document cannot drift from the code
// that enforces them; test/rest/openapi.test.ts validates real responses against it.
import { HISTORY_LIMIT } from '../../queries/migrationRuns.js';
import { decodeCursor, encodeCursor } from '../../domain/cursor.js';
import { OVERLOADED_DETAIL } from '../../platform/overload.js';
import { CSV_HEADER, EXPORT_CONTENT_TYPES } from './export.js';
import { ERROR_DETAIL } from './migrations.js';
import { HISTORY_FILTER_LIMITS } from '../../queries/historyFilter.js';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), as far as this document uses it. */
export interface SchemaObject {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: readonly unknown[];
  const?: unknown;
  minimum?: number;
  maxItems?: number;
  maximum?: number;
  default?: unknown;
  items?: SchemaObject;
  prefixItems?: SchemaObject[];
  anyOf?: SchemaObject[];
  properties?: Record<string, SchemaObject>;
  required?: string[];
  additionalProperties?: boolean | SchemaObject;
  title?: string;
  description?: string;
  examples?: unknown[];
}

interface MediaType {
  schema: SchemaObject;
  example?: unknown;
  examples?: Record<string, { summary: string; value: unknown }>;
}

interface ResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: SchemaObject }>;
  content?: Record<string, MediaType>;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: SchemaObject;
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags?: string[];
  security: Record<string, string[]>[];
  parameters?: Parameter[];
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, { get: Operation }>;
  components: {
    schemas: Record<string, SchemaObject>;
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; bearerFormat: string; description: string }>;
  };
}

export const MIGRATIONS_PATH = '/api/v1/graphs/{slug}/migrations';

const schemaRef = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` });

/**
 * RFC 3339 UTC with six fractional digits (the database's microseconds, never rounded), or none on a
 * whole second, as pydantic 2 writes it: `2026-04-17T21:25:43.120000Z`, `2026-04-17T21:25:43Z`.
 */
const TIMESTAMP_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(?:\\.\\d{6})?Z$';
const timestamp = (description: string): SchemaObject => ({ type: 'string', format: 'date-time', pattern: TIMESTAMP_PATTERN, description });
const nullableTimestamp = (description: string): SchemaObject => ({ ...timestamp(description), type: ['string', 'null'] });

const json = (schema: SchemaObject, example?: unknown): Record<string, MediaType> => ({
  'application/json': example === undefined ? { schema } : { schema, example },
});

const detailBody = (title: string, details: readonly string[]): SchemaObject => ({
  title,
  type: 'object',
  properties: { detail: { type: 'string', enum: details } },
  required: ['detail'],
  additionalProperties: false,
});

const detailPattern = (title: string, pattern: string): SchemaObject => ({
  title,
  type: 'object',
  properties: { detail: { type: 'string', pattern } },
  required: ['detail'],
  additionalProperties: false,
});

const BEARER_CHALLENGE_HEADER = { 'WWW-Authenticate': { description: 'Always `Bearer`.', schema: { type: 'string', const: 'Bearer' } } };

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

// The codec's own words for a cursor that is not JSON, so the example cannot drift from the service.
const NOT_JSON_CURSOR = Buffer.from('not-json').toString('base64url');
const notJsonCursor = decodeCursor(NOT_JSON_CURSOR);
const notJsonReason = notJsonCursor.ok ? '' : notJsonCursor.reason;

const limitValidationError = {
  type: 'greater_than_equal',
  loc: ['query', 'limit'],
  msg: `Input should be greater than or equal to ${HISTORY_LIMIT.min}`,
  input: String(HISTORY_LIMIT.min - 1),
  ctx: { ge: HISTORY_LIMIT.min },
};

const EXAMPLE_ETAG = '"3q2-7wEjRWeJq83vEjRWeJq83v8"';
const ETAG_HEADER = {
  description: "A strong validator of the page's exact bytes (a hash): send it back as `If-None-Match` to get 304 while nothing changed.",
  schema: { type: 'string', pattern: '^"[A-Za-z0-9_-]+"$', examples: [EXAMPLE_ETAG] },
};
const CACHE_CONTROL_HEADER = {
  description: '`private, no-cache`: clients may keep the page, shared caches may not, and it is revalidated on every use.',
  schema: { type: 'string', const: 'private, no-cache' },
};

const FILTER_PARAMETERS: Parameter[] = [
  {
    name: 'status',
    in: 'query',
    required: false,
    description:
      'Only runs in one of these states; repeat the parameter for several (`?status=failed&status=running`), at most ' +
      `${HISTORY_FILTER_LIMITS.maxStatuses} distinct values. A state the database does not know is not an error: it matches no run.`,
    schema: { type: 'array', title: 'Status', items: { type: 'string' }, maxItems: HISTORY_FILTER_LIMITS.maxStatuses },
  },
  {
    name: 'since',
    in: 'query',
    required: false,
    description: 'Only runs created at or after this instant (inclusive): an RFC 3339 date-time, any offset, up to microseconds.',
    schema: { type: 'string', title: 'Since', format: 'date-time', examples: ['2026-04-17T00:00:00Z'] },
  },
  {
    name: 'until',
    in: 'query',
    required: false,
    description: 'Only runs created before this instant (exclusive), as `since`. A `since` later than `until` is a 422.',
    schema: { type: 'string', title: 'Until', format: 'date-time', examples: ['2026-04-18T00:00:00.000001Z'] },
  },
];

export const OPENAPI_DOCUMENT: OpenApiDocument = {
  openapi: '3.1.0',
  jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
  info: {
    title: 'graph-migrations-subgraph REST API',
    version: '1.0.0',
    description:
      'The REST shim of the graph-migrations subgraph. It keeps the wire contract of the Python service it replaces: the same paths, bodies, status codes and FastAPI error shapes. GraphQL is served at POST /graphql.',
  },
  paths: {
    [MIGRATIONS_PATH]: {
      get: {
        operationId: 'listGraphMigrations',
        summary: "A graph's migration-run history, newest first",
        description:
          "A bare JSON array of the graph's migration runs, newest first (`created_at` descending, then `id` descending), at most `limit` items; `[]` for a graph that never migrated. " +
          'Requires GRAPH_READ: a superuser, any authenticated user on the default graph, or a member of the graph. ' +
          'When more runs follow, the response carries a `Link: <...>; rel="next"` header (RFC 8288) to the next page: follow it as it is. ' +
          'Pages are keyset pages on (`created_at`, `id`), so runs recorded while a client pages through never make it skip or repeat a run. ' +
          'Checks run in this order: token (401), query parameters (422), graph exists and is not deleted (404), permission (403).',
        tags: ['graphs'],
        security: [{ HTTPBearer: [] }],
        parameters: [
          {
            name: 'slug',
            in: 'path',
            required: true,
            description: "The graph's slug (lowercase letters, digits and `_`). An unknown or deleted graph is a 404.",
            schema: { type: 'string', title: 'Slug' },
          },
          {
            name: 'limit',
            in: 'query',
            required: false,
            description: `How many runs to return at most, ${HISTORY_LIMIT.min} to ${HISTORY_LIMIT.max}.`,
            schema: {
              type: 'integer',
              title: 'Limit',
              minimum: HISTORY_LIMIT.min,
              maximum: HISTORY_LIMIT.max,
              default: HISTORY_LIMIT.default,
            },
          },
          {
            name: 'cursor',
            in: 'query',
            required: false,
            description:
              "Where the page starts: the value the previous page's `Link` header carries, passed unchanged. Opaque: clients must not build or parse it. " +
              "Absent, the page starts at the newest run. A cursor names a position in the history's order, not a graph: used on another graph it continues from the same position there. " +
              'A value the service did not issue (malformed, altered, or of an unknown version) is a 422.',
            schema: { type: 'string', title: 'Cursor', examples: [EXAMPLE_CURSOR] },
          },
          ...FILTER_PARAMETERS,
          {
            name: 'If-None-Match',
            in: 'header',
            required: false,
            description:
              'The `ETag` of a page already held: when the page is still the same, the answer is 304 without a body. For pollers; `*` matches any page.',
            schema: { type: 'string', examples: [EXAMPLE_ETAG] },
          },
        ],
        responses: {
          '200': {
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
            content: json({ type: 'array', title: 'Response List Graph Migrations', items: schemaRef('GraphMigrationRun') }, [EXAMPLE_RUN]),
          },
          '304': {
            description: 'Not modified: the page is the one `If-None-Match` names (same runs, same values, same next page). No body.',
            headers: { ETag: ETAG_HEADER, 'Cache-Control': CACHE_CONTROL_HEADER },
          },
          '401': {
            description: 'No bearer token, or a token that is malformed, expired or not signed by a trusted key.',
            headers: BEARER_CHALLENGE_HEADER,
            content: json(schemaRef('UnauthorizedError'), { detail: ERROR_DETAIL.notAuthenticated }),
          },
          '403': {
            description: 'The viewer may not read this graph (not a member, not a superuser, not the default graph).',
            content: json(schemaRef('ForbiddenError'), { detail: ERROR_DETAIL.notMember }),
          },
          '404': {
            description: 'No graph has this slug, or it has been deleted.',
            content: json(schemaRef('NotFoundError'), { detail: ERROR_DETAIL.graphNotFound }),
          },
          '408': {
            description:
              'The headers did not arrive within `HEADERS_TIMEOUT_MS`, or the whole request within `REQUEST_TIMEOUT_MS` ' +
              '(answered by the HTTP layer before any route, on every path; the connection is closed after it).',
            content: json(schemaRef('RequestTimeoutError'), {
              detail:
                'Request timeout: the headers must arrive within 10000 ms and the whole request within 30000 ms; send it again without pausing',
            }),
          },
          '422': {
            description: 'Invalid query parameters (FastAPI validation error): one item per invalid parameter, `limit` before `cursor`.',
            content: {
              'application/json': {
                schema: schemaRef('HTTPValidationError'),
                examples: {
                  limit: { summary: '`limit` out of bounds', value: { detail: [limitValidationError] } },
                  cursor: {
                    summary: 'A `cursor` the service did not issue',
                    value: {
                      detail: [
                        {
                          type: 'value_error',
                          loc: ['query', 'cursor'],
                          msg: `Value error, ${notJsonReason}`,
                          input: NOT_JSON_CURSOR,
                          ctx: { error: {} },
                        },
                      ],
                    },
                  },
                },
              },
            },
          },
          '431': {
            description:
              'The request line and headers are over 16 KiB together, e.g. a slug of tens of kilobytes (answered by the HTTP ' +
              'layer before any route, on every path; the connection is closed after it).',
            content: json(schemaRef('HeadersTooLargeError'), {
              detail:
                'Request header fields too large: the request line and headers must stay under 16384 bytes together; ' +
                'send a shorter URL (a GraphQL query fits in a POST body) and fewer or shorter headers',
            }),
          },
          '500': {
            description: 'An internal error: logged by the service under the request id (`X-Request-Id`), answered without details.',
            content: json(schemaRef('InternalError'), { detail: ERROR_DETAIL.internal }),
          },
          '503': {
            description:
              'The database is unreachable, restarting or saturated, or the instance is overloaded and refused the request before reading it: retry after `Retry-After` seconds.',
            headers: {
              'Retry-After': { description: 'Seconds to wait before retrying.', schema: { type: 'string', pattern: '^[0-9]+$' } },
            },
            content: json(schemaRef('UnavailableError'), { detail: ERROR_DETAIL.databaseUnavailable }),
          },
        },
      },
    },
    '/healthz': {
      get: {
        operationId: 'health',
        summary: 'Liveness: 200 while the process runs',
        tags: ['operations'],
        security: [],
        responses: {
          '200': { description: 'The process is up.', content: json(statusBody(['ok'])) },
        },
      },
    },
    '/readyz': {
      get: {
        operationId: 'readiness',
        summary: 'Readiness: 200 when the database answers, 503 otherwise',
        tags: ['operations'],
        security: [],
        responses: {
          '200': {
            description: 'The database the service reads from answers (the read replica when one is configured).',
            content: json(readinessBody(['ready'])),
          },
          '503': {
            description: 'The database the service reads from does not answer.',
            content: json(readinessBody(['database unavailable'])),
          },
        },
      },
    },
  },
  components: {
    schemas: {
      GraphMigrationRun: {
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
      },
      UnauthorizedError: detailBody('UnauthorizedError', [ERROR_DETAIL.notAuthenticated, ERROR_DETAIL.invalidToken]),
      ForbiddenError: detailBody('ForbiddenError', [ERROR_DETAIL.notMember, ERROR_DETAIL.notSuperuser]),
      NotFoundError: detailBody('NotFoundError', [ERROR_DETAIL.graphNotFound]),
      InternalError: detailBody('InternalError', [ERROR_DETAIL.internal]),
      // Their texts carry the limits in force (src/platform/app.ts): a pattern, not an enum.
      RequestTimeoutError: detailPattern('RequestTimeoutError', '^Request timeout: '),
      HeadersTooLargeError: detailPattern('HeadersTooLargeError', '^Request header fields too large: '),
      UnavailableError: detailBody('UnavailableError', [ERROR_DETAIL.databaseUnavailable, OVERLOADED_DETAIL]),
      HTTPValidationError: {
        title: 'HTTPValidationError',
        type: 'object',
        properties: { detail: { type: 'array', title: 'Detail', items: schemaRef('ValidationError') } },
        required: ['detail'],
        additionalProperties: false,
      },
      ValidationError: {
        title: 'ValidationError',
        description:
          'One failed check, as pydantic reports it: `int_parsing` or `int_parsing_size` (no `ctx`), `greater_than_equal` (`ctx.ge`) or `less_than_equal` (`ctx.le`) for `limit`; ' +
          '`value_error` for `cursor` (and for `since` later than `until`), with `msg` saying what is wrong and `ctx` `{"error": {}}` (how FastAPI serializes the ValueError its validator raised); ' +
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
      },
    },
    securitySchemes: {
      HTTPBearer: {
        type: 'http',
        scheme: 'bearer',
        bearerFormat: 'JWT',
        description:
          'A JWT (HS256 with the configured secret, or RS256/ES256 from the configured JWKS); `sub` is the user id, `is_superuser: true` marks a superuser.',
      },
    },
  },
};

/** `status`, and with a read replica which side answers: `primary` and `replica`, `up` or `down`. */
function readinessBody(values: string[]): SchemaObject {
  const side = { type: 'string', enum: ['up', 'down'] };
  const body = statusBody(values);
  return { ...body, properties: { ...body.properties, primary: side, replica: side } };
}

function statusBody(values: string[]): SchemaObject {
  return { type: 'object', properties: { status: { type: 'string', enum: values } }, required: ['status'], additionalProperties: false };
}

/** The cross-graph route: the graph route's parameters (but the slug) and answers (but 404), its own 403. */
export const ALL_MIGRATIONS_PATH = '/api/v1/migrations';
{
  const graphOperation = OPENAPI_DOCUMENT.paths[MIGRATIONS_PATH]!.get;
  const { '403': _forbidden, '404': _notFound, ...responses } = graphOperation.responses;
  OPENAPI_DOCUMENT.paths[ALL_MIGRATIONS_PATH] = {
    get: {
      ...graphOperation,
      operationId: 'listAllMigrations',
      summary: "Every graph's migration runs, newest first (superusers)",
      description:
        'A bare JSON array of the runs of every graph that is not deleted, newest first (`created_at` descending, then `id` descending), at most `limit` items, each with its `graph_id`. ' +
        'Superusers only. Filters, paging (`Link`) and revalidation (`ETag`) as on the graph route. ' +
        'Checks run in this order: token (401), query parameters (422), superuser (403).',
      parameters: graphOperation.parameters!.filter((parameter) => parameter.name !== 'slug'),
      responses: {
        ...responses,
        '403': {
          description: "The token is not a superuser's.",
          content: json(schemaRef('ForbiddenError'), { detail: ERROR_DETAIL.notSuperuser }),
        },
      },
    },
  };
}

/**
 * The live history's event streams (src/doors/rest/stream.ts): each list route's `status` filter and
 * refusals, a `Last-Event-ID` to resume from, and a `text/event-stream` of `run` and `run_deleted` events.
 */
export const MIGRATIONS_STREAM_PATH = `${MIGRATIONS_PATH}/stream`;
export const ALL_MIGRATIONS_STREAM_PATH = `${ALL_MIGRATIONS_PATH}/stream`;
for (const [listPath, streamPath, operationId, whose] of [
  [MIGRATIONS_PATH, MIGRATIONS_STREAM_PATH, 'streamGraphMigrations', "one graph's runs (GRAPH_READ)"],
  [ALL_MIGRATIONS_PATH, ALL_MIGRATIONS_STREAM_PATH, 'streamAllMigrations', "every graph's runs (superusers)"],
] as const) {
  const list = OPENAPI_DOCUMENT.paths[listPath]!.get;
  const { '200': _page, '304': _notModified, ...refusals } = list.responses;
  OPENAPI_DOCUMENT.paths[streamPath] = {
    get: {
      ...list,
      operationId,
      summary: `The migration runs of ${whose} as they are recorded and as they change (Server-Sent Events)`,
      description:
        'A `text/event-stream`. Each insert and each change of a run is one event: `id: <cursor>`, `event: run`, `data: <the item exactly as the list route serves it>`, in commit order; ' +
        'a deleted run is `event: run_deleted` with the item as it was. ' +
        'Without `Last-Event-ID` the stream starts with the changes after it opened (the list route gives the past); with it, it first replays every event after that id, then continues live, with no gap and no duplicate. ' +
        'A comment line (`: keep-alive`) comes at least every 15 s. The stream ends with an `end` event whose data is `{"reason", "detail", "last_event_id"}`: ' +
        '`overflow` (the reader fell behind: reconnect with `Last-Event-ID: <last_event_id>`), `reset` (the runs were truncated, the history emptied: reload the list route, then reconnect with `Last-Event-ID: <last_event_id>`, also the `end` event’s own `id`), ' +
        '`access` (membership removed or token expired), `graph_gone`, `shutdown` (reconnect, to another instance). ' +
        'Before the stream opens, every refusal is the list route’s answer; checks run in the list route’s order, then the resume id. ' +
        'A request accepting `text/event-stream` (a browser’s EventSource) that cannot be served for now (too many open streams, the instance overloaded, the database out of reach) is not refused with 503, which an EventSource takes as final: ' +
        'it gets 200 with a `retry: <ms>` field (1 to 5 s), one `end` event whose `reason` is `busy` or `unavailable`, and the end of the stream, and reconnects after the delay with its `Last-Event-ID`.',
      parameters: [
        ...list.parameters!.filter((parameter) => parameter.name === 'slug' || parameter.name === 'status'),
        {
          name: 'Last-Event-ID',
          in: 'header',
          required: false,
          description:
            'The `id` of the last event received (what a browser’s EventSource sends on reconnect): the stream replays what followed it.',
          schema: { type: 'string', pattern: '^[1-9][0-9]{0,18}$', examples: ['1042'] },
        },
      ],
      responses: {
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
        ...refusals,
        '410': {
          description: 'The `Last-Event-ID` is older than the change history kept (`LIVE_RETENTION_MS`): reconnect without it.',
          content: json(detailPattern('Gone', '^Last-Event-ID is older than the change history kept')),
        },
        '503': {
          ...refusals['503']!,
          description:
            'As on the list route, and: every stream this instance may hold is open (`LIVE_MAX_STREAMS`), or it has no LISTEN session (`DATABASE_LISTEN_URL`): retry after `Retry-After` seconds. A request accepting `text/event-stream` gets the 200 above instead, except for a missing LISTEN session.',
          content: json(
            detailPattern(
              'StreamUnavailableError',
              '^(Database unavailable|Service overloaded|Too many open streams|Live history unavailable)',
            ),
          ),
        },
      },
    },
  };
}

/**
 * The statistics routes (one graph's, every graph's) and the graphs' latest runs: each list route's
 * refusals and revalidation; a window (`since`, `until`) or, for the latest runs, `status` and paging.
 */
export const MIGRATIONS_STATS_PATH = `${MIGRATIONS_PATH}/stats`;
export const ALL_MIGRATIONS_STATS_PATH = `${ALL_MIGRATIONS_PATH}/stats`;
export const LATEST_MIGRATIONS_PATH = `${ALL_MIGRATIONS_PATH}/latest`;
{
  const nullableRun = { oneOf: [schemaRef('GraphMigrationRun'), { type: 'null' }] } as SchemaObject;
  const seconds = (description: string): SchemaObject => ({ type: ['number', 'null'], description }) as SchemaObject;
  OPENAPI_DOCUMENT.components.schemas.MigrationStats = {
    title: 'MigrationStats',
    description: 'What the runs created in the window add up to. Every key is always present.',
    type: 'object',
    properties: {
      total: { type: 'integer', minimum: 0, description: 'How many runs the window holds.' },
      by_status: {
        type: 'array',
        description:
          'One entry per status that occurs, most frequent first (ties by status, in code point order). Open-ended like `status`.',
        items: {
          type: 'object',
          properties: { status: { type: 'string' }, count: { type: 'integer', minimum: 1 } },
          required: ['status', 'count'],
          additionalProperties: false,
        },
      },
      latest: { ...nullableRun, description: 'The newest run of the window (by `created_at`, then `id`), as the list route serves it.' },
      latest_success: { ...nullableRun, description: 'The newest run of the window with status `success`.' },
      latest_failure: { ...nullableRun, description: 'The newest run of the window with status `failed`.' },
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
  };
  const WINDOW = ['since', 'until', 'If-None-Match'];
  for (const [listPath, statsPath, operationId, whose] of [
    [MIGRATIONS_PATH, MIGRATIONS_STATS_PATH, 'graphMigrationStats', "one graph's runs (GRAPH_READ)"],
    [ALL_MIGRATIONS_PATH, ALL_MIGRATIONS_STATS_PATH, 'allMigrationStats', "every graph's runs, deleted graphs left out (superusers)"],
  ] as const) {
    const list = OPENAPI_DOCUMENT.paths[listPath]!.get;
    OPENAPI_DOCUMENT.paths[statsPath] = {
      get: {
        ...list,
        operationId,
        summary: `Statistics of ${whose} created in a window`,
        description:
          'Counts by status, the latest runs and the durations of the runs created at or after `since` and before `until` (both optional). ' +
          'Counts come from counts kept per day, so they do not read the whole history. Revalidation (`ETag`, 304) as on the list route. ' +
          'Checks run in the list route’s order.',
        parameters: list.parameters!.filter((parameter) => parameter.name === 'slug' || WINDOW.includes(parameter.name)),
        responses: {
          ...list.responses,
          '200': {
            description: 'The statistics.',
            headers: { ETag: list.responses['200']!.headers!.ETag! },
            content: json(schemaRef('MigrationStats')),
          },
        },
      },
    };
  }
  const all = OPENAPI_DOCUMENT.paths[ALL_MIGRATIONS_PATH]!.get;
  OPENAPI_DOCUMENT.paths[LATEST_MIGRATIONS_PATH] = {
    get: {
      ...all,
      operationId: 'latestMigrations',
      summary: "Each graph's latest run, when its status is one of `status` (superusers)",
      description:
        "A bare JSON array of each graph's latest run (its newest by `created_at`, then `id`; deleted graphs left out) whose status is one of `status` (any when absent): " +
        '"which graphs\' latest run failed". Newest first, at most `limit` items, paged with `Link` as the list routes are; `since` and `until` do not apply. ' +
        'Checks run in this order: token (401), query parameters (422), superuser (403).',
      parameters: all.parameters!.filter((parameter) => !['since', 'until'].includes(parameter.name)),
    },
  };
}

/**
 * The exports (src/doors/rest/export.ts): each list route's filters and refusals, a `format`, and the
 * whole selected history in one NDJSON or CSV body, read page by page as the client takes it.
 */
export const MIGRATIONS_EXPORT_PATH = `${MIGRATIONS_PATH}/export`;
export const ALL_MIGRATIONS_EXPORT_PATH = `${ALL_MIGRATIONS_PATH}/export`;
const EXAMPLE_EXPORT_ERROR = {
  export_error: { status: 503, detail: ERROR_DETAIL.databaseUnavailable, runs_sent: 1500, cursor: EXAMPLE_CURSOR },
};
for (const [listPath, exportPath, operationId, whose, filename] of [
  [MIGRATIONS_PATH, MIGRATIONS_EXPORT_PATH, 'exportGraphMigrations', "one graph's runs (GRAPH_READ)", '<slug>-migrations.<format>'],
  [ALL_MIGRATIONS_PATH, ALL_MIGRATIONS_EXPORT_PATH, 'exportAllMigrations', "every graph's runs (superusers)", 'migrations.<format>'],
] as const) {
  const list = OPENAPI_DOCUMENT.paths[listPath]!.get;
  const { '200': _page, '304': _notModified, ...refusals } = list.responses;
  OPENAPI_DOCUMENT.paths[exportPath] = {
    get: {
      ...list,
      operationId,
      summary: `The whole history of ${whose} that the filters select, as one NDJSON or CSV download`,
      description:
        'Every selected run, newest first (`created_at` descending, then `id` descending), each exactly as the list route serves it: the same eleven fields in the same order, the same timestamps. ' +
        'Read page by page as the client takes the body (a slow reader slows the read; one that disconnects stops it), chunked, without `Content-Length`. ' +
        'Filters as on the list route; `limit` and `cursor` do not apply. Checks run in the list route’s order (401, 422, then 404 and 403, or 403 for the superusers’ route), each answered as the list route answers it, and so is a database down before the first byte (503). ' +
        'A failure after the body has started cannot change the status: an NDJSON body then ends with one last line `{"export_error": {"status", "detail", "runs_sent", "cursor"}}` (no run has the key `export_error`; `cursor` continues on the list route with the same filters, null when no run was sent); ' +
        'a CSV body ends without the terminating chunk (the connection is closed), which HTTP clients report as an incomplete transfer (curl: exit code 18). A body that ends normally is the whole export.',
      parameters: [
        ...list.parameters!.filter((parameter) => ['slug', 'status', 'since', 'until'].includes(parameter.name)),
        {
          name: 'format',
          in: 'query',
          required: false,
          description:
            '`ndjson` (the default): one JSON object per line, each followed by `\\n`. `csv`: RFC 4180, a header row of the field names, CRLF line ends, UTF-8 without a byte order mark; ' +
            'a field holding `"`, `,`, CR or LF is quoted (quotes doubled), null is an empty field, an empty string `""`, numbers are digits. Anything else is a 422 (`literal_error`).',
          schema: { type: 'string', title: 'Format', enum: ['ndjson', 'csv'], default: 'ndjson' },
        },
      ],
      responses: {
        '200': {
          description: 'The export.',
          headers: {
            'Content-Disposition': {
              description: `\`attachment; filename="${filename}"\`.`,
              schema: { type: 'string', pattern: '^attachment; filename="[a-z0-9_-]*migrations\\.(ndjson|csv)"$' },
            },
            'Cache-Control': { description: '`no-store`.', schema: { type: 'string', const: 'no-store' } },
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
        },
        ...refusals,
        '422': {
          ...refusals['422']!,
          description:
            'Invalid query parameters (FastAPI validation error): one item per invalid parameter, `status`, `since`, `until`, then `format`.',
          content: json(schemaRef('HTTPValidationError'), {
            detail: [
              {
                type: 'literal_error',
                loc: ['query', 'format'],
                msg: "Input should be 'ndjson' or 'csv'",
                input: 'xml',
                ctx: { expected: "'ndjson' or 'csv'" },
              },
            ],
          }),
        },
      },
    },
  };
}
