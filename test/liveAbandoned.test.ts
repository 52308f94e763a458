// Clients that leave while their live stream is still opening (a tab closed during a deploy's
// reconnect storm, when opening waits on a busy database) must leave nothing behind: no stream
// that holds one of LIVE_MAX_STREAMS's places, no listener, no heartbeat. Each door is tried the
// way its clients leave: an EventSource's request and a graphql-sse request whose sockets close,
// a graphql-ws connection that closes after its subscribe. Opening is held up for real: another
// session locks `graphs` (what the access check reads) until every client has gone.
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable } from './helpers/databases.js';
import { addMember, insertGraph, insertRun } from './helpers/fixtures.js';
import { startTestService, type TestService } from './helpers/service.js';
import { openSse } from './helpers/sse.js';

const MEMBER = randomUUID();
const SLUG = 'abandoned_graph';
const LIMIT = 6;
const SUBSCRIPTION = `subscription { migrationRunEvents(slug: "${SLUG}") { kind run { id } } }`;

/** A request that reaches the service, then its socket closes: what a closed tab's stream does. */
function leavingRequest(url: string, init: { method: string; headers: Record<string, string>; body?: string }): () => void {
  const request = http.request(url, { method: init.method, headers: init.headers });
  request.on('error', () => undefined);
  request.end(init.body);
  return () => request.destroy();
}

/** A graphql-ws connection that subscribes, then closes (the browser's own WebSocket, as a tab's). */
async function leavingSocket(url: string, token: string): Promise<() => void> {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/graphql`, 'graphql-transport-ws');
  await new Promise((resolve, reject) => {
    socket.addEventListener('open', resolve, { once: true });
    socket.addEventListener('error', reject, { once: true });
  });
  const acknowledged = new Promise((resolve) =>
    socket.addEventListener('message', (event) => JSON.parse(String(event.data)).type === 'connection_ack' && resolve(undefined)),
  );
  socket.send(JSON.stringify({ type: 'connection_init', payload: { Authorization: `Bearer ${token}` } }));
  await acknowledged;
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: SUBSCRIPTION } }));
  return () => socket.close();
}

type Door = (service: TestService, token: string) => Promise<() => void>;

const DOORS: [string, Door][] = [
  [
    'an EventSource (REST)',
    async (service, token) =>
      leavingRequest(`${service.url}/api/v1/graphs/${SLUG}/migrations/stream`, {
        method: 'GET',
        headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` },
      }),
  ],
  [
    'GraphQL over SSE',
    async (service, token) =>
      leavingRequest(`${service.url}/graphql`, {
        method: 'POST',
        headers: { accept: 'text/event-stream', 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: SUBSCRIPTION }),
      }),
  ],
  ['graphql-ws', (service, token) => leavingSocket(service.url, token)],
];

describe.skipIf(!postgresAvailable).each(DOORS)('clients that leave while their stream opens, through %s (postgres)', (_door, open) => {
  let service: TestService;
  let graphId: string;
  let token: string;
  let locker: pg.Client;

  beforeAll(async () => {
    service = await startTestService('postgres', { env: { LIVE_MAX_STREAMS: String(LIMIT), LIVE_HEARTBEAT_MS: '300' } });
    ({ id: graphId } = await insertGraph(service.prisma, { slug: SLUG }));
    await addMember(service.prisma, graphId, MEMBER);
    token = await service.token(MEMBER);
    locker = new pg.Client({ connectionString: service.database.url });
    await locker.connect();
  });
  afterAll(async () => {
    await locker?.end();
    await service?.close();
  });

  /** How many of the service's statements wait on the lock: the clients' streams held up in opening. */
  const waitingOnLock = async () =>
    Number(
      (
        await locker.query(
          `SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        )
      ).rows[0].count,
    );

  it('keeps no stream of the clients gone before theirs opened, and their places serve the next clients', async () => {
    expect(service.service.openStreams()).toBe(0);
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE graphs IN ACCESS EXCLUSIVE MODE');
    const leave: (() => void)[] = [];
    try {
      for (let i = 0; i < LIMIT; i++) leave.push(await open(service, token));
      // Every one of them is inside the service, opening (waiting on the lock, or on the pool behind it).
      await expect.poll(waitingOnLock, { timeout: 10_000 }).toBeGreaterThan(0);
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const go of leave) go();
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await locker.query('COMMIT');
    }
    // Opening then goes on for clients that are gone: nothing must stay of them.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await expect.poll(() => service.service.openStreams(), { timeout: 5_000 }).toBe(0);

    // All LIMIT places are free: as many new clients get a stream, and the next change.
    const streams = await Promise.all(
      Array.from({ length: LIMIT }, () =>
        openSse(service.url, `/api/v1/graphs/${SLUG}/migrations/stream`, { authorization: `Bearer ${token}` }),
      ),
    );
    try {
      expect(streams.map((stream) => stream.status)).toEqual(Array(LIMIT).fill(200));
      await expect.poll(() => service.service.openStreams(), { timeout: 5_000 }).toBe(LIMIT);
      const id = await insertRun(service.prisma, graphId, { createdAt: new Date().toISOString(), status: 'pending' });
      for (const stream of streams) expect((await stream.waitFor(1))[0]!.data).toContain(id);
    } finally {
      for (const stream of streams) stream.close();
    }
    await expect.poll(() => service.service.openStreams(), { timeout: 5_000 }).toBe(0);
  });
});
