// The number of SQL statements a request costs does not grow with the number of graphs it touches:
// graphs, the viewer's membership and the history pages selected under them (looked ahead from the
// operation) are read in one statement, for one graph or for 200.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/domain/cursor.js';
import { checkHistoryFilter, type HistoryFilter } from '../../src/queries/historyFilter.js';
import { readableGraph } from '../../src/domain/access.js';
import type { Context } from '../../src/domain/context.js';
import { connectionPage, loadConnection } from '../../src/domain/history.js';
import { createLoaders } from '../../src/domain/loaders.js';
import { createLogger } from '../../src/observability/logger.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { insertGraph, insertGraphsWithMember, insertRunsOfGraphs } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const STRANGER = randomUUID();
const GRAPH_COUNT = 200;

const ENTITIES = `query($r: [_Any!]!) {
  _entities(representations: $r) { ... on Graph { id migrations(limit: 5) { id } } }
}`;

interface SeededGraph {
  id: string;
  slug: string;
  /** Its run ids, newest first. */
  runIds: string[];
}

describe.each(DATABASE_KINDS)('statements per request on %s', (kind) => {
  let service: TestService;
  let memberToken: string;
  const graphs: SeededGraph[] = [];

  /** Sends the request with a clean statement log and returns the body and the statements it cost. */
  async function measured(query: string, options: { token: string; variables?: Record<string, unknown> }) {
    service.statements.length = 0;
    const result = await graphql(service.url, query, options);
    return { result, statements: [...service.statements] };
  }

  beforeAll(async () => {
    service = await startTestService(kind);
    memberToken = await service.token(MEMBER);
    // Graph i has i % 8 runs (0 to 7), all at instants other graphs' runs share, so a history that
    // leaked across graphs, or was cut by a global limit instead of a per-graph one, shows.
    // Written in three statements: one by one, 1,100 of them took seconds on PGlite.
    const slugs = Array.from({ length: GRAPH_COUNT }, (_, i) => `g_${String(i).padStart(3, '0')}`);
    const runs: { graphId: string; id: string; createdAt: string }[] = [];
    for (const [i, graph] of (await insertGraphsWithMember(service.prisma, slugs, MEMBER)).entries()) {
      const runIds: string[] = [];
      for (let n = 0; n < i % 8; n++) {
        const id = randomUUID();
        runs.push({ graphId: graph.id, id, createdAt: `2026-01-01T00:00:0${n}.00000${n}Z` });
        runIds.unshift(id);
      }
      graphs.push({ ...graph, runIds });
    }
    await insertRunsOfGraphs(service.prisma, runs);
    await insertGraph(service.prisma, { slug: 'default', isDefault: true });
  });
  afterAll(() => service?.close());

  describe('Query.graph with its migrations', () => {
    const QUERY = `{ graph(slug: "g_007") { slug migrations(limit: 3) { id } } }`;

    it.each([
      ['a member', () => service.token(MEMBER)],
      ['a superuser', () => service.token(STRANGER, { isSuperuser: true })],
    ])('costs 1 statement for %s', async (_who, token) => {
      const { result, statements } = await measured(QUERY, { token: await token() });
      expect(result.errors).toBeUndefined();
      expect(result.data.graph.migrations.map((run: { id: string }) => run.id)).toEqual(graphs[7]!.runIds.slice(0, 3));
      expect(statements).toHaveLength(1);
    });

    it('costs 1 statement for a connection page with its cursor and count-free pageInfo', async () => {
      const { result, statements } = await measured(
        `query($after: String) { graph(slug: "g_007") { migrationsConnection(first: 2, after: $after) { edges { node { id } } pageInfo { hasNextPage endCursor } } } }`,
        { token: memberToken, variables: { after: null } },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data.graph.migrationsConnection.edges.map((edge: { node: { id: string } }) => edge.node.id)).toEqual(
        graphs[7]!.runIds.slice(0, 2),
      );
      expect(result.data.graph.migrationsConnection.pageInfo.hasNextPage).toBe(true);
      expect(statements).toHaveLength(1);
    });

    it('costs 1 statement for any user on the default graph', async () => {
      const { result, statements } = await measured(`{ graph(slug: "default") { slug migrations { id } } }`, {
        token: await service.token(STRANGER),
      });
      expect(result.errors).toBeUndefined();
      expect(result.data.graph).toEqual({ slug: 'default', migrations: [] });
      expect(statements).toHaveLength(1);
    });
  });

  describe('_entities', () => {
    /** The first n graphs, referred to alternately by id and by slug. */
    function representations(n: number) {
      return graphs
        .slice(0, n)
        .map((graph, i) => (i % 2 === 0 ? { __typename: 'Graph', id: graph.id } : { __typename: 'Graph', slug: graph.slug }));
    }

    it.each([1, 50, 200])('with %i Graph representations costs 1 statement and gives each graph its own runs', async (n) => {
      const { result, statements } = await measured(ENTITIES, { token: memberToken, variables: { r: representations(n) } });
      expect(result.errors).toBeUndefined();
      expect(result.data._entities).toEqual(
        graphs.slice(0, n).map((graph) => ({ id: graph.id, migrations: graph.runIds.slice(0, 5).map((id) => ({ id })) })),
      );
      expect(statements).toHaveLength(1);
    });

    it('refers to one graph by both keys in one request without a second load', async () => {
      const graph = graphs[5]!;
      const { result, statements } = await measured(ENTITIES, {
        token: memberToken,
        variables: {
          r: [
            { __typename: 'Graph', id: graph.id },
            { __typename: 'Graph', slug: graph.slug },
            { __typename: 'Graph', id: graph.id.toUpperCase() },
          ],
        },
      });
      expect(result.errors).toBeUndefined();
      const expected = { id: graph.id, migrations: graph.runIds.map((id) => ({ id })) };
      expect(result.data._entities).toEqual([expected, expected, expected]);
      expect(statements).toHaveLength(1);
    });

    it('costs 1 statement with two aliases of different limits on every graph', async () => {
      const { result, statements } = await measured(
        `query($r: [_Any!]!) {
          _entities(representations: $r) { ... on Graph { id newest: migrations(limit: 1) { id } recent: migrations(limit: 6) { id } } }
        }`,
        { token: memberToken, variables: { r: representations(GRAPH_COUNT) } },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data._entities).toEqual(
        graphs.map((graph) => ({
          id: graph.id,
          newest: graph.runIds.slice(0, 1).map((id) => ({ id })),
          recent: graph.runIds.slice(0, 6).map((id) => ({ id })),
        })),
      );
      expect(statements).toHaveLength(1);
    });

    it('answers unknown and malformed keys with null in place, still in one batch', async () => {
      const { result, statements } = await measured(ENTITIES, {
        token: memberToken,
        variables: {
          r: [
            { __typename: 'Graph', id: randomUUID() },
            { __typename: 'Graph', id: graphs[3]!.id },
            { __typename: 'Graph', id: 'not-a-uuid' },
            { __typename: 'Graph', slug: 'no_such_graph' },
            { __typename: 'Graph', slug: graphs[4]!.slug },
          ],
        },
      });
      expect(result.errors).toBeUndefined();
      expect(result.data._entities).toEqual([
        null,
        { id: graphs[3]!.id, migrations: graphs[3]!.runIds.map((id) => ({ id })) },
        null,
        null,
        { id: graphs[4]!.id, migrations: graphs[4]!.runIds.map((id) => ({ id })) },
      ]);
      expect(statements).toHaveLength(1);
    });
  });

  describe('filtered histories', () => {
    // Graph i's runs are n = 0 … i % 8 - 1, created at 2026-01-01T00:00:0n.00000nZ, all `success`.
    const SINCE_3 = '2026-01-01T00:00:03.000003Z';
    const UNTIL_2 = '2026-01-01T00:00:02.000002Z';
    const newerThan3 = (graph: SeededGraph) => graph.runIds.slice(0, Math.max(0, graph.runIds.length - 3));
    const olderThan2 = (graph: SeededGraph) => graph.runIds.slice(Math.max(0, graph.runIds.length - 2));
    const ids = (list: string[]) => list.map((id) => ({ id }));

    it('costs 1 statement for Query.graph with filtered pages', async () => {
      const { result, statements } = await measured(
        `{ graph(slug: "g_007") {
            recent: migrations(limit: 3, since: "${SINCE_3}") { id }
            page: migrationsConnection(first: 2, status: ["success"], until: "${UNTIL_2}") { edges { node { id } } pageInfo { hasNextPage } }
          } }`,
        { token: memberToken },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data.graph).toEqual({
        recent: ids(newerThan3(graphs[7]!).slice(0, 3)),
        page: { edges: olderThan2(graphs[7]!).map((id) => ({ node: { id } })), pageInfo: { hasNextPage: false } },
      });
      expect(statements).toHaveLength(1);
    });

    it.each([1, 50, 200])('costs 1 statement for _entities with %i graphs and aliases of different filters', async (n) => {
      const { result, statements } = await measured(
        `query($r: [_Any!]!, $since: DateTime) {
          _entities(representations: $r) {
            ... on Graph {
              id
              recent: migrations(limit: 5, since: $since) { id }
              ok: migrations(limit: 2, status: ["success", "no_such_status"]) { id }
              failed: migrationsConnection(first: 2, status: ["failed"]) { edges { node { id } } pageInfo { hasNextPage } }
              old: migrationsConnection(first: 3, until: "${UNTIL_2}") { edges { node { id } } }
            }
          }
        }`,
        {
          token: memberToken,
          variables: {
            since: SINCE_3,
            r: graphs
              .slice(0, n)
              .map((graph, i) => (i % 2 === 0 ? { __typename: 'Graph', id: graph.id } : { __typename: 'Graph', slug: graph.slug })),
          },
        },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data._entities).toEqual(
        graphs.slice(0, n).map((graph) => ({
          id: graph.id,
          recent: ids(newerThan3(graph).slice(0, 5)),
          ok: ids(graph.runIds.slice(0, 2)),
          failed: { edges: [], pageInfo: { hasNextPage: false } },
          old: { edges: olderThan2(graph).map((id) => ({ node: { id } })) },
        })),
      );
      expect(statements).toHaveLength(1);
    });

    it("costs 1 statement for the REST door's calls with a filter and a cursor (readableGraph, then loadConnection)", async () => {
      const viewer = { kind: 'user' as const, id: MEMBER, isSuperuser: false };
      const context: Context = {
        viewer,
        loaders: createLoaders((statement) => service.service.database.query(statement), viewer),
        logger: createLogger('silent'),
      };
      const checked = checkHistoryFilter({ statuses: ['success'], since: '2026-01-01T00:00:01Z' });
      if (!checked.ok) throw new Error(checked.reason);
      const filter: HistoryFilter = checked.filter;
      const graph = graphs[7]!;
      // The cursor of the graph's newest run, issued for this filter: the page continues after it.
      const cursor = encodeCursor({ createdAt: '2026-01-01T00:00:06.000006Z', id: graph.runIds[0]! }, filter);
      service.statements.length = 0;
      const record = await readableGraph(context, { slug: graph.slug }, [connectionPage(3, cursor, filter)]);
      const page = await loadConnection(context, record!.id, 3, cursor, filter);
      expect(page.runs.map((run) => run.id)).toEqual(graph.runIds.slice(1, 4));
      expect(page.hasNextPage).toBe(true);
      expect(service.statements).toHaveLength(1);
    });

    it("costs nothing more for each run's graph when the runs were reached through it", async () => {
      const { result, statements } = await measured(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Graph { id migrations(limit: 5, status: ["success"]) { id graph { id slug } } } } }`,
        { token: memberToken, variables: { r: graphs.slice(0, 50).map((graph) => ({ __typename: 'Graph', id: graph.id })) } },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data._entities).toEqual(
        graphs.slice(0, 50).map((graph) => ({
          id: graph.id,
          migrations: graph.runIds.slice(0, 5).map((id) => ({ id, graph: { id: graph.id, slug: graph.slug } })),
        })),
      );
      expect(statements).toHaveLength(1);
    });
  });
});
