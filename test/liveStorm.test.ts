// A deploy's reconnect storm, as production brings it (issue 30): the real process on PostgreSQL
// with NODE_ENV=production and the default limits, and 1,000 clients opening their stream in the
// same instant (one loop, not batches), each through its own library with its own retry rules: a
// browser's EventSource (the `eventsource` package: a non-200 answer closes it for good), graphql-sse's
// client and graphql-ws's client. Every one must open and receive the next change. How fast is
// `npm run bench:live`'s (printed there), not asserted here beyond generous bounds.
import { EventSource } from 'eventsource';
import { createClient as createSseClient } from 'graphql-sse';
import { createClient as createWsClient } from 'graphql-ws';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signAccessToken } from '../src/auth/viewer.js';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID } from '../src/database/seed.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from './helpers/databases.js';
import { startMain, type MainProcess } from './helpers/mainProcess.js';
import { freePort } from './helpers/net.js';
import { TEST_JWT_SECRET } from './helpers/service.js';

const CLIENTS = 1_000;
const SUBSCRIPTION = `subscription { migrationRunEvents(slug: "${DEMO_GRAPH_SLUG}") { kind run { id } } }`;

/** A client of one of the three libraries: whether it is open, what it received, whether its library gave up. */
interface Client {
  received: Set<string>;
  failed?: unknown;
  close(): void;
}

async function waitUntil(what: string, done: () => boolean, timeoutMs: number, describe: () => string): Promise<number> {
  const started = Date.now();
  while (!done()) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not within ${timeoutMs} ms: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - started;
}

/** What a library gave up with: an Error, a WebSocket close event, or GraphQL errors. */
function describeFailure(error: unknown): string {
  if (error instanceof Error) return error.message;
  const close = error as { code?: number; reason?: string };
  return close.code === undefined ? JSON.stringify(error) : `closed with ${close.code} ${close.reason ?? ''}`;
}

/** The service's open streams, from its metrics. */
async function openStreams(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^live_streams_open (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

/** The three libraries, each opening one client on the demo graph's stream with `token`. */
const LIBRARIES: Record<string, (url: string, token: string) => Client> = {
  // A browser's EventSource: a non-200 answer closes it for good (readyState CLOSED), a lost browser.
  EventSource: (url, token) => {
    const source = new EventSource(`${url}/api/v1/graphs/${DEMO_GRAPH_SLUG}/migrations/stream`, {
      fetch: (input, init) => fetch(input, { ...init, headers: { ...init?.headers, authorization: `Bearer ${token}` } }),
    });
    const client: Client = { received: new Set(), close: () => source.close() };
    source.addEventListener('run', (event) => client.received.add((JSON.parse(event.data) as { id: string }).id));
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) client.failed = 'closed for good (a non-200 answer)';
    });
    return client;
  },
  'graphql-sse': (url, token) => {
    const sse = createSseClient({ url: `${url}/graphql`, headers: { authorization: `Bearer ${token}` } });
    return subscribed(
      (sink) => sse.subscribe({ query: SUBSCRIPTION }, sink),
      () => sse.dispose(),
    );
  },
  'graphql-ws': (url, token) => {
    const ws = createWsClient({
      url: `${url.replace('http', 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${token}` },
    });
    return subscribed(
      (sink) => ws.subscribe({ query: SUBSCRIPTION }, sink),
      // Closed while waiting to retry a refused connection, the client rejects its own connection
      // attempt (1000, "All Subscriptions Gone"), and dispose() rethrows it: nothing to report then.
      () => void Promise.resolve(ws.dispose()).catch(() => {}),
    );
  },
};

type Sink = {
  next(result: { data?: unknown; errors?: unknown }): void;
  error(error: unknown): void;
  complete(): void;
};

/** A GraphQL client's subscription as a Client: its events' run ids, and the error its library gave up with. */
function subscribed(subscribe: (sink: Sink) => () => void, dispose: () => void): Client {
  const client: Client = { received: new Set(), close: () => {} };
  const unsubscribe = subscribe({
    next: (result) => {
      if (result.errors) client.failed = JSON.stringify(result.errors);
      else client.received.add((result.data as { migrationRunEvents: { run: { id: string } } }).migrationRunEvents.run.id);
    },
    error: (error) => (client.failed = describeFailure(error)),
    complete: () => {},
  });
  client.close = () => {
    unsubscribe();
    dispose();
  };
  return client;
}

