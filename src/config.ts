// Every environment variable the service reads, parsed and validated once. A bad configuration is
// reported as one error naming every offending variable, so an operator fixes them all in one go.
import { isIP } from 'node:net';
import { z } from 'zod';

const booleanFlag = z
  .enum(['true', 'false', '1', '0'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1');

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, { message: 'must be a whole number' })
    .transform(Number)
    .pipe(
      z
        .number()
        .int()
        .min(min, { message: `must be at least ${min}` })
        .max(max, { message: `must be at most ${max}` }),
    );

const postgresUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'postgresql:' || url.protocol === 'postgres:') && url.hostname !== '' && url.pathname.length > 1;
    } catch {
      return false;
    }
  },
  { message: 'must be a URL like postgresql://user:password@host:5432/database' },
);

const httpsOrLoopbackUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
    } catch {
      return false;
    }
  },
  { message: 'must be an https:// URL (http:// is accepted for localhost only)' },
);

/** The service's name in its log lines and, unless OTEL_SERVICE_NAME says otherwise, its spans. */
export const SERVICE_NAME = 'graph-migrations-subgraph';

const emptyAsUnset = (value: unknown) => (value === '' ? undefined : value);

// OpenTelemetry's standard variables (src/observability/tracing.ts), as its SDKs read them; read here, once, with the rest.
const otlpUrl = z.string().refine(
  (value) => {
    try {
      const url = new URL(value);
      return url.protocol === 'https:' || url.protocol === 'http:';
    } catch {
      return false;
    }
  },
  { message: 'must be an http:// or https:// URL, e.g. http://otel-collector:4318' },
);
// key=value pairs separated by commas, values percent-encoded (W3C Baggage's format, as the spec says).
const otlpHeaders = z.string().transform((value, context) => {
  const headers: Record<string, string> = {};
  for (const pair of value.split(',')) {
    if (pair.trim() === '') continue;
    const at = pair.indexOf('=');
    const name = at > 0 ? pair.slice(0, at).trim() : '';
    let decoded: string | undefined;
    try {
      decoded = at > 0 ? decodeURIComponent(pair.slice(at + 1).trim()) : undefined;
    } catch {
      decoded = undefined;
    }
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name) || decoded === undefined) {
      context.addIssue({ code: 'custom', message: 'must be name=value pairs separated by commas, values percent-encoded' });
      return z.NEVER;
    }
    headers[name.toLowerCase()] = decoded;
  }
  return headers;
});
const otlpProtocol = z.enum(['http/json'], {
  message: 'must be http/json: this service exports OTLP over HTTP as JSON (an OpenTelemetry Collector accepts it on 4318)',
});
const SAMPLERS = [
  'always_on',
  'always_off',
  'traceidratio',
  'parentbased_always_on',
  'parentbased_always_off',
  'parentbased_traceidratio',
] as const;
const ratio = z
  .string()
  .regex(/^(0(\.\d+)?|1(\.0+)?|\.\d+)$/, { message: 'must be a number from 0 to 1, e.g. 0.01 for 1% of traces' })
  .transform(Number);

// Where clients reach the service (the gateway's public origin, and a path prefix if it mounts the
// service under one): scheme://host[:port][/prefix], without query or fragment; a trailing slash is dropped.
const publicBaseUrl = z
  .string()
  .refine(
    (value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'https:' || url.protocol === 'http:') && !url.search && !url.hash && !url.username && !url.password;
      } catch {
        return false;
      }
    },
    {
      message:
        'must be an http(s) URL like https://graphs.example.com or https://api.example.com/graphs (no query, fragment or credentials)',
    },
  )
  .transform((value) => value.replace(/\/+$/, ''));

// `*`, or a comma-separated list of exact origins (scheme://host[:port], as browsers send them).
const corsOrigins = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((origin) => origin.trim())
      .filter((origin) => origin !== ''),
  )
  .refine(
    (origins) =>
      (origins.length === 1 && origins[0] === '*') ||
      origins.every((origin) => {
        try {
          const url = new URL(origin);
          return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === origin;
        } catch {
          return false;
        }
      }),
    { message: 'must be * or a comma-separated list of origins like https://app.example.com (no path, no trailing slash)' },
  );

