// How a page of history is planned and read, for every door: the checked filter, the list and
// connection pages (one run more than asked tells whether another page follows), and the reads
// through the request's loaders. Refusals are InvalidArgumentError / AccessDeniedError
// (src/domain/errors.ts), named by the API's argument names.
import { decodeCursor } from './cursor.js';
import { checkHistoryFilter, NO_FILTER, type HistoryFilter } from '../queries/historyFilter.js';
import { HISTORY_LIMIT, type HistoryPage, type HistoryPosition, type MigrationRunRecord } from '../queries/migrationRuns.js';
import { requireSuperuser } from './access.js';
import type { Context } from './context.js';
import { InvalidArgumentError, outOfRange } from './errors.js';

/** One page of runs: what a connection (GraphQL) or a REST page is built from. */
export interface MigrationRunPage {
  /** The graph whose history this is; null for the cross-graph views (every graph's runs, or their latest runs). */
  graphId: string | null;
  /** Each graph's latest run only (src/domain/stats.ts): totalCount counts graphs. */
  latestOfEachGraph?: boolean;
  runs: MigrationRunRecord[];
  hasNextPage: boolean;
  /** The page's filter: its cursors are bound to it, and totalCount counts what it selects. */
  filter: HistoryFilter;
}

/** The filter arguments (`since`/`until` already parsed into the database's timestamp text). */
export interface FilterArguments {
  status?: readonly string[] | null;
  since?: string | null;
  until?: string | null;
}

/** The checked filter of `status`, `since` and `until`; an InvalidArgumentError naming the argument at fault. */
export function filterOf({ status, since, until }: FilterArguments): HistoryFilter {
  if (status == null && since == null && until == null) return NO_FILTER;
  const checked = checkHistoryFilter({ statuses: status, since, until });
  if (!checked.ok) throw new InvalidArgumentError(checked.field, checked.reason);
  return checked.filter;
}

/** `migrations(limit, …filters)`: the newest `limit` runs the filter selects. */
export function listPage(limit: number, filter: HistoryFilter = NO_FILTER): HistoryPage {
  if (limit < HISTORY_LIMIT.min || limit > HISTORY_LIMIT.max) throw outOfRange('limit', limit, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
  return { limit, filter };
}

/**
 * A connection page (`first`, `after`, filters): one run more than the page tells whether another
 * page follows. `filter` comes from `filterOf` / `checkHistoryFilter`; a cursor issued for another
 * filter is refused (naming `after`).
 */
export function connectionPage(first: number, after: string | null | undefined, filter: HistoryFilter = NO_FILTER): HistoryPage {
  if (first < HISTORY_LIMIT.min || first > HISTORY_LIMIT.max) throw outOfRange('first', first, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
  return { limit: first + 1, after: positionAfter(after, filter), filter };
}

function positionAfter(after: string | null | undefined, filter: HistoryFilter): HistoryPosition | undefined {
  if (after == null) return undefined;
  const decoded = decodeCursor(after, filter);
  if (!decoded.ok) throw new InvalidArgumentError('after', decoded.reason);
  return decoded.position;
}

/** A connection page of a readable graph's history (the caller has checked GRAPH_READ). */
export async function loadConnection(
  context: Context,
  graphId: string,
  first: number,
  after: string | null | undefined,
  filter: HistoryFilter = NO_FILTER,
): Promise<MigrationRunPage> {
  const runs = await context.loaders.history.load({ graphId, ...connectionPage(first, after, filter) });
  return { graphId, runs: runs.slice(0, first), hasNextPage: runs.length > first, filter };
}

/**
 * A page of every graph's runs (deleted graphs left out), newest first. Superusers only, checked
 * before anything is read. `filter` as for `connectionPage`.
 */
export async function loadAllGraphsConnection(
  context: Context,
  first: number,
  after: string | null | undefined,
  filter: HistoryFilter = NO_FILTER,
): Promise<MigrationRunPage> {
  requireSuperuser(context.viewer);
  const runs = await context.loaders.allGraphsHistory.load(connectionPage(first, after, filter));
  return { graphId: null, runs: runs.slice(0, first), hasNextPage: runs.length > first, filter };
}
