// The whole selected history as a sequence of pages, for the export routes (and any door that
// streams it): keyset pages of HISTORY_LIMIT.max runs read one statement at a time, newest first,
// each read only when the consumer asks for it (an async generator), so a consumer that waits for
// its client before asking for the next page bounds what is read ahead, and one that stops asking
// stops the reads. No transaction spans pages and no connection is held between them: each page is
// one statement through the request's loaders, whose cache entry is cleared as soon as it is read,
// so a history of any size passes through a request without accumulating in it.
import type { GraphRecord } from '../queries/graphs.js';
import type { HistoryFilter } from '../queries/historyFilter.js';
import {
  HISTORY_LIMIT,
  type HistoryKey,
  type HistoryPage,
  type HistoryPosition,
  type MigrationRunRecord,
} from '../queries/migrationRuns.js';
import { readableGraph, requireSuperuser } from './access.js';
import type { Context } from './context.js';

/** Runs per page of an export: the largest page the history reads allow. */
export const EXPORT_PAGE_SIZE = HISTORY_LIMIT.max;

/** The pages of an export, newest first; none for an empty history. Nothing is read until the first `next()`. */
export type HistoryPages = AsyncGenerator<MigrationRunRecord[], void, undefined>;

export interface GraphExport {
  graph: GraphRecord;
  pages: HistoryPages;
}

/** The page after `after` (the first when absent): one run more than a page tells whether another follows. */
const exportPage = (filter: HistoryFilter, after: HistoryPosition | undefined, pageSize: number): HistoryPage => ({
  limit: pageSize + 1,
  ...(after && { after }),
  filter,
});

const positionOf = (run: MigrationRunRecord): HistoryPosition => ({ createdAt: run.createdAt, id: run.id });

/**
 * Reads page after page with `read` (which must not keep what it read) until a page is the last:
 * yields each page's runs, at most `pageSize` of them.
 */
async function* pagesOf(read: (page: HistoryPage) => Promise<MigrationRunRecord[]>, filter: HistoryFilter, pageSize: number): HistoryPages {
  let after: HistoryPosition | undefined;
  for (;;) {
    const runs = await read(exportPage(filter, after, pageSize));
    const more = runs.length > pageSize;
    if (more) runs.length = pageSize;
    if (runs.length > 0) yield runs;
    if (!more) return;
    after = positionOf(runs.at(-1)!);
  }
}

/**
 * The export of a graph's history: null when no graph has this slug (or it is deleted), an
 * AccessDeniedError (`not_member`) when the viewer may not read it. With `readFirstPage` (GET) the
 * first page is read with the graph, in the same statement, and waits for the first `next()`;
 * without it (HEAD) only the graph is read and nothing of the history until `pages` is iterated.
 */
export async function exportGraphHistory(
  context: Context,
  slug: string,
  filter: HistoryFilter,
  { readFirstPage = true, pageSize = EXPORT_PAGE_SIZE }: { readFirstPage?: boolean; pageSize?: number } = {},
): Promise<GraphExport | null> {
  const firstPage = exportPage(filter, undefined, pageSize);
  const graphRequest = { key: { slug }, page: firstPage };
  const graph = readFirstPage ? await readableGraph(context, { slug }, [firstPage]) : await readableGraph(context, { slug });
  // The graph's loader keeps the page read with it: nothing of the history may stay in the request.
  context.loaders.graph.clear(graphRequest);
  if (!graph) return null;
  const { history } = context.loaders;
  const read = async (page: HistoryPage) => {
    const key: HistoryKey = { graphId: graph.id, ...page };
    try {
      return await history.load(key);
    } finally {
      history.clear(key);
    }
  };
  return { graph, pages: pagesOf(read, filter, pageSize) };
}

/**
 * The export of every graph's runs (deleted graphs left out): superusers only, refused
 * (AccessDeniedError) before anything is read.
 */
export function exportAllGraphsHistory(
  context: Context,
  filter: HistoryFilter,
  { pageSize = EXPORT_PAGE_SIZE }: { pageSize?: number } = {},
): HistoryPages {
  requireSuperuser(context.viewer);
  const { allGraphsHistory } = context.loaders;
  const read = async (page: HistoryPage) => {
    try {
      return await allGraphsHistory.load(page);
    } finally {
      allGraphsHistory.clear(page);
    }
  };
  return pagesOf(read, filter, pageSize);
}
