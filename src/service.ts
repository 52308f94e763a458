// Config → database → migrate (→ demo data) → GraphQL → HTTP listen. main.ts runs it for the
// process; tests run the very same function on a port of their own.
import type { Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { loadOrCreateDevelopmentSecret } from './auth/developmentSecret.js';
import { createAuthenticator, signAccessToken } from './auth/viewer.js';
import { isLoopbackHost, type Config, type TracingSettings } from './config.js';
import { createDatabase, DatabaseConfigurationError, serverSession, type Database, type DatabaseOptions } from './database/client.js';
import { applyMigrations } from './database/migrate.js';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID, hasDemoGraph, isEmpty, recordDemoActivity, seedDemoData } from './database/seed.js';
import { contextFactory } from './domain/context.js';
import { ANSWERED_ERROR_CODES } from './doors/graphql/errors.js';
import { createGraphQLServer, createSubgraphSchema } from './doors/graphql/server.js';
import { subscriptionTransports } from './doors/graphql/subscriptions.js';
import { addAcceptors, ensurePortFree, listeningSockets } from './platform/acceptors.js';
import { graphqlDoor } from './doors/graphql/door.js';
import { restDoor } from './doors/rest/door.js';
import { createApp } from './platform/app.js';
import { ChangeFeed } from './domain/feed.js';
import { FOLD_BATCH, foldDayCounts } from './queries/migrationStats.js';
import { graphsByKeys } from './queries/graphs.js';
import type { PoolRefusalReason } from './database/errors.js';
import { shedder } from './platform/overload.js';
import { changesAfter, FEED_CHANNEL, feedBounds, orderCommittedChanges, pruneChanges } from './queries/runChanges.js';
import { loadPlayground } from './doors/graphql/playground.js';
import { drainable } from './platform/drain.js';
import type { Logger } from './observability/logger.js';
import { createMetrics, serveMetrics, type MetricsServer } from './observability/metrics.js';
import type { Tracing } from './observability/tracing.js';

/** The tracing the settings ask for, with OpenTelemetry's SDK loaded only then (docs/decisions/0011). */
async function loadTracing(settings: TracingSettings | undefined, logger: Logger): Promise<Tracing | undefined> {
  if (!settings) return undefined;
  const { createTracing } = await import('./observability/tracingSdk.js');
  return createTracing(settings, logger);
}

// Connections the kernel may hold for the server to accept (Node's default is 511, capped by
// net.core.somaxconn): a burst beyond it is dropped and the clients' retransmissions back off for
// seconds, so under a burst of 1,000 connections some would time out before their first request
// was read (docs/decisions/0006). Accepted, they are answered or refused at once.
const LISTEN_BACKLOG = 4096;

/**
 * The instance's change feed (src/domain/feed.ts) over the database's live session: one connection
 * for its LISTEN and for ordering, reading and pruning (src/database/listen.ts). Undefined, with a warning, when there is no session to
 * LISTEN on (PostgreSQL through a transaction pooler without DATABASE_LISTEN_URL or DATABASE_MIGRATE_URL).
 */
async function startFeed(config: Config, logger: Logger, database: Database): Promise<ChangeFeed | undefined> {
  const session = database.liveSession;
  if (!session) {
    logger.warn(
      'live history is off: DATABASE_URL goes through a transaction pooler, where LISTEN cannot work; set DATABASE_LISTEN_URL (or DATABASE_MIGRATE_URL) to a direct connection',
    );
    return undefined;
  }
  const feed = new ChangeFeed(
    {
      order: () => orderCommittedChanges(session.query, session.transaction),
      after: (position, limit, graphId) => changesAfter(session.query, position, limit, graphId),
      bounds: () => feedBounds(session.query),
      prune: (keepMs) => pruneChanges(session.transaction, keepMs),
      listen: (onNotification, onConnection) => session.listen([FEED_CHANNEL], onNotification, onConnection),
      graphs: async (requests) =>
        (
          await graphsByKeys(
            session.query,
            requests.map(({ viewerId }) => viewerId),
            requests.map(({ key }) => ({ key })),
          )
        ).map(({ graph }) => graph),
    },
    config.live,
    logger.child({ component: 'live' }),
  );
  await feed.start();
  return feed;
}

/**
 * On the embedded default, the demo graph's runs move on by themselves (src/database/seed.ts
 * recordDemoActivity), so a newcomer's stream shows events without another writer; never on
 * PostgreSQL (config.ts refuses DEMO_ACTIVITY_MS with DATABASE_URL). Returns what stops it.
 */
