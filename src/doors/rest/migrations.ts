// The REST door's JSON routes (docs/contract.md#rest): one graph's history and every graph's, the
// graphs' latest runs and the statistics, as the Python service answered them. Their parameters come
// validated (routes.ts declares them, validation.ts checks them as FastAPI did); each calls what the
// GraphQL resolvers call (readableGraph, loadConnection, loadAllGraphsConnection, …) with the
// request's context (src/domain): the same loaders, the same single statement and the same
// GRAPH_READ check as /graphql, without parsing, validating and executing an operation for a shape
// that never changes. Pages beyond the first are reached through the `Link: <...>; rel="next"`
// header (keyset cursor).
import { encodeCursor } from '../../domain/cursor.js';
import type { MigrationRunRecord } from '../../queries/migrationRuns.js';
import { readableGraph } from '../../domain/access.js';
import type { Context } from '../../domain/context.js';
import { AccessDeniedError } from '../../domain/errors.js';
import { connectionPage, loadAllGraphsConnection, loadConnection } from '../../domain/history.js';
import { loadAllGraphsStats, loadGraphStats, loadLatestRunsConnection } from '../../domain/stats.js';
import type { MigrationStatsRecord, StatsWindow } from '../../queries/migrationStats.js';
import type { HistoryFilter } from '../../queries/historyFilter.js';
import { detail, type JsonAnswer } from '../../platform/reply.js';
import type {
  ALL_MIGRATION_STATS,
  GRAPH_MIGRATION_STATS,
  LATEST_MIGRATIONS,
  LIST_ALL_MIGRATIONS,
  LIST_GRAPH_MIGRATIONS,
  RouteValues,
} from './routes.js';
import { ERROR_DETAIL, restItem } from './wire.js';

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

// FastAPI's HTTPBearer challenges with this header on every 401.
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

const NOT_FOUND = detail(404, ERROR_DETAIL.graphNotFound);

/** FastAPI's HTTPBearer answer when no token, or one that does not verify, was sent; undefined otherwise (checked before the parameters). */
export function unauthenticated(context: Context): JsonAnswer | undefined {
  if (context.viewer.kind === 'anonymous') return detail(401, ERROR_DETAIL.notAuthenticated, BEARER_CHALLENGE);
  if (context.viewer.kind === 'invalid') return detail(401, ERROR_DETAIL.invalidToken, BEARER_CHALLENGE);
  return undefined;
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
  { slug, limit, cursor, filter }: RouteValues<typeof LIST_GRAPH_MIGRATIONS>,
  location: RequestLocation,
): Promise<JsonAnswer> {
  return answeringDenials(async () => {
    const graph = await readableGraph(context, { slug }, [connectionPage(limit, cursor, filter)]);
    if (!graph) return NOT_FOUND;
    return page(await loadConnection(context, graph.id, limit, cursor, filter), location, limit);
  });
}

/** `GET /api/v1/migrations`: every graph's runs, newest first (deleted graphs left out); superusers only. */
export async function allMigrations(
  context: Context,
  { limit, cursor, filter }: RouteValues<typeof LIST_ALL_MIGRATIONS>,
  location: RequestLocation,
): Promise<JsonAnswer> {
  return answeringDenials(async () => {
    return page(await loadAllGraphsConnection(context, limit, cursor, filter), location, limit);
  });
}

/** A stats route's window: `since` and `until`; the REST body always holds the durations. */
const statsWindow = (filter: HistoryFilter): StatsWindow => ({ filter, durations: true });

/** `GET /api/v1/graphs/{slug}/migrations/stats`: one graph's statistics over a window (GRAPH_READ). */
export async function graphMigrationStats(
  context: Context,
  { slug, filter }: RouteValues<typeof GRAPH_MIGRATION_STATS>,
): Promise<JsonAnswer> {
  return answeringDenials(async () => {
    const graph = await readableGraph(context, { slug });
    if (!graph) return NOT_FOUND;
    return { status: 200, body: statsBody(await loadGraphStats(context, graph.id, statsWindow(filter))) };
  });
}

/** `GET /api/v1/migrations/stats`: every graph's statistics (deleted graphs left out); superusers only. */
export async function allMigrationStats(context: Context, { filter }: RouteValues<typeof ALL_MIGRATION_STATS>): Promise<JsonAnswer> {
  return answeringDenials(async () => {
    return { status: 200, body: statsBody(await loadAllGraphsStats(context, statsWindow(filter))) };
  });
}

/**
 * `GET /api/v1/migrations/latest`: each graph's latest run whose status is one of `status` (any
 * when absent), newest first, paged as the list routes are (`limit`, `cursor`, `Link`); superusers only.
 */
export async function latestMigrations(
  context: Context,
  { limit, cursor, filter }: RouteValues<typeof LATEST_MIGRATIONS>,
  location: RequestLocation,
): Promise<JsonAnswer> {
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
