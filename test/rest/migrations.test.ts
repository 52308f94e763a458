// GET /api/v1/graphs/{slug}/migrations over a real socket, against the contract of docs/contract.md#rest.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../../src/auth/viewer.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertManyRuns, insertRun, type GraphFixture } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';
import {
  CONTRACT_KEYS,
  MIGRATIONS,
  OTHER_SECRET,
  RUN_FIELDS,
  TIMESTAMP,
  get,
  limitError,
  snakeCaseKeys,
  unsignedToken,
} from './support.js';

const MEMBER = randomUUID();
const OUTSIDER = randomUUID();
const SUPERUSER = randomUUID();

// Ids picked so that id order and insertion order disagree.
const uuid = (suffix: string) => `00000000-0000-4000-8000-${suffix.padStart(12, '0')}`;
const TIED_AT = '2026-04-01T10:00:00.123456Z';
const TIE_BREAK_RUNS = [
  { id: uuid('1'), createdAt: TIED_AT },
  { id: uuid('ff'), createdAt: TIED_AT },
  { id: uuid('10'), createdAt: TIED_AT },
  { id: uuid('0'), createdAt: '2026-04-01T10:00:00.123457Z' }, // one microsecond newer, smallest id
  { id: uuid('ffffffffffff'), createdAt: '2026-04-01T10:00:00.123455Z' }, // one microsecond older, largest id
  { id: uuid('abc'), createdAt: '2026-03-01T00:00:00.000000Z' },
];
const TIE_BREAK_ORDER = [uuid('0'), uuid('ff'), uuid('10'), uuid('1'), uuid('ffffffffffff'), uuid('abc')];

