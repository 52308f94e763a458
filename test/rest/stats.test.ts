// The statistics routes and the graphs' latest runs on REST: the body is what Graph.migrationStats /
// Query.migrationStats compute (test/graphql/stats.test.ts checks those against the runs), with the
// list route's keys and items; refusals in the list route's order and shapes (401, 422, 404, 403);
// revalidation; the latest runs paged with Link headers.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun, type GraphFixture } from '../helpers/fixtures.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';
import { get, MIGRATIONS, snakeCaseKeys, type HttpAnswer } from './support.js';

const MEMBER = randomUUID();
const SUPERUSER = randomUUID();
const STATS = (slug: string, query = '') => `/api/v1/graphs/${encodeURIComponent(slug)}/migrations/stats${query}`;
const RUN_FIELDS = 'id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt';
const GRAPHQL_STATS = `total byStatus { status count } latest { ${RUN_FIELDS} } latestSuccess { ${RUN_FIELDS} }
  latestFailure { ${RUN_FIELDS} } durationSeconds { p50 p95 max }`;

interface GraphQLStats {
  total: number;
  byStatus: { status: string; count: number }[];
  latest: Record<string, unknown> | null;
  latestSuccess: Record<string, unknown> | null;
  latestFailure: Record<string, unknown> | null;
  durationSeconds: { p50: number | null; p95: number | null; max: number | null };
}

/** The REST body for GraphQL's statistics: snake_case keys, runs as list items. */
const asRest = (stats: GraphQLStats) => ({
  total: stats.total,
  by_status: stats.byStatus,
  latest: stats.latest && snakeCaseKeys(stats.latest),
  latest_success: stats.latestSuccess && snakeCaseKeys(stats.latestSuccess),
  latest_failure: stats.latestFailure && snakeCaseKeys(stats.latestFailure),
  duration_seconds: stats.durationSeconds,
});

const nextPath = (answer: HttpAnswer) => /^<([^>]+)>; rel="next"$/.exec(answer.headers.get('link') ?? '')?.[1];

