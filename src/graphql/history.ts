// The history pages Graph.migrations, Graph.migrationsConnection and Query.migrationRuns read,
// computed in one place for the resolvers themselves, for the look-ahead of the resolver that loads
// their graph, and for the REST door: so a page read ahead is exactly the page the field then asks
// the loader for, filter included.
import { getArgumentValues, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { collectSubfields } from 'graphql/execution/collectFields.js';
import { decodeCursor } from '../data/cursor.js';
import { checkHistoryFilter, NO_FILTER, type HistoryFilter } from '../data/historyFilter.js';
import { HISTORY_LIMIT, pageKey, type HistoryPage, type HistoryPosition } from '../data/migrationRuns.js';
import { requireSuperuser } from './access.js';
import type { Context } from './context.js';
import { invalidCursor, invalidFilter, outOfRange } from './errors.js';
import type { MigrationRunPage } from './resolvers/GraphMigrationRunConnection.js';

/** The filter arguments as GraphQL passes them (`since`/`until` already parsed by the DateTime scalar). */
export interface FilterArguments {
  status?: readonly string[] | null;
  since?: string | null;
  until?: string | null;
}

/** The checked filter of a field's `status`, `since` and `until`; BAD_USER_INPUT naming the argument at fault. */
export function filterOf({ status, since, until }: FilterArguments): HistoryFilter {
  if (status == null && since == null && until == null) return NO_FILTER;
  const checked = checkHistoryFilter({ statuses: status, since, until });
  if (!checked.ok) throw invalidFilter(checked.field, checked.reason);
  return checked.filter;
}

/** `migrations(limit, …filters)`: the newest `limit` runs the filter selects. */
export function listPage(limit: number, filter: HistoryFilter = NO_FILTER): HistoryPage {
  if (limit < HISTORY_LIMIT.min || limit > HISTORY_LIMIT.max) throw outOfRange('limit', limit, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
  return { limit, filter };
}

/**
 * `migrationsConnection(first, after, …filters)` (and the cross-graph view's): one run more than the
 * page tells whether another page follows. `filter` comes from `filterOf` / `checkHistoryFilter`;
 * a cursor issued for another filter is refused (BAD_USER_INPUT naming `after`).
 */
export function connectionPage(first: number, after: string | null | undefined, filter: HistoryFilter = NO_FILTER): HistoryPage {
  if (first < HISTORY_LIMIT.min || first > HISTORY_LIMIT.max) throw outOfRange('first', first, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
  return { limit: first + 1, after: positionAfter(after, filter), filter };
}

function positionAfter(after: string | null | undefined, filter: HistoryFilter): HistoryPosition | undefined {
  if (after == null) return undefined;
  const decoded = decodeCursor(after, filter);
  if (!decoded.ok) throw invalidCursor('after', decoded.reason);
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
 * A page of every graph's runs (deleted graphs left out), newest first: Query.migrationRuns, and
 * the REST door's cross-graph route. Superusers only: UNAUTHENTICATED or FORBIDDEN otherwise,
 * checked before anything is read. `filter` as for `connectionPage`.
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

const PAGE_OF_FIELD: Record<string, (args: Record<string, unknown>) => HistoryPage> = {
  migrations: (args) => listPage(args.limit as number, filterOf(args as FilterArguments)),
  migrationsConnection: (args) =>
    connectionPage(args.first as number, args.after as string | null | undefined, filterOf(args as FilterArguments)),
};

// _entities resolves every representation with the same info: the selection is read once per execution.
const selectedPagesMemo = new WeakMap<readonly FieldNode[], { variables: unknown; pages: HistoryPage[] }>();

/**
 * The history pages that the selection under `info`'s field will ask for on a graph, with argument
 * values after variables, defaults, @skip and @include, exactly as execution will compute them.
 * A field whose arguments are invalid is left out: it fails with its own error when it runs.
 */
export function selectedHistoryPages(info: GraphQLResolveInfo): HistoryPage[] {
  const memo = selectedPagesMemo.get(info.fieldNodes);
  if (memo && memo.variables === info.variableValues) return memo.pages;
  const graphType = info.schema.getType('Graph') as GraphQLObjectType;
  const fields = graphType.getFields();
  const pages = new Map<string, HistoryPage>();
  for (const nodes of collectSubfields(info.schema, info.fragments, info.variableValues, graphType, info.fieldNodes).values()) {
    const node = nodes[0]!;
    const pageOf = PAGE_OF_FIELD[node.name.value];
    if (!pageOf) continue;
    try {
      const page = pageOf(getArgumentValues(fields[node.name.value]!, node, info.variableValues));
      pages.set(pageKey(page), page);
    } catch {
      // Left to the field's resolver, which reports it.
    }
  }
  const result = [...pages.values()];
  selectedPagesMemo.set(info.fieldNodes, { variables: info.variableValues, pages: result });
  return result;
}