function startDemoActivity(database: Database, everyMs: number, logger: Logger): () => void {
  let stepping = false;
  const timer = setInterval(() => {
    if (stepping) return;
    stepping = true;
    recordDemoActivity(database)
      .then(
        (step) => logger.debug({ step }, 'demo activity'),
        (error: unknown) => logger.warn({ err: error }, 'demo activity failed; trying again at the next step'),
      )
      .finally(() => (stepping = false));
  }, everyMs).unref();
  logger.info(
    `demo activity: the demo graph's newest run moves on every ${everyMs / 1000} s, as the workflow engine would write it (DEMO_ACTIVITY_MS=0 turns it off)`,
  );
  return () => clearInterval(timer);
}

/** How often the instance folds the statistics' deltas into the day counts (docs/decisions/0010). */
const FOLD_EVERY_MS = 2_000;

/**
 * Folds the deltas the writers' triggers leave into the day counts, every FOLD_EVERY_MS, on the
 * primary; a full batch is followed by the next at once, so a backlog (a bulk load) drains. Every
 * instance folds; they take disjoint rows. A failure (the database down) is logged and retried at
 * the next tick. Returns the stop function.
 */
function startCountFolding(logger: Logger, database: Database): () => Promise<void> {
  // One fold at a time: a tick that finds the last one still running is skipped.
  let running: Promise<void> | undefined;
  let stopped = false;
  const fold = async () => {
    try {
      while (!stopped && (await database.transaction((sql) => foldDayCounts(sql))) === FOLD_BATCH);
    } catch (error) {
      if (!stopped) logger.warn({ err: error }, 'folding the statistics day counts failed; retrying');
    }
  };
  const timer = setInterval(() => {
    running ??= fold().finally(() => {
      running = undefined;
    });
  }, FOLD_EVERY_MS).unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}

export interface Service {
  url: string;
  server: Server;
  /** The Prometheus scrape URL, http://host:port/metrics, when METRICS_PORT is set. */
  metricsUrl?: string;
  database: Database;
  /** True when no AUTH_* is configured and the service signs with a development secret of its own. */
  developmentAuth: boolean;
  /** A ready-to-paste request for the demo graph: with development auth, when the demo graph is there. */
  demoCurl?: string;
  /** Live streams open on the instance (REST event streams and GraphQL subscriptions). */
  openStreams(): number;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes the pool. */
  close(): Promise<void>;
}

/**
 * Migrations and demo data, on PostgreSQL over a connection of their own to the primary
 * (DATABASE_MIGRATE_URL when set, past any pooler), without the serving statement_timeout: DDL and
 * the wait for another replica's migration lock may rightly take longer.
 */
async function prepareDatabase(config: Config, logger: Logger, database: Database, databaseOptions: DatabaseOptions): Promise<void> {
  if (!config.migrateOnStart && !config.seedOnFirstStart) return;
  const maintenance = config.database.kind === 'postgres' ? await createDatabase(config.maintenanceDatabase, databaseOptions) : database;
  try {
    if (config.migrateOnStart) {
      await applyMigrations(maintenance, logger);
    }
    if (config.seedOnFirstStart && (await isEmpty(maintenance))) {
      await seedDemoData(maintenance);
      logger.info('first start: demo data loaded');
    }
  } finally {
    if (maintenance !== database) await maintenance.close();
  }
}

/**
 * Before anything else touches the serving pools, and long before "ready": a serving connection
 * opens (with the startup parameters requests' connections get) and answers a statement, on the
 * replica's pool and the primary's. A pooler that refuses or drops those parameters fails the start
 * with the variable to set (docs/decisions/0003, addendum); so does a database to read from that
 * does not answer. Only the primary behind a replica may be down at start: reads do not need it.
 */
async function checkServingSessions(logger: Logger, database: Database): Promise<void> {
  let primaryUnavailable: unknown;
  try {
    ({ primaryUnavailable } = await database.checkSessions());
  } catch (error) {
    if (error instanceof DatabaseConfigurationError) throw error;
    const variable = database.readsFromReplica ? 'DATABASE_READ_URL' : 'DATABASE_URL';
    throw new Error(`the database to serve from (${variable}) did not answer at start: ${(error as Error).message}`, { cause: error });
  }
  if (primaryUnavailable !== undefined) {
    logger.warn(
      { err: primaryUnavailable },
      'the primary (DATABASE_URL) did not answer at start: serving reads from DATABASE_READ_URL, /readyz reports the primary down',
    );
  }
}

