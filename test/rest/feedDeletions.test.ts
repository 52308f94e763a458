// Deletions and truncations in the live history (prisma/migrations/20261206100000_run_deletions_in_feed,
// src/domain/feed.ts), on PGlite and PostgreSQL over real sockets: a deleted run is a `run_deleted`
// event carrying the list route's item as it was, one per run of a bulk DELETE in the history's
// order; a graph deleted with its runs fails nothing; every TRUNCATE shape ends open streams with
// `reset` and the truncation's cursor, and resuming after it loses nothing; the GraphQL subscription
// says DELETED and HISTORY_RESET; and a bulk load of 5,000 runs under open streams with a small
// buffer reaches every reader exactly once, in order, across its overflows and reconnects.
import { randomUUID } from 'node:crypto';
import { createClient as createSseClient } from 'graphql-sse';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Prisma } from '../../src/database/generated/client.js';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { startTestService, type TestService } from '../helpers/service.js';
import { openSse, type SseEvent, type SseStream } from '../helpers/sse.js';

const MEMBER = randomUUID();
const ADMIN = randomUUID();
const SLUG = 'deleting_graph';
const STREAM = `/api/v1/graphs/${SLUG}/migrations/stream`;
const ALL_STREAM = '/api/v1/migrations/stream';
const LIST = `/api/v1/graphs/${SLUG}/migrations`;
const LIVE_ENV = { LIVE_RECHECK_MS: '300', LIVE_HEARTBEAT_MS: '300' };

const TRUNCATES = [
  'TRUNCATE graph_migration_runs',
  'TRUNCATE graphs CASCADE',
  'TRUNCATE graph_migration_runs, graph_members, graphs RESTART IDENTITY CASCADE',
];

let created = 0;
/** A run created later than every earlier one (the list route's order is then insertion order). */
const nextRun = (status = 'pending') => ({ createdAt: new Date(Date.UTC(2026, 7, 1) + (created += 1) * 1_000).toISOString(), status });

const runIds = (events: SseEvent[]) => events.filter((event) => event.event !== 'end').map((event) => JSON.parse(event.data).id as string);
/** Resolves when the server ends `stream`; fails after `timeoutMs` with what it received. */
const ended = (stream: SseStream, timeoutMs = 10_000) =>
  Promise.race([
    stream.ended,
    new Promise((_, reject) =>
      setTimeout(
        () => reject(new Error(`not ended within ${timeoutMs} ms: ${JSON.stringify(stream.events).slice(0, 1_000)}`)),
        timeoutMs,
      ).unref(),
    ),
  ]);
const endOf = (stream: SseStream) => {
  const end = stream.events.at(-1);
  expect(end?.event).toBe('end');
  return { id: end!.id, ...(JSON.parse(end!.data) as { reason: string; detail: string; last_event_id: string | null }) };
};