// Which peers may set X-Forwarded-For/-Host/-Proto (Fastify's trustProxy): `false` (none, the default),
// `true` (any: only when nothing but the proxy can reach the port), a number of proxy hops, or a
// comma-separated list of addresses and CIDR ranges of the proxies.
const trustProxy = z.string().transform((value, context) => {
  const text = value.trim();
  if (text === 'false') return false;
  if (text === 'true') return true;
  if (/^\d+$/.test(text)) return Number(text);
  const entries = text
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  const isAddressOrRange = (entry: string) => {
    const [address = '', bits, ...rest] = entry.split('/');
    const version = isIP(address);
    if (version === 0 || rest.length > 0) return false;
    return bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (version === 4 ? 32 : 128));
  };
  if (entries.length === 0 || !entries.every(isAddressOrRange)) {
    context.addIssue({
      code: 'custom',
      message: 'must be true, false, a number of proxy hops, or a comma-separated list of addresses or CIDR ranges like 10.0.0.0/8',
    });
    return z.NEVER;
  }
  return entries;
});

const LOOPBACK = '127.0.0.1';

/** A listener only this machine reaches: 127.0.0.0/8, ::1, localhost. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

// Defaults that a rule across variables needs too: stated once.
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
const DEFAULT_HEADERS_TIMEOUT_MS = 10_000;

const environmentSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test'], { message: 'must be development, production or test' }).default('development'),
  // Unset: every interface in production (a container's port), loopback otherwise, so that a
  // development start (its playground holds the demo member's token) is not served to the network.
  HOST: z.preprocess(emptyAsUnset, z.string().min(1).optional()),
  PORT: integer(0, 65535).default(4000),
  // The Prometheus scrape port (a listener of its own, never the public one); unset: no metrics at all.
  // 0 takes a free port (tests).
  METRICS_PORT: z.preprocess(emptyAsUnset, integer(0, 65535).optional()),
  METRICS_HOST: z.preprocess(emptyAsUnset, z.string().optional()),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      message: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
  DATABASE_URL: z.preprocess(emptyAsUnset, postgresUrl.optional()),
  DATABASE_READ_URL: z.preprocess(emptyAsUnset, postgresUrl.optional()),
  DATABASE_MIGRATE_URL: z.preprocess(emptyAsUnset, postgresUrl.optional()),
  DATABASE_LISTEN_URL: z.preprocess(emptyAsUnset, postgresUrl.optional()),
  DATABASE_POOLER: z
    .enum(['none', 'transaction'], {
      message:
        'must be none (DATABASE_URL reaches PostgreSQL itself) or transaction (it goes through PgBouncer with pool_mode=transaction, or another transaction-mode pooler)',
    })
    .default('none'),
  DATABASE_POOL_SIZE: integer(1, 1000).default(10),
  DATA_DIR: z.string().min(1).default('./.data'),
  MIGRATE_ON_START: booleanFlag.default(true),
  SEED_ON_FIRST_START: booleanFlag.optional(),
  DEMO_ACTIVITY_MS: integer(0, 3_600_000).optional(),
  AUTH_JWT_SECRET: z.preprocess(
    emptyAsUnset,
    z.string().min(32, { message: 'must be at least 32 characters (HS256 needs a 256-bit key)' }).optional(),
  ),
  AUTH_JWKS_URL: z.preprocess(emptyAsUnset, httpsOrLoopbackUrl.optional()),
  AUTH_ISSUER: z.preprocess(emptyAsUnset, z.string().optional()),
  AUTH_AUDIENCE: z.preprocess(emptyAsUnset, z.string().optional()),
  AUTH_CLOCK_TOLERANCE_SECONDS: integer(0, 300).default(5),
  SHUTDOWN_TIMEOUT_MS: integer(0, 600_000).default(10_000),
  DATABASE_CONNECT_TIMEOUT_MS: integer(100, 60_000).default(2_000),
  DATABASE_STATEMENT_TIMEOUT_MS: integer(0, 600_000).default(5_000),
  DATABASE_IDLE_TIMEOUT_MS: integer(0, 3_600_000).default(10_000),
  // Load shedding (docs/decisions/0006); 0 turns each bound off.
  DATABASE_POOL_QUEUE_MAX: integer(0, 100_000).default(1_000),
  DATABASE_POOL_QUEUE_TIMEOUT_MS: integer(0, 60_000).default(1_000),
  OVERLOAD_MAX_IN_FLIGHT: integer(0, 1_000_000).default(1_000),
  OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: integer(0, 60_000).default(0),
  OVERLOAD_MAX_HEAP_PERCENT: integer(0, 100).default(90),
  // Sockets listening on the port, each accepting on its own (src/platform/acceptors.ts, docs/decisions/0007).
  HTTP_ACCEPT_HANDLES: integer(1, 256).default(32),
  // Live history (src/domain/feed.ts, docs/decisions/0008).
  LIVE_MAX_STREAMS: integer(0, 100_000).default(2_000),
  LIVE_STREAM_BUFFER: integer(1, 100_000).default(1_000),
  LIVE_RETENTION_MS: integer(60_000, 365 * 86_400_000).default(86_400_000),
  LIVE_RECHECK_MS: integer(100, 60_000).default(60_000),
  LIVE_HEARTBEAT_MS: integer(100, 15_000).default(15_000),
  REQUEST_TIMEOUT_MS: integer(1_000, 600_000).default(DEFAULT_REQUEST_TIMEOUT_MS),
  HEADERS_TIMEOUT_MS: integer(1_000, 600_000).default(DEFAULT_HEADERS_TIMEOUT_MS),
  MAX_BODY_BYTES: integer(1_024, 100 * 1024 * 1024).default(1024 * 1024),
  CORS_ORIGINS: z.preprocess(emptyAsUnset, corsOrigins.optional()),
  PUBLIC_BASE_URL: z.preprocess(emptyAsUnset, publicBaseUrl.optional()),
  TRUST_PROXY: z.preprocess(emptyAsUnset, trustProxy.optional()),
  // At most 200: a document whose brackets nest deeper than 256 is refused before parsing (src/doors/graphql/limits.ts).
  GRAPHQL_MAX_DEPTH: integer(1, 200).default(15),
  GRAPHQL_MAX_ALIASES: integer(0, 10_000).default(30),
  GRAPHQL_MAX_ROOT_FIELDS: integer(1, 1_000).default(10),
  GRAPHQL_MAX_COST: integer(1, 100_000_000).default(10_000),
  GRAPHQL_MAX_QUERY_BYTES: integer(64, 10 * 1024 * 1024).default(16 * 1024),
  GRAPHQL_INTROSPECTION: booleanFlag.optional(),
  GRAPHQL_OPERATION_CACHE_MB: integer(0, 4_096).default(32),
  PLAYGROUND_ENABLED: booleanFlag.optional(),
  // Tracing (src/observability/tracing.ts): on when an OTLP endpoint is set, unless switched off.
  OTEL_SDK_DISABLED: booleanFlag.optional(),
  OTEL_TRACES_EXPORTER: z.preprocess(
    emptyAsUnset,
    z.enum(['otlp', 'none'], { message: 'must be otlp or none (traces leave this service over OTLP/HTTP only)' }).optional(),
  ),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.preprocess(emptyAsUnset, otlpUrl.optional()),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.preprocess(emptyAsUnset, otlpUrl.optional()),
  OTEL_EXPORTER_OTLP_PROTOCOL: z.preprocess(emptyAsUnset, otlpProtocol.optional()),
  OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: z.preprocess(emptyAsUnset, otlpProtocol.optional()),
  OTEL_EXPORTER_OTLP_HEADERS: z.preprocess(emptyAsUnset, otlpHeaders.optional()),
  OTEL_EXPORTER_OTLP_TRACES_HEADERS: z.preprocess(emptyAsUnset, otlpHeaders.optional()),
  OTEL_EXPORTER_OTLP_TIMEOUT: z.preprocess(emptyAsUnset, integer(1, 600_000).optional()),
  OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: z.preprocess(emptyAsUnset, integer(1, 600_000).optional()),
  OTEL_SERVICE_NAME: z.preprocess(emptyAsUnset, z.string().optional()),
  OTEL_RESOURCE_ATTRIBUTES: z.preprocess(emptyAsUnset, otlpHeaders.optional()),
  OTEL_TRACES_SAMPLER: z.preprocess(emptyAsUnset, z.enum(SAMPLERS, { message: `must be one of ${SAMPLERS.join(', ')}` }).optional()),
  OTEL_TRACES_SAMPLER_ARG: z.preprocess(emptyAsUnset, ratio.optional()),
  OTEL_BSP_SCHEDULE_DELAY: integer(0, 600_000).default(5_000),
  OTEL_BSP_EXPORT_TIMEOUT: integer(1, 600_000).default(30_000),
  OTEL_BSP_MAX_QUEUE_SIZE: integer(1, 1_000_000).default(2_048),
  OTEL_BSP_MAX_EXPORT_BATCH_SIZE: integer(1, 1_000_000).default(512),
});

export type Config = ReturnType<typeof toConfig>;

/**
 * Where and how spans are exported (src/observability/tracing.ts); undefined, the default, when no OTLP endpoint is
 * set or OTEL_SDK_DISABLED / OTEL_TRACES_EXPORTER=none switch tracing off: then nothing of OpenTelemetry is loaded.
 */
