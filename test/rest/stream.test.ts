// The REST live history (src/doors/rest/stream.ts over src/domain/feed.ts), on PGlite and PostgreSQL over
// real sockets: every insert and change of a run is an event carrying the list route's item, in
// order; Last-Event-ID resumes with no gap and no duplicate; refusals are the list route's answers;
// access is checked again while a stream is open; and, on PostgreSQL, two interleaved writers'
// runs arrive exactly once in commit order, also across a dropped LISTEN session.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pruneChanges } from '../../src/queries/runChanges.js';
import { LISTEN_APPLICATION } from '../../src/database/listen.js';
import { DATABASE_KINDS, POSTGRES_ADMIN_URL } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, testConfig, type TestService } from '../helpers/service.js';
import { startTcpProxy } from '../helpers/tcpProxy.js';
import { startService } from '../../src/service.js';
import { createLogger } from '../../src/observability/logger.js';
import { openSse, type SseStream } from '../helpers/sse.js';

const MEMBER = randomUUID();
const OUTSIDER = randomUUID();
const ADMIN = randomUUID();
const SLUG = 'live_graph';
const STREAM = `/api/v1/graphs/${SLUG}/migrations/stream`;
const LIST = `/api/v1/graphs/${SLUG}/migrations`;
const LIVE_ENV = { LIVE_RECHECK_MS: '300', LIVE_HEARTBEAT_MS: '300', AUTH_CLOCK_TOLERANCE_SECONDS: '0' };

let created = 0;
/** A run created later than every earlier one (so the list route's order is insertion order). */
const nextRun = (status = 'pending') => ({ createdAt: new Date(Date.UTC(2026, 5, 1) + (created += 1) * 1_000).toISOString(), status });

