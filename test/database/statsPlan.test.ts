// The statistics must not read a graph's whole history for its counts and latest runs
// (docs/decisions/0010): the statement statsByGraph sends, with generic plans as the service runs
// it, over a graph of 20,160 runs (two weeks, one a minute), by the planner's own account of the
// rows each scan of graph_migration_runs returned.
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statsByGraph, statsOfAllGraphs } from '../../src/queries/migrationStats.js';
import type { RunSql } from '../../src/database/sql.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/databases.js';

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];
const RUNS = 14 * 24 * 60;
const GRAPH = '0b1c2d3e-0000-4000-8000-000000000001';

describe.runIf(postgresAvailable)('statistics plan on postgres', { timeout: 60_000 }, () => {
  let testDatabase: TestDatabase;
  let client: pg.Client;
  /** The runs each scan of graph_migration_runs returned, over every loop, for the statement `send` sends. */
  let runsRead: (send: (query: RunSql) => Promise<unknown>) => Promise<number>;

  beforeAll(async () => {
    testDatabase = await createTestDatabase('postgres');
    client = new pg.Client({ connectionString: testDatabase.url });
    await client.connect();
    await client.query(`INSERT INTO graphs (id, slug, name) VALUES ('${GRAPH}', 'two_weeks', 'Two weeks')`);
    await client.query(`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, created_at)
      SELECT gen_random_uuid(), '${GRAPH}', n, n + 1, 'm_' || n, (ARRAY['success','success','failed','running'])[1 + n % 4],
        t.at, t.at + make_interval(secs => n % 300), t.at
      FROM generate_series(1, ${RUNS}) AS n, LATERAL (SELECT timestamptz '2026-03-01' + make_interval(mins => n) AS at) t`);
    await client.query('ANALYZE');
    await client.query('SET plan_cache_mode = force_generic_plan');
    runsRead = async (send) => {
      let plan: PlanNode | undefined;
      const explaining: RunSql = async (statement) => {
        const { rows } = await client.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>({
          name: `explain_${plan === undefined ? 0 : 1}_${statement.text.length}`,
          text: `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.text}`,
          values: statement.values as unknown[],
        });
        plan = rows[0]!['QUERY PLAN'][0].Plan;
        return { columnNames: [], rows: [] };
      };
      await send(explaining);
      return nodes(plan!)
        .filter((node) => node['Relation Name'] === 'graph_migration_runs')
        .reduce((sum, node) => sum + node['Actual Rows'] * node['Actual Loops'], 0);
    };
  });

  afterAll(async () => {
    await client?.end();
    await testDatabase?.drop();
  });

  it.each([
    ['no window', {}, 3],
    ['whole days', { since: '2026-03-03T00:00:00.000000Z', until: '2026-03-10T00:00:00.000000Z' }, 3],
    ['ragged ends', { since: '2026-03-03T07:30:00.000000Z', until: '2026-03-10T18:00:00.000000Z' }, 3 + 16.5 * 60 + 18 * 60 + 2],
  ])('counts and latest runs over %s read at most the partial days (%s)', async (_name, filter, most) => {
    const read = await runsRead((query) => statsByGraph(query, [{ graphId: GRAPH, filter, durations: false }]));
    expect(read).toBeLessThanOrEqual(most);
    expect(read).toBeGreaterThan(0);
  });

  it('reads every run of the window for the durations, and only when asked', async () => {
    const filter = { since: '2026-03-03T00:00:00.000000Z', until: '2026-03-10T00:00:00.000000Z' };
    const without = await runsRead((query) => statsByGraph(query, [{ graphId: GRAPH, filter, durations: false }]));
    const withDurations = await runsRead((query) => statsByGraph(query, [{ graphId: GRAPH, filter, durations: true }]));
    expect(withDurations - without).toBe(7 * 24 * 60);
  });

  it("reads every graph's counts from the day counts too", async () => {
    expect(await runsRead((query) => statsOfAllGraphs(query, [{ filter: {}, durations: false }]))).toBeLessThanOrEqual(3);
  });
});