function tracingSettings(env: z.infer<typeof environmentSchema>) {
  // The traces endpoint is used as given; the general one gets the signal's path (the OTLP exporter spec).
  const url =
    env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (env.OTEL_EXPORTER_OTLP_ENDPOINT === undefined ? undefined : `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`);
  if (url === undefined || env.OTEL_SDK_DISABLED === true || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const sampler = env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on';
  return {
    url,
    headers: { ...env.OTEL_EXPORTER_OTLP_HEADERS, ...env.OTEL_EXPORTER_OTLP_TRACES_HEADERS },
    timeoutMs: env.OTEL_EXPORTER_OTLP_TRACES_TIMEOUT ?? env.OTEL_EXPORTER_OTLP_TIMEOUT ?? 10_000,
    resource: {
      ...env.OTEL_RESOURCE_ATTRIBUTES,
      'service.name': env.OTEL_SERVICE_NAME ?? env.OTEL_RESOURCE_ATTRIBUTES?.['service.name'] ?? SERVICE_NAME,
    },
    sampler,
    // The spec's default ratio is 1 (every trace) when the sampler takes one and none is given.
    samplerRatio: env.OTEL_TRACES_SAMPLER_ARG ?? 1,
    batch: {
      scheduledDelayMillis: env.OTEL_BSP_SCHEDULE_DELAY,
      exportTimeoutMillis: env.OTEL_BSP_EXPORT_TIMEOUT,
      maxQueueSize: env.OTEL_BSP_MAX_QUEUE_SIZE,
      maxExportBatchSize: Math.min(env.OTEL_BSP_MAX_EXPORT_BATCH_SIZE, env.OTEL_BSP_MAX_QUEUE_SIZE),
    },
  };
}

export type TracingSettings = NonNullable<ReturnType<typeof tracingSettings>>;

function toConfig(env: z.infer<typeof environmentSchema>) {
  return {
    nodeEnv: env.NODE_ENV,
    isProduction: env.NODE_ENV === 'production',
    host: env.HOST ?? (env.NODE_ENV === 'production' ? '0.0.0.0' : LOOPBACK),
    port: env.PORT,
    // GET /metrics on a port of its own (src/observability/metrics.ts): operators and Prometheus only, not the
    // gateway; loopback unless METRICS_HOST opens it to a network (a pod address, 0.0.0.0).
    metrics: env.METRICS_PORT === undefined ? undefined : { port: env.METRICS_PORT, host: env.METRICS_HOST ?? LOOPBACK },
    logLevel: env.LOG_LEVEL,
    database: env.DATABASE_URL
      ? {
          kind: 'postgres' as const,
          url: env.DATABASE_URL,
          readUrl: env.DATABASE_READ_URL,
          pooler: env.DATABASE_POOLER,
          poolSize: env.DATABASE_POOL_SIZE,
          connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
          statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
          idleTimeoutMs: env.DATABASE_IDLE_TIMEOUT_MS,
          queue: { maxWaiting: env.DATABASE_POOL_QUEUE_MAX, maxWaitMs: env.DATABASE_POOL_QUEUE_TIMEOUT_MS },
          // LISTEN needs a session of its own: never through a transaction-mode pooler.
          listenUrl:
            env.DATABASE_LISTEN_URL ?? env.DATABASE_MIGRATE_URL ?? (env.DATABASE_POOLER === 'transaction' ? undefined : env.DATABASE_URL),
        }
      : { kind: 'pglite' as const, dataDir: env.DATA_DIR },
    live: {
      maxStreams: env.LIVE_MAX_STREAMS,
      bufferSize: env.LIVE_STREAM_BUFFER,
      retentionMs: env.LIVE_RETENTION_MS,
      recheckMs: env.LIVE_RECHECK_MS,
      heartbeatMs: env.LIVE_HEARTBEAT_MS,
    },
    // Migrations and demo data: one connection to the primary, DATABASE_MIGRATE_URL when set (a direct
    // connection, past the pooler), and no statement_timeout (DDL and the wait for another instance's
    // migration lock may rightly take longer than a request).
    maintenanceDatabase: env.DATABASE_URL
      ? {
          kind: 'postgres' as const,
          url: env.DATABASE_MIGRATE_URL ?? env.DATABASE_URL,
          pooler: env.DATABASE_MIGRATE_URL ? ('none' as const) : env.DATABASE_POOLER,
          poolSize: 1,
          connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
          statementTimeoutMs: 0,
          idleTimeoutMs: env.DATABASE_IDLE_TIMEOUT_MS,
        }
      : { kind: 'pglite' as const, dataDir: env.DATA_DIR },
    dataDir: env.DATA_DIR,
    migrateOnStart: env.MIGRATE_ON_START,
    // Demo data belongs to the embedded default; on a real PostgreSQL it is opt-in.
    seedOnFirstStart: env.SEED_ON_FIRST_START ?? !env.DATABASE_URL,
    // The demo graph's runs move on by themselves (src/database/seed.ts), on the embedded database only.
    demoActivityMs: env.DATABASE_URL ? 0 : (env.DEMO_ACTIVITY_MS ?? 20_000),
    auth: {
      jwtSecret: env.AUTH_JWT_SECRET,
      jwksUrl: env.AUTH_JWKS_URL,
      issuer: env.AUTH_ISSUER,
      audience: env.AUTH_AUDIENCE,
      clockToleranceSeconds: env.AUTH_CLOCK_TOLERANCE_SECONDS,
    },
    shutdownTimeoutMs: env.SHUTDOWN_TIMEOUT_MS,
    // Refused at once with 503 + Retry-After beyond these (src/platform/overload.ts); /healthz and /readyz never are.
    overload: {
      maxInFlight: env.OVERLOAD_MAX_IN_FLIGHT,
      maxEventLoopDelayMs: env.OVERLOAD_MAX_EVENT_LOOP_DELAY_MS,
      maxHeapPercent: env.OVERLOAD_MAX_HEAP_PERCENT,
    },
    http: {
      acceptHandles: env.HTTP_ACCEPT_HANDLES,
      requestTimeoutMs: env.REQUEST_TIMEOUT_MS,
      headersTimeoutMs: env.HEADERS_TIMEOUT_MS,
      maxBodyBytes: env.MAX_BODY_BYTES,
      // Off unless configured: a browser on another origin gets no CORS grant by default.
      corsOrigins: env.CORS_ORIGINS ?? [],
      // Absolute next-page links only from configuration, never from a client's Host header.
      publicBaseUrl: env.PUBLIC_BASE_URL,
      // No proxy is trusted unless configured: forwarded headers from anyone else are ignored.
      trustProxy: env.TRUST_PROXY ?? false,
    },
    tracing: tracingSettings(env),
    graphql: {
      // Introspection is for tools during development; in production only when asked for.
      introspection: env.GRAPHQL_INTROSPECTION ?? env.NODE_ENV !== 'production',
      // The browser IDE at GET /graphql: for people exploring; off in production unless asked for.
      playground: env.PLAYGROUND_ENABLED ?? env.NODE_ENV !== 'production',
      // Parsed documents and compiled operations kept across requests, least recently used evicted (decision 0005).
      operationCacheBytes: env.GRAPHQL_OPERATION_CACHE_MB * 1024 * 1024,
      limits: {
        maxDepth: env.GRAPHQL_MAX_DEPTH,
        maxAliases: env.GRAPHQL_MAX_ALIASES,
        maxRootFields: env.GRAPHQL_MAX_ROOT_FIELDS,
        maxCost: env.GRAPHQL_MAX_COST,
        maxQueryBytes: env.GRAPHQL_MAX_QUERY_BYTES,
      },
    },
  };
}

const SECRET_VARIABLES = new Set([
  'DATABASE_URL',
  'DATABASE_READ_URL',
  'DATABASE_MIGRATE_URL',
  'DATABASE_LISTEN_URL',
  'AUTH_JWT_SECRET',
  // A collector's API key travels in these.
  'OTEL_EXPORTER_OTLP_HEADERS',
  'OTEL_EXPORTER_OTLP_TRACES_HEADERS',
]);

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** The configuration for a process: a bad one is printed as one message (no stack) and the process exits 1. */
/** The PostgreSQL URLs the configuration names, by variable (none on the embedded database): for messages that say which to fix. */
export function databaseUrls(config: Config): Record<string, string | undefined> {
  if (config.database.kind !== 'postgres') return {};
  const migrate = config.maintenanceDatabase.kind === 'postgres' ? config.maintenanceDatabase.url : undefined;
  return {
    DATABASE_URL: config.database.url,
    DATABASE_READ_URL: config.database.readUrl,
    DATABASE_MIGRATE_URL: migrate === config.database.url ? undefined : migrate,
  };
}

export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    console.error(error.message);
    process.exit(1);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = environmentSchema.safeParse(env);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => {
        const name = String(issue.path[0]);
        // Values that may hold credentials are never echoed into logs.
        const shown = SECRET_VARIABLES.has(name) ? '' : `=${JSON.stringify(env[name] ?? '')}`;
        return `${name}${shown}: ${issue.message}`;
      });
  // Rules across variables, checked on the raw values so one bad variable does not hide them from the same report.
  problems.push(...crossVariableProblems(env));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return toConfig(parsed.data);
}

