// Every database read about graphs and their members. Batch functions return results in key order.
import { Prisma } from '../database/generated/client.js';
import { historyPage, newestFirst, pageParameters, type HistoryPage, type MigrationRunRecord } from './migrationRuns.js';
import { columnIndexes, utcTimestamp, type RunSql } from '../database/sql.js';
import { isUuid } from './ids.js';

export interface GraphRecord {
  id: string;
  slug: string;
  name: string;
  description: string | null;
  isDefault: boolean;
  status: string;
  typeId: string;
  typeVersion: number;
  readOnly: boolean;
  readOnlyReason: string | null;
  createdAt: string;
  updatedAt: string;
  /** The viewer's role on this graph (`reader`, `writer`, `admin`), null when not a member. */
  viewerRole: string | null;
}

export type GraphKey = { id: string } | { slug: string };

/** A graph to load, and optionally one page of its history (filtered or not) to read in the same statement. */
export interface GraphRequest {
  key: GraphKey;
  page?: HistoryPage;
}

export interface GraphWithPage {
  graph: GraphRecord | null;
  /** The requested page; absent when none was requested or the graph is unknown or deleted. */
  runs?: MigrationRunRecord[];
}

/**
 * A text no stored slug can equal (longer than the varchar(100) column, or holding NUL, which
 * PostgreSQL text cannot carry and would reject with an error) is unknown without asking.
 */
function couldBeSlug(slug: string): boolean {
  return slug.length <= 100 && !slug.includes('\u0000');
}

// Built once: the statement text never changes (it is prepared by a hash of the text).
const REQUESTED_PAGE = historyPage({
  graphId: 'q.id',
  rowLimit: 'q.row_limit',
  afterCreatedAt: 'q.after_created_at',
  afterId: 'q.after_id',
  since: 'q.since',
  statuses: 'q.statuses',
});

/**
 * Graphs by id or by slug, mixed, with the viewer's (or each request's viewer's) membership joined in and, for the requests that
 * ask, a page of their history: one statement for the whole batch, whichever keys, pages and filters it holds.
 * Unknown keys come back with a null graph. A deleted graph's history is not read. Whether the
 * viewer may see a page is for the caller to decide (src/auth/permissions.ts): no history is handed
 * to a client without that check.
 *
 * A graph and its runs come back as rows of one shape (UNION ALL): one row per request holding the
 * graph as one small JSON object (`graph`), then one row per run in plain columns, `graph` NULL. The
 * graph is sent and decoded once rather than on every run's row, and a run's values arrive as plain
 * columns, which costs PostgreSQL half of what building the page as JSON does (measured with
 * pgbench); keeping the graph's thirteen columns out of the run rows spares every run row's decoding
 * (two arrays per row in pg) eleven empty slots.
 */
export async function graphsByKeys(
  query: RunSql,
  viewerId: string | null | readonly (string | null)[],
  requests: readonly GraphRequest[],
): Promise<GraphWithPage[]> {
  // A key that cannot match is sent as NULLs, so the arrays stay aligned with the requests.
  const ids = requests.map(({ key }) => ('id' in key && isUuid(key.id) ? key.id.toLowerCase() : null));
  const slugs = requests.map(({ key }) => ('slug' in key && couldBeSlug(key.slug) ? key.slug : null));
  if (ids.every((id) => id === null) && slugs.every((slug) => slug === null)) return requests.map(() => ({ graph: null }));
  // One viewer for the batch (a request's loaders), or one per request (streams opening together: src/domain/feed.ts).
  const memberIds = requests.map((_, index) => {
    const id = typeof viewerId === 'string' || viewerId === null ? viewerId : viewerId[index]!;
    return id !== null && isUuid(id) ? id : null;
  });
  const page = pageParameters(requests.map((request) => request.page));
  const result = await query(Prisma.sql`
    WITH requested AS (
      SELECT k.key_index, k.row_limit, k.after_created_at, k.after_id, k.since, k.statuses, g.*, m.role AS viewer_role
      FROM unnest(
             ${ids}::uuid[],
             ${slugs}::text[],
             ${memberIds}::uuid[],
             ${page.limits}::int[],
             ${page.afterCreatedAts}::timestamptz[],
             ${page.afterIds}::uuid[],
             ${page.sinces}::timestamptz[],
             ${page.statuses}::text[]
           ) WITH ORDINALITY AS k(graph_id, slug, member_id, row_limit, after_created_at, after_id, since, statuses, key_index)
      JOIN graphs g ON g.id = k.graph_id OR g.slug = k.slug
      LEFT JOIN graph_members m ON m.graph_id = g.id AND m.user_id = k.member_id
    )
    SELECT q.key_index::int AS "keyIndex",
           json_build_object('id', q.id::text, 'slug', q.slug, 'name', q.name, 'description', q.description,
             'isDefault', q.is_default, 'status', q.status, 'typeId', q.type_id, 'typeVersion', q.type_version,
             'readOnly', q.read_only, 'readOnlyReason', q.read_only_reason, 'createdAt', ${utcTimestamp('q.created_at')},
             'updatedAt', ${utcTimestamp('q.updated_at')}, 'viewerRole', q.viewer_role)::text AS graph,
           NULL::text AS id, NULL::text AS "graphId", NULL::int AS "fromVersion", NULL::int AS "toVersion",
           NULL::text AS "migrationId", NULL::text AS status, NULL::text AS "startedAt", NULL::text AS "finishedAt",
           NULL::text AS error, NULL::text AS "workflowRunId", NULL::text AS "createdAt"
    FROM requested q
    UNION ALL
    SELECT q.key_index::int, NULL, r.id::text, r.graph_id::text, r.from_version, r.to_version, r.migration_id, r.status,
           ${utcTimestamp('r.started_at')}, ${utcTimestamp('r.finished_at')}, r.error, r.workflow_run_id, ${utcTimestamp('r.created_at')}
    FROM requested q
    CROSS JOIN ${REQUESTED_PAGE}
    WHERE q.row_limit IS NOT NULL AND q.status <> 'deleted'`);
  // Up to 500 rows per graph: values are read by column position, without an object per row first.
  const at = columnIndexes(result);
  const results: GraphWithPage[] = requests.map(() => ({ graph: null }));
  const pages = new Map<number, MigrationRunRecord[]>();
  for (const row of result.rows) {
    const keyIndex = row[at.keyIndex!] as number;
    const graph = row[at.graph!] as string | null;
    if (graph !== null) {
      // One small JSON object per graph (GraphRecord's keys, as the SQL names them).
      results[keyIndex - 1]!.graph = JSON.parse(graph) as GraphRecord;
      continue;
    }
    const run: MigrationRunRecord = {
      id: row[at.id!] as string,
      graphId: row[at.graphId!] as string,
      fromVersion: row[at.fromVersion!] as number,
      toVersion: row[at.toVersion!] as number,
      migrationId: row[at.migrationId!] as string,
      status: row[at.status!] as string,
      startedAt: row[at.startedAt!] as string | null,
      finishedAt: row[at.finishedAt!] as string | null,
      error: row[at.error!] as string | null,
      workflowRunId: row[at.workflowRunId!] as string | null,
      createdAt: row[at.createdAt!] as string,
    };
    const page = pages.get(keyIndex);
    if (page) page.push(run);
    else pages.set(keyIndex, [run]);
  }
  requests.forEach(({ page }, index) => {
    const graph = results[index]!.graph;
    if (page && graph && graph.status !== 'deleted') results[index]!.runs = (pages.get(index + 1) ?? []).sort(newestFirst);
  });
  return results;
}
