// The history pages Graph.migrations and Graph.migrationsConnection read, computed in one place for
// the resolvers themselves, for the look-ahead of the resolver that loads their graph, and for the
// REST door: so a page read ahead is exactly the page the field then asks the loader for.
import { getArgumentValues, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { collectSubfields } from 'graphql/execution/collectFields.js';
import { HISTORY_LIMIT, type HistoryPage, type HistoryPosition } from '../data/migrationRuns.js';
import type { Context } from './context.js';
import { decodeCursor } from '../data/cursor.js';
import { invalidCursor, outOfRange } from './errors.js';
import type { MigrationRunPage } from './resolvers/GraphMigrationRunConnection.js';

/** `migrations(limit)`: the newest `limit` runs. */
export function listPage(limit: number): HistoryPage {
  if (limit < HISTORY_LIMIT.min || limit > HISTORY_LIMIT.max) throw outOfRange('limit', limit, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
  return { limit };
}

/** `migrationsConnection(first, after)`: one run more than the page tells whether another page follows. */
export function connectionPage(first: number, after: string | null | undefined): HistoryPage {
  if (first < HISTORY_LIMIT.min || first > HISTORY_LIMIT.max) throw outOfRange('first', first, HISTORY_LIMIT.min, HISTORY_LIMIT.max);
  return { limit: first + 1, after: positionAfter(after) };
}

function positionAfter(after: string | null | undefined): HistoryPosition | undefined {
  if (after == null) return undefined;
  const decoded = decodeCursor(after);
  if (!decoded.ok) throw invalidCursor('after', decoded.reason);
  return decoded.position;
}

/** A connection page of a readable graph's history (the caller has checked GRAPH_READ). */
export async function loadConnection(
  context: Context,
  graphId: string,
  first: number,
  after: string | null | undefined,
): Promise<MigrationRunPage> {
  const runs = await context.loaders.history.load({ graphId, ...connectionPage(first, after) });
  return { graphId, runs: runs.slice(0, first), hasNextPage: runs.length > first };
}

const PAGE_OF_FIELD: Record<string, (args: Record<string, unknown>) => HistoryPage> = {
  migrations: (args) => listPage(args.limit as number),
  migrationsConnection: (args) => connectionPage(args.first as number, args.after as string | null | undefined),
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
      pages.set(`${page.limit}:${page.after?.createdAt}:${page.after?.id}`, page);
    } catch {
      // Left to the field's resolver, which reports it.
    }
  }
  const result = [...pages.values()];
  selectedPagesMemo.set(info.fieldNodes, { variables: info.variableValues, pages: result });
  return result;
}