/** The process on a fresh PostgreSQL database with `env`, a writer, and the open-stream count read from its metrics in the background. */
function productionService(env: Record<string, string>) {
  const state = {} as {
    database: TestDatabase;
    service: MainProcess;
    writer: pg.Client;
    token: string;
    graphId: string;
    metricsUrl: string;
    open: number;
    polling: NodeJS.Timeout;
  };
  beforeAll(async () => {
    state.database = await createTestDatabase('postgres');
    state.metricsUrl = `http://127.0.0.1:${await freePort()}`;
    state.service = await startMain(state.database, {
      NODE_ENV: 'production',
      LOG_LEVEL: 'info',
      METRICS_PORT: new URL(state.metricsUrl).port,
      ...env,
    });
    await state.service.ready();
    state.token = await signAccessToken(TEST_JWT_SECRET, { sub: DEMO_MEMBER_ID });
    state.writer = new pg.Client({ connectionString: state.database.url });
    await state.writer.connect();
    state.graphId = (await state.writer.query<{ id: string }>('SELECT id FROM graphs WHERE slug = $1', [DEMO_GRAPH_SLUG])).rows[0]!.id;
    state.open = 0;
    state.polling = setInterval(() => {
      openStreams(state.metricsUrl).then(
        (count) => (state.open = count),
        () => {},
      );
    }, 50);
  }, 120_000);
  afterAll(async () => {
    clearInterval(state.polling);
    await state.writer?.end();
    await state.service?.stop();
    await state.database?.drop();
  });
  return {
    state,
    /** Commits one run (another writer's statement) and returns its id. */
    async commitRun(): Promise<string> {
      const { rows } = await state.writer.query<{ id: string }>(
        `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, created_at)
         VALUES (gen_random_uuid(), $1, 5, 6, 'storm-' || gen_random_uuid(), 'pending', clock_timestamp()) RETURNING id::text`,
        [state.graphId],
      );
      return rows[0]!.id;
    },
    /** Waits until the clients' streams are closed, and checks nothing was logged as an error. */
    async closeAll(clients: Client[], before: number) {
      for (const client of clients) client.close();
      await waitUntil(
        'streams closed',
        () => state.open <= before,
        30_000,
        () => `${state.open} open`,
      );
      expect(state.service.output()).not.toMatch(/"level":50/);
    },
  };
}

const failures = (clients: Client[]) => clients.filter((client) => client.failed !== undefined).map((client) => String(client.failed));

describe.skipIf(!postgresAvailable)('a reconnect storm on the production start (postgres, default limits)', () => {
  const { state, commitRun, closeAll } = productionService({});

  it.each(Object.keys(LIBRARIES))(
    '1,000 %s clients open at once, and every one gets the next change',
    { timeout: 180_000 },
    async (library) => {
      const before = await openStreams(state.metricsUrl);
      // One loop: every client is created before any answer can come back.
      const clients = Array.from({ length: CLIENTS }, () => LIBRARIES[library]!(state.service.url, state.token));
      try {
        const opening = await waitUntil(
          'every stream open',
          () => failures(clients).length > 0 || state.open >= before + CLIENTS,
          60_000,
          () => `${state.open - before} of ${CLIENTS} open`,
        );
        expect(failures(clients).slice(0, 3)).toEqual([]);
        const runId = await commitRun();
        const delivered = await waitUntil(
          'the change delivered to every client',
          () => failures(clients).length > 0 || clients.every((client) => client.received.has(runId)),
          30_000,
          () => `${clients.filter((client) => client.received.has(runId)).length} of ${CLIENTS} received it`,
        );
        expect(failures(clients).slice(0, 3)).toEqual([]);
        console.log(
          `${library}: ${CLIENTS} open ${opening} ms after the first was created; the change reached all ${delivered} ms after its commit`,
        );
      } finally {
        await closeAll(clients, before);
      }
    },
  );
});

// Beyond LIVE_MAX_STREAMS a stream is refused, in the way each library retries: an EventSource gets
// 200 with `retry:` and an `end` event (it reconnects), graphql-sse's client a 503 (it retries a
// non-200 answer), graphql-ws's close code 1013 (it reconnects and subscribes again). None gives up:
// once streams close, the refused ones get in and receive changes.
describe.skipIf(!postgresAvailable)('a storm over LIVE_MAX_STREAMS (postgres, production start)', () => {
  const LIMIT = 200;
  const { state, commitRun, closeAll } = productionService({ LIVE_MAX_STREAMS: String(LIMIT) });

  it.each(Object.keys(LIBRARIES))('%s clients refused for now come back and get in', { timeout: 180_000 }, async (library) => {
    const clients = Array.from({ length: LIMIT + 100 }, () => LIBRARIES[library]!(state.service.url, state.token));
    const [leaving, staying] = [clients.slice(0, 150), clients.slice(150)];
    try {
      await waitUntil(
        'the limit reached',
        () => failures(clients).length > 0 || state.open >= LIMIT,
        60_000,
        () => `${state.open} open`,
      );
      // Refused ones are retrying meanwhile; none of them may have given up.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(failures(clients).slice(0, 3)).toEqual([]);
      for (const client of leaving) client.close();
      // A change every half second until every client that stayed has received one: each got in.
      const writes = setInterval(() => void commitRun(), 500);
      const waited = await waitUntil(
        'every staying client in',
        () => failures(staying).length > 0 || staying.every((client) => client.received.size > 0),
        90_000,
        () => `${staying.filter((client) => client.received.size > 0).length} of ${staying.length} in`,
      ).finally(() => clearInterval(writes));
      expect(failures(clients).slice(0, 3)).toEqual([]);
      console.log(`${library}: ${staying.length} clients over the limit of ${LIMIT}: all in ${waited} ms after 150 left`);
    } finally {
      await closeAll(clients, 0);
    }
  });
});
