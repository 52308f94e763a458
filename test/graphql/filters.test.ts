// Filters on Graph.migrations and Graph.migrationsConnection: status, since (inclusive), until
// (exclusive), alone and combined, compared to the microsecond; totalCount counts what they select;
// walking a filtered connection visits every selected run once while runs are recorded
// concurrently; a cursor continues only the filters it was issued for; bad arguments are
// BAD_USER_INPUT errors that say what to fix. Expected answers are computed here, in JS, from runs
// whose ids, instants and statuses the test chose.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCursor } from '../../src/domain/cursor.js';
import type { PrismaClient } from '../../src/database/client.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, type GraphFixture } from '../helpers/fixtures.js';
import {
  databaseText,
  inHistoryOrder,
  selectedRuns,
  microsecondText,
  micros,
  newestFirst,
  plannedHistory,
  type PlannedRun,
} from '../helpers/history.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();

interface Run extends PlannedRun {
  status: string;
}

interface Filter {
  status?: string[] | null;
  since?: string | null;
  until?: string | null;
}

const STATUSES = ['success', 'success', 'success', 'failed', 'running', 'skipped', 'pending'];

/** Runs of plannedHistory (ties to the microsecond included) with statuses from a seeded sequence. */
function runsWithStatuses(count: number, newest: string, seed: number): Run[] {
  let state = seed;
  return plannedHistory(count, newest, seed).map((run) => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return { ...run, status: STATUSES[state % STATUSES.length]! };
  });
}

/** Runs as the wire sends them (a whole second without its fraction), back in the database's text to compare. */
const atDatabaseText = <T extends { createdAt: string }>(runs: T[]): T[] =>
  runs.map((run) => ({ ...run, createdAt: databaseText(run.createdAt) }));

async function insertRunsWithStatuses(prisma: PrismaClient, graphId: string, runs: readonly Run[]): Promise<void> {
  await prisma.$executeRaw`
    INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
    SELECT r.id, ${graphId}::uuid, 1, 2, 'm_' || r.id, r.status, r.created_at
    FROM unnest(${runs.map((run) => run.id)}::uuid[], ${runs.map((run) => run.status)}::text[], ${runs.map((run) => run.createdAt)}::timestamptz[])
      AS r(id, status, created_at)`;
}

const CANONICAL = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;

/**
 * What a filter selects, in history order: the specification the service is held to. Timestamps
 * compare as text only in the database's form, which the test's filters are written in.
 */
function selected(runs: readonly Run[], { status, since, until }: Filter): Run[] {
  for (const bound of [since, until]) if (bound != null && !CANONICAL.test(bound)) throw new Error(`write ${bound} as the database does`);
  return selectedRuns(runs, { status, since, until });
}

const LIST = `query($slug: String!, $limit: Int, $status: [String!], $since: DateTime, $until: DateTime) {
  graph(slug: $slug) { migrations(limit: $limit, status: $status, since: $since, until: $until) { id status createdAt } }
}`;

const PAGE = `query($slug: String!, $first: Int, $after: String, $status: [String!], $since: DateTime, $until: DateTime) {
  graph(slug: $slug) {
    migrationsConnection(first: $first, after: $after, status: $status, since: $since, until: $until) {
      edges { cursor node { id status createdAt } }
      pageInfo { hasNextPage endCursor }
      totalCount
    }
  }
}`;

