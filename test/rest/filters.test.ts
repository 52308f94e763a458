// REST filters (repeated `status`, `since`, `until`), their FastAPI-style 422s, next-page links that
// carry them with a cursor bound to them, and the superusers' cross-graph route GET /api/v1/migrations.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { get, MIGRATIONS, type HttpAnswer } from './support.js';

const MEMBER = randomUUID();
const STATUSES = ['success', 'failed', 'running', 'pending', 'skipped'];
const RUNS = 60;

interface Run {
  id: string;
  graphId: string;
  status: string;
  createdAt: string;
}

/** Run i of a graph: one minute apart, a microsecond past the minute, statuses in turn. */
const createdAt = (i: number) => new Date(Date.UTC(2026, 4, 1) + i * 60_000).toISOString().replace(/\.\d{3}Z$/, '.000001Z');

const newestFirst = (a: Run, b: Run) => (a.createdAt === b.createdAt ? (a.id < b.id ? 1 : -1) : a.createdAt < b.createdAt ? 1 : -1);
const ids = (answer: HttpAnswer) => (answer.body as { id: string }[]).map((item) => item.id);

/** The path and query of a Link header (path-absolute here: no PUBLIC_BASE_URL). */
function nextPath(answer: HttpAnswer): string | undefined {
  const link = answer.headers.get('link');
  if (!link) return undefined;
  const match = /^<([^>]+)>; rel="next"$/.exec(link);
  expect(match, link).not.toBeNull();
  return match![1];
}

