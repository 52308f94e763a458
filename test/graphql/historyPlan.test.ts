// The history statement reads at most `limit` rows per graph, whatever the graph's history holds, and
// a connection page deep in a long history reads as many rows as the first (keyset, not offset): the
// very SQL the service sent, EXPLAIN ANALYZEd on PostgreSQL over 100,000 runs, with a neighbour's
// runs interleaved in time. One data set for both, built once: it is the file's slow part.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor } from '../../src/data/cursor.js';
import { postgresAvailable } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { microsecondText, micros, wireText } from '../helpers/history.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Shared Hit Blocks'?: number;
  'Shared Read Blocks'?: number;
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
    // The fixture's inserts go through the service's pool: on a busy machine 100,000 rows can take
    // longer than the default 5 s statement_timeout, which is not under test here (test/db/outage.test.ts).
    service = await startTestService('postgres', { env: { DATABASE_STATEMENT_TIMEOUT_MS: '120000' } });
    token = await service.token(MEMBER);
    big = await insertGraph(service.prisma, { slug: 'big_history' });
    medium = await insertGraph(service.prisma, { slug: 'medium_history' });
    await addMember(service.prisma, big.id, MEMBER);
    await addMember(service.prisma, medium.id, MEMBER);
    await insertManyRuns(service.prisma, big.id, 100_000);
    await insertManyRuns(service.prisma, medium.id, 5_000, '2026-07-01T00:00:00Z');
    // Another graph's runs interleaved in time, so the scan must stay within its graph.
    const neighbour = await insertGraph(service.prisma, { slug: 'neighbour' });
    await insertManyRuns(service.prisma, neighbour.id, 20_000, '2026-06-01T00:00:00.5Z');
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
    expect(data.graph.migrations[0].createdAt).toBe('2026-05-31T23:59:59Z');
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

  /** The page and the one statement it cost (graph, membership and page together). */
  async function pageStatement(after: string | null) {
    service.statements.length = 0;
    const result = await graphql(
      service.url,
      `
        query ($after: String) {
          graph(slug: "big_history") {
            migrationsConnection(first: 100, after: $after) {
              edges {
                node {
                  id
                  createdAt
                }
              }
              pageInfo {
                hasNextPage
                endCursor
              }
            }
          }
        }
      `,
      {
        token,
        variables: { after },
      },
    );
    expect(result.errors).toBeUndefined();
    expect(service.statements).toHaveLength(1);
    expect(service.statements[0]).toMatch(/\bgraph_migration_runs\b/);
    return { sql: service.statements[0]!, connection: result.data.graph.migrationsConnection };
  }

  async function explainPage(sql: string, after: { createdAt: string; id: string } | null) {
    const params = [[null], [big.slug], [101], [after?.createdAt ?? null], [after?.id ?? null], MEMBER];
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
    const text = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    return {
      plan: nodes((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan),
      text: text.rows.map((row) => row['QUERY PLAN']).join('\n'),
    };
  }

  function historyScan(plan: PlanNode[]): PlanNode {
    expect(
      plan.filter((node) => /Sort/.test(node['Node Type'])),
      'no Sort node',
    ).toEqual([]);
    // The graphs of this test fit one page, which PostgreSQL rightly reads whole; the history must not be.
    expect(
      plan.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'graph_migration_runs'),
      'no Seq Scan of the history',
    ).toEqual([]);
    const scans = plan.filter((node) => node['Index Name'] === 'ix_graph_migration_runs_history');
    expect(scans).toHaveLength(1);
    const scan = scans[0]!;
    // The position is where the scan starts (an Index Cond), not a Filter over the rows before it.
    expect(scan['Index Cond']).toMatch(/ROW\(created_at, id\) < ROW\(/);
    expect(scan.Filter).toBeUndefined();
    expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
    expect(scan['Actual Loops']).toBe(1);
    return scan;
  }

  it('reads 101 rows for page 1, page 100 and page 999 alike: keyset, not offset', { timeout: 300_000 }, async () => {
    const first = await pageStatement(null);
    let after: string = first.connection.pageInfo.endCursor;
    let hundredth = first;
    let hundredthAfter = after;
    for (let n = 2; n <= 100; n++) {
      hundredthAfter = after;
      hundredth = await pageStatement(after);
      after = hundredth.connection.pageInfo.endCursor;
    }
    expect(hundredth.connection.edges[0].node.createdAt).toBe(
      wireText(microsecondText(micros('2026-06-01T00:00:00Z') - 9_901 * 1_000_000)),
    );
    expect(hundredth.sql).toBe(first.sql);

    // Page 999 (runs 99,801 to 99,900) is not walked to: its position is read from the table.
    const { rows } = await client.query<{ id: string; created_at: string }>(
      `SELECT id::text, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_at
       FROM graph_migration_runs WHERE graph_id = $1 ORDER BY created_at DESC, id DESC OFFSET 99799 LIMIT 1`,
      [big.id],
    );
    const page100 = decodeCursor(hundredthAfter);
    if (!page100.ok) throw new Error(page100.reason);
    const positions = { 'page 1': null, 'page 100': page100.position, 'page 999': { createdAt: rows[0]!.created_at, id: rows[0]!.id } };

    const scans: Record<string, PlanNode> = {};
    for (const [name, position] of Object.entries(positions)) {
      const { plan, text } = await explainPage(first.sql, position);
      console.info(`${name} (100,000 runs, first: 100):\n${text}`);
      scans[name] = historyScan(plan);
    }
    console.info(`history statement:\n${first.sql}`);
    for (const scan of Object.values(scans)) expect(scan['Actual Rows']).toBe(101);
    // And the pages it touches (index descent plus the page's own rows) do not grow with the depth.
    const blocks = (scan: PlanNode) => (scan['Shared Hit Blocks'] ?? 0) + (scan['Shared Read Blocks'] ?? 0);
    expect(blocks(scans['page 100']!)).toBeLessThanOrEqual(blocks(scans['page 1']!) + 4);
    expect(blocks(scans['page 999']!)).toBeLessThanOrEqual(blocks(scans['page 1']!) + 4);
  });
});