function crossVariableProblems(env: NodeJS.ProcessEnv): string[] {
  const isSet = (name: string) => (env[name] ?? '') !== '';
  const problems: string[] = [];
  if (isSet('AUTH_JWT_SECRET') && isSet('AUTH_JWKS_URL')) {
    problems.push('AUTH_JWT_SECRET and AUTH_JWKS_URL are both set: choose one way to verify tokens');
  }
  // Node refuses a headers timeout longer than the request timeout; say so here rather than at listen.
  const headersTimeout = Number(env.HEADERS_TIMEOUT_MS ?? DEFAULT_HEADERS_TIMEOUT_MS);
  const requestTimeout = Number(env.REQUEST_TIMEOUT_MS ?? DEFAULT_REQUEST_TIMEOUT_MS);
  if (Number.isFinite(headersTimeout) && Number.isFinite(requestTimeout) && headersTimeout > requestTimeout) {
    problems.push(`HEADERS_TIMEOUT_MS (${headersTimeout}) must not exceed REQUEST_TIMEOUT_MS (${requestTimeout})`);
  }
  // The scrape port is a listener of its own: on the public port it would be refused at listen (or, worse, shared).
  // Port 0 (any free port) on both sides never collides.
  const port = Number(env.PORT ?? 4000);
  if (isSet('METRICS_PORT') && Number(env.METRICS_PORT) === port && port > 0) {
    problems.push(`METRICS_PORT (${port}) must differ from PORT: metrics are served on a port of their own, never the public one`);
  }
  if (isSet('DATABASE_URL') && isSet('DEMO_ACTIVITY_MS') && Number(env.DEMO_ACTIVITY_MS) > 0) {
    problems.push(
      'DEMO_ACTIVITY_MS writes demo runs into the database, so it runs on the embedded one only: unset it when DATABASE_URL is set',
    );
  }
  if (isSet('METRICS_HOST') && !isSet('METRICS_PORT')) {
    problems.push('METRICS_HOST is set but METRICS_PORT is not: set METRICS_PORT to serve metrics (unset: no metrics server)');
  }
  // The primary's companions mean nothing without it: the embedded database has no replica, pooler or second door.
  if (isSet('DATABASE_READ_URL') && !isSet('DATABASE_URL')) {
    problems.push(
      'DATABASE_READ_URL is set but DATABASE_URL is not: set DATABASE_URL to the primary (reads go to DATABASE_READ_URL, migrations to the primary)',
    );
  }
  if (isSet('DATABASE_MIGRATE_URL') && !isSet('DATABASE_URL')) {
    problems.push(
      'DATABASE_MIGRATE_URL is set but DATABASE_URL is not: set DATABASE_URL too (the service serves from it; DATABASE_MIGRATE_URL is for migrations only)',
    );
  }
  if (isSet('DATABASE_LISTEN_URL') && !isSet('DATABASE_URL')) {
    problems.push(
      "DATABASE_LISTEN_URL is set but DATABASE_URL is not: set DATABASE_URL too (DATABASE_LISTEN_URL is the live history's LISTEN session only)",
    );
  }
  if ((env.DATABASE_POOLER ?? 'none') === 'transaction' && !isSet('DATABASE_URL')) {
    problems.push(
      'DATABASE_POOLER=transaction is set but DATABASE_URL is not: set DATABASE_URL to the pooler (the embedded database has none)',
    );
  }
  if (env.NODE_ENV === 'production' && !isSet('AUTH_JWT_SECRET') && !isSet('AUTH_JWKS_URL')) {
    problems.push('NODE_ENV=production requires AUTH_JWT_SECRET or AUTH_JWKS_URL: the service never runs unauthenticated in production');
  }
  return problems;
}
