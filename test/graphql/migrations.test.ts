// Graph.migrations: order (created_at DESC, id DESC, to the microsecond), page size and its bounds,
// and that a page only ever holds the graph's own runs.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns, insertRun } from '../helpers/fixtures.js';
import { newestFirst } from '../helpers/history.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();

const HISTORY = `query($slug: String!, $limit: Int) {
  graph(slug: $slug) { id migrations(limit: $limit) { id graphId createdAt } }
}`;
const DEFAULT_HISTORY = `query($slug: String!) {
  graph(slug: $slug) { id migrations { id graphId createdAt } }
}`;

interface Run {
  id: string;
  graphId: string;
  createdAt: string;
}

describe.each(DATABASE_KINDS)('Graph.migrations on %s', (kind) => {
  let service: TestService;
  let token: string;

  async function history(slug: string, limit?: number | null): Promise<Run[]> {
    const result = await graphql(service.url, limit === undefined ? DEFAULT_HISTORY : HISTORY, { token, variables: { slug, limit } });
    expect(result.errors).toBeUndefined();
    return result.data.graph.migrations;
  }

  async function graphWithMember(slug: string) {
    const graph = await insertGraph(service.prisma, { slug });
    await addMember(service.prisma, graph.id, MEMBER);
    return graph;
  }

  beforeAll(async () => {
    service = await startTestService(kind);
    token = await service.token(MEMBER);
  });
  afterAll(() => service?.close());

  describe('order', () => {
    // Inserted in a scrambled order so that neither insertion order nor physical order can pass.
    const runs = [
      { id: '22222222-2222-4222-8222-222222222222', createdAt: '2026-04-17T21:25:43.123456Z' },
      { id: 'ffffffff-0000-4000-8000-000000000000', createdAt: '2026-04-17T21:25:43.123456Z' },
      { id: '00000000-0000-4000-8000-00000000000a', createdAt: '2026-04-17T21:25:43.123457Z' },
      { id: '99999999-9999-4999-8999-999999999999', createdAt: '2026-04-17T21:25:43.123455Z' },
      { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', createdAt: '2026-04-17T21:25:43.123456Z' },
      // Same instant as .123458Z in UTC, written with an offset: the answer is printed in UTC.
      { id: '11111111-1111-4111-8111-111111111111', createdAt: '2026-04-17T23:25:43.123458+02:00' },
      { id: '33333333-3333-4333-8333-333333333333', createdAt: '2026-04-17T21:25:43Z' },
      // A millisecond apart would hide the bug a JS Date causes; these share the millisecond.
      { id: '44444444-4444-4444-8444-444444444444', createdAt: '2026-04-17T21:25:43.123999Z' },
    ];
    const expected = [
      { id: '44444444-4444-4444-8444-444444444444', createdAt: '2026-04-17T21:25:43.123999Z' },
      { id: '11111111-1111-4111-8111-111111111111', createdAt: '2026-04-17T21:25:43.123458Z' },
      { id: '00000000-0000-4000-8000-00000000000a', createdAt: '2026-04-17T21:25:43.123457Z' },
      { id: 'ffffffff-0000-4000-8000-000000000000', createdAt: '2026-04-17T21:25:43.123456Z' },
      { id: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa', createdAt: '2026-04-17T21:25:43.123456Z' },
      { id: '22222222-2222-4222-8222-222222222222', createdAt: '2026-04-17T21:25:43.123456Z' },
      { id: '99999999-9999-4999-8999-999999999999', createdAt: '2026-04-17T21:25:43.123455Z' },
      // A whole second: sent without a fraction, as pydantic 2 wrote it.
      { id: '33333333-3333-4333-8333-333333333333', createdAt: '2026-04-17T21:25:43Z' },
    ];
    let graph: { id: string; slug: string };

    beforeAll(async () => {
      graph = await graphWithMember('ordering');
      for (const run of runs) await insertRun(service.prisma, graph.id, run);
    });

    it('is newest first, to the microsecond, with the id descending among equal created_at, printed in UTC with microseconds (none on a whole second)', async () => {
      const page = await history(graph.slug, 100);
      expect(page).toEqual(expected.map((run) => ({ ...run, graphId: graph.id })));
    });

    it('cuts the page in that order inside the database: every limit returns a prefix of the full order', async () => {
      for (let limit = 1; limit <= expected.length; limit++) {
        const page = await history(graph.slug, limit);
        expect(
          page.map((run) => run.id),
          `limit ${limit}`,
        ).toEqual(expected.slice(0, limit).map((run) => run.id));
      }
    });

    // With the history index the scan returns (created_at DESC, id DESC) whatever the statement
    // says; without it the database must sort, and only the statement's ORDER BY decides the ties.
    it('keeps that order when the database has to sort (history index dropped in this test database)', async () => {
      const indexName = 'ix_graph_migration_runs_history';
      await service.prisma.$executeRawUnsafe(`DROP INDEX ${indexName}`);
      try {
        for (let limit = 1; limit <= expected.length; limit++) {
          const page = await history(graph.slug, limit);
          expect(
            page.map((run) => run.id),
            `limit ${limit}`,
          ).toEqual(expected.slice(0, limit).map((run) => run.id));
        }
      } finally {
        await service.prisma.$executeRawUnsafe(`CREATE INDEX ${indexName} ON graph_migration_runs (graph_id, created_at DESC, id DESC)`);
      }
    });
  });

  describe('page size', () => {
    let hundredFifty: { id: string; slug: string };
    let sixHundred: { id: string; slug: string };

    beforeAll(async () => {
      hundredFifty = await graphWithMember('hundred_fifty');
      await insertManyRuns(service.prisma, hundredFifty.id, 150);
      sixHundred = await graphWithMember('six_hundred');
      await insertManyRuns(service.prisma, sixHundred.id, 600);
    });

    it('defaults to 100, the newest ones', async () => {
      const page = await history(hundredFifty.slug);
      expect(page).toHaveLength(100);
      // insertManyRuns puts run n at `newest - n seconds`: the default page is runs 1..100.
      expect(page[0]!.createdAt).toBe('2026-05-31T23:59:59Z');
      expect(page[99]!.createdAt).toBe('2026-05-31T23:58:20Z');
      expect(isNewestFirst(page)).toBe(true);
    });

    it('honours a smaller limit', async () => {
      const page = await history(hundredFifty.slug, 7);
      expect(page).toHaveLength(7);
      expect(page).toEqual((await history(hundredFifty.slug)).slice(0, 7));
    });

    it('accepts 500, the upper bound', async () => {
      expect(await history(sixHundred.slug, 500)).toHaveLength(500);
      expect(await history(hundredFifty.slug, 500)).toHaveLength(150);
    });

    it('accepts 1, the lower bound', async () => {
      expect(await history(hundredFifty.slug, 1)).toHaveLength(1);
    });

    it.each([0, -1, 501, -2147483648, 2147483647])('refuses limit %i with BAD_USER_INPUT naming `limit` and its bounds', async (limit) => {
      const result = await graphql(service.url, HISTORY, { token, variables: { slug: hundredFifty.slug, limit } });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors).toHaveLength(1);
      const [error] = result.errors!;
      expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'limit', min: 1, max: 500 });
      expect(error!.message).toMatch(/\blimit\b/);
      expect(error!.message).toMatch(/\b1\b/);
      expect(error!.message).toMatch(/\b500\b/);
      expect(error!.path).toEqual(['graph', 'migrations']);
    });

    it('refuses an explicit null limit rather than reading the whole history', async () => {
      const result = await graphql(service.url, `{ graph(slug: "${sixHundred.slug}") { migrations(limit: null) { id } } }`, { token });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'limit' });
    });

    it('a refused limit nulls its graph (migrations is non-null) while another root field of the same query answers', async () => {
      const result = await graphql(
        service.url,
        `{
          bad: graph(slug: "${hundredFifty.slug}") { slug migrations(limit: 0) { id } }
          good: graph(slug: "${hundredFifty.slug}") { slug migrations(limit: 2) { createdAt } }
          tooMany: graph(slug: "${sixHundred.slug}") { slug migrations(limit: 501) { id } }
        }`,
        { token },
      );
      expect(result.data).toEqual({
        bad: null,
        good: {
          slug: hundredFifty.slug,
          migrations: [{ createdAt: '2026-05-31T23:59:59Z' }, { createdAt: '2026-05-31T23:59:58Z' }],
        },
        tooMany: null,
      });
      expect(result.errors?.map((error) => [error.path, error.extensions?.code])).toEqual(
        expect.arrayContaining([
          [['bad', 'migrations'], 'BAD_USER_INPUT'],
          [['tooMany', 'migrations'], 'BAD_USER_INPUT'],
        ]),
      );
      expect(result.errors).toHaveLength(2);
    });

    it('refuses a limit that is not an Int at validation', async () => {
      const result = await graphql(service.url, `{ graph(slug: "${hundredFifty.slug}") { migrations(limit: 2.5) { id } } }`, { token });
      expect(result.data).toBeUndefined();
      expect(result.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    });
  });

  describe('timestamps', () => {
    it('are sent with all six fractional digits, and without a fraction on a whole second, as pydantic 2 wrote them', async () => {
      const graph = await graphWithMember('whole_seconds');
      await insertRun(service.prisma, graph.id, {
        createdAt: '2026-04-17T21:25:43Z',
        startedAt: '2026-04-17T21:25:43.12Z',
        finishedAt: '2026-04-17T21:25:44.000000Z',
      });
      const result = await graphql(
        service.url,
        `
          {
            graph(slug: "whole_seconds") {
              migrations {
                createdAt
                startedAt
                finishedAt
              }
            }
          }
        `,
        {
          token,
        },
      );
      expect(result).toEqual({
        data: {
          graph: {
            migrations: [
              { createdAt: '2026-04-17T21:25:43Z', startedAt: '2026-04-17T21:25:43.120000Z', finishedAt: '2026-04-17T21:25:44Z' },
            ],
          },
        },
      });
    });
  });

  describe('whose runs', () => {
    it('is [] for a graph that never migrated', async () => {
      const graph = await graphWithMember('never_migrated');
      expect(await history(graph.slug)).toEqual([]);
      expect(await history(graph.slug, 500)).toEqual([]);
    });

    it('never holds a run of another graph, even when the other graph has newer runs at the same instants', async () => {
      const mine = await graphWithMember('mine');
      const theirs = await graphWithMember('theirs');
      const neighbour = await insertGraph(service.prisma, { slug: 'neighbour' });
      const mineIds = new Set<string>();
      for (let i = 0; i < 5; i++) {
        const createdAt = `2026-02-0${i + 1}T00:00:00.00000${i}Z`;
        mineIds.add(await insertRun(service.prisma, mine.id, { createdAt }));
        await insertRun(service.prisma, theirs.id, { createdAt });
        await insertRun(service.prisma, neighbour.id, { createdAt: `2026-12-0${i + 1}T00:00:00Z` });
      }
      for (const limit of [1, 3, 5, 100, 500]) {
        const page = await history(mine.slug, limit);
        expect(page).toHaveLength(Math.min(limit, 5));
        for (const run of page) {
          expect(run.graphId).toBe(mine.id);
          expect(mineIds.has(run.id)).toBe(true);
        }
      }
    });
  });
});

function isNewestFirst(runs: Run[]): boolean {
  return runs.every((run, index) => {
    const previous = runs[index - 1];
    return !previous || newestFirst(previous, run) < 0;
  });
}