interface Page {
  edges: { cursor: string; node: Run }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

describe.each(DATABASE_KINDS)('history filters on %s', (kind) => {
  let service: TestService;
  let token: string;
  let graph: GraphFixture;
  let runs: Run[];
  /** Instants some runs share exactly, for the boundaries. */
  let sharedInstant: string;
  let laterInstant: string;

  async function list(filter: Filter, limit = 500): Promise<Run[]> {
    const result = await graphql(service.url, LIST, { token, variables: { slug: graph.slug, limit, ...filter } });
    expect(result.errors).toBeUndefined();
    return atDatabaseText(result.data.graph.migrations);
  }

  async function page(slug: string, first: number, after: string | null, filter: Filter): Promise<Page> {
    const result = await graphql(service.url, PAGE, { token, variables: { slug, first, after, ...filter } });
    expect(result.errors).toBeUndefined();
    const connection = result.data.graph.migrationsConnection as Page;
    return { ...connection, edges: connection.edges.map((edge) => ({ ...edge, node: atDatabaseText([edge.node])[0]! })) };
  }

  /** Every page of a filtered connection, following endCursor. */
  async function walk(slug: string, first: number, filter: Filter): Promise<Page[]> {
    const pages: Page[] = [];
    let after: string | null = null;
    for (;;) {
      const current = await page(slug, first, after, filter);
      pages.push(current);
      if (!current.pageInfo.hasNextPage) return pages;
      expect(current.edges).toHaveLength(first);
      after = current.pageInfo.endCursor;
    }
  }

  beforeAll(async () => {
    service = await startTestService(kind);
    token = await service.token(MEMBER);
    graph = await insertGraph(service.prisma, { slug: 'filtered' });
    await addMember(service.prisma, graph.id, MEMBER);
    runs = runsWithStatuses(450, '2026-06-01T00:00:00Z', 5);
    await insertRunsWithStatuses(service.prisma, graph.id, runs);
    // Another graph's runs, same instants and statuses: a filter must not reach them.
    const neighbour = await insertGraph(service.prisma, { slug: 'neighbour' });
    await addMember(service.prisma, neighbour.id, MEMBER);
    await insertRunsWithStatuses(
      service.prisma,
      neighbour.id,
      runs.map((run) => ({ ...run, id: randomUUID() })),
    );
    // Two instants at least three runs of different statuses share, one older than the other.
    const byInstant = new Map<string, Run[]>();
    for (const run of runs) byInstant.set(run.createdAt, [...(byInstant.get(run.createdAt) ?? []), run]);
    const shared = [...byInstant.entries()].filter(([, group]) => group.length >= 3).map(([instant]) => instant);
    sharedInstant = shared[Math.floor(shared.length * 0.7)]!;
    laterInstant = shared[Math.floor(shared.length * 0.2)]!;
    expect(sharedInstant < laterInstant).toBe(true);
  });
  afterAll(() => service?.close());

  describe('each filter alone and combined', () => {
    const cases: [string, () => Filter][] = [
      ['status: ["failed"]', () => ({ status: ['failed'] })],
      ['status: ["failed", "running"]', () => ({ status: ['failed', 'running'] })],
      ['status with a repeat and an unknown value', () => ({ status: ['running', 'no_such_status', 'running'] })],
      ['since', () => ({ since: sharedInstant })],
      ['until', () => ({ until: laterInstant })],
      ['since and until', () => ({ since: sharedInstant, until: laterInstant })],
      ['status, since and until', () => ({ status: ['failed', 'skipped'], since: sharedInstant, until: laterInstant })],
    ];

    it.each(cases)('migrations(%s) is what the filter selects, newest first', async (_what, filter) => {
      const expected = selected(runs, filter());
      expect(expected.length).toBeGreaterThan(0);
      expect(expected.length).toBeLessThan(runs.length);
      expect(await list(filter())).toEqual(expected);
      // And the limit cuts that list, not the history before it.
      expect(await list(filter(), 7)).toEqual(expected.slice(0, 7));
    });

    it.each(cases)('migrationsConnection(%s) visits the same runs page by page, totalCount counting them', async (_what, filter) => {
      const expected = selected(runs, filter());
      const pages = await walk(graph.slug, 13, filter());
      expect(pages.flatMap((current) => current.edges.map((edge) => edge.node))).toEqual(expected);
      for (const current of pages) expect(current.totalCount).toBe(expected.length);
    });

    it('totalCount without a filter still counts the whole history', async () => {
      expect((await page(graph.slug, 1, null, {})).totalCount).toBe(runs.length);
    });
  });

  describe('status', () => {
    it('matches nothing for a value no run has: not an error', async () => {
      expect(await list({ status: ['no_such_status'] })).toEqual([]);
      const current = await page(graph.slug, 5, null, { status: ['no_such_status'] });
      expect(current).toEqual({ edges: [], pageInfo: { hasNextPage: false, endCursor: null }, totalCount: 0 });
    });

    it('selects no run for an empty list, and every run for null', async () => {
      expect(await list({ status: [] })).toEqual([]);
      expect((await page(graph.slug, 5, null, { status: [] })).totalCount).toBe(0);
      expect(await list({ status: null }, 20)).toEqual(inHistoryOrder(runs).slice(0, 20));
    });

    it('matches nothing for a value PostgreSQL text cannot hold, without failing the request', async () => {
      expect(await list({ status: ['fail\u0000ed'] })).toEqual([]);
      expect(await list({ status: ['fail\u0000ed', 'failed'] })).toEqual(selected(runs, { status: ['failed'] }));
    });

    it('compares the whole value, case included', async () => {
      expect(await list({ status: ['FAILED', 'fail', 'failed%'] })).toEqual([]);
    });

    it('follows the database: a state a later migration adds can be filtered on at once', async () => {
      const other = await insertGraph(service.prisma, { slug: 'with_new_state' });
      await addMember(service.prisma, other.id, MEMBER);
      await service.prisma.$executeRawUnsafe(`ALTER TABLE graph_migration_runs DROP CONSTRAINT ck_graph_migration_runs_status`);
      await service.prisma.$executeRawUnsafe(
        `ALTER TABLE graph_migration_runs ADD CONSTRAINT ck_graph_migration_runs_status CHECK (status IN ('pending', 'running', 'success', 'failed', 'skipped', 'cancelled'))`,
      );
      const cancelled = { id: randomUUID(), createdAt: '2026-06-02T00:00:00.000001Z', status: 'cancelled' };
      await insertRunsWithStatuses(service.prisma, other.id, [
        cancelled,
        { id: randomUUID(), createdAt: '2026-06-02T00:00:00.000002Z', status: 'success' },
      ]);
      const result = await graphql(service.url, LIST, { token, variables: { slug: other.slug, status: ['cancelled'] } });
      expect(result).toEqual({ data: { graph: { migrations: [cancelled] } } });
    });
  });

  describe('since and until, to the microsecond', () => {
    const instant = () => sharedInstant;
    const plus = (text: string, microseconds: number) =>
      microsecondText(micros(text.slice(0, 19) + 'Z') + Number(text.slice(20, 26)) + microseconds);

    it('includes runs created exactly at since, and excludes runs created exactly at until', async () => {
      const atInstant = runs.filter((run) => run.createdAt === instant());
      expect(atInstant.length).toBeGreaterThanOrEqual(3);
      const since = await list({ since: instant() });
      expect(since.filter((run) => run.createdAt === instant())).toHaveLength(atInstant.length);
      const until = await list({ until: instant() });
      expect(until.filter((run) => run.createdAt === instant())).toHaveLength(0);
      expect(since.length + until.length).toBe(runs.length);
    });

    it('moves the boundary by one microsecond', async () => {
      const atInstant = runs.filter((run) => run.createdAt === instant()).length;
      expect(await list({ since: plus(instant(), 1) })).toEqual(selected(runs, { since: plus(instant(), 1) }));
      expect((await list({ since: instant() })).length - (await list({ since: plus(instant(), 1) })).length).toBe(atInstant);
      expect((await list({ until: plus(instant(), 1) })).length - (await list({ until: instant() })).length).toBe(atInstant);
      // A window of one microsecond holds exactly that instant's runs.
      expect(await list({ since: instant(), until: plus(instant(), 1) })).toEqual(
        selected(runs, { since: instant(), until: plus(instant(), 1) }),
      );
      expect(await list({ since: instant(), until: plus(instant(), 1) })).toHaveLength(atInstant);
    });

    it('selects nothing when since equals until', async () => {
      expect(await list({ since: instant(), until: instant() })).toEqual([]);
      expect((await page(graph.slug, 3, null, { since: instant(), until: instant() })).totalCount).toBe(0);
    });

    it('reads any RFC 3339 form of the same instant alike: offsets, lowercase, fewer digits', async () => {
      const expected = selected(runs, { since: instant() });
      // The instant two hours ahead, written with +02:00; and lowercase separators.
      const offset = `${plus(instant(), 2 * 3600 * 1_000_000).slice(0, -1)}+02:00`;
      const lowercase = instant().replace('T', 't').replace('Z', 'z');
      for (const since of [offset, lowercase]) expect(await list({ since })).toEqual(expected);
      const whole = '2026-06-01T00:00:00Z';
      expect(await list({ until: whole })).toEqual(await list({ until: '2026-06-01T00:00:00.000000Z' }));
    });

    it('works in a literal as in a variable', async () => {
      const result = await graphql(
        service.url,
        `{ graph(slug: "filtered") { migrations(limit: 500, since: "${instant()}") { id status createdAt } } }`,
        { token },
      );
      expect(result.errors).toBeUndefined();
      expect(atDatabaseText(result.data.graph.migrations)).toEqual(selected(runs, { since: instant() }));
    });
  });

  describe('arguments refused', () => {
    it.each([
      ['more precise than a microsecond', '2026-06-01T00:00:00.0000001Z', /more precise than a microsecond/],
      ['not RFC 3339', '2026-06-01 00:00:00', /not an RFC 3339 date-time/],
      ['not a real date', '2026-02-30T00:00:00Z', /not a real date and time/],
    ])('refuses a since %s as a variable (BAD_USER_INPUT) and as a literal (validation)', async (_what, since, reason) => {
      const variable = await graphql(service.url, LIST, { token, variables: { slug: graph.slug, since } });
      expect(variable.data).toBeUndefined();
      expect(variable.errors).toHaveLength(1);
      expect(variable.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(variable.errors![0]!.message).toMatch(reason);
      expect(variable.errors![0]!.message).toMatch(/\$since/);
      const literal = await graphql(service.url, `{ graph(slug: "filtered") { migrations(since: "${since}") { id } } }`, { token });
      expect(literal.data).toBeUndefined();
      expect(literal.errors![0]!.extensions!.code).toBe('GRAPHQL_VALIDATION_FAILED');
      expect(literal.errors![0]!.message).toMatch(reason);
    });

    it('refuses a number for a DateTime', async () => {
      const result = await graphql(service.url, LIST, { token, variables: { slug: graph.slug, until: 1780272000 } });
      expect(result.errors![0]!.extensions!.code).toBe('BAD_USER_INPUT');
      expect(result.errors![0]!.message).toMatch(/non-string/);
    });

    it.each(['migrations', 'migrationsConnection'])(
      'refuses since later than until on %s, naming since and saying what to fix',
      async (field) => {
        const result = await graphql(
          service.url,
          `{ graph(slug: "filtered") { ${field}(since: "2026-06-02T00:00:00Z", until: "2026-06-01T00:00:00Z") { __typename } } }`,
          { token },
        );
        expect(result.data).toEqual({ graph: null });
        expect(result.errors).toEqual([
          {
            message:
              'Argument "since": since (2026-06-02T00:00:00.000000Z) is later than until (2026-06-01T00:00:00.000000Z): pass a since at or before until (since is inclusive, until exclusive), or leave one of them out',
            locations: [expect.any(Object)],
            path: ['graph', field],
            extensions: { code: 'BAD_USER_INPUT', argumentName: 'since' },
          },
        ]);
      },
    );

    it('refuses more than 10 distinct statuses, naming status', async () => {
      const status = Array.from({ length: 11 }, (_, i) => `state_${i}`);
      const result = await graphql(service.url, LIST, { token, variables: { slug: graph.slug, status } });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors![0]).toMatchObject({
        message: 'Argument "status": at most 10 distinct statuses may be given; got 11',
        extensions: { code: 'BAD_USER_INPUT', argumentName: 'status' },
      });
      // Repeats count once.
      expect(await list({ status: [...status.slice(0, 10), ...status.slice(0, 10)] })).toEqual([]);
    });
  });

  describe('cursors and filters', () => {
    const FILTER = { status: ['failed', 'running'], since: '2026-05-31T23:00:00.000000Z' };

    it('carry their filter: a filtered page cursor is version 2, an unfiltered one stays version 1', async () => {
      const payload = (cursor: string) => JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
      const filtered = await page(graph.slug, 3, null, FILTER);
      expect(payload(filtered.pageInfo.endCursor!)).toEqual({
        v: 2,
        t: filtered.edges[2]!.node.createdAt,
        i: filtered.edges[2]!.node.id,
        f: expect.stringMatching(/^[A-Za-z0-9_-]{16}$/),
      });
      const plain = await page(graph.slug, 3, null, {});
      expect(payload(plain.pageInfo.endCursor!)).toEqual({ v: 1, t: plain.edges[2]!.node.createdAt, i: plain.edges[2]!.node.id });
    });

    it.each<[string, Filter]>([
      ['without the filters', {}],
      ['with another status', { ...FILTER, status: ['failed'] }],
      ['with another since', { ...FILTER, since: '2026-05-31T23:00:00.000001Z' }],
      ['with an until added', { ...FILTER, until: '2026-06-01T00:00:00Z' }],
    ])('refuse a filtered cursor used %s with BAD_USER_INPUT naming `after`', async (_what, other) => {
      const cursor = (await page(graph.slug, 3, null, FILTER)).pageInfo.endCursor;
      const result = await graphql(service.url, PAGE, { token, variables: { slug: graph.slug, first: 3, after: cursor, ...other } });
      expect(result.data).toEqual({ graph: null });
      expect(result.errors).toHaveLength(1);
      expect(result.errors![0]).toMatchObject({
        message:
          'Argument "after": Invalid cursor: it was issued for other filters (status, since, until) than this request has; repeat the filters of the request that returned the cursor, or omit the cursor to start from the newest run',
        path: ['graph', 'migrationsConnection'],
        extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' },
      });
    });

    it('refuse an unfiltered cursor (every cursor issued before filters) used with a filter', async () => {
      const cursor = encodeCursor(inHistoryOrder(runs)[10]!);
      const result = await graphql(service.url, PAGE, {
        token,
        variables: { slug: graph.slug, first: 3, after: cursor, status: ['failed'] },
      });
      expect(result.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argumentName: 'after' });
      expect(result.errors![0]!.message).toMatch(/other filters/);
    });

    it('continue the same filter written another way: statuses reordered or repeated, since with an offset', async () => {
      const expected = selected(runs, FILTER);
      const first = await page(graph.slug, 4, null, FILTER);
      const rewritten = { status: ['running', 'failed', 'running'], since: '2026-06-01T01:00:00+02:00' };
      const next = await page(graph.slug, 4, first.pageInfo.endCursor, rewritten);
      expect(next.edges.map((edge) => edge.node)).toEqual(expected.slice(4, 8));
    });

    it('continue after any edge of a filtered page', async () => {
      const expected = selected(runs, FILTER);
      const first = await page(graph.slug, 10, null, FILTER);
      expect((await page(graph.slug, 5, first.edges[6]!.cursor, FILTER)).edges.map((edge) => edge.node)).toEqual(expected.slice(7, 12));
    });
  });

  describe('runs recorded while a client walks a filtered connection', () => {
    const WALKS: [string, Filter][] = [
      ['status', { status: ['failed', 'pending'] }],
      ['since and until', { since: '2026-05-31T23:30:00.000000Z', until: '2026-05-31T23:59:00.000000Z' }],
      [
        'status, since and until',
        { status: ['success', 'skipped'], since: '2026-05-31T23:30:00.000000Z', until: '2026-05-31T23:59:00.000000Z' },
      ],
    ];

    it.each(WALKS)('never make it skip or repeat a run, filtered by %s', { timeout: 120_000 }, async (_what, filter) => {
      const slug = `moving_${randomUUID().slice(0, 8)}`;
      const moving = await insertGraph(service.prisma, { slug });
      await addMember(service.prisma, moving.id, MEMBER);
      const initial = runsWithStatuses(600, '2026-06-01T00:00:00Z', 11);
      await insertRunsWithStatuses(service.prisma, moving.id, initial);
      const expected = selected(initial, filter);
      expect(expected.length).toBeGreaterThan(30);

      let newest = micros('2026-07-01T00:00:00Z');
      let oldest = micros('2026-01-01T00:00:00Z');
      const added: Run[] = [];
      /** Runs newer and older than everything, and at the walk's position on both sides of its id, with every status. */
      const recordAround = async (position: Run | undefined) => {
        const recorded: Run[] = STATUSES.slice(2).flatMap((status) => [
          { id: randomUUID(), createdAt: microsecondText((newest += 1)), status },
          { id: randomUUID(), createdAt: microsecondText((oldest -= 1)), status },
          ...(position ? [randomUUID(), randomUUID()].map((id) => ({ id, createdAt: position.createdAt, status })) : []),
        ]);
        added.push(...recorded);
        await insertRunsWithStatuses(service.prisma, moving.id, recorded);
      };
      const visited: Run[] = [];
      let after: string | null = null;
      let position: Run | undefined;
      for (;;) {
        // The runs are recorded while the page is read: the statement may see them or not.
        const [current]: [Page, void] = await Promise.all([page(slug, 5, after, filter), recordAround(position)]);
        visited.push(...current.edges.map((edge) => edge.node));
        if (!current.pageInfo.hasNextPage) break;
        expect(current.edges).toHaveLength(5);
        position = current.edges.at(-1)!.node;
        after = current.pageInfo.endCursor;
      }
      const ids = visited.map((run) => run.id);
      expect(new Set(ids).size, 'no run visited twice').toBe(ids.length);
      expect(visited.filter((run) => initial.some((original) => original.id === run.id))).toEqual(expected);
      expect(selected(visited, filter)).toEqual(visited);
      for (let i = 1; i < visited.length; i++) expect(newestFirst(visited[i - 1]!, visited[i]!)).toBe(-1);
      expect(added.length).toBeGreaterThan(50);
    });
  });
});
