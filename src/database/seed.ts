// Demo data for the embedded default: the platform's shared `default` graph, a demo graph with a
// realistic migration history, and one member. Fixed ids make seeding idempotent. On the embedded
// default the demo graph's history then moves on by itself (recordDemoActivity, DEMO_ACTIVITY_MS).
import { records } from './sql.js';
import type { Database } from './client.js';
import { Prisma } from './generated/client.js';

export const DEMO_MEMBER_ID = '6f1c2a4e-8b7d-4c3a-9e21-5d0b7f3a9c11';
export const DEMO_GRAPH_SLUG = 'demo_knowledge';

const DEFAULT_GRAPH_ID = '00000000-0000-4000-8000-000000000001';
const DEMO_GRAPH_ID = '3b9d6a52-1f0e-4c7b-a8d4-2e6f9c1b7a30';

interface DemoRun {
  id: string;
  from: number;
  to: number;
  migrationId: string;
  status: string;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
  workflowRunId: string | null;
}

// Oldest first. Two pairs share a created_at to the microsecond, so the id tie-break shows.
const DEMO_RUNS: DemoRun[] = [
  {
    id: '0a6b9e0c-0000-4000-8000-000000000001',
    from: 1,
    to: 2,
    migrationId: 'add_entity_aliases',
    status: 'success',
    createdAt: '2026-03-02T09:15:00.000000Z',
    startedAt: '2026-03-02T09:15:00.412331Z',
    finishedAt: '2026-03-02T09:15:07.901245Z',
    error: null,
    workflowRunId: 'wf-20260302-0915-a1',
  },
  {
    id: '0a6b9e0c-0000-4000-8000-000000000002',
    from: 2,
    to: 3,
    migrationId: 'split_relation_types',
    status: 'failed',
    createdAt: '2026-03-14T16:40:12.250117Z',
    startedAt: '2026-03-14T16:40:12.731002Z',
    finishedAt: '2026-03-14T16:41:03.118540Z',
    error: 'relation type "works_for" has 12 edges with a missing target entity; fix them or mark them orphaned',
    workflowRunId: 'wf-20260314-1640-b7',
  },
  {
    id: '0a6b9e0c-0000-4000-8000-000000000003',
    from: 2,
    to: 3,
    migrationId: 'split_relation_types_retry',
    status: 'success',
    createdAt: '2026-03-15T08:02:44.003914Z',
    startedAt: '2026-03-15T08:02:44.519870Z',
    finishedAt: '2026-03-15T08:04:10.276003Z',
    error: null,
    workflowRunId: 'wf-20260315-0802-c2',
  },
  {
    id: '0a6b9e0c-0000-4000-8000-000000000004',
    from: 3,
    to: 4,
    migrationId: 'backfill_embeddings',
    status: 'skipped',
    createdAt: '2026-04-17T21:25:43.123456Z',
    startedAt: null,
    finishedAt: null,
    error: null,
    workflowRunId: 'wf-20260417-2125-d9',
  },
  {
    id: '0a6b9e0c-0000-4000-8000-000000000005',
    from: 3,
    to: 4,
    migrationId: 'normalize_entity_names',
    status: 'success',
    createdAt: '2026-04-17T21:25:43.123456Z',
    startedAt: '2026-04-17T21:25:43.880001Z',
    finishedAt: '2026-04-17T21:26:19.004512Z',
    error: null,
    workflowRunId: 'wf-20260417-2125-d9',
  },
  {
    id: '0a6b9e0c-0000-4000-8000-000000000006',
    from: 4,
    to: 5,
    migrationId: 'add_provenance_columns',
    status: 'running',
    createdAt: '2026-05-06T11:00:00.000001Z',
    startedAt: '2026-05-06T11:00:01.250000Z',
    finishedAt: null,
    error: null,
    workflowRunId: 'wf-20260506-1100-e4',
  },
  {
    id: '0a6b9e0c-0000-4000-8000-000000000007',
    from: 5,
    to: 6,
    migrationId: 'drop_legacy_labels',
    status: 'pending',
    createdAt: '2026-05-06T11:00:00.000001Z',
    startedAt: null,
    finishedAt: null,
    error: null,
    workflowRunId: null,
  },
];

