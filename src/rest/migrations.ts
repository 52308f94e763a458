// GET /api/v1/graphs/{slug}/migrations: the wire contract of the Python service it replaces
// (docs/contract.md#rest). It validates the query string as FastAPI did, then calls what the GraphQL
// resolvers call (Query.graph's readableGraph, Graph.migrationsConnection's loadConnection) with the
// request's context: the same loaders, the same single statement and the same GRAPH_READ check as
// /graphql, without parsing, validating and executing an operation for a shape that never changes.
// Pages beyond the first are reached through the `Link: <...>; rel="next"` header (keyset cursor).
import { GraphQLError } from 'graphql';
import { HISTORY_LIMIT, type MigrationRunRecord } from '../data/migrationRuns.js';
import { RETRY_AFTER_SECONDS } from '../db/errors.js';
import { readableGraph } from '../graphql/access.js';
import type { Context } from '../graphql/context.js';
import { decodeCursor, encodeCursor } from '../data/cursor.js';
import { wireTimestamp } from '../data/timestamps.js';
import { connectionPage, loadConnection } from '../graphql/history.js';

export interface RestResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** Where the request was addressed, to build the next page's URL from. */
export interface RequestLocation {
  /** PUBLIC_BASE_URL (no trailing slash), when configured. */
  publicBaseUrl?: string;
  /** The path as received (percent-encoded), without the query string. */
  pathname: string;
}

/** The `detail` of every non-422 error, word for word as the Python service sent it (the OpenAPI document reuses them). */
export const ERROR_DETAIL = {
  notAuthenticated: 'Not authenticated',
  invalidToken: 'Invalid or expired token',
  graphNotFound: 'Graph not found',
  notMember: 'Not a member of this graph',
  internal: 'Internal Server Error',
  databaseUnavailable: 'Database unavailable',
} as const;

// FastAPI's HTTPBearer challenges with this header on every 401.
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

const detail = (status: number, message: string, headers?: Record<string, string>): RestResponse => ({
  status,
  body: { detail: message },
  headers,
});

export const NOT_FOUND = detail(404, ERROR_DETAIL.graphNotFound);

/** 503 while the database is down or saturated (src/db/errors.ts decides); both doors of the app use it. */
export const DATABASE_UNAVAILABLE = detail(503, ERROR_DETAIL.databaseUnavailable, { 'Retry-After': String(RETRY_AFTER_SECONDS) });

/** One item of a FastAPI 422 `detail` list. */
interface ValidationErrorItem {
  type: string;
  loc: ['query', string];
  msg: string;
  input: string;
  ctx?: Record<string, unknown>;
}

const validationFailed = (items: ValidationErrorItem[]): RestResponse => ({ status: 422, body: { detail: items } });

type LimitResult = { ok: true; limit: number } | { ok: false; item: ValidationErrorItem };

/** `limit` as pydantic's lax int parsing reads a query string, with FastAPI's 422 bodies. */
export function parseLimit(search: URLSearchParams): LimitResult {
  // Starlette keeps the last of repeated parameters.
  const raw = search.getAll('limit').at(-1);
  if (raw === undefined) return { ok: true, limit: HISTORY_LIMIT.default };
  const invalid = (type: string, msg: string, ctx?: Record<string, number>): LimitResult => ({
    ok: false,
    item: { type, loc: ['query', 'limit'], msg, input: raw, ...(ctx && { ctx }) },
  });
  // pydantic accepts surrounding whitespace, a sign, and a fraction of zeros ("5.0").
  const match = /^\s*([+-]?\d+)(?:\.0+)?\s*$/.exec(raw);
  if (!match) return invalid('int_parsing', 'Input should be a valid integer, unable to parse string as an integer');
  const limit = Number(match[1]);
  if (limit < HISTORY_LIMIT.min) {
    return invalid('greater_than_equal', `Input should be greater than or equal to ${HISTORY_LIMIT.min}`, { ge: HISTORY_LIMIT.min });
  }
  if (limit > HISTORY_LIMIT.max) {
    return invalid('less_than_equal', `Input should be less than or equal to ${HISTORY_LIMIT.max}`, { le: HISTORY_LIMIT.max });
  }
  return { ok: true, limit };
}

type CursorResult = { ok: true; cursor: string | null } | { ok: false; item: ValidationErrorItem };

/**
 * `cursor` as a FastAPI `str | None` with a validator that raises ValueError: absent is the first
 * page, and anything the codec refuses (empty included) is pydantic's `value_error`, whose `ctx`
 * FastAPI serializes as `{"error": {}}`.
 */
export function parseCursor(search: URLSearchParams): CursorResult {
  const raw = search.getAll('cursor').at(-1);
  if (raw === undefined) return { ok: true, cursor: null };
  const decoded = decodeCursor(raw);
  if (decoded.ok) return { ok: true, cursor: raw };
  return {
    ok: false,
    item: { type: 'value_error', loc: ['query', 'cursor'], msg: `Value error, ${decoded.reason}`, input: raw, ctx: { error: {} } },
  };
}

export async function graphMigrations(
  context: Context,
  slug: string,
  search: URLSearchParams,
  location: RequestLocation,
): Promise<RestResponse> {
  // FastAPI resolves the auth dependency before it validates parameters: 401 comes before 422.
  if (context.viewer.kind === 'anonymous') return detail(401, ERROR_DETAIL.notAuthenticated, BEARER_CHALLENGE);
  if (context.viewer.kind === 'invalid') return detail(401, ERROR_DETAIL.invalidToken, BEARER_CHALLENGE);
  // FastAPI validates every parameter and reports all failures, in the order of the parameters.
  const parsed = parseLimit(search);
  const cursor = parseCursor(search);
  if (!parsed.ok || !cursor.ok) return validationFailed([parsed, cursor].flatMap((result) => (result.ok ? [] : [result.item])));

  const { limit } = parsed;
  try {
    const graph = await readableGraph(context, { slug }, [connectionPage(limit, cursor.cursor)]);
    if (!graph) return NOT_FOUND;
    const { runs, hasNextPage } = await loadConnection(context, graph.id, limit, cursor.cursor);
    const next = hasNextPage ? nextPageLink(location, limit, encodeCursor(runs.at(-1)!)) : undefined;
    return { status: 200, body: runs.map(restItem), headers: next ? { Link: next } : undefined };
  } catch (error) {
    if (error instanceof GraphQLError && error.extensions.code === 'FORBIDDEN') return detail(403, ERROR_DETAIL.notMember);
    // A database outage (503) and anything unexpected (500, logged) are answered by src/http/app.ts.
    throw error;
  }
}

/** The item of the Python service: snake_case keys, in its order. */
function restItem(run: MigrationRunRecord) {
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
 * RFC 8288 `Link` to the next page: the request's own path with `limit` and the page's end cursor,
 * and nothing else from its query string. Absolute when PUBLIC_BASE_URL says where clients reach
 * the service; otherwise path-absolute, which RFC 8288 allows and clients resolve against the URL
 * they called. Never built from the request's Host header: a client could make it point anywhere.
 */
function nextPageLink({ publicBaseUrl = '', pathname }: RequestLocation, limit: number, cursor: string): string {
  return `<${publicBaseUrl}${pathname}?limit=${limit}&cursor=${cursor}>; rel="next"`;
}
