// The look-ahead of the resolvers that load a graph: the history pages its `migrations` and
// `migrationsConnection` fields will ask for, planned by src/domain/history.ts exactly as the fields
// then plan them, so a page read ahead with the graph is the page the field finds in the loader.
import { getArgumentValues, getNamedType, type FieldNode, type GraphQLObjectType, type GraphQLResolveInfo } from 'graphql';
import { collectSubfields } from 'graphql/execution/collectFields.js';
import { connectionPage, filterOf, listPage, type FilterArguments } from '../../domain/history.js';
import { pageKey, type HistoryPage } from '../../queries/migrationRuns.js';

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

/** Whether the selection under `info`'s field (of an object type) asks for `field`, after @skip and @include. */
export function selectsSubfield(info: GraphQLResolveInfo, field: string): boolean {
  const type = getNamedType(info.returnType) as GraphQLObjectType;
  for (const nodes of collectSubfields(info.schema, info.fragments, info.variableValues, type, info.fieldNodes).values()) {
    if (nodes[0]!.name.value === field) return true;
  }
  return false;
}
