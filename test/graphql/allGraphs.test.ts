// Query.migrationRuns: every graph's runs newest first, for superusers only. Who may ask
// (UNAUTHENTICATED, FORBIDDEN, before any SQL), deleted graphs left out, the order across graphs
// to the microsecond and id, filters and totalCount, a walk that neither skips nor repeats while
// runs are recorded in several graphs concurrently, cursors bound to their filters, and each run's
// `graph` read for the whole page in one more statement.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrismaClient } from '../../src/database/client.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, type GraphFixture } from '../helpers/fixtures.js';
import { databaseText, selectedRuns, microsecondText, micros, newestFirst, plannedHistory, type PlannedRun } from '../helpers/history.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const SUPERUSER = randomUUID();
const MEMBER = randomUUID();

interface Run extends PlannedRun {
  status: string;
  graphId: string;
}

interface Filter {
  status?: string[] | null;
  since?: string | null;
  until?: string | null;
}

const STATUSES = ['success', 'success', 'failed', 'running', 'skipped', 'pending'];

async function insertRunsOf(prisma: PrismaClient, runs: readonly Run[]): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
    SELECT r.id, r.graph_id, 1, 2, 'm_' || r.id, r.status, r.created_at
    FROM unnest(${runs.map((run) => run.id)}::uuid[], ${runs.map((run) => run.graphId)}::uuid[],
                ${runs.map((run) => run.status)}::text[], ${runs.map((run) => run.createdAt)}::timestamptz[])
      AS r(id, graph_id, status, created_at)`;
}

/** What the view shows for a filter: the specification (timestamps in the database's form). */
const selected = (runs: readonly Run[], filter: Filter): Run[] => selectedRuns(runs, filter);

const PAGE = `query($first: Int, $after: String, $status: [String!], $since: DateTime, $until: DateTime) {
  migrationRuns(first: $first, after: $after, status: $status, since: $since, until: $until) {
    edges { cursor node { id graphId status createdAt } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}`;

interface Page {
  edges: { cursor: string; node: Run }[];
  pageInfo: { hasNextPage: boolean; hasPreviousPage: boolean; endCursor: string | null };
}

describe.each(DATABASE_KINDS)('Query.migrationRuns on %s', (kind) => {
  let service: TestService;
  let superToken: string;
  const graphs: GraphFixture[] = [];
  let deleted: GraphFixture;
  /** The runs of every served graph. */
  let served: Run[];
  let deletedRuns: Run[];

  async function page(first: number, after: string | null, filter: Filter = {}): Promise<Page> {
    const result = await graphql(service.url, PAGE, { token: superToken, variables: { first, after, ...filter } });
    expect(result.errors).toBeUndefined();
    // The wire drops a whole second's fraction (pydantic's format); compared here as the database's text.
    const connection = result.data.migrationRuns as Page;
    return {
      ...connection,
      edges: connection.edges.map((edge) => ({ ...edge, node: { ...edge.node, createdAt: databaseText(edge.node.createdAt) } })),
    };
  }

  beforeAll(async () => {
    service = await startTestService(kind);
    superToken = await service.token(SUPERUSER, { isSuperuser: true });
    // Three graphs whose histories interleave and share instants to the microsecond (the same
    // planned instants in each), and a deleted graph with the newest runs of all.
    served = [];
    for (let i = 0; i < 3; i++) {
      const graph = await insertGraph(service.prisma, { slug: `graph_${i}` });
      await addMember(service.prisma, graph.id, MEMBER);
      graphs.push(graph);
      const runs = plannedHistory(150, '2026-06-01T00:00:00Z', 3 + (i % 2)).map((run, n) => ({
        ...run,
        graphId: graph.id,
        status: STATUSES[(n * 7 + i) % STATUSES.length]!,
      }));
      served.push(...runs);
    }
    await insertRunsOf(service.prisma, served);
    deleted = await insertGraph(service.prisma, { slug: 'deleted_graph', status: 'deleted' });
    deletedRuns = plannedHistory(40, '2026-06-02T00:00:00Z', 9).map((run) => ({ ...run, graphId: deleted.id, status: 'failed' }));
    await insertRunsOf(service.prisma, deletedRuns);
  });
  afterAll(() => service?.close());

  describe('who may ask', () => {
    it.each([
      ['no token', undefined, 'UNAUTHENTICATED', 'Not authenticated: send a bearer token in the Authorization header'],
      [
        'an invalid token',
        'not.a.jwt',
        'UNAUTHENTICATED',
        'Invalid or expired token: send a valid bearer token in the Authorization header',
      ],
    ])('refuses %s with %s, before any SQL', async (_who, token, code, message) => {
      service.statements.length = 0;
      const result = await graphql(service.url, PAGE, { token, variables: { first: 5 } });
      expect(result).toEqual({
        data: null,
        errors: [{ message, locations: [expect.any(Object)], path: ['migrationRuns'], extensions: { code } }],
      });
      expect(service.statements).toEqual([]);
    });

    it('refuses a user who is not a superuser, a member of every graph included, with FORBIDDEN before any SQL', async () => {
      service.statements.length = 0;
      const result = await graphql(service.url, PAGE, { token: await service.token(MEMBER), variables: { first: 5 } });
      expect(result).toEqual({
        data: null,
        errors: [
          {
            message: "Only superusers may read every graph's runs: query one graph's history through Query.graph instead",
            locations: [expect.any(Object)],
            path: ['migrationRuns'],
            extensions: { code: 'FORBIDDEN' },
          },
        ],
      });
      expect(service.statements).toEqual([]);
    });

    it('refuses others before looking at their arguments', async () => {
      const result = await graphql(service.url, PAGE, { token: await service.token(MEMBER), variables: { first: 0, after: 'junk' } });
      expect(result.errors![0]!.extensions!.code).toBe('FORBIDDEN');
    });

    it('answers a superuser', async () => {
      expect((await page(5, null)).edges).toHaveLength(5);
    });
  });

  describe('the list', () => {
    it('holds every served graph’s runs newest first, ties across graphs by id, deleted graphs left out', async () => {
      const visited: Run[] = [];
      let after: string | null = null;
      for (;;) {
        const current = await page(100, after);
        visited.push(...current.edges.map((edge) => edge.node));
        expect(current.pageInfo.hasPreviousPage).toBe(false);
        if (!current.pageInfo.hasNextPage) break;
        after = current.pageInfo.endCursor;
      }
      expect(visited).toEqual(selected(served, {}));
      expect(visited.some((run) => run.graphId === deleted.id)).toBe(false);
      // The histories do interleave: consecutive runs from different graphs at one instant.
      expect(
        visited.some((run, i) => i > 0 && run.createdAt === visited[i - 1]!.createdAt && run.graphId !== visited[i - 1]!.graphId),
      ).toBe(true);
    });

    it.each<[string, Filter]>([
      ['status', { status: ['failed', 'running'] }],
      ['status matching only the deleted graph’s newer runs', { status: ['failed'], since: '2026-06-01T00:00:00.000000Z' }],
      ['an unknown status', { status: ['no_such_status'] }],
      ['since', { since: '2026-05-31T23:59:00.000000Z' }],
      ['until', { until: '2026-05-31T23:59:00.000000Z' }],
      [
        'status, since and until',
        { status: ['skipped', 'pending'], since: '2026-05-31T23:58:00.000000Z', until: '2026-05-31T23:59:30.000000Z' },
      ],
    ])('filters by %s, and totalCount counts what it selects', async (_what, filter) => {
      const expected = selected(served, filter);
      const visited: Run[] = [];
      let after: string | null = null;
      for (;;) {
        const result: { data?: { migrationRuns: Page & { totalCount: number } }; errors?: unknown[] } = await graphql(
          service.url,
          PAGE.replace('pageInfo {', 'totalCount pageInfo {'),
          {
            token: superToken,
            variables: { first: 17, after, ...filter },
          },
        );
        expect(result.errors).toBeUndefined();
        const current = result.data!.migrationRuns;
        expect(current.totalCount).toBe(expected.length);
        visited.push(...current.edges.map((edge) => ({ ...edge.node, createdAt: databaseText(edge.node.createdAt) })));
        if (!current.pageInfo.hasNextPage) break;
        after = current.pageInfo.endCursor;
      }
      expect(visited).toEqual(expected);
    });

    it('counts every served run without a filter', async () => {
      const result = await graphql(
        service.url,
        `
          {
            migrationRuns(first: 1) {
              totalCount
            }
          }
        `,
        { token: superToken },
      );
      expect(result).toEqual({ data: { migrationRuns: { totalCount: served.length } } });
    });

    it.each([0, 501])('refuses first: %i with BAD_USER_INPUT naming first', async (first) => {
      const result = await graphql(service.url, PAGE, { token: superToken, variables: { first } });
      expect(result.data).toBeNull();
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'first', min: 1, max: 500 });
    });

    it('refuses since later than until', async () => {
      const result = await graphql(service.url, PAGE, {
        token: superToken,
        variables: { first: 5, since: '2026-06-02T00:00:00Z', until: '2026-06-01T00:00:00Z' },
      });
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'since' });
    });
  });

  describe('cursors', () => {
    const FILTER = { status: ['failed'] };

    it('are bound to their filter', async () => {
      const cursor = (await page(5, null, FILTER)).pageInfo.endCursor;
      for (const other of [{}, { status: ['running'] }, { ...FILTER, since: '2026-01-01T00:00:00Z' }]) {
        const result = await graphql(service.url, PAGE, { token: superToken, variables: { first: 5, after: cursor, ...other } });
        expect(result.data).toBeNull();
        expect(result.errors![0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } });
        expect(result.errors![0]!.message).toMatch(/other filters/);
      }
    });

    it('name a position: given to one graph’s history with the same filter, they continue in that graph only', async () => {
      const cursor = (await page(7, null, FILTER)).pageInfo.endCursor!;
      const { t, i } = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      const graph = graphs[1]!;
      const result = await graphql(
        service.url,
        `
          query ($slug: String!, $after: String) {
            graph(slug: $slug) {
              migrationsConnection(first: 500, after: $after, status: ["failed"]) {
                edges {
                  node {
                    id
                    graphId
                    status
                    createdAt
                  }
                }
              }
            }
          }
        `,
        { token: superToken, variables: { slug: graph.slug, after: cursor } },
      );
      expect(result.errors).toBeUndefined();
      const expected = selected(
        served.filter((run) => run.graphId === graph.id),
        FILTER,
      ).filter((run) => newestFirst(run, { createdAt: t, id: i }) > 0);
      expect(expected.length).toBeGreaterThan(0);
      expect(result.data.graph.migrationsConnection.edges.map((edge: { node: Run }) => edge.node)).toEqual(expected);
    });
  });

  describe('each run’s graph', () => {
    const WITH_GRAPH = `query($first: Int) {
      migrationRuns(first: $first) { edges { node { id graphId graph { id slug status } } } }
    }`;

    it('is read for the whole page in one more statement', async () => {
      service.statements.length = 0;
      const result = await graphql(service.url, WITH_GRAPH, { token: superToken, variables: { first: 200 } });
      expect(result.errors).toBeUndefined();
      const edges = result.data.migrationRuns.edges as { node: { graphId: string; graph: { id: string; slug: string; status: string } } }[];
      expect(new Set(edges.map(({ node }) => node.graphId)).size).toBe(3);
      for (const { node } of edges) {
        const graph = graphs.find((candidate) => candidate.id === node.graphId)!;
        expect(node.graph).toEqual({ id: graph.id, slug: graph.slug, status: 'active' });
      }
      expect(service.statements).toHaveLength(2);
    });

    it('comes with the history pages selected under it, in that same statement', async () => {
      service.statements.length = 0;
      const result = await graphql(
        service.url,
        `
          {
            migrationRuns(first: 50) {
              edges {
                node {
                  graph {
                    slug
                    migrations(limit: 2, status: ["failed"]) {
                      id
                      status
                    }
                  }
                }
              }
            }
          }
        `,
        { token: superToken },
      );
      expect(result.errors).toBeUndefined();
      for (const { node } of result.data.migrationRuns.edges as { node: { graph: { slug: string; migrations: Run[] } } }[]) {
        const graph = graphs.find((candidate) => candidate.slug === node.graph.slug)!;
        expect(node.graph.migrations.map((run) => run.id)).toEqual(
          selected(
            served.filter((run) => run.graphId === graph.id),
            { status: ['failed'] },
          )
            .slice(0, 2)
            .map((run) => run.id),
        );
      }
      expect(service.statements).toHaveLength(2);
    });

    it('is the graph of a deleted graph’s run nowhere: such runs are not served', async () => {
      const result = await graphql(
        service.url,
        `
          query ($r: [_Any!]!) {
            _entities(representations: $r) {
              ... on GraphMigrationRun {
                id
                graph {
                  id
                }
              }
            }
          }
        `,
        { token: superToken, variables: { r: [{ __typename: 'GraphMigrationRun', id: deletedRuns[0]!.id }] } },
      );
      expect(result).toEqual({ data: { _entities: [null] } });
    });

    it('counts in the cost: a page of graphs with pages of their own is refused before it runs', async () => {
      service.statements.length = 0;
      const result = await graphql(
        service.url,
        `
          {
            migrationRuns(first: 500) {
              edges {
                node {
                  graph {
                    migrations(limit: 500) {
                      id
                    }
                  }
                }
              }
            }
          }
        `,
        {
          token: superToken,
        },
      );
      expect(result.errors![0]!.extensions!.code).toBe('COST_ESTIMATED_TOO_EXPENSIVE');
      expect(service.statements).toEqual([]);
    });
  });

  // Last: it records more runs in the graphs the other tests read.
  describe('runs recorded while a superuser walks', () => {
    it('never make it skip or repeat a run, in any graph', { timeout: 120_000 }, async () => {
      const filter = { status: ['failed', 'success'], since: '2026-05-31T23:58:00.000000Z' };
      const initial = selected(served, filter);
      expect(initial.length).toBeGreaterThan(40);
      let newest = micros('2026-07-01T00:00:00Z');
      let oldest = micros('2026-05-31T23:58:30Z');
      const record = async (position: Run | undefined) => {
        const recorded: Run[] = graphs.flatMap((graph) =>
          ['failed', 'running'].flatMap((status) => [
            { id: randomUUID(), graphId: graph.id, status, createdAt: microsecondText((newest += 1)) },
            { id: randomUUID(), graphId: graph.id, status, createdAt: microsecondText((oldest -= 1)) },
            ...(position ? [{ id: randomUUID(), graphId: graph.id, status, createdAt: position.createdAt }] : []),
          ]),
        );
        await insertRunsOf(service.prisma, recorded);
      };
      const visited: Run[] = [];
      let after: string | null = null;
      let position: Run | undefined;
      for (;;) {
        const [current]: [Page, void] = await Promise.all([page(6, after, filter), record(position)]);
        visited.push(...current.edges.map((edge) => edge.node));
        if (!current.pageInfo.hasNextPage) break;
        position = current.edges.at(-1)!.node;
        after = current.pageInfo.endCursor;
      }
      const ids = visited.map((run) => run.id);
      expect(new Set(ids).size, 'no run visited twice').toBe(ids.length);
      expect(visited.filter((run) => initial.some((original) => original.id === run.id))).toEqual(initial);
      expect(selected(visited, filter)).toEqual(visited);
      for (let i = 1; i < visited.length; i++) expect(newestFirst(visited[i - 1]!, visited[i]!)).toBe(-1);
      expect(visited.length).toBeGreaterThan(initial.length);
    });
  });
});