describe.each(DATABASE_KINDS)('REST migrations on %s', (kind) => {
  let service: TestService;
  let url: string;
  let memberToken: string;
  let outsiderToken: string;
  let superuserToken: string;
  const graphs: Record<string, GraphFixture> = {};

  beforeAll(async () => {
    service = await startTestService(kind);
    url = service.url;
    const { prisma } = service;
    [memberToken, outsiderToken, superuserToken] = await Promise.all([
      service.token(MEMBER),
      service.token(OUTSIDER),
      service.token(SUPERUSER, { isSuperuser: true }),
    ]);
    for (const slug of ['tie_break', 'bulk_150', 'bulk_600', 'never_migrated', 'shapes', 'graph_a', 'graph_b']) {
      graphs[slug] = await insertGraph(prisma, { slug });
      await addMember(prisma, graphs[slug]!.id, MEMBER);
    }
    graphs.default = await insertGraph(prisma, { slug: 'default', isDefault: true });
    graphs.gone = await insertGraph(prisma, { slug: 'gone', status: 'deleted' });
    await addMember(prisma, graphs.gone.id, MEMBER, 'admin');

    for (const run of TIE_BREAK_RUNS) await insertRun(prisma, graphs.tie_break!.id, run);
    await insertManyRuns(prisma, graphs.bulk_150!.id, 150);
    await insertManyRuns(prisma, graphs.bulk_600!.id, 600);
    await insertManyRuns(prisma, graphs.default.id, 3);
    await insertManyRuns(prisma, graphs.gone.id, 3);
    // Graph A's runs are all newer than graph B's and interleave with nothing: a history that is
    // not scoped to its graph, or limited before it is scoped, shows A's rows under B.
    await insertManyRuns(prisma, graphs.graph_a!.id, 40, '2026-07-01T00:00:00Z');
    await insertManyRuns(prisma, graphs.graph_b!.id, 7, '2026-06-01T00:00:00Z');
  });
  afterAll(() => service?.close());

  const ids = (body: { id: string }[]) => body.map((run) => run.id);

  describe('ordering and limits', () => {
    it('orders newest first, ties on created_at (to the microsecond) broken by id descending', async () => {
      const answer = await get(url, MIGRATIONS('tie_break'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(ids(answer.body)).toEqual(TIE_BREAK_ORDER);
    });

    it('keeps the order when the limit cuts through a tie', async () => {
      const answer = await get(url, MIGRATIONS('tie_break', '?limit=3'), { token: memberToken });
      expect(ids(answer.body)).toEqual(TIE_BREAK_ORDER.slice(0, 3));
    });

    it('returns the newest 100 by default (150 stored)', async () => {
      const answer = await get(url, MIGRATIONS('bulk_150'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(100);
      // insertManyRuns numbers runs 1 (newest) .. n (oldest).
      expect(answer.body.map((run: { migration_id: string }) => run.migration_id)).toEqual(
        Array.from({ length: 100 }, (_, i) => `bulk_${i + 1}`),
      );
    });

    it('accepts limit=500, the maximum, and returns the newest 500 of 600', async () => {
      const answer = await get(url, MIGRATIONS('bulk_600', '?limit=500'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(500);
      expect(answer.body.map((run: { migration_id: string }) => run.migration_id)).toEqual(
        Array.from({ length: 500 }, (_, i) => `bulk_${i + 1}`),
      );
    });

    it('accepts limit=1, the minimum', async () => {
      const answer = await get(url, MIGRATIONS('tie_break', '?limit=1'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(ids(answer.body)).toEqual([uuid('0')]);
    });

    it('answers [] for a graph that never migrated', async () => {
      const answer = await get(url, MIGRATIONS('never_migrated'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.text).toBe('[]');
    });

    it('ignores unknown query parameters', async () => {
      const answer = await get(url, MIGRATIONS('tie_break', '?foo=bar&limit=2&offset=3&order=asc'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(ids(answer.body)).toEqual(TIE_BREAK_ORDER.slice(0, 2));
    });
  });

  describe("422 for an invalid limit, in FastAPI's exact shape", () => {
    it.each([
      ['0', limitError('greater_than_equal', '0')],
      ['501', limitError('less_than_equal', '501')],
      ['abc', limitError('int_parsing', 'abc')],
      ['1.5', limitError('int_parsing', '1.5')],
      ['', limitError('int_parsing', '')],
    ])('limit=%j', async (raw, expected) => {
      const answer = await get(url, MIGRATIONS('tie_break', `?limit=${encodeURIComponent(raw)}`), { token: memberToken });
      expect(answer.status).toBe(422);
      expect(answer.body).toStrictEqual(expected);
      // Same keys in FastAPI's order too (type, loc, msg, input, ctx).
      expect(answer.text).toBe(JSON.stringify(expected));
      expect(answer.headers.get('content-type')).toBe('application/json');
    });
  });

  describe('graph lookup', () => {
    it('404 for an unknown slug', async () => {
      const answer = await get(url, MIGRATIONS('no_such_graph'), { token: superuserToken });
      expect(answer.status).toBe(404);
      expect(answer.body).toStrictEqual({ detail: 'Graph not found' });
    });

    it('404 for a deleted graph, even for its admin member', async () => {
      const answer = await get(url, MIGRATIONS('gone'), { token: memberToken });
      expect(answer.status).toBe(404);
      expect(answer.body).toStrictEqual({ detail: 'Graph not found' });
    });

    it('404 for a deleted graph, even for a superuser', async () => {
      const answer = await get(url, MIGRATIONS('gone'), { token: superuserToken });
      expect(answer.status).toBe(404);
      expect(answer.body).toStrictEqual({ detail: 'Graph not found' });
    });
  });

  describe('permission GRAPH_READ', () => {
    it('403 for a user who is not a member', async () => {
      const answer = await get(url, MIGRATIONS('tie_break'), { token: outsiderToken });
      expect(answer.status).toBe(403);
      expect(answer.body).toStrictEqual({ detail: 'Not a member of this graph' });
      expect(answer.headers.get('content-type')).toBe('application/json');
    });

    it('200 for a member', async () => {
      const answer = await get(url, MIGRATIONS('tie_break'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(TIE_BREAK_RUNS.length);
    });

    it('200 for any authenticated user on the default graph', async () => {
      const answer = await get(url, MIGRATIONS('default'), { token: outsiderToken });
      expect(answer.status).toBe(200);
      expect(answer.body).toHaveLength(3);
    });

    it('200 for a superuser who is not a member', async () => {
      const answer = await get(url, MIGRATIONS('tie_break'), { token: superuserToken });
      expect(answer.status).toBe(200);
      expect(ids(answer.body)).toEqual(TIE_BREAK_ORDER);
    });
  });

  describe('authentication', () => {
    it('401 "Not authenticated" without a token', async () => {
      const answer = await get(url, MIGRATIONS('tie_break'));
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Not authenticated' });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.headers.get('content-type')).toBe('application/json');
    });

    it('401 "Not authenticated" on the default graph too', async () => {
      const answer = await get(url, MIGRATIONS('default'));
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Not authenticated' });
    });

    it('401 "Invalid or expired token" for a malformed token', async () => {
      const answer = await get(url, MIGRATIONS('tie_break'), { token: 'not-a-jwt' });
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Invalid or expired token' });
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
    });

    it('401 "Invalid or expired token" for an expired token', async () => {
      const expired = await service.token(MEMBER, { expiresIn: Math.floor(Date.now() / 1000) - 3600 });
      const answer = await get(url, MIGRATIONS('tie_break'), { token: expired });
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Invalid or expired token' });
    });

    it('401 "Invalid or expired token" for a token signed with another key', async () => {
      const forged = await signAccessToken(OTHER_SECRET, { sub: MEMBER, isSuperuser: true });
      const answer = await get(url, MIGRATIONS('tie_break'), { token: forged });
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Invalid or expired token' });
    });

    it('401 "Invalid or expired token" for an unsigned (alg: none) token', async () => {
      const token = unsignedToken({ sub: MEMBER, is_superuser: true, exp: Math.floor(Date.now() / 1000) + 3600 });
      const answer = await get(url, MIGRATIONS('tie_break'), { token });
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Invalid or expired token' });
    });
  });

  describe('order of checks: 401, then 422, then 404, then 403', () => {
    it('bad limit on an unknown slug → 422', async () => {
      const answer = await get(url, MIGRATIONS('no_such_graph', '?limit=0'), { token: memberToken });
      expect(answer.status).toBe(422);
      expect(answer.body).toStrictEqual(limitError('greater_than_equal', '0'));
    });

    it('no token and a bad limit → 401', async () => {
      const answer = await get(url, MIGRATIONS('tie_break', '?limit=abc'));
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Not authenticated' });
    });

    it('invalid token and a bad limit → 401', async () => {
      const answer = await get(url, MIGRATIONS('tie_break', '?limit=abc'), { token: 'not-a-jwt' });
      expect(answer.status).toBe(401);
      expect(answer.body).toStrictEqual({ detail: 'Invalid or expired token' });
    });

    it('non-member with a bad limit → 422', async () => {
      const answer = await get(url, MIGRATIONS('tie_break', '?limit=501'), { token: outsiderToken });
      expect(answer.status).toBe(422);
      expect(answer.body).toStrictEqual(limitError('less_than_equal', '501'));
    });

    it('non-member on an unknown or deleted graph → 404', async () => {
      for (const slug of ['no_such_graph', 'gone']) {
        const answer = await get(url, MIGRATIONS(slug), { token: outsiderToken });
        expect(answer.status, slug).toBe(404);
        expect(answer.body, slug).toStrictEqual({ detail: 'Graph not found' });
      }
    });
  });

  describe('items', () => {
    let shapes: { full: string; sparse: string };
    beforeAll(async () => {
      const graphId = graphs.shapes!.id;
      shapes = {
        full: await insertRun(service.prisma, graphId, {
          createdAt: '2026-02-03T04:05:06.000001Z',
          // An offset in, UTC with `Z` and all six digits out.
          startedAt: '2026-02-03T06:05:06.5+02:00',
          finishedAt: '2026-02-03T04:05:07.999999Z',
          status: 'failed',
          migrationId: 'split_relation_types',
          fromVersion: 2,
          toVersion: 3,
          error: 'relation type "works_for" has 12 edges with a missing target entity',
          workflowRunId: 'wf-1',
        }),
        sparse: await insertRun(service.prisma, graphId, { createdAt: '2026-02-03T04:05:06.000000Z', status: 'pending' }),
      };
    });

    it("has every key, in the contract's order, with null for absent values", async () => {
      const answer = await get(url, MIGRATIONS('shapes'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.body).toStrictEqual([
        {
          id: shapes.full,
          graph_id: graphs.shapes!.id,
          from_version: 2,
          to_version: 3,
          migration_id: 'split_relation_types',
          status: 'failed',
          started_at: '2026-02-03T04:05:06.500000Z',
          finished_at: '2026-02-03T04:05:07.999999Z',
          error: 'relation type "works_for" has 12 edges with a missing target entity',
          workflow_run_id: 'wf-1',
          created_at: '2026-02-03T04:05:06.000001Z',
        },
        {
          id: shapes.sparse,
          graph_id: graphs.shapes!.id,
          from_version: 1,
          to_version: 2,
          migration_id: `m_${shapes.sparse}`,
          status: 'pending',
          started_at: null,
          finished_at: null,
          error: null,
          workflow_run_id: null,
          created_at: '2026-02-03T04:05:06Z',
        },
      ]);
      for (const item of answer.body) expect(Object.keys(item)).toEqual(CONTRACT_KEYS);
      expect(answer.text).toContain('"started_at":null,"finished_at":null,"error":null,"workflow_run_id":null');
    });

    it('writes timestamps as RFC 3339 UTC with the stored microseconds', async () => {
      for (const slug of ['shapes', 'tie_break', 'bulk_150']) {
        const answer = await get(url, MIGRATIONS(slug, '?limit=500'), { token: memberToken });
        for (const item of answer.body) {
          expect(item.created_at).toMatch(TIMESTAMP);
          for (const key of ['started_at', 'finished_at']) if (item[key] !== null) expect(item[key]).toMatch(TIMESTAMP);
        }
      }
      const tied = await get(url, MIGRATIONS('tie_break'), { token: memberToken });
      expect(tied.body.map((run: { created_at: string }) => run.created_at).slice(0, 5)).toEqual([
        '2026-04-01T10:00:00.123457Z',
        TIED_AT,
        TIED_AT,
        TIED_AT,
        '2026-04-01T10:00:00.123455Z',
      ]);
    });

    it('writes a whole second without a fraction and a fraction with all six digits, as pydantic 2 did', async () => {
      const graph = await insertGraph(service.prisma, { slug: 'whole_seconds' });
      await addMember(service.prisma, graph.id, MEMBER);
      await insertRun(service.prisma, graph.id, {
        createdAt: '2026-04-17T21:25:43Z',
        startedAt: '2026-04-17T21:25:43.12Z',
        finishedAt: '2026-04-17T21:25:44.000000Z',
      });
      const answer = await get(url, MIGRATIONS('whole_seconds'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.text).toContain('"started_at":"2026-04-17T21:25:43.120000Z","finished_at":"2026-04-17T21:25:44Z"');
      expect(answer.text).toContain('"created_at":"2026-04-17T21:25:43Z"}');
      // Runs one second apart: every created_at is a whole second, none is sent with `.000000`.
      const bulk = await get(url, MIGRATIONS('bulk_150', '?limit=500'), { token: memberToken });
      expect(bulk.body.map((run: { created_at: string }) => run.created_at).slice(0, 2)).toEqual([
        '2026-05-31T23:59:59Z',
        '2026-05-31T23:59:58Z',
      ]);
      expect(bulk.text).not.toContain('.000000Z');
    });

    it('gives a whole-second run a cursor with the exact stored instant, which continues right after it', async () => {
      const graph = await insertGraph(service.prisma, { slug: 'whole_second_ties' });
      await addMember(service.prisma, graph.id, MEMBER);
      // Two runs at the same whole second, between two runs a microsecond away from it.
      for (const [id, createdAt] of [
        [uuid('a1'), '2026-04-17T21:25:43.000001Z'],
        [uuid('a2'), '2026-04-17T21:25:43Z'],
        [uuid('a3'), '2026-04-17T21:25:43Z'],
        [uuid('a4'), '2026-04-17T21:25:42.999999Z'],
      ] as const) {
        await insertRun(service.prisma, graph.id, { id, createdAt });
      }
      const first = await get(url, MIGRATIONS('whole_second_ties', '?limit=2'), { token: memberToken });
      expect(first.body.map((run: { id: string; created_at: string }) => [run.id, run.created_at])).toEqual([
        [uuid('a1'), '2026-04-17T21:25:43.000001Z'],
        [uuid('a3'), '2026-04-17T21:25:43Z'],
      ]);
      const next = /^<([^<>]+)>; rel="next"$/.exec(first.headers.get('link') ?? '')?.[1];
      expect(next).toBeDefined();
      const cursor = new URLSearchParams(next!.split('?')[1]).get('cursor')!;
      expect(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))).toEqual({
        v: 1,
        t: '2026-04-17T21:25:43.000000Z',
        i: uuid('a3'),
      });
      const second = await get(url, next!, { token: memberToken });
      expect(second.status).toBe(200);
      expect(second.body.map((run: { id: string; created_at: string }) => [run.id, run.created_at])).toEqual([
        [uuid('a2'), '2026-04-17T21:25:43Z'],
        [uuid('a4'), '2026-04-17T21:25:42.999999Z'],
      ]);
    });

    it('answers with Content-Type application/json', async () => {
      const answer = await get(url, MIGRATIONS('shapes'), { token: memberToken });
      expect(answer.headers.get('content-type')).toBe('application/json');
      const missing = await get(url, MIGRATIONS('no_such_graph'), { token: memberToken });
      expect(missing.headers.get('content-type')).toBe('application/json');
    });
  });

  describe('scoping and the two doors', () => {
    it("never shows graph A's runs for graph B, whatever the limit", async () => {
      for (const limit of [1, 7, 8, 40, 100, 500]) {
        const answer = await get(url, MIGRATIONS('graph_b', `?limit=${limit}`), { token: memberToken });
        expect(answer.status).toBe(200);
        expect(answer.body).toHaveLength(Math.min(limit, 7));
        for (const run of answer.body) expect(run.graph_id).toBe(graphs.graph_b!.id);
      }
      const a = await get(url, MIGRATIONS('graph_a', '?limit=500'), { token: memberToken });
      expect(a.body).toHaveLength(40);
      for (const run of a.body) expect(run.graph_id).toBe(graphs.graph_a!.id);
    });

    it('holds the same rows in the same order as the GraphQL answer for the same graph and limit', async () => {
      const query = `query ($slug: String!, $limit: Int!) { graph(slug: $slug) { migrations(limit: $limit) { ${RUN_FIELDS} } } }`;
      for (const [slug, limit] of [
        ['tie_break', 3],
        ['tie_break', 100],
        ['bulk_150', 100],
        ['bulk_600', 500],
        ['shapes', 10],
        ['never_migrated', 5],
      ] as const) {
        const rest = await get(url, MIGRATIONS(slug, `?limit=${limit}`), { token: memberToken });
        const viaGraphQL = await graphql(url, query, { token: memberToken, variables: { slug, limit } });
        expect(viaGraphQL.errors).toBeUndefined();
        const rows = viaGraphQL.data.graph.migrations.map(snakeCaseKeys);
        expect(rest.status).toBe(200);
        expect(rest.body, `${slug} limit ${limit}`).toStrictEqual(rows);
      }
    });

    it('sends 1 SQL statement for one REST request (graph, membership and page together)', async () => {
      service.statements.length = 0;
      const answer = await get(url, MIGRATIONS('bulk_150', '?limit=500'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(service.statements).toHaveLength(1);
    });
  });
});
