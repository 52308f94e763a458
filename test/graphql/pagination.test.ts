// Graph.migrationsConnection: keyset pages on (created_at, id). Walking every page visits every run
// exactly once and in order (ties to the microsecond included), runs recorded during a walk never
// make it skip or repeat one, cursors are checked, totalCount costs a statement only when selected,
// and on PostgreSQL a page deep in a 100,000-run history reads as many rows as the first.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from '../../src/domain/cursor.js';
import { DATABASE_KINDS, postgresAvailable } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns, insertRuns, type GraphFixture } from '../helpers/fixtures.js';
import {
  cursorOf,
  databaseText,
  inHistoryOrder,
  insertGraphWithRuns,
  microsecondText,
  micros,
  newestFirst,
  onTheWire,
  pageEndsInsideTies,
  plannedHistory,
  wireText,
  type PlannedRun,
} from '../helpers/history.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();

const PAGE = `query($slug: String!, $first: Int, $after: String) {
  graph(slug: $slug) {
    migrationsConnection(first: $first, after: $after) {
      edges { cursor node { id createdAt } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
}`;

interface Page {
  edges: { cursor: string; node: PlannedRun }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; startCursor: string | null; endCursor: string | null };
}

const cursorPayload = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));

describe.each(DATABASE_KINDS)('Graph.migrationsConnection on %s', (kind) => {
  let service: TestService;
  let token: string;
  let walked: GraphFixture;
  let walkedOrder: PlannedRun[];
  let short: GraphFixture;
  let shortOrder: PlannedRun[];

  const graphWithRuns = (slug: string, runs: PlannedRun[]) => insertGraphWithRuns(service.prisma, slug, MEMBER, runs);

  async function page(slug: string, first: number | null | undefined, after?: string | null): Promise<Page> {
    const result = await graphql(service.url, PAGE, { token, variables: { slug, first, after } });
    expect(result.errors).toBeUndefined();
    // The wire drops a whole second's fraction (pydantic's format); compared here as the database's text.
    const connection = result.data.graph.migrationsConnection as Page;
    for (const edge of connection.edges) edge.node = { ...edge.node, createdAt: databaseText(edge.node.createdAt) };
    return connection;
  }

  /** Every page from the newest run, following endCursor; checks each page's pageInfo on the way. */
  async function walk(slug: string, first: number, between?: (page: Page) => Promise<void>): Promise<PlannedRun[]> {
    const visited: PlannedRun[] = [];
    let after: string | null = null;
    for (;;) {
      const current = await page(slug, first, after);
      visited.push(...current.edges.map((edge) => edge.node));
      const { pageInfo, edges } = current;
      expect(pageInfo.hasPreviousPage).toBe(false);
      expect(pageInfo.startCursor).toBe(edges[0]?.cursor ?? null);
      expect(pageInfo.endCursor).toBe(edges.at(-1)?.cursor ?? null);
      if (!pageInfo.hasNextPage) return visited;
      expect(edges).toHaveLength(first);
      await between?.(current);
      after = pageInfo.endCursor;
    }
  }

  beforeAll(async () => {
    service = await startTestService(kind);
    token = await service.token(MEMBER);
    const runs = plannedHistory(2_500);
    walked = await graphWithRuns('walked', runs);
    walkedOrder = inHistoryOrder(runs);
    // One run a page is a request per run: 120 runs hold the same ties and 1 µs steps as 2,500.
    const shortRuns = plannedHistory(120, '2026-06-01T00:00:00Z', 2);
    short = await graphWithRuns('walked_short', shortRuns);
    shortOrder = inHistoryOrder(shortRuns);
  });
  afterAll(() => service?.close());

  describe('walking every page of a 2,500-run history', () => {
    it('holds runs sharing a created_at to the microsecond, and instants a microsecond apart', () => {
      const instants = new Set(walkedOrder.map((run) => run.createdAt));
      expect(instants.size).toBeLessThan(walkedOrder.length / 2);
      const sameMillisecond = walkedOrder.filter(
        (run, i) =>
          i > 0 &&
          run.createdAt !== walkedOrder[i - 1]!.createdAt &&
          run.createdAt.slice(0, 23) === walkedOrder[i - 1]!.createdAt.slice(0, 23),
      );
      expect(sameMillisecond.length).toBeGreaterThan(100);
    });

    it.each([100, 500])('with first: %i visits every run of 2,500 exactly once, newest first', { timeout: 300_000 }, async (first) => {
      const visited = await walk(walked.slug, first);
      expect(visited.length).toBe(walkedOrder.length);
      expect(visited).toEqual(walkedOrder);
    });

    // Small pages cost a request each: a 120-run history of the same structure, whose pages of 1 and 7
    // end inside groups of runs sharing an instant (where an off-by-one in the keyset shows).
    it.each([1, 7])('with first: %i visits every run of 120 exactly once, newest first', { timeout: 300_000 }, async (first) => {
      expect(pageEndsInsideTies(shortOrder, first)).toBeGreaterThanOrEqual(10);
      const visited = await walk(short.slug, first);
      expect(visited.length).toBe(shortOrder.length);
      expect(visited).toEqual(shortOrder);
    });

    it('needs no empty page after a last page that is exactly full', async () => {
      const last = await page(walked.slug, 500, encodeCursor(walkedOrder[1_999]!));
      expect(last.edges).toHaveLength(500);
      expect(last.pageInfo.hasNextPage).toBe(false);
    });

    it('continues right after any edge of a page, not only after its end', async () => {
      const first = await page(walked.slug, 10);
      const next = await page(walked.slug, 10, first.edges[3]!.cursor);
      expect(next.edges.map((edge) => edge.node)).toEqual(walkedOrder.slice(4, 14));
    });

    it('agrees with migrations(limit) on the same runs', async () => {
      const result = await graphql(
        service.url,
        `
          query ($slug: String!) {
            graph(slug: $slug) {
              migrations(limit: 37) {
                id
                createdAt
              }
              migrationsConnection(first: 37) {
                edges {
                  node {
                    id
                    createdAt
                  }
                }
              }
            }
          }
        `,
        { token, variables: { slug: walked.slug } },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data.graph.migrationsConnection.edges.map((edge: { node: PlannedRun }) => edge.node)).toEqual(
        result.data.graph.migrations,
      );
      expect(result.data.graph.migrations).toEqual(walkedOrder.slice(0, 37).map(onTheWire));
    });

    it('defaults to 100 runs a page', async () => {
      const current = await page(walked.slug, undefined);
      expect(current.edges.map((edge) => edge.node)).toEqual(walkedOrder.slice(0, 100));
      expect(current.pageInfo.hasNextPage).toBe(true);
    });
  });

  describe('runs recorded while a client walks', () => {
    it('never make it skip or repeat a run that existed when it started', { timeout: 120_000 }, async () => {
      const initial = plannedHistory(300, '2026-06-01T00:00:00Z', 7);
      const graph = await graphWithRuns('moving', initial);
      let newest = micros('2026-07-01T00:00:00Z');
      let oldest = micros('2026-01-01T00:00:00Z');
      const added: PlannedRun[] = [];
      const visited = await walk(graph.slug, 7, async (current) => {
        // Around the walk's position: newer than all, older than all, and at the very instant of the
        // page's last run on both sides of its id, where an off-by-one or a lost microsecond would show.
        const end = current.edges.at(-1)!.node;
        const sameInstant = [randomUUID(), randomUUID()].map((id) => ({ id, createdAt: end.createdAt }));
        const runs = [
          { id: randomUUID(), createdAt: microsecondText((newest += 1)) },
          { id: randomUUID(), createdAt: microsecondText((oldest -= 1)) },
          ...sameInstant,
        ];
        added.push(...runs);
        await insertRuns(service.prisma, graph.id, runs);
      });
      const ids = visited.map((run) => run.id);
      expect(new Set(ids).size, 'no run visited twice').toBe(ids.length);
      // Every run that existed at the start, once each, in order; new runs only where the walk had not yet been.
      expect(visited.filter((run) => initial.some((original) => original.id === run.id))).toEqual(inHistoryOrder(initial));
      for (let i = 1; i < visited.length; i++) expect(newestFirst(visited[i - 1]!, visited[i]!)).toBe(-1);
      expect(added.length).toBeGreaterThan(100);
      expect(visited.length).toBeGreaterThan(initial.length);
    });
  });

  describe('cursors', () => {
    let cursor: string;

    beforeAll(async () => {
      cursor = (await page(walked.slug, 3)).pageInfo.endCursor!;
    });

    it('are base64url of a versioned payload with the exact microsecond timestamp and the id', () => {
      expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(cursorPayload(cursor)).toEqual({ v: 1, t: walkedOrder[2]!.createdAt, i: walkedOrder[2]!.id });
    });

    const payload = (overrides: Record<string, unknown>) =>
      cursorOf({ v: 1, t: '2026-05-31T23:59:59.999999Z', i: randomUUID(), ...overrides });
    const refused: [string, () => string][] = [
      ['empty', () => ''],
      ['not base64url', () => 'not a cursor!'],
      ['standard base64 with padding', () => Buffer.from('{"v":1}').toString('base64')],
      ['base64url of something that is not JSON', () => Buffer.from('hello').toString('base64url')],
      ['a JSON array', () => cursorOf([1, '2026-05-31T23:59:59.999999Z', randomUUID()])],
      ['JSON null', () => cursorOf(null)],
      ['tampered: one character changed', () => `${cursor[0] === 'f' ? 'g' : 'f'}${cursor.slice(1)}`],
      ['tampered: truncated', () => cursor.slice(0, -5)],
      ['version 2', () => payload({ v: 2 })],
      ['no version', () => payload({ v: undefined })],
      ['version "1" as a string', () => payload({ v: '1' })],
      ['an extra field', () => payload({ g: randomUUID() })],
      ['a millisecond timestamp (what a JS Date would give)', () => payload({ t: '2026-05-31T23:59:59.999Z' })],
      ['a timestamp with an offset', () => payload({ t: '2026-05-31T23:59:59.999999+02:00' })],
      ['an impossible date', () => payload({ t: '2026-02-30T00:00:00.000000Z' })],
      ['hour 24', () => payload({ t: '2026-05-31T24:00:00.000000Z' })],
      ['year 0', () => payload({ t: '0000-01-01T00:00:00.000000Z' })],
      ['a number as timestamp', () => payload({ t: 1780272000 })],
      ['an id that is not a UUID', () => payload({ i: 'not-a-uuid' })],
      ['an SQL injection attempt', () => payload({ i: "'); DROP TABLE graph_migration_runs; --" })],
      ['far too long', () => cursorOf({ v: 1, t: '2026-05-31T23:59:59.999999Z', i: randomUUID(), pad: 'x'.repeat(500) })],
    ];

    it.each(refused)('refuses a cursor that is %s with BAD_USER_INPUT naming `after`', async (_what, make) => {
      const result = await graphql(service.url, PAGE, { token, variables: { slug: walked.slug, first: 5, after: make() } });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors).toHaveLength(1);
      const [error] = result.errors!;
      expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'after' });
      expect(error!.message).toMatch(/cursor/i);
      expect(error!.message).toMatch(/previous page/);
      expect(error!.path).toEqual(['graph', 'migrationsConnection']);
    });

    it('accepts an uppercase id and a cursor with its fields in another order (a position, nothing more)', async () => {
      const position = walkedOrder[9]!;
      for (const after of [
        cursorOf({ v: 1, t: position.createdAt, i: position.id.toUpperCase() }),
        cursorOf({ i: position.id, t: position.createdAt, v: 1 }),
      ]) {
        expect((await page(walked.slug, 3, after)).edges.map((edge) => edge.node)).toEqual(walkedOrder.slice(10, 13));
      }
    });

    it('from another graph continue by position in this graph: the runs after that (created_at, id)', async () => {
      const other = await graphWithRuns('other_graph', plannedHistory(40, '2026-05-31T23:59:59.998Z', 3));
      const foreign = (await page(other.slug, 13)).pageInfo.endCursor!;
      const { t, i } = cursorPayload(foreign);
      const expected = walkedOrder.filter((run) => newestFirst(run, { createdAt: t, id: i }) > 0).slice(0, 20);
      expect(expected.length).toBe(20);
      expect((await page(walked.slug, 20, foreign)).edges.map((edge) => edge.node)).toEqual(expected);
    });

    it('after the oldest run give an empty last page', async () => {
      const current = await page(walked.slug, 10, encodeCursor(walkedOrder.at(-1)!));
      expect(current).toEqual({ edges: [], pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null } });
    });

    it('of a run since deleted still continue from its position', async () => {
      const graph = await graphWithRuns('deleting', plannedHistory(20, '2026-05-01T00:00:00Z', 5));
      const order = inHistoryOrder((await page(graph.slug, 20)).edges.map((edge) => edge.node));
      const first = await page(graph.slug, 5);
      await service.prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE id = ${first.edges[4]!.node.id}::uuid`;
      expect((await page(graph.slug, 5, first.pageInfo.endCursor)).edges.map((edge) => edge.node)).toEqual(order.slice(5, 10));
    });
  });

  describe('first', () => {
    it.each([0, -1, 501, null])('refuses first: %s with BAD_USER_INPUT naming `first` and its bounds', async (first) => {
      const result = await graphql(service.url, PAGE, { token, variables: { slug: walked.slug, first } });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'first', min: 1, max: 500 });
    });

    it('accepts 1 and 500', async () => {
      expect((await page(walked.slug, 1)).edges).toHaveLength(1);
      expect((await page(walked.slug, 500)).edges).toHaveLength(500);
    });
  });

  describe('an empty history', () => {
    it('is an empty page with null cursors and a total of 0', async () => {
      const graph = await graphWithRuns('never_migrated', []);
      const result = await graphql(
        service.url,
        `
          query ($slug: String!) {
            graph(slug: $slug) {
              migrationsConnection {
                totalCount
                edges {
                  cursor
                }
                pageInfo {
                  hasNextPage
                  hasPreviousPage
                  startCursor
                  endCursor
                }
              }
            }
          }
        `,
        { token, variables: { slug: graph.slug } },
      );
      expect(result).toEqual({
        data: {
          graph: {
            migrationsConnection: {
              totalCount: 0,
              edges: [],
              pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: null, endCursor: null },
            },
          },
        },
      });
    });
  });

  describe('statements', () => {
    const graphs: { graph: GraphFixture; order: PlannedRun[] }[] = [];
    const isCount = (sql: string) => /count\(\*\)/i.test(sql);
    const isHistory = (sql: string) => /\bgraph_migration_runs\b/.test(sql) && !isCount(sql);

    async function measured(query: string, variables: Record<string, unknown>) {
      service.statements.length = 0;
      const result = await graphql(service.url, query, { token, variables });
      expect(result.errors).toBeUndefined();
      return { data: result.data, statements: [...service.statements] };
    }

    beforeAll(async () => {
      for (let i = 0; i < 40; i++) {
        const runs = plannedHistory(i % 9, '2026-03-01T00:00:00Z', i + 11);
        graphs.push({ graph: await graphWithRuns(`batch_${String(i).padStart(2, '0')}`, runs), order: inHistoryOrder(runs) });
      }
    });

    const ENTITIES = `query($r: [_Any!]!, $after: String) {
      _entities(representations: $r) {
        ... on Graph {
          id
          newest: migrations(limit: 2) { id }
          head: migrationsConnection(first: 3) { edges { node { id } } pageInfo { hasNextPage } }
          tail: migrationsConnection(first: 4, after: $after) { edges { node { id } } }
        }
      }
    }`;
    const WITH_TOTAL = ENTITIES.replace('pageInfo { hasNextPage } }', 'pageInfo { hasNextPage } totalCount }');
    const representations = (n: number) =>
      graphs
        .slice(0, n)
        .map(({ graph }, i) => (i % 2 === 0 ? { __typename: 'Graph', id: graph.id } : { __typename: 'Graph', slug: graph.slug }));
    const position = { createdAt: '2026-02-28T23:59:59.000000Z', id: 'ffffffff-ffff-4fff-bfff-ffffffffffff' };

    const counts = new Map<number, number>();

    it.each([1, 10, 40])(
      'connection pages of %i graphs in _entities cost one history statement, whatever the mix of fields and cursors',
      async (n) => {
        const { data, statements } = await measured(ENTITIES, { r: representations(n), after: encodeCursor(position) });
        expect(data._entities).toEqual(
          graphs.slice(0, n).map(({ graph, order }) => ({
            id: graph.id,
            newest: order.slice(0, 2).map(({ id }) => ({ id })),
            head: { edges: order.slice(0, 3).map(({ id }) => ({ node: { id } })), pageInfo: { hasNextPage: order.length > 3 } },
            tail: {
              edges: order
                .filter((run) => newestFirst(run, position) > 0)
                .slice(0, 4)
                .map(({ id }) => ({ node: { id } })),
            },
          })),
        );
        expect(statements.filter(isHistory)).toHaveLength(1);
        expect(statements.filter(isCount), 'no count unless totalCount is selected').toHaveLength(0);
        expect(statements.length).toBeLessThanOrEqual(2);
        counts.set(n, statements.length);
      },
    );

    it('costs the same number of statements for 1, 10 and 40 graphs', () => {
      expect(counts.size).toBe(3);
      expect(new Set(counts.values()).size).toBe(1);
    });

    it.each([1, 40])('totalCount for %i graphs costs exactly one more statement, one count for every graph', async (n) => {
      const { data, statements } = await measured(WITH_TOTAL, { r: representations(n), after: encodeCursor(position) });
      expect(data._entities.map((graph: { head: { totalCount: number } }) => graph.head.totalCount)).toEqual(
        graphs.slice(0, n).map(({ order }) => order.length),
      );
      expect(statements.filter(isCount)).toHaveLength(1);
      // One statement for the batch: the graphs are bound as one array, not one statement each.
      expect(statements.filter(isCount)[0]).toMatch(/unnest\(/i);
      expect(statements.filter(isHistory)).toHaveLength(1);
      expect(statements.length).toBeLessThanOrEqual(3);
    });

    it('totalCount counts the whole history, not the page', async () => {
      const { data } = await measured(
        `query($slug: String!) { graph(slug: $slug) { migrationsConnection(first: 1) { totalCount edges { cursor } } } }`,
        {
          slug: walked.slug,
        },
      );
      expect(data.graph.migrationsConnection.totalCount).toBe(2_500);
      expect(data.graph.migrationsConnection.edges).toHaveLength(1);
    });

    it('a page of one graph costs at most two statements without totalCount', async () => {
      const { statements } = await measured(PAGE, { slug: walked.slug, first: 10, after: encodeCursor(walkedOrder[99]!) });
      expect(statements.filter(isHistory)).toHaveLength(1);
      expect(statements.filter(isCount)).toHaveLength(0);
      expect(statements.length).toBeLessThanOrEqual(2);
    });
  });
});

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

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

describe.skipIf(!postgresAvailable)('connection page plan on postgres, 100,000 runs', () => {
  let service: TestService;
  let client: pg.Client;
  let token: string;
  let graph: GraphFixture;

  beforeAll(async () => {
    // Loading 100,000 runs into four indexes can take longer than the serving statement timeout on a busy machine.
    service = await startTestService('postgres', { env: { DATABASE_STATEMENT_TIMEOUT_MS: '120000' } });
    token = await service.token(MEMBER);
    graph = await insertGraph(service.prisma, { slug: 'long_history' });
    await addMember(service.prisma, graph.id, MEMBER);
    await insertManyRuns(service.prisma, graph.id, 100_000, undefined, { restore: true });
    // Another graph's runs interleaved in time, so the scan must stay within its graph.
    const neighbour = await insertGraph(service.prisma, { slug: 'neighbour' });
    await insertManyRuns(service.prisma, neighbour.id, 20_000, '2026-06-01T00:00:00.5Z', { restore: true });
    // The plans the service runs: its connections prepare statements and use generic plans.
    client = new pg.Client({ connectionString: service.database.url, options: '-c plan_cache_mode=force_generic_plan -c jit=off' });
    await client.connect();
    await client.query('ANALYZE graphs, graph_members, graph_migration_runs');
  }, 300_000);
  afterAll(async () => {
    await client?.end();
    await service?.close();
  });

  /** The page and the one statement it cost (graph, membership and page together). */
  async function pageStatement(after: string | null) {
    service.statements.length = 0;
    const result = await graphql(
      service.url,
      `
        query ($after: String) {
          graph(slug: "long_history") {
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

  async function explain(sql: string, after: { createdAt: string; id: string } | null, statuses: string | null = null) {
    // Graph ids, slugs, the viewers, limits, positions, `since` and statuses (JSON text) (src/queries/graphs.ts).
    const params = [[null], [graph.slug], [MEMBER], [101], [after?.createdAt ?? null], [after?.id ?? null], [null], [statuses]];
    const { rows } = await client.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) ${sql}`, params);
    const text = await client.query(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, params);
    return {
      plan: nodes((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan),
      text: text.rows.map((row) => row['QUERY PLAN']).join('\n'),
    };
  }

  function historyScan(plan: PlanNode[]): PlanNode {
    // The status filter's merge is planned behind a one-time filter and never runs for an unfiltered page.
    expect(
      plan.filter((node) => /Sort/.test(node['Node Type']) && node['Actual Loops'] > 0),
      'no Sort executed',
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
      [graph.id],
    );
    const page100 = decodeCursor(hundredthAfter);
    if (!page100.ok) throw new Error(page100.reason);
    const positions = { 'page 1': null, 'page 100': page100.position, 'page 999': { createdAt: rows[0]!.created_at, id: rows[0]!.id } };

    const scans: Record<string, PlanNode> = {};
    for (const [name, position] of Object.entries(positions)) {
      const { plan, text } = await explain(first.sql, position);
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

  // The statistics here know one status (every run `success`): a generic plan cannot tell a status
  // filter is selective, and the graph's history filtered on status looked as good as the status
  // index. Three runs turn `failed` after ANALYZE, a status its sample never saw.
  it('reads only the runs of a status the statistics never saw, at any depth', { timeout: 120_000 }, async () => {
    await service.prisma.$executeRaw`
      UPDATE graph_migration_runs SET status = 'failed' WHERE graph_id = ${graph.id}::uuid AND from_version IN (10, 50000, 99990)`;
    service.statements.length = 0;
    const result = await graphql(
      service.url,
      `
        {
          graph(slug: "long_history") {
            migrationsConnection(first: 100, status: ["failed"]) {
              edges {
                node {
                  id
                  createdAt
                }
              }
              pageInfo {
                endCursor
              }
            }
          }
        }
      `,
      { token },
    );
    expect(result.errors).toBeUndefined();
    const edges = result.data.graph.migrationsConnection.edges as { node: { id: string; createdAt: string } }[];
    expect(edges.map(({ node }) => node.createdAt)).toEqual(
      [10, 50000, 99990].map((seconds) => wireText(microsecondText(micros('2026-06-01T00:00:00Z') - seconds * 1_000_000))),
    );
    const sql = service.statements[0]!;
    for (const after of [null, edges[0]!.node]) {
      const { plan, text } = await explain(sql, after, '["failed"]');
      console.info(`status: ["failed"] unseen by the statistics, after ${after ? 'the first' : 'nothing'}:\n${text}`);
      expect(plan.filter((node) => node['Index Name'] === 'ix_graph_migration_runs_history').map((node) => node['Actual Loops'])).toEqual([
        0,
      ]);
      const scans = plan.filter((node) => node['Index Name'] === 'ix_graph_migration_runs_status_history');
      expect(scans).toHaveLength(1);
      expect(scans[0]!['Actual Rows']).toBe(after ? 2 : 3);
      expect(scans[0]!['Rows Removed by Filter'] ?? 0).toBe(0);
      expect((scans[0]!['Shared Hit Blocks'] ?? 0) + (scans[0]!['Shared Read Blocks'] ?? 0)).toBeLessThan(20);
    }
  });
});