async function listItems(service: TestService, token: string, path = LIST) {
  const response = await fetch(`${service.url}${path}?limit=500`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as Record<string, unknown>[];
}

describe.each(DATABASE_KINDS)('live history over SSE on %s', (kind) => {
  let service: TestService;
  let graphId: string;
  let member: string;
  const open: SseStream[] = [];
  const stream = async (path: string, token: string | undefined, headers: Record<string, string> = {}) => {
    const opened = await openSse(service.url, path, { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers });
    open.push(opened);
    return opened;
  };

  beforeAll(async () => {
    service = await startTestService(kind, { env: LIVE_ENV });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
    member = await service.token(MEMBER);
  });
  afterAll(async () => {
    for (const opened of open) opened.close();
    await service?.close();
  });

  it('sends every insert and every change of a run, in order, each with the list route item as its data', async () => {
    const live = await stream(STREAM, member);
    expect(live.status).toBe(200);
    expect(live.headers['content-type']).toBe('text/event-stream');
    expect(live.headers['x-request-id']).toBeTruthy();
    const id = await insertRun(service.prisma, graphId, nextRun('pending'));
    await service.prisma
      .$executeRaw`UPDATE graph_migration_runs SET status = 'running', started_at = '2026-06-01T00:00:00.123456Z' WHERE id = ${id}::uuid`;
    // A statement that changes nothing is not a change.
    await service.prisma.$executeRaw`UPDATE graph_migration_runs SET status = 'running' WHERE id = ${id}::uuid`;
    await service.prisma
      .$executeRaw`UPDATE graph_migration_runs SET status = 'success', finished_at = '2026-06-01T00:00:07Z' WHERE id = ${id}::uuid`;
    const events = await live.waitFor(3);
    expect(events.map((event) => event.event)).toEqual(['run', 'run', 'run']);
    expect(events.map((event) => JSON.parse(event.data).status)).toEqual(['pending', 'running', 'success']);
    const ids = events.map((event) => BigInt(event.id!));
    expect(ids[0]! < ids[1]! && ids[1]! < ids[2]!).toBe(true);
    // The last event's data is the list route's item, byte for byte.
    const [item] = (await listItems(service, member)).filter((run) => run.id === id);
    expect(events[2]!.data).toBe(JSON.stringify(item));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(live.events).toHaveLength(3);
  });

  it('replays the events after Last-Event-ID, then continues live, with none twice', async () => {
    const first = await stream(STREAM, member);
    for (let i = 0; i < 3; i++) await insertRun(service.prisma, graphId, nextRun());
    const seen = await first.waitFor(3);
    first.close();
    for (let i = 0; i < 2; i++) await insertRun(service.prisma, graphId, nextRun());
    const resumed = await stream(STREAM, member, { 'last-event-id': seen[0]!.id! });
    await resumed.waitFor(4);
    await insertRun(service.prisma, graphId, nextRun());
    const events = await resumed.waitFor(5);
    expect(events.slice(0, 2).map((event) => event.id)).toEqual([seen[1]!.id, seen[2]!.id]);
    const ids = events.map((event) => BigInt(event.id!));
    expect(new Set(ids).size).toBe(5);
    expect([...ids].sort((a, b) => (a < b ? -1 : 1))).toEqual(ids);
  });

  it('sends only the runs of the statuses asked for', async () => {
    const failedOnly = await stream(`${STREAM}?status=failed`, member);
    await insertRun(service.prisma, graphId, nextRun('running'));
    const failed = await insertRun(service.prisma, graphId, nextRun('failed'));
    const [event] = await failedOnly.waitFor(1);
    expect(JSON.parse(event!.data).id).toBe(failed);
  });

  it('answers every refusal before the stream opens as the list route answers it', async () => {
    const outsider = await service.token(OUTSIDER);
    const cases: [string, string | undefined, string][] = [
      ['no token', undefined, ''],
      ['an invalid token', 'not-a-token', ''],
      ['a non-member', outsider, ''],
      ['an unknown graph', member, 'unknown'],
      ['too many statuses', member, '?' + Array.from({ length: 30 }, (_, i) => `status=s${i}`).join('&')],
    ];
    for (const [name, token, variant] of cases) {
      const streamPath = variant === 'unknown' ? '/api/v1/graphs/unknown/migrations/stream' : `${STREAM}${variant}`;
      const listPath = variant === 'unknown' ? '/api/v1/graphs/unknown/migrations' : `${LIST}${variant}`;
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      const refused = await stream(streamPath, undefined, headers);
      const listed = await fetch(`${service.url}${listPath}`, { headers });
      expect({ name, status: refused.status }).toEqual({ name, status: listed.status });
      expect(refused.body, name).toBe(await listed.text());
      expect(refused.headers['www-authenticate'], name).toBe(listed.headers.get('www-authenticate') ?? undefined);
    }
    const allRefused = await stream('/api/v1/migrations/stream', member);
    const allListed = await fetch(`${service.url}/api/v1/migrations`, { headers: { authorization: `Bearer ${member}` } });
    expect(allRefused.status).toBe(403);
    expect(allRefused.body).toBe(await allListed.text());
  });

  it('refuses a malformed Last-Event-ID (422) and one older than the history kept (410)', async () => {
    const malformed = await stream(STREAM, member, { 'last-event-id': 'abc' });
    expect(malformed.status).toBe(422);
    expect(JSON.parse(malformed.body!).detail[0]).toMatchObject({ type: 'value_error', loc: ['header', 'last-event-id'], input: 'abc' });
    const ahead = await stream(STREAM, member, { 'last-event-id': '999999999' });
    expect(ahead.status).toBe(422);
    await pruneChanges(service.service.database.transaction, 0);
    const expired = await stream(STREAM, member, { 'last-event-id': '1' });
    expect(expired.status).toBe(410);
    expect(JSON.parse(expired.body!).detail).toMatch(/older than the change history kept/);
  });

  it('sends every graph to superusers on the all-graphs stream', async () => {
    const admin = await service.token(ADMIN, { isSuperuser: true });
    const all = await stream('/api/v1/migrations/stream', admin);
    const other = await insertGraph(service.prisma, { slug: `other_${kind}` });
    const id = await insertRun(service.prisma, other.id, nextRun());
    const [event] = await all.waitFor(1);
    expect(JSON.parse(event!.data)).toMatchObject({ id, graph_id: other.id });
  });

  it('keeps an idle stream alive with comment lines', async () => {
    const idle = await stream(STREAM, member);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(idle.comments.filter((comment) => comment === 'keep-alive').length).toBeGreaterThanOrEqual(2);
  });

  it("ends a removed member's stream at the next access check, saying why", async () => {
    const leaving = randomUUID();
    await addMember(service.prisma, graphId, leaving);
    const live = await stream(STREAM, await service.token(leaving));
    await service.prisma.$executeRaw`DELETE FROM graph_members WHERE user_id = ${leaving}::uuid`;
    await live.ended;
    expect(live.events.at(-1)).toMatchObject({ event: 'end' });
    expect(JSON.parse(live.events.at(-1)!.data)).toMatchObject({ reason: 'access', detail: 'Not a member of this graph' });
  });

  it('ends a stream when its token expires', async () => {
    const live = await stream(STREAM, await service.token(MEMBER, { expiresIn: '2s' }));
    const started = Date.now();
    await live.ended;
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(JSON.parse(live.events.at(-1)!.data)).toMatchObject({ reason: 'access', detail: 'Invalid or expired token' });
  });

  it("ends a slow reader's stream when its buffer overflows, with the cursor to resume from", async () => {
    const small = await startTestService(kind, { env: { ...LIVE_ENV, LIVE_STREAM_BUFFER: '2' } });
    try {
      const { id } = await insertGraph(small.prisma, { slug: SLUG });
      await addMember(small.prisma, id, MEMBER);
      const slow = await openSse(small.url, STREAM, { authorization: `Bearer ${await small.token(MEMBER)}` });
      slow.pause();
      // Large runs, so the socket's buffers fill and the stream's own buffer has to hold them.
      await small.prisma.$executeRaw`
        INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, error, created_at)
        SELECT gen_random_uuid(), ${id}::uuid, n, n + 1, 'big_' || n, 'failed', repeat('x', 200000), '2026-06-01T00:00:00Z'::timestamptz + make_interval(secs => n)
        FROM generate_series(1, 100) AS n`;
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      slow.resume();
      await slow.ended;
      const end = slow.events.at(-1)!;
      expect(end.event).toBe('end');
      const said = JSON.parse(end.data);
      expect(said).toMatchObject({ reason: 'overflow' });
      expect(said.last_event_id).toBe(slow.events.at(-2)?.id ?? null);
      expect(slow.events.length - 1).toBeLessThan(100);
    } finally {
      await small.close();
    }
  });

  it('counts open streams, changes read and events delivered in the metrics', async () => {
    const counted = await startTestService(kind, { env: { ...LIVE_ENV, METRICS_PORT: '0' } });
    try {
      const { id } = await insertGraph(counted.prisma, { slug: SLUG });
      await addMember(counted.prisma, id, MEMBER);
      const token = await counted.token(MEMBER);
      const live = [
        await openSse(counted.url, STREAM, { authorization: `Bearer ${token}` }),
        await openSse(counted.url, STREAM, { authorization: `Bearer ${token}` }),
      ];
      await insertRun(counted.prisma, id, nextRun());
      await Promise.all(live.map((stream) => stream.waitFor(1)));
      const text = await (await fetch(counted.service.metricsUrl!)).text();
      const sample = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
      expect(sample('live_streams_open')).toBe(2);
      expect(sample('live_listen_up')).toBe(1);
      expect(sample('live_changes_total')).toBeGreaterThanOrEqual(1);
      expect(sample('live_events_delivered_total')).toBeGreaterThanOrEqual(2);
      for (const stream of live) stream.close();
    } finally {
      await counted.close();
    }
  });

  it('ends every stream with a shutdown event when the service stops', async () => {
    const stopping = await startTestService(kind, { env: LIVE_ENV });
    const { id } = await insertGraph(stopping.prisma, { slug: SLUG });
    await addMember(stopping.prisma, id, MEMBER);
    const live = await openSse(stopping.url, STREAM, { authorization: `Bearer ${await stopping.token(MEMBER)}` });
    await stopping.close();
    await live.ended;
    expect(JSON.parse(live.events.at(-1)!.data)).toMatchObject({ reason: 'shutdown', last_event_id: null });
  });
});

describe.skipIf(!DATABASE_KINDS.includes('postgres'))('live history on PostgreSQL: writers of their own', () => {
  let service: TestService;
  let graphId: string;
  let member: string;
  const clients: pg.Client[] = [];
  const writerClient = async () => {
    const client = new pg.Client({ connectionString: service.database.url });
    await client.connect();
    clients.push(client);
    return client;
  };
  const insert = (client: pg.Client, status = 'pending') =>
    client
      .query(
        `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
         VALUES (gen_random_uuid(), $1, 1, 2, $2, $3, $4) RETURNING id::text`,
        [graphId, `m_${randomUUID()}`, status, nextRun().createdAt],
      )
      .then((result) => result.rows[0].id as string);

  beforeAll(async () => {
    service = await startTestService('postgres', { env: LIVE_ENV });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
    member = await service.token(MEMBER);
  });
  afterAll(async () => {
    for (const client of clients) await client.end();
    await service?.close();
  });

  it("delivers two interleaved writers' runs exactly once, in commit order, to a live and a resuming reader", async () => {
    const live = await openSse(service.url, STREAM, { authorization: `Bearer ${member}` });
    const [a, b] = [await writerClient(), await writerClient()];
    // An event to resume after, before the two writers interleave.
    await insert(a);
    const [before] = await live.waitFor(1);
    live.events.length = 0;
    await a.query('BEGIN');
    const first = await insert(a); // takes the smaller capture id
    await b.query('BEGIN');
    const second = await insert(b);
    await b.query('COMMIT'); // commits first
    const [early] = await live.waitFor(1);
    expect(JSON.parse(early!.data).id).toBe(second);
    await a.query('UPDATE graph_migration_runs SET status = $1 WHERE id = $2', ['running', first]);
    await a.query('COMMIT');
    const events = await live.waitFor(3);
    expect(events.map((event) => [JSON.parse(event.data).id, JSON.parse(event.data).status])).toEqual([
      [second, 'pending'],
      [first, 'pending'],
      [first, 'running'],
    ]);
    // A reader resuming from before both sees the same events, in the same order.
    const resumed = await openSse(service.url, STREAM, { authorization: `Bearer ${member}`, 'last-event-id': before!.id! });
    expect((await resumed.waitFor(3)).map((event) => event.id)).toEqual(events.map((event) => event.id));
    live.close();
    resumed.close();
  });

  it('loses nothing while its LISTEN session is down, and is ready again once it is back', async () => {
    const live = await openSse(service.url, STREAM, { authorization: `Bearer ${member}` });
    const admin = await writerClient();
    const { rowCount } = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
      [LISTEN_APPLICATION],
    );
    expect(rowCount).toBeGreaterThan(0);
    const ids = [await insert(admin), await insert(admin)];
    const events = await live.waitFor(2, 15_000);
    expect(events.map((event) => JSON.parse(event.data).id)).toEqual(ids);
    const ready = await fetch(`${service.url}/readyz`);
    expect(ready.status).toBe(200);
    live.close();
  });

  it('loses nothing across a database outage (every connection cut, as by a restart): the stream goes on from where it was', async () => {
    const cleanups: (() => Promise<void>)[] = [];
    const proxy = await startTcpProxy({
      host: new URL(POSTGRES_ADMIN_URL).hostname,
      port: Number(new URL(POSTGRES_ADMIN_URL).port || 5432),
    });
    const viaProxy = (url: string) => Object.assign(new URL(url), { hostname: '127.0.0.1', port: String(proxy.port) }).toString();
    const behind = await startTestService('postgres', { databaseUrl: viaProxy, env: { ...LIVE_ENV, DATABASE_CONNECT_TIMEOUT_MS: '1000' } });
    try {
      const { id } = await insertGraph(behind.prisma, { slug: SLUG });
      await addMember(behind.prisma, id, MEMBER);
      const live = await openSse(behind.url, STREAM, { authorization: `Bearer ${await behind.token(MEMBER)}` });
      // The writer reaches PostgreSQL directly, not through the proxy; ended before the database is dropped.
      const direct = new pg.Client({ connectionString: behind.database.url });
      await direct.connect();
      cleanups.push(() => direct.end());
      const write = async () =>
        (
          await direct.query(
            `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
             VALUES (gen_random_uuid(), $1, 1, 2, $2, 'running', $3) RETURNING id::text`,
            [id, `m_${randomUUID()}`, nextRun().createdAt],
          )
        ).rows[0].id as string;
      const before = await write();
      await live.waitFor(1);
      await proxy.cut();
      // Written while the service reaches no database at all: its LISTEN session and pool are gone.
      const during = [await write(), await write()];
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect((await fetch(`${behind.url}/readyz`)).status).toBe(503);
      await proxy.restore();
      const events = await live.waitFor(3, 20_000);
      expect(events.map((event) => JSON.parse(event.data).id)).toEqual([before, ...during]);
      live.close();
    } finally {
      for (const cleanup of cleanups.splice(0)) await cleanup();
      await behind.close();
      await proxy.close();
    }
  });

  it('resumes on another instance from the cursor of the first: a restart loses nothing and repeats nothing', async () => {
    const first = await openSse(service.url, STREAM, { authorization: `Bearer ${member}` });
    const writer = await writerClient();
    const seen = [await insert(writer), await insert(writer)];
    const events = await first.waitFor(2);
    first.close();
    // Another instance over the same database (as after a restart), while more is written.
    const second = await startService(testConfig({ DATABASE_URL: service.database.url!, ...LIVE_ENV }), createLogger('silent'));
    try {
      const later = [await insert(writer), await insert(writer)];
      const resumed = await openSse(second.url, STREAM, { authorization: `Bearer ${member}`, 'last-event-id': events[0]!.id! });
      const replayed = await resumed.waitFor(3);
      expect(replayed.map((event) => JSON.parse(event.data).id)).toEqual([seen[1], ...later]);
      resumed.close();
    } finally {
      await second.close();
    }
  });
});
