// The history statement reads at most `limit` rows per graph, whatever the graph's history holds,
// and a filtered page reads the runs it selects, not the history it selects them from: the very SQL
// the service sent, EXPLAIN ANALYZEd on PostgreSQL over 100,000 runs with a rare status, with the
// generic plans the service runs. The cross-graph view (Query.migrationRuns) likewise reads the
// runs it returns.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHistoryFilter, statusesArray, type HistoryFilter, type HistoryFilterInput } from '../../src/queries/historyFilter.js';
import { pageParameters, pageStart, type HistoryPage } from '../../src/queries/migrationRuns.js';
import { postgresAvailable } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const SUPERUSER = randomUUID();

const HISTORY_INDEX = 'ix_graph_migration_runs_history';
const STATUS_INDEX = 'ix_graph_migration_runs_status_history';
const ALL_INDEX = 'ix_graph_migration_runs_all_history';
const ALL_STATUS_INDEX = 'ix_graph_migration_runs_all_status_history';

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

function checked(input: HistoryFilterInput): HistoryFilter {
  const result = checkHistoryFilter(input);
  if (!result.ok) throw new Error(result.reason);
  return result.filter;
}

/** Rows a node returned over all its loops (EXPLAIN's Actual Rows is a per-loop average, rounded: exact when the loops agree). */
const rowsRead = (node: PlanNode) => node['Actual Rows'] * node['Actual Loops'];
const blocks = (node: PlanNode) => (node['Shared Hit Blocks'] ?? 0) + (node['Shared Read Blocks'] ?? 0);