interface Result {
  data?: { migrationRunEvents: { cursor: string; kind: string; run: { id: string; status: string; graph: { slug: string } } } } | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** Subscription.migrationRunEvents over GraphQL over SSE: its results as they come, and when it is done. */
function subscribe(service: TestService, token: string, variables: Record<string, unknown>) {
  const client = createSseClient({ url: `${service.url}/graphql`, headers: { authorization: `Bearer ${token}` }, retryAttempts: 0 });
  const got: Result[] = [];
  const { promise: done, resolve } = Promise.withResolvers<void>();
  client.subscribe(
    {
      query: `subscription ($slug: String, $after: String) {
        migrationRunEvents(slug: $slug, after: $after) { cursor kind run { id status graph { slug } } }
      }`,
      variables,
    },
    {
      next: (result) => void got.push(result as Result),
      error: (error) => (got.push({ errors: [{ message: String(error) }] }), resolve()),
      complete: resolve,
    },
  );
  return { got, done, dispose: () => client.dispose() };
}

async function waitFor(got: Result[], count: number, timeoutMs = 10_000) {
  const until = Date.now() + timeoutMs;
  while (got.length < count) {
    if (Date.now() > until) throw new Error(`${got.length} of ${count} results: ${JSON.stringify(got).slice(0, 2_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return got;
}

/** Waits until `count` streams are open (subscriptions registered), so the next write is theirs. */
async function streamsOpen(service: TestService, count: number) {
  const until = Date.now() + 10_000;
  while (service.service.openStreams() < count) {
    if (Date.now() > until) throw new Error(`${service.service.openStreams()} of ${count} streams open`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.each(DATABASE_KINDS)('deletions and truncations in the live history on %s', { timeout: 60_000 }, (kind) => {
  let service: TestService;
  let graphId: string;
  let member: string;
  let admin: string;
  const open: SseStream[] = [];
  const stream = async (path: string, token: string, headers: Record<string, string> = {}) => {
    const opened = await openSse(service.url, path, { authorization: `Bearer ${token}`, ...headers });
    expect(opened.status).toBe(200);
    open.push(opened);
    return opened;
  };
  const listItems = async () => {
    const response = await fetch(`${service.url}${LIST}?limit=500`, { headers: { authorization: `Bearer ${member}` } });
    return (await response.json()) as Record<string, unknown>[];
  };

  beforeAll(async () => {
    service = await startTestService(kind, { env: LIVE_ENV });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
    member = await service.token(MEMBER);
    admin = await service.token(ADMIN, { isSuperuser: true });
  });
  afterAll(async () => {
    for (const opened of open) opened.close();
    await service?.close();
  });

  it('sends a run_deleted event, the list route item as it was, for a DELETE of one run', async () => {
    const live = await stream(STREAM, member);
    const id = await insertRun(service.prisma, graphId, { ...nextRun('failed'), error: 'boom', workflowRunId: 'wf-1' });
    const [inserted] = await live.waitFor(1);
    const [item] = (await listItems()).filter((run) => run.id === id);
    await service.prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE id = ${id}::uuid`;
    const events = await live.waitFor(2);
    expect(events.map((event) => event.event)).toEqual(['run', 'run_deleted']);
    expect(events[1]!.data).toBe(JSON.stringify(item));
    expect(BigInt(events[1]!.id!)).toBeGreaterThan(BigInt(inserted!.id!));
    expect((await listItems()).some((run) => run.id === id)).toBe(false);
  });

  it('sends one run_deleted event per run of a bulk DELETE, oldest first, to the graph and status streams', async () => {
    const prefix = `bulk_${randomUUID().slice(0, 8)}`;
    await service.prisma.$executeRaw`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
      SELECT gen_random_uuid(), ${graphId}::uuid, n, n + 1, ${prefix} || '_' || n, (ARRAY['success', 'failed'])[1 + n % 2],
             '2026-01-01T00:00:00Z'::timestamptz - make_interval(secs => n / 3)
      FROM generate_series(1, 600) AS n`;
    const expected = await service.prisma.$queryRaw<{ id: string; status: string }[]>`
      SELECT id::text, status FROM graph_migration_runs WHERE migration_id LIKE ${`${prefix}_%`} ORDER BY created_at, id`;
    // Opened once the inserts have been delivered: what they get next is the deletions only. A run
    // committed after them reaching a stream says so (the feed is in commit order); any earlier
    // event would not (the inserts may still wait to be ordered).
    const all = await stream(ALL_STREAM, admin);
    const marker = await insertRun(service.prisma, graphId, nextRun());
    for (const deadline = Date.now() + 20_000; !all.events.some((event) => event.data.includes(marker));) {
      if (Date.now() > deadline) throw new Error('the run committed after the inserts never reached the all-graphs stream');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const live = await stream(STREAM, member);
    const failedOnly = await stream(`${STREAM}?status=failed`, member);
    await service.prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE migration_id LIKE ${`${prefix}_%`}`;
    const events = await live.waitFor(600, 20_000);
    expect(new Set(events.map((event) => event.event))).toEqual(new Set(['run_deleted']));
    expect(runIds(events)).toEqual(expected.map((run) => run.id));
    const cursors = events.map((event) => BigInt(event.id!));
    expect(cursors.every((cursor, index) => index === 0 || cursor > cursors[index - 1]!)).toBe(true);
    const failed = expected.filter((run) => run.status === 'failed').map((run) => run.id);
    expect(runIds(await failedOnly.waitFor(failed.length))).toEqual(failed);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(live.events).toHaveLength(600);
    expect(failedOnly.events).toHaveLength(failed.length);
  });

  it("fails nothing when a graph is deleted with its runs: the graph's stream ends, the others go on", async () => {
    const other = await insertGraph(service.prisma, { slug: `gone_${kind}` });
    const otherMember = randomUUID();
    await addMember(service.prisma, other.id, otherMember);
    const ofGone = await stream(`/api/v1/graphs/${other.slug}/migrations/stream`, await service.token(otherMember));
    const all = await stream(ALL_STREAM, admin);
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) runs.push(await insertRun(service.prisma, other.id, nextRun()));
    await Promise.all([ofGone.waitFor(3), all.waitFor(3)]);
    await service.prisma.$executeRaw`DELETE FROM graphs WHERE id = ${other.id}::uuid`;
    const after = await insertRun(service.prisma, graphId, nextRun());
    // The deleted graph's runs' deletions are left out, as its other changes are: the next event is the insert.
    const events = await all.waitFor(4);
    expect(events.map((event) => [event.event, JSON.parse(event.data).id])).toEqual([...runs.map((id) => ['run', id]), ['run', after]]);
    await ended(ofGone);
    expect(endOf(ofGone)).toMatchObject({ reason: 'graph_gone' });
    expect(runIds(ofGone.events)).toEqual(runs);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(all.events).toHaveLength(4);
    expect((await fetch(`${service.url}/readyz`)).status).toBe(200);
  });

  it.each(TRUNCATES)('%s: every open stream ends with reset and a cursor; resuming after it loses nothing', async (truncate) => {
    const live = await stream(STREAM, member);
    const all = await stream(ALL_STREAM, admin);
    const before = [await insertRun(service.prisma, graphId, nextRun()), await insertRun(service.prisma, graphId, nextRun())];
    const seen = await live.waitFor(2);
    await all.waitFor(2);
    // Another system empties the tables; the graph and its member come back in the same transaction
    // (a graph stream would otherwise end at its access check instead, graph_gone).
    await service.service.database.transaction(async ({ execute }) => {
      await execute(Prisma.raw(truncate));
      await execute(Prisma.sql`
        INSERT INTO graphs (id, slug, name, is_default, status) VALUES (${graphId}::uuid, ${SLUG}, 'Graph', false, 'active')
        ON CONFLICT DO NOTHING`);
      await execute(Prisma.sql`
        INSERT INTO graph_members (graph_id, user_id, role) VALUES (${graphId}::uuid, ${MEMBER}::uuid, 'reader') ON CONFLICT DO NOTHING`);
    });
    await Promise.all([ended(live), ended(all)]);
    const ends = [endOf(live), endOf(all)];
    const cursor = ends[0]!.last_event_id!;
    for (const end of ends) {
      expect(end).toMatchObject({ reason: 'reset', last_event_id: cursor, id: cursor });
      expect(end.detail).toMatch(/^The history was emptied .*reload the list route, then reconnect with Last-Event-ID: \d+/);
    }
    expect(BigInt(cursor)).toBeGreaterThan(BigInt(seen[1]!.id!));
    expect(runIds(live.events)).toEqual(before);
    expect(await listItems()).toEqual([]);

    const later = [await insertRun(service.prisma, graphId, nextRun()), await insertRun(service.prisma, graphId, nextRun())];
    const resumed = await stream(STREAM, member, { 'last-event-id': cursor });
    const resumedAll = await stream(ALL_STREAM, admin, { 'last-event-id': cursor });
    const last = await insertRun(service.prisma, graphId, nextRun());
    for (const reader of [resumed, resumedAll]) {
      const events = await reader.waitFor(3);
      expect(runIds(events)).toEqual([...later, last]);
      expect(BigInt(events[0]!.id!)).toBeGreaterThan(BigInt(cursor));
    }
    // A reader resuming from before the truncation replays up to it, then ends the same way.
    const replaying = await stream(STREAM, member, { 'last-event-id': seen[0]!.id! });
    await ended(replaying);
    expect(runIds(replaying.events)).toEqual([before[1]]);
    expect(endOf(replaying)).toMatchObject({ reason: 'reset', last_event_id: cursor, id: cursor });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(resumed.events).toHaveLength(3);
  });

  it('says DELETED, then HISTORY_RESET with the cursor to resume after, over GraphQL', async () => {
    const opened = service.service.openStreams();
    const first = subscribe(service, member, { slug: SLUG });
    await streamsOpen(service, opened + 1);
    const id = await insertRun(service.prisma, graphId, nextRun('running'));
    await service.prisma.$executeRaw`DELETE FROM graph_migration_runs WHERE id = ${id}::uuid`;
    const events = await waitFor(first.got, 2);
    expect(events.map((result) => [result.data?.migrationRunEvents.kind, result.data?.migrationRunEvents.run])).toEqual([
      ['INSERTED', { id, status: 'running', graph: { slug: SLUG } }],
      ['DELETED', { id, status: 'running', graph: { slug: SLUG } }],
    ]);
    await service.prisma.$executeRawUnsafe('TRUNCATE graph_migration_runs');
    const [, , ended] = await waitFor(first.got, 3);
    await first.done;
    first.dispose();
    expect(ended!.errors?.[0]).toMatchObject({ extensions: { code: 'HISTORY_RESET' } });
    const lastCursor = ended!.errors![0]!.extensions!.lastCursor as string;
    expect(BigInt(lastCursor)).toBeGreaterThan(BigInt(events[1]!.data!.migrationRunEvents.cursor));
    expect(ended!.errors![0]!.message).toContain(`subscribe again with after: "${lastCursor}"`);

    const later = await insertRun(service.prisma, graphId, nextRun());
    const resumed = subscribe(service, member, { slug: SLUG, after: lastCursor });
    const [next] = await waitFor(resumed.got, 1);
    resumed.dispose();
    expect([next!.data?.migrationRunEvents.kind, next!.data?.migrationRunEvents.run.id]).toEqual(['INSERTED', later]);
    expect(resumed.got).toHaveLength(1);
  });
});

describe.each(DATABASE_KINDS)('a bulk load under open streams with a small buffer on %s', { timeout: 120_000 }, (kind) => {
  const RUNS = 5_000;
  const STREAMS = 4;
  let service: TestService;
  let graphId: string;
  let headers: Record<string, string>;
  let token: string;
  beforeAll(async () => {
    service = await startTestService(kind, { env: { ...LIVE_ENV, LIVE_STREAM_BUFFER: '50' } });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
    token = await service.token(MEMBER);
    headers = { authorization: `Bearer ${token}` };
  });
  afterAll(async () => {
    await service?.close();
  });

  /**
   * Reads `first` until it has given `count` runs or ended; an `overflow` end is followed, as a
   * client would, by a reconnect with its Last-Event-ID, as often as it takes (`start`: the feed's
   * position when `first` opened, its cursor until its first event). Every run event received, in
   * order, and how many times the reader fell behind.
   */
  async function readAll(first: SseStream, start: string, count: number): Promise<{ events: SseEvent[]; overflows: number }> {
    const events: SseEvent[] = [];
    let overflows = 0;
    let current = first;
    for (;;) {
      let done = false;
      void current.ended.then(() => (done = true));
      const runs = () => current.events.filter((event) => event.event === 'run');
      const until = Date.now() + 30_000;
      while (!done && events.length + runs().length < count) {
        if (Date.now() > until) throw new Error(`${events.length + runs().length} of ${count} runs, stream still open`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const received = runs();
      events.push(...received);
      if (events.length >= count) {
        current.close();
        expect(current.events.filter((event) => event.event === 'end')).toEqual([]);
        return { events, overflows };
      }
      // The stream ended before the last run: only for falling behind, and at the last event sent.
      const end = endOf(current);
      expect(end).toMatchObject({ reason: 'overflow' });
      expect(end.last_event_id).toBe(events.at(-1)?.id ?? start);
      overflows += 1;
      if (overflows > 200) throw new Error('more than 200 reconnects');
      current = await openSse(service.url, STREAM, { ...headers, 'last-event-id': end.last_event_id! });
      expect(current.status).toBe(200);
    }
  }

  it(`delivers an INSERT … SELECT of ${RUNS.toLocaleString('en')} runs to every reader exactly once, in order, across overflows and reconnects`, async () => {
    // A change before the load: a stream then starts after a position, which is its cursor until its
    // first event (on a feed that never had a change there is none: it would resume without one).
    const warmUp = await openSse(service.url, STREAM, headers);
    await insertRun(service.prisma, graphId, nextRun());
    const [start] = await warmUp.waitFor(1);
    warmUp.close();
    const streams = await Promise.all(Array.from({ length: STREAMS }, () => openSse(service.url, STREAM, headers)));
    expect(streams.map((opened) => opened.status)).toEqual(Array(STREAMS).fill(200));
    const subscription = subscribe(service, token, { slug: SLUG });
    await streamsOpen(service, STREAMS + 1);
    // One reader reads slowly from the start: its socket fills, and the stream's own buffer with it.
    streams[0]!.pause();
    await service.prisma.$executeRaw`
      INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
      SELECT gen_random_uuid(), ${graphId}::uuid, n, n + 1, 'load_' || n, 'pending', '2026-03-01T00:00:00Z'::timestamptz + make_interval(secs => n)
      FROM generate_series(1, ${RUNS}) AS n`;
    const inserted = (
      await service.prisma.$queryRaw<{ id: string }[]>`
        SELECT id::text FROM graph_migration_runs WHERE migration_id LIKE 'load_%' ORDER BY from_version`
    ).map((row) => row.id);
    expect(inserted).toHaveLength(RUNS);
    setTimeout(() => streams[0]!.resume(), 500);
    const read = await Promise.all(streams.map((opened) => readAll(opened, start!.id!, RUNS)));
    for (const { events } of read) {
      expect(runIds(events)).toEqual(inserted);
      const cursors = events.map((event) => BigInt(event.id!));
      expect(cursors.every((cursor, index) => index === 0 || cursor > cursors[index - 1]!)).toBe(true);
    }
    // The buffer (50) is far below one read of the feed (1,000 changes): the readers did fall behind.
    expect(read.map(({ overflows }) => overflows).reduce((a, b) => a + b)).toBeGreaterThan(0);
    // So did the subscription: it ends with STREAM_OVERFLOW and the cursor to resume after, its last
    // event's (or, before any, where it started), and what it got is the load's beginning, in order.
    await subscription.done;
    subscription.dispose();
    const ended = subscription.got.at(-1)!;
    expect(ended.errors?.[0]?.extensions).toMatchObject({ code: 'STREAM_OVERFLOW', lastCursor: expect.stringMatching(/^[1-9][0-9]*$/) });
    const delivered = subscription.got.slice(0, -1).map((result) => result.data!.migrationRunEvents);
    expect(delivered.map((event) => event.run.id)).toEqual(inserted.slice(0, delivered.length));
    if (delivered.length > 0) expect(ended.errors![0]!.extensions!.lastCursor).toBe(delivered.at(-1)!.cursor);
  });
});
