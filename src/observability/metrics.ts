// Prometheus metrics (prom-client), one registry per service instance, served by a listener of its
// own (METRICS_PORT), never on the public port. Every label takes values from a bounded set fixed by
// the code (route templates, methods, statuses, error codes) or capped (operation names): never a
// slug, a user id or a raw URL, which would leak user data and let any client grow the series
// without bound.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Every reason work is refused under overload: at the platform's door, and by the pool's wait queue (src/database/client.ts). */
export type ShedReason = 'in_flight' | 'event_loop' | 'heap' | 'queue_full' | 'queue_wait';

/** A pool's connections, as the database reports them at each scrape. */
interface PoolCounts {
  total: number;
  idle: number;
  waiting: number;
}

/** What the gauges read from the database at each scrape (src/database/client.ts). */
export interface ObservedPools {
  poolStatus(): PoolCounts | undefined;
  primaryPoolStatus(): PoolCounts | undefined;
}

/** What the live gauges read from the change feed (src/domain/feed.ts), and its report of each delivery. */
export interface ObservedFeed {
  readonly openStreams: number;
  readonly listening: boolean;
  onDelivered?: (streams: number) => void;
}

/** The settings of the metrics no layer below the doors can know. */
export interface MetricsOptions {
  /** The `extensions.code` values GraphQL answers with (the GraphQL door's); any other is counted as `other`. */
  graphqlErrorCodes: readonly string[];
}

const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']);
/** The `route` of a request no route matched (404s) or the router refused (undecodable paths). */
export const UNMATCHED_ROUTE = 'unmatched';

// Operation names are chosen by clients: any client could otherwise mint a new series per request
// (or put a slug or an id in the name). Names must look like GraphQL names of sane length, and the
// first MAX_OPERATION_NAMES distinct ones an instance sees get a series of their own; any other is
// `other`. Real clients (the gateway's query plans, the web app) use a few fixed names.
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
export const MAX_OPERATION_NAMES = 100;
export const OTHER = 'other';
export const ANONYMOUS = 'anonymous';

const SQL_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const HTTP_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export type Metrics = ReturnType<typeof createMetrics>;