describe.each(DATABASE_KINDS)('REST statistics on %s', (kind) => {
  let service: TestService;
  let member: string;
  let superuser: string;
  let tracked: GraphFixture;
  const latestOf = new Map<string, string>();

  beforeAll(async () => {
    service = await startTestService(kind);
    [member, superuser] = await Promise.all([service.token(MEMBER), service.token(SUPERUSER, { isSuperuser: true })]);
    tracked = await insertGraph(service.prisma, { slug: 'tracked' });
    await addMember(service.prisma, tracked.id, MEMBER);
    await insertGraph(service.prisma, { slug: 'private_graph' });
    const statuses = ['success', 'failed', 'success', 'running', 'success', 'failed'];
    for (let i = 0; i < 40; i++) {
      await insertRun(service.prisma, tracked.id, {
        createdAt: new Date(Date.UTC(2026, 4, 1) + i * 3_600_000 * 5).toISOString().replace('.000Z', `.0000${i % 10}0Z`),
        status: statuses[i % statuses.length],
        startedAt: '2026-05-01T00:00:00Z',
        finishedAt: i % 4 === 0 ? null : `2026-05-01T00:0${i % 10}:0${i % 6}.25Z`,
        error: i % 6 === 1 ? 'lock timeout, "users"' : null,
        workflowRunId: `wf-${i}`,
      });
    }
    // Five more graphs, each with a latest run of its own status, for the latest runs' pages.
    for (let g = 0; g < 5; g++) {
      const graph = await insertGraph(service.prisma, { slug: `fleet_${g}` });
      await insertRun(service.prisma, graph.id, { createdAt: `2026-06-0${g + 1}T00:00:00Z`, status: 'success' });
      const latest = await insertRun(service.prisma, graph.id, {
        createdAt: `2026-06-0${g + 1}T12:00:00.00000${g}Z`,
        status: g % 2 === 0 ? 'failed' : 'running',
      });
      latestOf.set(graph.slug, latest);
    }
    const gone = await insertGraph(service.prisma, { slug: 'gone', status: 'deleted' });
    await insertRun(service.prisma, gone.id, { createdAt: '2026-07-01T00:00:00Z', status: 'failed' });
  });
  afterAll(() => service?.close());

  const graphqlStats = async (field: string, window: string) => {
    const result = await graphql(service.url, `{ ${field}${window ? `(${window})` : ''} { ${GRAPHQL_STATS} } }`, {
      token: superuser,
    });
    expect(result.errors).toBeUndefined();
    return result.data as Record<string, GraphQLStats>;
  };

  it.each([
    ['', ''],
    ['?since=2026-05-03T00:00:00Z', 'since: "2026-05-03T00:00:00Z"'],
    [
      '?since=2026-05-02T10:00:00%2B02:00&until=2026-05-06T00:00:00.000005Z',
      'since: "2026-05-02T10:00:00+02:00", until: "2026-05-06T00:00:00.000005Z"',
    ],
  ])("GET .../migrations/stats%s is GraphQL's statistics in the list route's keys", async (query, window) => {
    const answer = await get(service.url, STATS('tracked', query), { token: member });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toBe('application/json');
    const result = await graphql(
      service.url,
      `{ graph(slug: "tracked") { migrationStats${window ? `(${window})` : ''} { ${GRAPHQL_STATS} } } }`,
      { token: member },
    );
    expect(result.errors).toBeUndefined();
    expect(answer.body).toEqual(asRest(result.data.graph.migrationStats));
    expect(Object.keys(answer.body)).toEqual(['total', 'by_status', 'latest', 'latest_success', 'latest_failure', 'duration_seconds']);
    // The latest run is the list route's first item, byte for byte.
    const list = await get(service.url, MIGRATIONS('tracked', `?limit=1${query.replace('?', '&')}`), { token: member });
    expect(JSON.stringify(answer.body.latest)).toBe(JSON.stringify(list.body[0]));
  });

  it('GET /api/v1/migrations/stats is Query.migrationStats, for superusers only', async () => {
    const answer = await get(service.url, '/api/v1/migrations/stats?until=2026-06-03T00:00:00Z', { token: superuser });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual(asRest((await graphqlStats('migrationStats', 'until: "2026-06-03T00:00:00Z"')).migrationStats!));
    // The tracked graph's 40 runs and fleet_0's and fleet_1's two each (fleet_2's first run is at `until`, excluded).
    expect(answer.body.total).toBe(40 + 2 * 2);
    const refused = await get(service.url, '/api/v1/migrations/stats', { token: member });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ detail: "Superusers only: every graph's history is not readable with this token" });
  });

  it('refuses as the list route does: 401, then 422 for since and until, then 404, then 403', async () => {
    for (const [path, token] of [
      [STATS('tracked'), undefined],
      [STATS('tracked'), 'not.a.jwt'],
      [STATS('tracked', '?since=yesterday&until=2026-05-01T00:00:00Z'), member],
      [STATS('tracked', '?since=2026-05-02T00:00:00Z&until=2026-05-01T00:00:00Z'), member],
      [STATS('no_such_graph'), member],
      [STATS('private_graph'), member],
      ['/api/v1/migrations/stats?until=not-a-time', superuser],
    ] as const) {
      const answer = await get(service.url, path, { token });
      const list = await get(service.url, path.replace('/stats', ''), { token });
      expect([answer.status, answer.body], path).toEqual([list.status, list.body]);
      expect(answer.headers.get('www-authenticate')).toBe(list.headers.get('www-authenticate'));
      expect(answer.status).not.toBe(200);
    }
  });

  it('ignores the parameters a stats route does not take (limit, cursor, status), as FastAPI does', async () => {
    const plain = await get(service.url, STATS('tracked'), { token: member });
    const extra = await get(service.url, STATS('tracked', '?limit=abc&cursor=x&status=failed'), { token: member });
    expect(extra.status).toBe(200);
    expect(extra.body).toEqual(plain.body);
  });

  it('can be revalidated: the same ETag until a run changes, then new statistics', async () => {
    const first = await get(service.url, STATS('tracked'), { token: member });
    const etag = first.headers.get('etag')!;
    const again = await fetch(`${service.url}${STATS('tracked')}`, {
      headers: { authorization: `Bearer ${member}`, 'if-none-match': etag },
    });
    expect(again.status).toBe(304);
    await insertRun(service.prisma, tracked.id, { createdAt: '2026-05-30T00:00:00Z', status: 'skipped' });
    const changed = await get(service.url, STATS('tracked'), { token: member });
    expect(changed.headers.get('etag')).not.toBe(etag);
    expect(changed.body.total).toBe(first.body.total + 1);
    expect(changed.body.by_status).toContainEqual({ status: 'skipped', count: 1 });
  });

  describe('GET /api/v1/migrations/latest', () => {
    it("pages through each graph's latest run with a status, newest first, deleted graphs left out", async () => {
      const seen: string[] = [];
      let path: string | undefined = '/api/v1/migrations/latest?status=failed&limit=1';
      while (path) {
        const answer = await get(service.url, path, { token: superuser });
        expect(answer.status).toBe(200);
        expect(answer.body).toHaveLength(1);
        seen.push(answer.body[0].id);
        path = nextPath(answer);
      }
      expect(seen).toEqual(['fleet_4', 'fleet_2', 'fleet_0'].map((slug) => latestOf.get(slug)));
    });

    it('without status lists every graph by its latest run; the items are the list route items', async () => {
      const answer = await get(service.url, '/api/v1/migrations/latest', { token: superuser });
      expect(answer.status).toBe(200);
      expect(answer.body.map((item: { id: string }) => item.id).slice(0, 5)).toEqual(
        ['fleet_4', 'fleet_3', 'fleet_2', 'fleet_1', 'fleet_0'].map((slug) => latestOf.get(slug)),
      );
      expect(answer.body).toHaveLength(6);
      const fromList = await get(service.url, MIGRATIONS('fleet_3', '?limit=1'), { token: superuser });
      expect(answer.body[1]).toEqual(fromList.body[0]);
    });

    it('refuses others (403), a bad limit and a cursor of other statuses (422)', async () => {
      const refused = await get(service.url, '/api/v1/migrations/latest', { token: member });
      expect(refused.status).toBe(403);
      const badLimit = await get(service.url, '/api/v1/migrations/latest?limit=0', { token: superuser });
      expect(badLimit.status).toBe(422);
      expect(badLimit.body.detail[0].loc).toEqual(['query', 'limit']);
      const page = await get(service.url, '/api/v1/migrations/latest?status=failed&limit=1', { token: superuser });
      const cursor = new URL(nextPath(page)!, 'http://x').searchParams.get('cursor')!;
      const mismatch = await get(service.url, `/api/v1/migrations/latest?status=running&cursor=${cursor}`, { token: superuser });
      expect(mismatch.status).toBe(422);
      expect(mismatch.body.detail[0].loc).toEqual(['query', 'cursor']);
    });
  });
});
