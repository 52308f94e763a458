// The history statement reads at most `limit` rows per graph, whatever the graph's history holds:
// the very SQL the service sent, EXPLAIN ANALYZEd on PostgreSQL over 100,000 runs.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

describe.skipIf(!postgresAvailable)('history statement plan on postgres', () => {
  let service: TestService;
  let client: pg.Client;
  let token: string;
  let big: { id: string; slug: string };
  let medium: { id: string; slug: string };

  beforeAll(async () => {
    service = await startTestService('postgres');
    token = await service.token(MEMBER);
    big = await insertGraph(service.prisma, { slug: 'big_history' });
    medium = await insertGraph(service.prisma, { slug: 'medium_history' });
    await addMember(service.prisma, big.id, MEMBER);
    await addMember(service.prisma, medium.id, MEMBER);
    await insertManyRuns(service.prisma, big.id, 100_000);
    await insertManyRuns(service.prisma, medium.id, 5_000, '2026-07-01T00:00:00Z');
    // The plans the service runs: its connections prepare statements and use generic plans.
    client = new pg.Client({ connectionString: service.database.url, options: '-c plan_cache_mode=force_generic_plan' });
    await client.connect();
    await client.query('ANALYZE graphs, graph_members, graph_migration_runs');
  }, 300_000);
  afterAll(async () => {
    await client?.end();
    await service?.close();
  });

  /** Sends the request and returns the one statement it cost, which read graph_migration_runs. */
  async function historyStatement(query: string, variables: Record<string, unknown>): Promise<{ sql: string; data: any }> {
    service.statements.length = 0;
    const result = await graphql(service.url, query, { token, variables });
    expect(result.errors).toBeUndefined();
    expect(service.statements).toHaveLength(1);
    expect(service.statements[0]).toMatch(/\bgraph_migration_runs\b/);
    return { sql: service.statements[0]!, data: result.data };
  }

  async function explain(sql: string, params: unknown[]): Promise<PlanNode> {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params);
    return (rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan;
  }

  function expectBoundedIndexScan(plan: PlanNode, limit: number, graphs: number) {
    const all = nodes(plan);
    expect(
      all.filter((node) => /Sort/.test(node['Node Type'])),
      'no Sort node',
    ).toEqual([]);
    // The graphs of these tests fit one page, which PostgreSQL rightly reads whole; the history must not be.
    expect(
      all.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'graph_migration_runs'),
      'no Seq Scan of the history',
    ).toEqual([]);
    const scans = all.filter((node) => /Index/.test(node['Node Type']) && node['Index Name'] === 'ix_graph_migration_runs_history');
    expect(scans).toHaveLength(1);
    const [scan] = scans;
    // Actual Rows is the average per loop; one loop per graph, none reading past its limit.
    expect(scan!['Actual Loops']).toBe(graphs);
    expect(scan!['Actual Rows']).toBeLessThanOrEqual(limit);
    expect(scan!['Rows Removed by Filter'] ?? 0).toBe(0);
  }

  it('reads at most 10 rows of a 100,000-run history for migrations(limit: 10), with no sort', async () => {
    const { sql, data } = await historyStatement(`query($slug: String!) { graph(slug: $slug) { migrations(limit: 10) { createdAt } } }`, {
      slug: big.slug,
    });
    expect(data.graph.migrations).toHaveLength(10);
    expect(data.graph.migrations[0].createdAt).toBe('2026-05-31T23:59:59.000000Z');
    // One statement reads the graph, the viewer's membership and the page. It binds the requests as
    // five arrays (graph ids, slugs, limits, and the page positions (created_at, id), null for
    // `migrations`, which always starts at the newest run) and the viewer's id.
    expect(sql).toMatch(/\$6/);
    expect(sql).not.toMatch(/\$7/);
    const params = [[null], [big.slug], [10], [null], [null], MEMBER];
    const plan = await explain(sql, params);
    const text = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    const planText = text.rows.map((row) => row['QUERY PLAN']).join('\n');
    console.info(`history statement:\n${sql}\nplan (100,000 runs, limit 10):\n${planText}`);
    expectBoundedIndexScan(plan, 10, 1);
  });

  it('reads at most `limit` rows per graph when one statement serves several graphs', async () => {
    const { sql, data } = await historyStatement(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Graph { migrations(limit: 10) { id } } } }`,
      {
        r: [
          { __typename: 'Graph', id: big.id },
          { __typename: 'Graph', slug: medium.slug },
        ],
      },
    );
    expect(data._entities.map((graph: { migrations: unknown[] }) => graph.migrations.length)).toEqual([10, 10]);
    const plan = await explain(sql, [[big.id, null], [null, medium.slug], [10, 10], [null, null], [null, null], MEMBER]);
    expectBoundedIndexScan(plan, 10, 2);
  });

  it('stays an index range scan at the largest page, 500', async () => {
    const { sql } = await historyStatement(`query($slug: String!) { graph(slug: $slug) { migrations(limit: 500) { id } } }`, {
      slug: big.slug,
    });
    const plan = await explain(sql, [[null], [big.slug], [500], [null], [null], MEMBER]);
    expectBoundedIndexScan(plan, 500, 1);
  });
});
