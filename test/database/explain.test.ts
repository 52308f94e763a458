// The history query must stay one index range scan with no sort at realistic volume (docs/contract.md#data-model):
// 100,000 runs across 100 graphs, statistics gathered, then the planner's own word for it.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/databases.js';

const HISTORY_QUERY = 'SELECT * FROM graph_migration_runs WHERE graph_id = $1 ORDER BY created_at DESC, id DESC LIMIT 100';
const HISTORY_INDEX = 'ix_graph_migration_runs_history';

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

async function explain(client: pg.Client, sql: string, values: unknown[] = []): Promise<PlanNode[]> {
  const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`, values);
  return nodes(rows[0]!['QUERY PLAN'][0].Plan);
}

function expectIndexScanWithoutSort(plan: PlanNode[]): void {
  const description = JSON.stringify(plan.map((node) => [node['Node Type'], node['Index Name']]));
  expect(
    plan.some((node) => node['Index Name'] === HISTORY_INDEX),
    description,
  ).toBe(true);
  expect(
    plan.filter((node) => /Sort/.test(node['Node Type'])),
    description,
  ).toEqual([]);
  expect(
    plan.filter((node) => node['Node Type'] === 'Seq Scan'),
    description,
  ).toEqual([]);
}

describe.runIf(postgresAvailable)('history query plan on postgres', { timeout: 60_000 }, () => {
  let testDatabase: TestDatabase;
  let client: pg.Client;
  let graphId: string;

  beforeAll(async () => {
    testDatabase = await createTestDatabase('postgres');
    client = new pg.Client({ connectionString: testDatabase.url });
    await client.connect();
    await client.query(`
      INSERT INTO graphs (id, slug, name)
      SELECT gen_random_uuid(), 'graph_' || lpad(g::text, 3, '0'), 'Graph ' || g FROM generate_series(1, 100) AS g`);
    // 1,000 runs per graph, interleaved in time across graphs, with repeated created_at values so the
    // id tie-break is part of the order.
    await client.query(`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
      SELECT gen_random_uuid(), g.id, n, n + 1, 'bulk_' || n,
             (ARRAY['pending','running','success','failed','skipped'])[1 + n % 5],
             timestamptz '2026-01-01' + make_interval(secs => (n / 2) * 60)
      FROM graphs g CROSS JOIN generate_series(1, 1000) AS n`);
    await client.query('ANALYZE graphs, graph_migration_runs');
    const { rows } = await client.query<{ id: string }>(`SELECT id::text AS id FROM graphs WHERE slug = 'graph_042'`);
    graphId = rows[0]!.id;
  });

  afterAll(async () => {
    await client?.end();
    await testDatabase?.drop();
  });

  it('holds the data the plan is judged on', async () => {
    const { rows } = await client.query<{ runs: number; graphs: number }>(
      'SELECT count(*)::int AS runs, count(DISTINCT graph_id)::int AS graphs FROM graph_migration_runs',
    );
    expect(rows[0]).toEqual({ runs: 100_000, graphs: 100 });
  });

  it('reads one graph’s newest 100 runs through the history index, with no sort, given a bound parameter', async () => {
    expectIndexScanWithoutSort(await explain(client, HISTORY_QUERY, [graphId]));
  });

  it('does the same with a literal graph id', async () => {
    expectIndexScanWithoutSort(await explain(client, HISTORY_QUERY.replace('$1', `'${graphId}'::uuid`)));
  });

  it('does the same as a generic prepared plan', async () => {
    await client.query(`PREPARE history(uuid) AS ${HISTORY_QUERY}`);
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      expectIndexScanWithoutSort(await explain(client, `EXECUTE history('${graphId}')`));
    } finally {
      await client.query('RESET plan_cache_mode');
      await client.query('DEALLOCATE history');
    }
  });
});