describe.skipIf(!postgresAvailable)('history statement plan on postgres', () => {
  let service: TestService;
  let client: pg.Client;
  let token: string;
  let superToken: string;
  let big: { id: string; slug: string };
  let medium: { id: string; slug: string };

  beforeAll(async () => {
    // Loading 100,000 runs into four indexes can take longer than the serving statement timeout on a busy machine.
    service = await startTestService('postgres', { env: { DATABASE_STATEMENT_TIMEOUT_MS: '120000' } });
    token = await service.token(MEMBER);
    superToken = await service.token(SUPERUSER, { isSuperuser: true });
    big = await insertGraph(service.prisma, { slug: 'big_history' });
    medium = await insertGraph(service.prisma, { slug: 'medium_history' });
    await addMember(service.prisma, big.id, MEMBER);
    await addMember(service.prisma, medium.id, MEMBER);
    // 100,000 runs a second apart (newest 2026-05-31T23:59:59Z), 10 of them failed: a rare status,
    // one every 10,000 runs (n = 5,000, 15,000, …, 95,000 seconds before 2026-06-01).
    await insertManyRuns(service.prisma, big.id, 100_000, undefined, { restore: true });
    await service.prisma
      .$executeRaw`UPDATE graph_migration_runs SET status = 'failed' WHERE graph_id = ${big.id}::uuid AND from_version % 10000 = 5000`;
    // 5,000 runs a second apart before 2026-07-01, every 7th failed: the last day's failures, all graphs.
    await insertManyRuns(service.prisma, medium.id, 5_000, '2026-07-01T00:00:00Z', { restore: true });
    await service.prisma
      .$executeRaw`UPDATE graph_migration_runs SET status = 'failed' WHERE graph_id = ${medium.id}::uuid AND from_version % 7 = 0`;
    // The plans the service runs: its connections prepare statements, use generic plans and no JIT.
    client = new pg.Client({ connectionString: service.database.url, options: '-c plan_cache_mode=force_generic_plan -c jit=off' });
    await client.connect();
    await client.query('ANALYZE graphs, graph_members, graph_migration_runs');
  }, 300_000);
  afterAll(async () => {
    await client?.end();
    await service?.close();
  });

  /** Sends the request and returns the one statement it cost, which read graph_migration_runs. */
  async function historyStatement(
    query: string,
    variables: Record<string, unknown>,
    as = token,
    statements = 1,
  ): Promise<{ sql: string; data: any }> {
    service.statements.length = 0;
    const result = await graphql(service.url, query, { token: as, variables });
    expect(result.errors).toBeUndefined();
    expect(service.statements).toHaveLength(statements);
    expect(service.statements[0]).toMatch(/\bgraph_migration_runs\b/);
    return { sql: service.statements[0]!, data: result.data };
  }

  async function explain(sql: string, params: unknown[], label: string): Promise<PlanNode[]> {
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
    const text = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    console.info(`${label}:\n${text.rows.map((row) => row['QUERY PLAN']).join('\n')}`);
    return nodes((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan);
  }

  /**
   * What the graph statement binds, computed as src/queries/graphs.ts computes it: ids, slugs, the
   * viewer of each request, then one array per page expression (src/queries/migrationRuns.ts pageParameters).
   */
  function graphParams(requests: { id?: string; slug?: string; page: HistoryPage }[]): unknown[] {
    const page = pageParameters(requests.map((request) => request.page));
    return [
      requests.map((request) => request.id ?? null),
      requests.map((request) => request.slug ?? null),
      requests.map(() => MEMBER),
      page.limits,
      page.afterCreatedAts,
      page.afterIds,
      page.sinces,
      page.statuses,
    ];
  }

  function expectNoSeqScanOfTheHistory(plan: PlanNode[]) {
    // The graphs of these tests fit one page, which PostgreSQL rightly reads whole; the history must not be.
    expect(
      plan.filter((node) => node['Node Type'] === 'Seq Scan' && node['Relation Name'] === 'graph_migration_runs'),
      'no Seq Scan of the history',
    ).toEqual([]);
    expect(
      plan.filter((node) => /Bitmap/.test(node['Node Type']) && node['Relation Name'] === 'graph_migration_runs'),
      'no bitmap scan of the history',
    ).toEqual([]);
  }

  function scansOf(plan: PlanNode[], index: string): PlanNode[] {
    return plan.filter((node) => /Index/.test(node['Node Type']) && node['Index Name'] === index);
  }

  function expectBoundedIndexScan(plan: PlanNode[], limit: number, graphs: number) {
    // The status branch's merge is in the plan, behind its one-time filter: it never runs.
    expect(
      plan.filter((node) => /Sort/.test(node['Node Type']) && node['Actual Loops'] > 0),
      'no Sort executed',
    ).toEqual([]);
    expectNoSeqScanOfTheHistory(plan);
    const scans = scansOf(plan, HISTORY_INDEX);
    expect(scans).toHaveLength(1);
    const [scan] = scans;
    // Actual Rows is the average per loop; one loop per graph, none reading past its limit.
    expect(scan!['Actual Loops']).toBe(graphs);
    expect(scan!['Actual Rows']).toBeLessThanOrEqual(limit);
    expect(scan!['Rows Removed by Filter'] ?? 0).toBe(0);
    // The status branch is planned too, behind its one-time filter, and never runs.
    for (const statusScan of scansOf(plan, STATUS_INDEX)) expect(statusScan['Actual Loops'], 'status branch never executed').toBe(0);
  }

  /**
   * A status-filtered page: one range of the status index per status and graph, each stopping at
   * `limit`, merged by a sort of at most statuses × limit rows; the unfiltered branch never runs.
   */
  function expectStatusScans(plan: PlanNode[], { limit, statuses, graphs }: { limit: number; statuses: number; graphs: number }) {
    expectNoSeqScanOfTheHistory(plan);
    for (const scan of scansOf(plan, HISTORY_INDEX)) expect(scan['Actual Loops'], 'unfiltered branch never executed').toBe(0);
    const scans = scansOf(plan, STATUS_INDEX);
    expect(scans).toHaveLength(1);
    const scan = scans[0]!;
    expect(scan['Actual Loops']).toBe(statuses * graphs);
    expect(scan['Actual Rows']).toBeLessThanOrEqual(limit);
    expect(scan['Index Cond']).toMatch(/\(status\)::text = wanted\.status/);
    expect(scan.Filter).toBeUndefined();
    expect(scan['Rows Removed by Filter'] ?? 0).toBe(0);
    for (const sort of plan.filter((node) => /Sort/.test(node['Node Type']) && node['Actual Loops'] > 0)) {
      const input = sort.Plans![0]!;
      expect(rowsRead(input), 'the merge sorts what the status scans returned, never the history').toBeLessThanOrEqual(
        statuses * limit * graphs,
      );
    }
    return scan;
  }

  describe('unfiltered pages', () => {
    it('reads at most 10 rows of a 100,000-run history for migrations(limit: 10), with no sort', async () => {
      const { sql, data } = await historyStatement(`query($slug: String!) { graph(slug: $slug) { migrations(limit: 10) { createdAt } } }`, {
        slug: big.slug,
      });
      expect(data.graph.migrations).toHaveLength(10);
      expect(data.graph.migrations[0].createdAt).toBe('2026-05-31T23:59:59Z');
      // One statement reads the graph, the viewer's membership and the page. It binds the requests as
      // eight arrays (graph ids, slugs, the viewer's id, limits, the page positions (created_at, id),
      // null for `migrations`, which always starts at the newest run, `since` and the statuses).
      expect(sql).toMatch(/\$8/);
      expect(sql).not.toMatch(/\$9/);
      const plan = await explain(sql, graphParams([{ slug: big.slug, page: { limit: 10 } }]), 'unfiltered, 100,000 runs, limit 10');
      expectBoundedIndexScan(plan, 10, 1);
      expect(rowsRead(plan[0]!)).toBe(11);
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
      const plan = await explain(
        sql,
        graphParams([
          { id: big.id, page: { limit: 10 } },
          { slug: medium.slug, page: { limit: 10 } },
        ]),
        'unfiltered, two graphs',
      );
      expectBoundedIndexScan(plan, 10, 2);
    });

    it('stays an index range scan at the largest page, 500', async () => {
      const { sql } = await historyStatement(`query($slug: String!) { graph(slug: $slug) { migrations(limit: 500) { id } } }`, {
        slug: big.slug,
      });
      const plan = await explain(sql, graphParams([{ slug: big.slug, page: { limit: 500 } }]), 'unfiltered, limit 500');
      expectBoundedIndexScan(plan, 500, 1);
    });
  });

  describe('filtered pages', () => {
    const FILTERED = `query($slug: String!, $limit: Int, $status: [String!], $since: DateTime, $until: DateTime) {
      graph(slug: $slug) { migrations(limit: $limit, status: $status, since: $since, until: $until) { id status createdAt } }
    }`;

    async function filteredPlan(label: string, limit: number, input: HistoryFilterInput) {
      const variables = { slug: big.slug, limit, status: input.statuses ?? null, since: input.since ?? null, until: input.until ?? null };
      const { sql, data } = await historyStatement(FILTERED, variables);
      const plan = await explain(sql, graphParams([{ slug: big.slug, page: { limit, filter: checked(input) } }]), label);
      // The statement explained is the one that answered: the same runs (plus the graph's own row).
      expect(rowsRead(plan[0]!)).toBe(data.graph.migrations.length + 1);
      return { plan, runs: data.graph.migrations as { id: string; status: string; createdAt: string }[] };
    }

    it('reads only the 10 failed runs of a 100,000-run history for status: ["failed"]', async () => {
      const { plan, runs } = await filteredPlan('status: ["failed"], 100,000 runs of which 10 failed', 50, { statuses: ['failed'] });
      expect(runs).toHaveLength(10);
      expect(new Set(runs.map((run) => run.status))).toEqual(new Set(['failed']));
      const scan = expectStatusScans(plan, { limit: 50, statuses: 1, graphs: 1 });
      expect(rowsRead(scan)).toBe(10);
      // An index descent and the ten rows' pages, not the history's 100,000.
      expect(blocks(scan)).toBeLessThan(40);
    });

    it('stops at `limit` in each status, and an unknown status costs one empty descent', async () => {
      const { plan, runs } = await filteredPlan('status: ["failed", "success", "no_such_status"], limit 5', 5, {
        statuses: ['failed', 'success', 'no_such_status'],
      });
      expect(runs.map((run) => run.status)).toEqual(['success', 'success', 'success', 'success', 'success']);
      expectStatusScans(plan, { limit: 5, statuses: 3, graphs: 1 });
      // success: 5, failed: 5, no_such_status: 0, counted where they meet (the scan's Actual Rows is a rounded average per loop).
      const [merge] = plan.filter((node) => /Sort/.test(node['Node Type']) && node['Actual Loops'] === 1);
      expect(merge!.Plans![0]!['Actual Rows']).toBe(10);
    });

    it('reads a window deep in the history as one range starting at `until`: since and until, no status', async () => {
      // 50,000 seconds back: the window holds 30 runs, the page the newest 10 of them.
      const until = '2026-05-31T10:06:40.000000Z';
      const { plan, runs } = await filteredPlan('since/until deep in a 100,000-run history, limit 10', 10, {
        since: '2026-05-31T10:06:10.000000Z',
        until,
      });
      expect(runs.map((run) => run.createdAt)).toEqual(
        Array.from({ length: 10 }, (_, i) => `2026-05-31T10:06:${String(39 - i).padStart(2, '0')}Z`),
      );
      expectBoundedIndexScan(plan, 10, 1);
      const [scan] = scansOf(plan, HISTORY_INDEX);
      expect(scan!['Index Cond']).toMatch(/ROW\(created_at, id\) < ROW\(/);
      expect(scan!['Index Cond']).toMatch(/created_at >= /);
      expect(blocks(scan!)).toBeLessThan(20);
    });

    it('combines a status and a window in the status ranges', async () => {
      const { plan, runs } = await filteredPlan('status: ["failed"] since/until, limit 10', 10, {
        statuses: ['failed'],
        since: '2026-05-31T00:00:00Z',
        until: '2026-05-31T20:00:00Z',
      });
      // Failed runs are at 5,000 s (22:36:40), 15,000 s (19:50:00), 25,000 s (17:03:20) … before 2026-06-01.
      expect(runs.map((run) => run.createdAt)).toEqual([
        '2026-05-31T19:50:00Z',
        '2026-05-31T17:03:20Z',
        '2026-05-31T14:16:40Z',
        '2026-05-31T11:30:00Z',
        '2026-05-31T08:43:20Z',
        '2026-05-31T05:56:40Z',
        '2026-05-31T03:10:00Z',
        '2026-05-31T00:23:20Z',
      ]);
      const scan = expectStatusScans(plan, { limit: 10, statuses: 1, graphs: 1 });
      expect(scan['Index Cond']).toMatch(/created_at >= /);
      expect(rowsRead(scan)).toBe(8);
    });

    it('keeps one statement and per-graph ranges for filtered pages of several graphs', async () => {
      const { sql, data } = await historyStatement(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Graph { migrations(limit: 3, status: ["failed"]) { id } } } }`,
        {
          r: [
            { __typename: 'Graph', id: big.id },
            { __typename: 'Graph', slug: medium.slug },
          ],
        },
      );
      expect(data._entities.map((graph: { migrations: unknown[] }) => graph.migrations.length)).toEqual([3, 3]);
      const filter = checked({ statuses: ['failed'] });
      const plan = await explain(
        sql,
        graphParams([
          { id: big.id, page: { limit: 3, filter } },
          { slug: medium.slug, page: { limit: 3, filter } },
        ]),
        'status: ["failed"], two graphs',
      );
      const scan = expectStatusScans(plan, { limit: 3, statuses: 1, graphs: 2 });
      expect(rowsRead(scan)).toBe(6);
    });
  });

  describe('every graph (Query.migrationRuns)', () => {
    const ALL = `query($status: [String!], $since: DateTime, $first: Int) {
      migrationRuns(status: $status, since: $since, first: $first) { edges { node { id status createdAt graphId } } pageInfo { hasNextPage } }
    }`;

    /** What the cross-graph statement binds (src/queries/migrationRuns.ts runsOfAllGraphs): the page as one row. */
    function allParams(page: HistoryPage): unknown[] {
      const start = pageStart(page);
      return [page.limit, start?.createdAt ?? null, start?.id ?? null, page.filter?.since ?? null, statusesArray(page.filter)];
    }

    it('reads the 101 runs of "all failed runs of the last day, first 100", from the status index', async () => {
      const since = '2026-06-30T00:00:00Z';
      // No run's `graph` is selected: one statement.
      const { sql, data } = await historyStatement(ALL, { status: ['failed'], since, first: 100 }, superToken, 1);
      const edges = data.migrationRuns.edges as { node: { status: string; createdAt: string; graphId: string } }[];
      expect(edges).toHaveLength(100);
      expect(data.migrationRuns.pageInfo.hasNextPage).toBe(true);
      expect(edges.every(({ node }) => node.status === 'failed' && node.createdAt >= since && node.graphId === medium.id)).toBe(true);
      expect(sql).toMatch(/\$5/);
      expect(sql).not.toMatch(/\$6/);
      const plan = await explain(
        sql,
        allParams({ limit: 101, filter: checked({ statuses: ['failed'], since }) }),
        'all graphs, failed since a day',
      );
      expectNoSeqScanOfTheHistory(plan);
      for (const scan of scansOf(plan, ALL_INDEX)) expect(scan['Actual Loops'], 'unfiltered branch never executed').toBe(0);
      const scans = scansOf(plan, ALL_STATUS_INDEX);
      expect(scans).toHaveLength(1);
      expect(scans[0]!['Index Cond']).toMatch(/\(status\)::text = wanted\.status/);
      expect(scans[0]!['Index Cond']).toMatch(/created_at >= /);
      expect(rowsRead(scans[0]!), 'the rows it returns and the one that says another page follows').toBe(101);
      expect(scans[0]!['Rows Removed by Filter'] ?? 0).toBe(0);
      expect(rowsRead(plan[0]!)).toBe(101);
    });

    it('reads the 101 newest runs of every graph without a filter, from the all-graphs index', async () => {
      const { sql, data } = await historyStatement(ALL, { first: 100 }, superToken, 1);
      expect(data.migrationRuns.edges).toHaveLength(100);
      const plan = await explain(sql, allParams({ limit: 101 }), 'all graphs, unfiltered');
      expectNoSeqScanOfTheHistory(plan);
      for (const scan of scansOf(plan, ALL_STATUS_INDEX)) expect(scan['Actual Loops'], 'status branch never executed').toBe(0);
      const scans = scansOf(plan, ALL_INDEX);
      expect(scans).toHaveLength(1);
      expect(rowsRead(scans[0]!)).toBe(101);
      expect(plan.filter((node) => /Sort/.test(node['Node Type']) && node['Actual Loops'] > 0)).toEqual([]);
    });
  });
});