/**
 * A transaction-mode pooler refuses session settings at connect, so the serving statement_timeout
 * must come from the server (the role's or the database's settings, or the pooler's connect_query).
 * Checked once at start: a mismatch is logged with the statement that fixes it.
 */
async function checkPooledStatementTimeout(config: Config, logger: Logger, database: Database): Promise<void> {
  if (config.database.kind !== 'postgres' || config.database.pooler !== 'transaction') return;
  const wanted = config.database.statementTimeoutMs ?? 0;
  const session = await serverSession(database);
  if (session.statementTimeoutMs === wanted) return;
  logger.warn(
    { serverStatementTimeoutMs: session.statementTimeoutMs, configuredStatementTimeoutMs: wanted },
    `DATABASE_POOLER=transaction: the server gives this service's sessions statement_timeout=${session.statementTimeoutMs} ms, ` +
      `not DATABASE_STATEMENT_TIMEOUT_MS=${wanted} (a transaction pooler cannot pass it per connection). ` +
      `Set it on the server: ALTER ROLE "${session.role}" IN DATABASE "${session.database}" SET statement_timeout = ${wanted}; ` +
      `(or PgBouncer's connect_query). Until then requests are bounded by the client only, ${wanted ? wanted + 1_000 : 'no'} ms.`,
  );
}