// Two more graphs of the demo member, whose runs are recent (timed from the moment they are loaded):
// the cross-graph views a superuser tries first (failed runs of the last day, each graph's latest
// run) answer something. The catalog's latest run failed; the directory's is running.
const RECENT_GRAPHS = [
  { id: '5c2e8f14-7a3b-4d61-9e08-1b4f6a2d9c51', slug: 'demo_catalog', name: 'Product catalog graph', role: 'writer' },
  { id: '8e7d3a29-4c5f-4b12-a6e9-3f0c2b8d1e74', slug: 'demo_directory', name: 'People directory graph', role: 'reader' },
] as const;

interface RecentRun {
  id: string;
  graph: 0 | 1;
  from: number;
  to: number;
  migrationId: string;
  status: string;
  /** Minutes before the load: created; started a second later; finished after `tookSeconds` (none: not finished). */
  minutesAgo: number;
  tookSeconds?: number;
  error?: string;
}

const RECENT_RUNS: RecentRun[] = [
  {
    id: '1d4c8e2a-0000-4000-8000-000000000001',
    graph: 0,
    from: 1,
    to: 2,
    migrationId: 'add_price_history',
    status: 'success',
    minutesAgo: 1_400,
    tookSeconds: 42,
  },
  {
    id: '1d4c8e2a-0000-4000-8000-000000000002',
    graph: 0,
    from: 2,
    to: 3,
    migrationId: 'merge_duplicate_skus',
    status: 'success',
    minutesAgo: 600,
    tookSeconds: 318,
  },
  {
    id: '1d4c8e2a-0000-4000-8000-000000000003',
    graph: 0,
    from: 3,
    to: 4,
    migrationId: 'index_variant_attributes',
    status: 'failed',
    minutesAgo: 180,
    tookSeconds: 95,
    error: 'attribute "colour" has 3 values that are not in its vocabulary; add them or map them',
  },
  {
    id: '1d4c8e2a-0000-4000-8000-000000000004',
    graph: 1,
    from: 1,
    to: 2,
    migrationId: 'split_full_names',
    status: 'success',
    minutesAgo: 2_900,
    tookSeconds: 12,
  },
  {
    id: '1d4c8e2a-0000-4000-8000-000000000005',
    graph: 1,
    from: 2,
    to: 3,
    migrationId: 'link_managers',
    status: 'success',
    minutesAgo: 300,
    tookSeconds: 64,
  },
  {
    id: '1d4c8e2a-0000-4000-8000-000000000006',
    graph: 1,
    from: 3,
    to: 4,
    migrationId: 'add_team_memberships',
    status: 'running',
    minutesAgo: 10,
  },
];

/** Rows the demo data added: none when it was all there already (every insert skips what exists). */
export interface SeedResult {
  graphs: number;
  members: number;
  runs: number;
}

export async function seedDemoData(database: Pick<Database, 'transaction'>): Promise<SeedResult> {
  return database.transaction(async ({ execute }) => {
    let graphs = await execute(Prisma.sql`
      INSERT INTO graphs (id, slug, name, description, is_default, status, type_id, type_version, created_at, updated_at)
      VALUES
        (${DEFAULT_GRAPH_ID}::uuid, 'default', 'Default graph', 'The platform''s shared graph: every signed-in user may read it.', true, 'active', 'default', 1, '2026-01-05T10:00:00.000000Z', '2026-01-05T10:00:00.000000Z'),
        (${DEMO_GRAPH_ID}::uuid, ${DEMO_GRAPH_SLUG}, 'Demo knowledge graph', 'A graph whose data went through a few schema migrations.', false, 'active', 'default', 5, '2026-03-01T08:00:00.000000Z', '2026-05-06T11:00:01.250000Z')
      ON CONFLICT (id) DO NOTHING`);
    let members = await execute(Prisma.sql`
      INSERT INTO graph_members (graph_id, user_id, role) VALUES (${DEMO_GRAPH_ID}::uuid, ${DEMO_MEMBER_ID}::uuid, 'reader')
      ON CONFLICT DO NOTHING`);
    let runs = 0;
    for (const graph of RECENT_GRAPHS) {
      graphs += await execute(Prisma.sql`
        INSERT INTO graphs (id, slug, name, status, type_id, type_version, created_at, updated_at)
        VALUES (${graph.id}::uuid, ${graph.slug}, ${graph.name}, 'active', 'default', 1, clock_timestamp() - interval '3 days', clock_timestamp())
        ON CONFLICT (id) DO NOTHING`);
      members += await execute(Prisma.sql`
        INSERT INTO graph_members (graph_id, user_id, role) VALUES (${graph.id}::uuid, ${DEMO_MEMBER_ID}::uuid, ${graph.role})
        ON CONFLICT DO NOTHING`);
    }
    for (const run of RECENT_RUNS) {
      const created = Prisma.sql`clock_timestamp() - ${run.minutesAgo}::int * interval '1 minute'`;
      runs += await execute(Prisma.sql`
        INSERT INTO graph_migration_runs
          (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
        VALUES (${run.id}::uuid, ${RECENT_GRAPHS[run.graph].id}::uuid, ${run.from}, ${run.to}, ${run.migrationId}, ${run.status},
          ${created} + interval '1 second',
          ${run.tookSeconds === undefined ? null : Prisma.sql`${created} + ${run.tookSeconds + 1}::int * interval '1 second'`},
          ${run.error ?? null}, ${`wf-demo-${run.id.slice(-4)}`}, ${created})
        ON CONFLICT (id) DO NOTHING`);
    }
    for (const run of DEMO_RUNS) {
      runs += await execute(Prisma.sql`
        INSERT INTO graph_migration_runs
          (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
        VALUES (${run.id}::uuid, ${DEMO_GRAPH_ID}::uuid, ${run.from}, ${run.to}, ${run.migrationId}, ${run.status},
          ${run.startedAt}::timestamptz, ${run.finishedAt}::timestamptz, ${run.error}, ${run.workflowRunId}, ${run.createdAt}::timestamptz)
        ON CONFLICT (id) DO NOTHING`);
    }
    return { graphs, members, runs };
  });
}

