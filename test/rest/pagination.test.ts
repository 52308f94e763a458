// GET /api/v1/graphs/{slug}/migrations?limit=&cursor=: the same bare array as ever, plus a
// `Link: <...>; rel="next"` header while more runs follow. Following the links visits every run once,
// in order; a cursor the service did not issue is a FastAPI 422, in the contract's order of checks.
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { insertGraph, insertRuns, type GraphFixture } from '../helpers/fixtures.js';
import {
  cursorOf,
  inHistoryOrder,
  insertGraphWithRuns,
  microsecondText,
  micros,
  onTheWire,
  pageEndsInsideTies,
  plannedHistory,
  type PlannedRun,
} from '../helpers/history.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';
import { CONTRACT_KEYS, MIGRATIONS, RUN_FIELDS, get, limitError, snakeCaseKeys } from './support.js';

const MEMBER = randomUUID();
const OUTSIDER = randomUUID();

const LINK = /^<([^<>]+)>; rel="next"$/;
const HOW_TO_FIX = 'pass the endCursor (or an edge cursor) of a previous page unchanged, or omit it to start from the newest run';

/** FastAPI's 422 item for a `cursor` whose validator raised ValueError (written out, not imported). */
const cursorError = (input: string, what: string) => ({
  type: 'value_error',
  loc: ['query', 'cursor'],
  msg: `Value error, Invalid cursor: ${what}; ${HOW_TO_FIX}`,
  input,
  ctx: { error: {} },
});

