// Who may read what, for every door: an authenticated viewer, a visible graph, GRAPH_READ; every
// graph's runs for superusers only. Refusals are AccessDeniedError (src/domain/errors.ts), which each
// door answers in its own shape.
import { canReadGraph } from '../auth/permissions.js';
import type { User, Viewer } from '../auth/viewer.js';
import type { GraphKey, GraphRecord } from '../queries/graphs.js';
import type { HistoryPage } from '../queries/migrationRuns.js';
import type { Context } from './context.js';
import { AccessDeniedError } from './errors.js';

export function requireUser(viewer: Viewer): User {
  if (viewer.kind !== 'user') throw new AccessDeniedError(viewer.kind === 'invalid' ? 'invalid_token' : 'anonymous');
  return viewer;
}

/** For what only superusers may read (every graph's runs): not authenticated first, then `superusers_only`. */
export function requireSuperuser(viewer: Viewer): User {
  const user = requireUser(viewer);
  if (!user.isSuperuser) throw new AccessDeniedError('superusers_only');
  return user;
}

/** The GRAPH_READ decision for a loaded graph: null when unknown or deleted, `not_member` when not readable. */
export function readable<T>(
  viewer: User,
  graph: { status: string; isDefault: boolean; viewerRole: string | null } | null | undefined,
  value: T,
): T | null {
  if (!graph || graph.status === 'deleted') return null;
  if (!canReadGraph(viewer, graph, graph.viewerRole)) throw new AccessDeniedError('not_member');
  return value;
}

/**
 * The graph, or null when unknown or deleted; `not_member` when the viewer may not read it.
 * `pages` are the history pages the caller will ask for next (a GraphQL selection's, looked ahead;
 * the REST page): they are read in the same statement as the graph and wait in the history loader,
 * which only a readable graph's callers reach.
 */
export async function readableGraph(context: Context, key: GraphKey, pages: readonly HistoryPage[] = []): Promise<GraphRecord | null> {
  const viewer = requireUser(context.viewer);
  const { graph } =
    pages.length === 0
      ? await context.loaders.graph.load({ key })
      : // Every page's request returns the same graph; the first answer carries it.
        (await Promise.all(pages.map((page) => context.loaders.graph.load({ key, page }))))[0]!;
  return readable(viewer, graph, graph);
}