/**
 * One step of the demo graph's activity on the embedded database, as the workflow engine would write
 * it: its newest run moves on (pending → running → success, or failed one time in four), and once
 * it has finished a new run is recorded, pending. Each step is one insert or update, so an open
 * stream of the demo graph sees an event. Returns what happened, for the log.
 */
export async function recordDemoActivity(database: Pick<Database, 'transaction'>): Promise<string> {
  return database.transaction(async ({ query, execute }) => {
    const [newest] = records<{ id: string; status: string; toVersion: number; steps: number }>(
      await query(Prisma.sql`
        SELECT id::text, status, to_version AS "toVersion", (SELECT count(*)::int FROM graph_migration_runs WHERE graph_id = ${DEMO_GRAPH_ID}::uuid) AS steps
        FROM graph_migration_runs WHERE graph_id = ${DEMO_GRAPH_ID}::uuid
        ORDER BY created_at DESC, id DESC LIMIT 1`),
    );
    if (newest?.status === 'pending') {
      await execute(Prisma.sql`
        UPDATE graph_migration_runs SET status = 'running', started_at = clock_timestamp(),
          workflow_run_id = coalesce(workflow_run_id, 'wf-demo-' || to_version)
        WHERE id = ${newest.id}::uuid`);
      return 'started';
    }
    if (newest?.status === 'running') {
      const failed = newest.steps % 4 === 0;
      await execute(Prisma.sql`
        UPDATE graph_migration_runs SET status = ${failed ? 'failed' : 'success'}, finished_at = clock_timestamp(),
          error = ${failed ? 'demo activity: a step of this migration failed; the next run retries it' : null}
        WHERE id = ${newest.id}::uuid`);
      return failed ? 'failed' : 'succeeded';
    }
    const from = newest?.toVersion ?? 1;
    await execute(Prisma.sql`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
      VALUES (gen_random_uuid(), ${DEMO_GRAPH_ID}::uuid, ${from}, ${from + 1}, 'demo_step_' || ${from + 1}::int || '_' || floor(extract(epoch FROM clock_timestamp()))::bigint,
        'pending', clock_timestamp())`);
    return 'recorded';
  });
}

/** True when the database holds no graph at all (a first start). */
export async function isEmpty(database: Pick<Database, 'query'>): Promise<boolean> {
  const [row] = records<{ empty: boolean }>(await database.query(Prisma.sql`SELECT NOT EXISTS (SELECT 1 FROM graphs) AS empty`));
  return row!.empty;
}

/** True when the demo graph is there (loaded at first start on PGlite, or by `npm run db:seed`). */
export async function hasDemoGraph(database: Pick<Database, 'query'>): Promise<boolean> {
  const [row] = records<{ present: boolean }>(
    await database.query(
      Prisma.sql`SELECT EXISTS (SELECT 1 FROM graphs WHERE slug = ${DEMO_GRAPH_SLUG} AND status <> 'deleted') AS present`,
    ),
  );
  return row!.present;
}