export function createMetrics({ graphqlErrorCodes }: MetricsOptions) {
  // extensions.code values the service answers with (after formatError, which masks the rest).
  const errorCodeLabels = new Set(graphqlErrorCodes);
  const registry = new Registry();
  // Process and runtime: resident memory, heap, event-loop lag, GC, handles, CPU.
  collectDefaultMetrics({ register: registry });

  const httpLabels = ['method', 'route', 'status'] as const;
  const httpRequests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template (unmatched: no route) and status',
    labelNames: httpLabels,
    registers: [registry],
  });
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from receiving a request to its answer being sent, by method, route template and status',
    labelNames: httpLabels,
    buckets: HTTP_BUCKETS,
    registers: [registry],
  });
  const operations = new Counter({
    name: 'graphql_operations_total',
    help: `GraphQL operations answered, by operation name (anonymous; other beyond ${MAX_OPERATION_NAMES} names or for odd ones) and outcome (success, error)`,
    labelNames: ['operation', 'outcome'] as const,
    registers: [registry],
  });
  const errors = new Counter({
    name: 'graphql_errors_total',
    help: 'Errors in GraphQL responses, by extensions.code (other: a code outside the known set)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const statements = new Counter({
    name: 'sql_statements_total',
    help: 'SQL statements sent to the database (serving, readiness, migrations)',
    registers: [registry],
  });
  const statementDuration = new Histogram({
    name: 'sql_statement_duration_seconds',
    help: 'Time from sending an SQL statement to its result (or error)',
    buckets: SQL_BUCKETS,
    registers: [registry],
  });

  const shed = new Counter({
    name: 'load_shed_total',
    help: 'Work refused under overload, each answered 503 with Retry-After: requests at the door by reason (in_flight, event_loop, heap), and pooled-connection acquisitions the pool wait queue refused (queue_full, queue_wait)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });

  let pools: ObservedPools | undefined;
  new Gauge({
    name: 'db_pool_connections',
    help: 'PostgreSQL pool connections by pool (serving: the one reads use, the replica when there is one; primary) and state (total, idle, waiting: requests queued for a connection). Without a replica both pools are the same one. Absent on the embedded database',
    labelNames: ['pool', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [pool, status] of [
        ['serving', pools?.poolStatus()],
        ['primary', pools?.primaryPoolStatus()],
      ] as const) {
        if (!status) continue;
        this.set({ pool, state: 'total' }, status.total);
        this.set({ pool, state: 'idle' }, status.idle);
        this.set({ pool, state: 'waiting' }, status.waiting);
      }
    },
  });

  let feed: ObservedFeed | undefined;
  new Gauge({
    name: 'live_streams_open',
    help: 'Live history streams open on this instance (REST event streams)',
    registers: [registry],
    collect() {
      this.set(feed?.openStreams ?? 0);
    },
  });
  new Gauge({
    name: 'live_listen_up',
    help: "1 while the live history's LISTEN session is up, 0 while it is down (or live history is off)",
    registers: [registry],
    collect() {
      this.set(feed?.listening ? 1 : 0);
    },
  });
  const deliveries = new Counter({
    name: 'live_events_delivered_total',
    help: 'Changes handed to live streams: one per change and stream it matched',
    registers: [registry],
  });
  const changes = new Counter({
    name: 'live_changes_total',
    help: 'Changes read from the change feed by this instance',
    registers: [registry],
  });

  const operationNames = new Set<string>();
  function operationLabel(name: string | null | undefined): string {
    if (name === null || name === undefined || name === '') return ANONYMOUS;
    if (operationNames.has(name)) return name;
    if (!OPERATION_NAME.test(name) || operationNames.size >= MAX_OPERATION_NAMES) return OTHER;
    operationNames.add(name);
    return name;
  }

  return {
    registry,
    /** The pools whose counts are reported at each scrape. */
    observePools(database: ObservedPools): void {
      pools = database;
    },
    /** The change feed whose streams are reported at each scrape, and which reports its deliveries. */
    observeFeed(observed: ObservedFeed): void {
      feed = observed;
      observed.onDelivered = (streams) => {
        changes.inc();
        if (streams > 0) deliveries.inc(streams);
      };
    },
    /** One answered HTTP request; `route` is the route template, or undefined when no route matched. */
    requestCompleted(method: string, route: string | undefined, status: number, durationMs: number): void {
      const labels = { method: KNOWN_METHODS.has(method) ? method : OTHER, route: route ?? UNMATCHED_ROUTE, status: String(status) };
      httpRequests.inc(labels);
      httpDuration.observe(labels, durationMs / 1000);
    },
    /** One GraphQL response: its operation name (null: anonymous) and the codes of its errors (formatted, as sent). */
    operationCompleted(name: string | null | undefined, errorCodes: readonly unknown[]): void {
      operations.inc({ operation: operationLabel(name), outcome: errorCodes.length > 0 ? 'error' : 'success' });
      for (const code of errorCodes) errors.inc({ code: typeof code === 'string' && errorCodeLabels.has(code) ? code : OTHER });
    },
    /** One refusal under overload (src/platform/overload.ts, and DatabaseOptions.onRefused). */
    loadShed(reason: ShedReason): void {
      shed.inc({ reason });
    },
    /** For DatabaseOptions.onQuery: counts and times the statement, whose text is never a label. */
    statementCompleted(event: { durationMs: number }): void {
      statements.inc();
      statementDuration.observe(event.durationMs / 1000);
    },
  };
}

export interface MetricsServer {
  /** http://host:port/metrics (for a wildcard address, its loopback one) */
  url: string;
  /** Where it listens, as bound: `0.0.0.0:9464` is every interface. */
  listening: string;
  close(): Promise<void>;
}

const json = (status: number, body: unknown) =>
  [status, { 'content-type': 'application/json', 'cache-control': 'no-store' }, JSON.stringify(body)] as const;

/** The scrape listener: GET (and HEAD) /metrics, 405 for other methods there, 404 anywhere else. */
export async function serveMetrics(registry: Registry, { port, host }: { port: number; host: string }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const answer = async () => {
      if ((request.url ?? '/').split('?')[0] !== '/metrics') return json(404, { detail: 'Not Found' });
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        const [status, headers, body] = json(405, { detail: 'Method Not Allowed' });
        return [status, { ...headers, allow: 'GET, HEAD' }, body] as const;
      }
      return [200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }, await registry.metrics()] as const;
    };
    answer().then(
      ([status, headers, body]) => response.writeHead(status, headers).end(request.method === 'HEAD' ? undefined : body),
      () => response.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ detail: 'Internal Server Error' })),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  const bracketed = (name: string) => (name.includes(':') ? `[${name}]` : name);
  return {
    url: `http://${bracketed(shown)}:${address.port}/metrics`,
    listening: `${bracketed(address.address)}:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // A scraper's keep-alive connection must not hold the shutdown.
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