describe.each(DATABASE_KINDS)('REST filters and the cross-graph route on %s', (kind) => {
  let service: TestService;
  let member: string;
  let superuser: string;
  const runs: Run[] = [];

  beforeAll(async () => {
    service = await startTestService(kind);
    const filtered = await insertGraph(service.prisma, { slug: 'filtered' });
    await addMember(service.prisma, filtered.id, MEMBER);
    const other = await insertGraph(service.prisma, { slug: 'other' });
    const deleted = await insertGraph(service.prisma, { slug: 'gone', status: 'deleted' });
    for (let i = 0; i < RUNS; i++) {
      const run = { graphId: filtered.id, status: STATUSES[i % STATUSES.length]!, createdAt: createdAt(i) };
      runs.push({ ...run, id: await insertRun(service.prisma, filtered.id, run) });
    }
    for (let i = 0; i < 10; i++) {
      const run = { graphId: other.id, status: i % 2 ? 'failed' : 'success', createdAt: createdAt(i).replace('.000001Z', '.000002Z') };
      runs.push({ ...run, id: await insertRun(service.prisma, other.id, run) });
    }
    await insertRun(service.prisma, deleted.id, { status: 'failed', createdAt: createdAt(5) });
    member = await service.token(MEMBER);
    superuser = await service.token(randomUUID(), { isSuperuser: true });
  });
  afterAll(() => service?.close());

  const expected = (filter: (run: Run) => boolean, graph = 'filtered') =>
    runs
      .filter((run) => (graph === '*' || run.graphId === runs[0]!.graphId) && filter(run))
      .sort(newestFirst)
      .map((run) => run.id);

  describe('on a graph', () => {
    it('selects by one status, by several (repeated), by a window, and by all of them', async () => {
      const page = (query: string) => get(service.url, MIGRATIONS('filtered', query), { token: member });
      expect(ids(await page('?status=failed'))).toEqual(expected((run) => run.status === 'failed'));
      expect(ids(await page('?status=failed&status=running&status=failed'))).toEqual(
        expected((run) => run.status === 'failed' || run.status === 'running'),
      );
      // since inclusive, until exclusive, to the microsecond; any RFC 3339 offset.
      const since = createdAt(10);
      const until = createdAt(20);
      expect(ids(await page(`?since=${since}&until=${until}`))).toEqual(expected((run) => run.createdAt >= since && run.createdAt < until));
      expect(ids(await page(`?since=${encodeURIComponent('2026-05-01T02:10:00.000001+02:00')}`))).toEqual(
        expected((run) => run.createdAt >= createdAt(10)),
      );
      expect(ids(await page(`?status=pending&since=${since}&until=${until}`))).toEqual(
        expected((run) => run.status === 'pending' && run.createdAt >= since && run.createdAt < until),
      );
      // An unknown status is no error: the database's CHECK is the list of states, and it matches nothing.
      const unknown = await page('?status=exploded');
      expect(unknown.status).toBe(200);
      expect(unknown.body).toEqual([]);
    });

    it('walks a filtered history through Link headers that carry the filters, while new runs are recorded', async () => {
      const want = expected((run) => run.status === 'failed' || run.status === 'skipped');
      let path: string | undefined = MIGRATIONS('filtered', `?limit=5&status=skipped&status=failed&until=${createdAt(RUNS)}`);
      const seen: string[] = [];
      for (let page = 0; path; page++) {
        const answer = await get(service.url, path, { token: member });
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
        seen.push(...ids(answer));
        // Newer runs of the filtered statuses arrive while the client pages: they never shift a page.
        await insertRun(service.prisma, runs[0]!.graphId, { status: 'failed', createdAt: createdAt(RUNS + 100 + page) });
        path = nextPath(answer);
        if (path) {
          expect(path).toMatch(
            /^\/api\/v1\/graphs\/filtered\/migrations\?limit=5&status=failed&status=skipped&until=2026-05-01T01%3A00%3A00\.000001Z&cursor=[A-Za-z0-9_-]+$/,
          );
        }
        expect(page).toBeLessThan(10);
      }
      expect(seen).toEqual(want);
    });

    it('refuses bad filters with FastAPI 422 items, in the order of the parameters', async () => {
      const answer = await get(
        service.url,
        MIGRATIONS(
          'filtered',
          `?limit=0&since=yesterday&until=2026-02-30T00:00:00Z&${STATUSES.concat('a', 'b', 'c', 'd', 'e', 'f')
            .map((status) => `status=${status}`)
            .join('&')}`,
        ),
        { token: member },
      );
      expect(answer.status).toBe(422);
      const items = answer.body.detail as { type: string; loc: string[]; input: unknown }[];
      expect(items.map((item) => [item.type, item.loc[1]])).toEqual([
        ['greater_than_equal', 'limit'],
        ['too_long', 'status'],
        ['datetime_from_date_parsing', 'since'],
        ['datetime_from_date_parsing', 'until'],
      ]);
      expect(items[2]!.input).toBe('yesterday');

      const reversed = await get(service.url, MIGRATIONS('filtered', `?since=${createdAt(20)}&until=${createdAt(10)}`), { token: member });
      expect(reversed.status).toBe(422);
      expect(reversed.body.detail).toEqual([
        expect.objectContaining({
          type: 'value_error',
          loc: ['query', 'since'],
          input: createdAt(20),
          msg: expect.stringMatching(/later than until/),
        }),
      ]);
    });

    it('refuses a cursor issued for other filters (422 on cursor), and accepts it with the same ones', async () => {
      const first = await get(service.url, MIGRATIONS('filtered', '?limit=2&status=failed'), { token: member });
      const cursor = new URLSearchParams(nextPath(first)!.split('?')[1]).get('cursor')!;
      const other = await get(service.url, MIGRATIONS('filtered', `?limit=2&status=running&cursor=${cursor}`), { token: member });
      expect(other.status).toBe(422);
      expect(other.body.detail).toEqual([
        expect.objectContaining({ type: 'value_error', loc: ['query', 'cursor'], msg: expect.stringMatching(/issued for other filters/) }),
      ]);
      const unfiltered = await get(service.url, MIGRATIONS('filtered', `?limit=2&cursor=${cursor}`), { token: member });
      expect(unfiltered.status).toBe(422);
      const same = await get(service.url, MIGRATIONS('filtered', `?limit=2&status=failed&cursor=${cursor}`), { token: member });
      // (The walk above recorded newer failed runs: the reference is the service's own unpaged answer.)
      const four = await get(service.url, MIGRATIONS('filtered', '?limit=4&status=failed'), { token: member });
      expect(ids(same)).toEqual(ids(four).slice(2, 4));
    });
  });

  describe('GET /api/v1/migrations', () => {
    it('needs a token (401), then a superuser (403)', async () => {
      const anonymous = await get(service.url, '/api/v1/migrations');
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
      const notSuperuser = await get(service.url, '/api/v1/migrations', { token: member });
      expect(notSuperuser.status).toBe(403);
      expect(notSuperuser.body).toEqual({ detail: expect.stringMatching(/^Superusers only/) });
      // Parameters are checked after the token, before the permission, as on the graph route.
      expect((await get(service.url, '/api/v1/migrations?limit=0', { token: member })).status).toBe(422);
    });

    it("gives a superuser every graph's runs newest first, deleted graphs left out, filtered and paged", async () => {
      const all = await get(service.url, '/api/v1/migrations?limit=500', { token: superuser });
      expect(all.status).toBe(200);
      const live = new Set(runs.map((run) => run.graphId));
      const everyRun = (await service.prisma.graphMigrationRun.findMany({ select: { id: true, graphId: true } })).filter((run) =>
        live.has(run.graphId),
      );
      expect(new Set(ids(all))).toEqual(new Set(everyRun.map((run) => run.id)));
      expect((all.body as { graph_id: string }[]).every((item) => live.has(item.graph_id))).toBe(true);
      const order = (all.body as { created_at: string; id: string }[]).map((item) => [item.created_at, item.id].join(' '));
      expect(order).toEqual([...order].sort().reverse());

      // Failed runs before the 30th minute, two at a time, through the Link header.
      let path: string | undefined = `/api/v1/migrations?limit=2&status=failed&until=${createdAt(30)}`;
      const seen: string[] = [];
      while (path) {
        const answer = await get(service.url, path, { token: superuser });
        expect(answer.status).toBe(200);
        seen.push(...ids(answer));
        path = nextPath(answer);
        if (path) expect(path).toMatch(/^\/api\/v1\/migrations\?limit=2&status=failed&until=[^&]+&cursor=[A-Za-z0-9_-]+$/);
      }
      expect(seen).toEqual(expected((run) => run.status === 'failed' && run.createdAt < createdAt(30), '*'));
    });
  });
});