export async function startService(config: Config, logger: Logger, options: DatabaseOptions = {}): Promise<Service> {
  // Metrics only when asked for (METRICS_PORT): otherwise nothing is counted, nothing timed.
  const metrics = config.metrics ? createMetrics({ graphqlErrorCodes: ANSWERED_ERROR_CODES }) : undefined;
  const { onQuery } = options;
  // The pool's refusals are counted, and warned about once per reason every 10 s as the door's are: a
  // line per refused request would itself load the instance it sheds for.
  const shedFromPool = shedder({ logger: logger.child({ component: 'db' }), onShed: metrics?.loadShed });
  const onRefused = (reason: PoolRefusalReason) => shedFromPool(reason, {});
  const databaseOptions: DatabaseOptions = metrics
    ? {
        ...options,
        onQuery: onQuery
          ? (event) => {
              metrics.statementCompleted(event);
              onQuery(event);
            }
          : metrics.statementCompleted,
        onRefused,
      }
    : { ...options, onRefused };
  // Off (no OTLP endpoint): undefined, and no OpenTelemetry module is loaded.
  const tracing = await loadTracing(config.tracing, logger.child({ component: 'tracing' }));
  const database = await createDatabase(config.database, { logger: logger.child({ component: 'db' }), tracing, ...databaseOptions });
  metrics?.observePools(database);
  let listening: { close(): Promise<void> } | undefined;
  let acceptors: NetServer[] = [];
  let feed: ChangeFeed | undefined;
  let stopFolding: (() => Promise<void>) | undefined;
  try {
    await checkServingSessions(logger, database);
    await prepareDatabase(config, logger, database, databaseOptions);
    await checkPooledStatementTimeout(config, logger, database);
    feed = await startFeed(config, logger, database);
    if (feed) metrics?.observeFeed(feed);
    stopFolding = startCountFolding(logger.child({ component: 'stats' }), database);

    const developmentSecret = config.auth.jwtSecret || config.auth.jwksUrl ? undefined : loadOrCreateDevelopmentSecret(config.dataDir);
    const authenticate = createAuthenticator({ ...config.auth, jwtSecret: config.auth.jwtSecret ?? developmentSecret }, tracing);
    const schema = createSubgraphSchema();
    const createContext = contextFactory(database, authenticate);
    const graphql = createGraphQLServer({
      schema,
      introspection: config.graphql.introspection,
      limits: config.graphql.limits,
      operationCacheBytes: config.graphql.operationCacheBytes,
      logger: logger.child({ component: 'apollo' }),
      metrics,
      tracing,
    });
    await graphql.apollo.start();

    // The demo token is minted before listening so the playground can pre-fill it; the URL comes later.
    const demoToken = developmentSecret ? await signAccessToken(developmentSecret, { sub: DEMO_MEMBER_ID, expiresIn: '30d' }) : undefined;
    const embedToken = demoToken !== undefined && isLoopbackHost(config.host);
    if (demoToken && config.graphql.playground && !embedToken) {
      logger.warn(
        { host: config.host },
        `the playground page does not hold the demo token: HOST=${config.host} serves it beyond this machine; paste a token into its headers editor`,
      );
    }
    const graphqlEntrance = graphqlDoor({
      graphql,
      createContext,
      maxQueryBytes: config.graphql.limits.maxQueryBytes,
      tracing,
      subscriptions: subscriptionTransports({
        schema,
        limits: config.graphql.limits,
        createContext,
        feed,
        settings: config.live,
        maxConnections: config.live.maxStreams,
        logger: logger.child({ component: 'subscriptions' }),
      }),
      // The page is served to whoever reaches the listener: it holds the demo token only on loopback.
      playground: config.graphql.playground ? loadPlayground({ authorization: embedToken ? `Bearer ${demoToken}` : undefined }) : undefined,
    });
    const restEntrance = restDoor({
      createContext,
      publicBaseUrl: config.http.publicBaseUrl,
      stream: { feed, settings: config.live, logger: logger.child({ component: 'live' }) },
    });
    const app = await createApp({
      doors: [graphqlEntrance, restEntrance],
      database,
      liveSession: feed,
      logger,
      maxBodyBytes: config.http.maxBodyBytes,
      corsOrigins: config.http.corsOrigins,
      trustProxy: config.http.trustProxy,
      tracing,
      requestTimeoutMs: config.http.requestTimeoutMs,
      headersTimeoutMs: config.http.headersTimeoutMs,
      metrics,
      overload: config.overload,
    });
    const server = app.server;
    const drainer = drainable(server);
    // Several sockets on the port, each accepting on its own (src/platform/acceptors.ts, decision 0007).
    const sockets = listeningSockets(config.http.acceptHandles, logger);
    if (sockets > 1) await ensurePortFree(config.host, config.port);
    // Fastify hands these options to node:http's listen() whole; its types do not name `reusePort`.
    const listenOptions = {
      port: config.port,
      host: config.host,
      backlog: LISTEN_BACKLOG,
      reusePort: sockets > 1,
      listenTextResolver: (address: string) => `listening on ${address}`,
    };
    await app.listen(listenOptions);
    listening = app;
    acceptors = await addAcceptors(server, sockets, LISTEN_BACKLOG, logger);
    let metricsServer: MetricsServer | undefined;
    if (metrics && config.metrics) {
      metricsServer = await serveMetrics(metrics.registry, config.metrics);
      const { url: scrapeUrl, listening: metricsAddress } = metricsServer;
      const reach = isLoopbackHost(config.metrics.host) ? 'this machine only' : 'every host that reaches this address';
      logger.info({ url: scrapeUrl, listening: metricsAddress }, `metrics listening on ${metricsAddress} (${reach}): ${scrapeUrl}`);
    }
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;

    // Printed only when it works: a PostgreSQL database gets no demo data unless asked (db:seed).
    const demoCurl =
      demoToken && (await hasDemoGraph(database))
        ? `curl -H 'Authorization: Bearer ${demoToken}' '${url}/api/v1/graphs/${DEMO_GRAPH_SLUG}/migrations?limit=5'`
        : undefined;

    const stopActivity =
      config.demoActivityMs > 0 && database.kind === 'pglite' && (await hasDemoGraph(database))
        ? startDemoActivity(database, config.demoActivityMs, logger)
        : undefined;

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        stopActivity?.();
        // Streams end first (an `end` event, or a subscription's last error, saying to reconnect), and
        // graphql-ws connections with them (1001, going away): the drain then waits only for requests.
        await feed?.stop();
        graphqlEntrance.goingAway('The instance is shutting down: reconnect');
        await drainer.drain(config.shutdownTimeoutMs, acceptors);
        await app.close();
        // Scrapes go on during the drain; the listener closes with the rest.
        await metricsServer?.close();
        await graphql.apollo.stop();
        await stopFolding?.();
        await database.close();
        // The last requests' spans are exported before the process goes.
        await tracing?.close();
      })());

    return {
      url,
      server,
      metricsUrl: metricsServer?.url,
      database,
      developmentAuth: developmentSecret !== undefined,
      demoCurl,
      openStreams: () => feed?.openStreams ?? 0,
      close,
    };
  } catch (error) {
    // A metrics port already taken fails the start, after the public listener opened.
    for (const acceptor of acceptors) acceptor.close();
    await feed?.stop();
    await stopFolding?.();
    await listening?.close();
    await database.close();
    await tracing?.close();
    throw error;
  }
}