describe.each(DATABASE_KINDS)('REST pagination on %s', (kind) => {
  let service: TestService;
  let memberToken: string;
  let outsiderToken: string;
  let walked: GraphFixture;
  let walkedOrder: PlannedRun[];
  let short: GraphFixture;
  let shortOrder: PlannedRun[];

  const graphWithRuns = (slug: string, runs: PlannedRun[]) => insertGraphWithRuns(service.prisma, slug, MEMBER, runs);

  /** The path and query of a Link header's URL: path-absolute, as the service sends it without PUBLIC_BASE_URL. */
  function nextPath(link: string): string {
    const target = LINK.exec(link)![1]!;
    expect(target).toMatch(/^\/api\/v1\/graphs\//);
    return target;
  }

  /** Follows Link headers from `path` to the last page; checks every answer on the way. */
  async function walk(path: string, limit: number, between?: (page: PlannedRun[]) => Promise<void>): Promise<PlannedRun[]> {
    const visited: PlannedRun[] = [];
    for (let next: string | null = path; next !== null;) {
      const answer = await get(service.url, next, { token: memberToken });
      expect(answer.status).toBe(200);
      expect(Array.isArray(answer.body)).toBe(true);
      visited.push(...answer.body.map((item: Record<string, unknown>) => ({ id: item.id, createdAt: item.created_at })));
      const link = answer.headers.get('link');
      if (link === null) break;
      expect(answer.body).toHaveLength(limit);
      next = nextPath(link);
      await between?.(answer.body.map((item: Record<string, unknown>) => ({ id: item.id, createdAt: item.created_at })));
    }
    return visited;
  }

  beforeAll(async () => {
    service = await startTestService(kind);
    [memberToken, outsiderToken] = await Promise.all([service.token(MEMBER), service.token(OUTSIDER)]);
    const runs = plannedHistory(2_500, '2026-06-01T00:00:00Z', 42);
    walked = await graphWithRuns('walked', runs);
    walkedOrder = inHistoryOrder(runs);
    // One run a page is a request per run: 120 runs hold the same ties and 1 µs steps as 2,500.
    const shortRuns = plannedHistory(120, '2026-06-01T00:00:00Z', 43);
    short = await graphWithRuns('walked_short', shortRuns);
    shortOrder = inHistoryOrder(shortRuns);
    await insertGraph(service.prisma, { slug: 'not_mine' });
  });
  afterAll(() => service?.close());

  describe('following the Link headers of a history to its end', () => {
    it.each([100, 500])('with limit=%i visits every run of 2,500 exactly once, newest first', { timeout: 300_000 }, async (limit) => {
      const visited = await walk(MIGRATIONS(walked.slug, `?limit=${limit}`), limit);
      expect(visited.length).toBe(walkedOrder.length);
      expect(visited).toEqual(walkedOrder.map(onTheWire));
    });

    // Small pages cost a request each: a 120-run history of the same structure, whose pages of 1 and 7
    // end inside groups of runs sharing an instant (where an off-by-one in the keyset shows).
    it.each([1, 7])('with limit=%i visits every run of 120 exactly once, newest first', { timeout: 300_000 }, async (limit) => {
      expect(pageEndsInsideTies(shortOrder, limit)).toBeGreaterThanOrEqual(10);
      const visited = await walk(MIGRATIONS(short.slug, `?limit=${limit}`), limit);
      expect(visited.length).toBe(shortOrder.length);
      expect(visited).toEqual(shortOrder.map(onTheWire));
    });

    it('never skips or repeats a run that existed at the start while runs are recorded during the walk', { timeout: 120_000 }, async () => {
      const initial = plannedHistory(200, '2026-06-01T00:00:00Z', 9);
      const graph = await graphWithRuns('moving', initial);
      let newest = micros('2026-07-01T00:00:00Z');
      let oldest = micros('2026-01-01T00:00:00Z');
      const visited = await walk(MIGRATIONS(graph.slug, '?limit=9'), 9, async (page) => {
        const end = page.at(-1)!;
        await insertRuns(service.prisma, graph.id, [
          { id: randomUUID(), createdAt: microsecondText((newest += 1)) },
          { id: randomUUID(), createdAt: microsecondText((oldest -= 1)) },
          { id: randomUUID(), createdAt: end.createdAt },
          { id: randomUUID(), createdAt: end.createdAt },
        ]);
      });
      const ids = visited.map((run) => run.id);
      expect(new Set(ids).size).toBe(ids.length);
      expect(visited.filter((run) => initial.some((original) => original.id === run.id))).toEqual(inHistoryOrder(initial).map(onTheWire));
    });
  });

  describe('the body and the Link header', () => {
    it('keeps the body a bare array of contract items, the first page equal to a request without cursor support', async () => {
      const answer = await get(service.url, MIGRATIONS(walked.slug, '?limit=3'), { token: memberToken });
      expect(answer.status).toBe(200);
      expect(answer.text.startsWith('[{"id":')).toBe(true);
      for (const item of answer.body) expect(Object.keys(item)).toEqual([...CONTRACT_KEYS]);
      const viaGraphQL = await graphql(
        service.url,
        `query($slug: String!) { graph(slug: $slug) { migrations(limit: 3) { ${RUN_FIELDS} } } }`,
        {
          token: memberToken,
          variables: { slug: walked.slug },
        },
      );
      expect(answer.body).toEqual(viaGraphQL.data.graph.migrations.map(snakeCaseKeys));
    });

    it('gives every page the same runs as the GraphQL connection with the same cursor', async () => {
      const first = await get(service.url, MIGRATIONS(walked.slug, '?limit=4'), { token: memberToken });
      const path = nextPath(first.headers.get('link')!);
      const cursor = new URLSearchParams(path.split('?')[1]).get('cursor');
      const second = await get(service.url, path, { token: memberToken });
      const viaGraphQL = await graphql(
        service.url,
        `query($slug: String!, $after: String) { graph(slug: $slug) { migrationsConnection(first: 4, after: $after) { pageInfo { endCursor } edges { node { ${RUN_FIELDS} } } } } }`,
        { token: memberToken, variables: { slug: walked.slug, after: cursor } },
      );
      const connection = viaGraphQL.data.graph.migrationsConnection;
      expect(second.body).toEqual(connection.edges.map((edge: { node: Record<string, unknown> }) => snakeCaseKeys(edge.node)));
      expect(new URLSearchParams(nextPath(second.headers.get('link')!).split('?')[1]).get('cursor')).toBe(connection.pageInfo.endCursor);
    });

    it('links to this path with limit and cursor only, dropping every other parameter, with the default limit written out', async () => {
      const answer = await get(service.url, MIGRATIONS(walked.slug, '?utm=x&limit=2&debug=1'), { token: memberToken });
      const path = nextPath(answer.headers.get('link')!);
      expect(path).toMatch(new RegExp(`^/api/v1/graphs/${walked.slug}/migrations\\?limit=2&cursor=[A-Za-z0-9_-]+$`));
      const defaulted = await get(service.url, MIGRATIONS(walked.slug), { token: memberToken });
      expect(defaulted.body).toHaveLength(100);
      expect(nextPath(defaulted.headers.get('link')!)).toMatch(/\?limit=100&cursor=[A-Za-z0-9_-]+$/);
    });

    it('sends no Link on the last page, even when it is exactly full', async () => {
      const graph = await graphWithRuns('exactly_ten', plannedHistory(10, '2026-05-01T00:00:00Z', 4));
      const full = await get(service.url, MIGRATIONS(graph.slug, '?limit=10'), { token: memberToken });
      expect(full.body).toHaveLength(10);
      expect(full.headers.get('link')).toBeNull();
      const partial = await get(service.url, MIGRATIONS(graph.slug, '?limit=11'), { token: memberToken });
      expect(partial.headers.get('link')).toBeNull();
      const more = await get(service.url, MIGRATIONS(graph.slug, '?limit=9'), { token: memberToken });
      expect(more.headers.get('link')).toMatch(LINK);
    });

    it('answers [] without a Link for a cursor past the oldest run, and for a graph that never migrated', async () => {
      const oldest = walkedOrder.at(-1)!;
      const past = await get(service.url, MIGRATIONS(walked.slug, `?cursor=${cursorOf({ v: 1, t: oldest.createdAt, i: oldest.id })}`), {
        token: memberToken,
      });
      expect(past.status).toBe(200);
      expect(past.text).toBe('[]');
      expect(past.headers.get('link')).toBeNull();
      await graphWithRuns('never_migrated', []);
      const empty = await get(
        service.url,
        MIGRATIONS('never_migrated', `?cursor=${cursorOf({ v: 1, t: oldest.createdAt, i: oldest.id })}`),
        { token: memberToken },
      );
      expect(empty.text).toBe('[]');
    });

    it('never builds the link from the Host header or X-Forwarded-Proto, and keeps the path as requested', async () => {
      const port = new URL(service.url).port;
      const raw = (headers: Record<string, string>, path = MIGRATIONS(walked.slug, '?limit=1')) =>
        new Promise<string | undefined>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path, headers: { authorization: `Bearer ${memberToken}`, ...headers } }, (res) => {
            res.resume();
            const { link } = res.headers;
            resolve(Array.isArray(link) ? link.join(', ') : link);
          });
          req.on('error', reject);
          req.end();
        });
      // Whatever the client claims the host is, the link is this service's path (RFC 8288 allows a
      // relative link; the client resolves it against the URL it called).
      const claims: Record<string, string>[] = [
        { host: 'evil.example' },
        { host: 'graphs.example.com:8443', 'x-forwarded-proto': 'https' },
        { host: 'evil.example>; rel="next", <http://x' },
      ];
      for (const headers of claims) {
        expect(await raw(headers), JSON.stringify(headers)).toMatch(
          /^<\/api\/v1\/graphs\/walked\/migrations\?limit=1&cursor=[A-Za-z0-9_-]+>; rel="next"$/,
        );
      }
      expect(await raw({ host: 'graphs.example.com' }, `/api/v1/graphs/${walked.slug}/migrations/?limit=1`)).toMatch(
        /^<\/api\/v1\/graphs\/walked\/migrations\/\?limit=1&cursor=/,
      );
    });

    it('builds an absolute link from PUBLIC_BASE_URL, path prefix included, whatever the Host header says', async () => {
      const behindGateway = await startTestService(kind, { env: { PUBLIC_BASE_URL: 'https://api.example.com/history/' } });
      try {
        await insertGraphWithRuns(behindGateway.prisma, 'prefixed', MEMBER, plannedHistory(3));
        const response = await fetch(`${behindGateway.url}${MIGRATIONS('prefixed', '?limit=1')}`, {
          headers: { authorization: `Bearer ${await behindGateway.token(MEMBER)}` },
        });
        expect(response.status).toBe(200);
        expect(response.headers.get('link')).toMatch(
          /^<https:\/\/api\.example\.com\/history\/api\/v1\/graphs\/prefixed\/migrations\?limit=1&cursor=[A-Za-z0-9_-]+>; rel="next"$/,
        );
      } finally {
        await behindGateway.close();
      }
    });

    it('uses the last of repeated cursor parameters, as Starlette does', async () => {
      const third = walkedOrder[2]!;
      const answer = await get(
        service.url,
        MIGRATIONS(walked.slug, `?limit=2&cursor=garbage&cursor=${cursorOf({ v: 1, t: third.createdAt, i: third.id })}`),
        {
          token: memberToken,
        },
      );
      expect(answer.status).toBe(200);
      expect(answer.body.map((item: { id: string }) => item.id)).toEqual(walkedOrder.slice(3, 5).map((run) => run.id));
    });
  });

  describe('a cursor the service did not issue', () => {
    const refused: [string, string, string][] = [
      ['empty', '', 'it is empty'],
      ['not base64url', 'not*base64', 'it is not base64url text'],
      ['not JSON', Buffer.from('hello').toString('base64url'), 'its payload is not JSON'],
      [
        'of version 3',
        cursorOf({ v: 3, t: '2026-05-31T23:59:59.999999Z', i: randomUUID() }),
        'version 3 is not supported (expected 1 or 2)',
      ],
      [
        'with a millisecond timestamp',
        cursorOf({ v: 1, t: '2026-05-31T23:59:59.999Z', i: randomUUID() }),
        'its timestamp is not RFC 3339 UTC with microseconds',
      ],
      ['with an id that is not a UUID', cursorOf({ v: 1, t: '2026-05-31T23:59:59.999999Z', i: '42' }), 'its id is not a UUID'],
    ];

    it.each(refused)("is a 422 in FastAPI's shape when %s", async (_what, cursor, what) => {
      const answer = await get(service.url, MIGRATIONS(walked.slug, `?cursor=${encodeURIComponent(cursor)}`), { token: memberToken });
      expect(answer.status).toBe(422);
      expect(answer.headers.get('content-type')).toBe('application/json');
      expect(answer.text).toBe(JSON.stringify({ detail: [cursorError(cursor, what)] }));
    });

    it('is a 422 when tampered with (one character changed)', async () => {
      const link = (await get(service.url, MIGRATIONS(walked.slug, '?limit=2'), { token: memberToken })).headers.get('link')!;
      const cursor = new URLSearchParams(nextPath(link).split('?')[1]).get('cursor')!;
      const tampered = `${cursor[0] === 'f' ? 'g' : 'f'}${cursor.slice(1)}`;
      const answer = await get(service.url, MIGRATIONS(walked.slug, `?cursor=${tampered}`), { token: memberToken });
      expect(answer.status).toBe(422);
      expect(answer.body.detail[0]).toMatchObject({ type: 'value_error', loc: ['query', 'cursor'], input: tampered, ctx: { error: {} } });
    });

    it('is reported after a bad limit, both in one 422, in the order of the parameters', async () => {
      const answer = await get(service.url, MIGRATIONS(walked.slug, '?cursor=x&limit=0'), { token: memberToken });
      expect(answer.status).toBe(422);
      expect(answer.body).toEqual({
        detail: [limitError('greater_than_equal', '0').detail[0], cursorError('x', 'it is not base64url text')],
      });
    });

    it.each([
      ['no token', undefined, 'walked', 401],
      ['an unknown graph', 'member', 'no_such_graph', 422],
      ['a graph the viewer may not read', 'outsider', 'not_mine', 422],
    ] as const)('keeps the order of checks: with %s', async (_what, who, slug, status) => {
      const token = who === 'member' ? memberToken : who === 'outsider' ? outsiderToken : undefined;
      const answer = await get(service.url, MIGRATIONS(slug, '?cursor=x'), { token });
      expect(answer.status).toBe(status);
    });

    it('a valid cursor does not change 404 and 403', async () => {
      const cursor = cursorOf({ v: 1, t: '2026-05-31T23:59:59.999999Z', i: randomUUID() });
      expect((await get(service.url, MIGRATIONS('no_such_graph', `?cursor=${cursor}`), { token: memberToken })).status).toBe(404);
      expect((await get(service.url, MIGRATIONS('not_mine', `?cursor=${cursor}`), { token: outsiderToken })).status).toBe(403);
    });
  });
});
