// Configuration is read once from an env object: documented defaults, every bad variable named in one
// error, secrets never echoed, and production never unauthenticated.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';

const SECRET = 'a-hs256-secret-of-at-least-32-characters';

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to refuse this environment');
}

describe('loadConfig', () => {
  it('defaults to the embedded database, port 4000 and development', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      isProduction: false,
      // Loopback: a development start hands its playground's demo token to whoever reaches it.
      host: '127.0.0.1',
      port: 4000,
      logLevel: 'info',
      database: { kind: 'pglite', dataDir: './.data' },
      dataDir: './.data',
      migrateOnStart: true,
      seedOnFirstStart: true,
      auth: { jwtSecret: undefined, jwksUrl: undefined, issuer: undefined, audience: undefined, clockToleranceSeconds: 5 },
      shutdownTimeoutMs: 10_000,
    });
  });

  it('uses PostgreSQL when DATABASE_URL is set, without demo data unless asked', () => {
    const url = 'postgresql://app:secret@db.internal:5432/graphs';
    expect(loadConfig({ DATABASE_URL: url })).toMatchObject({
      database: { kind: 'postgres', url, poolSize: 10 },
      seedOnFirstStart: false,
    });
    expect(loadConfig({ DATABASE_URL: url, DATABASE_POOL_SIZE: '3', SEED_ON_FIRST_START: 'true' })).toMatchObject({
      database: { kind: 'postgres', url, poolSize: 3 },
      seedOnFirstStart: true,
    });
  });

  it('reads from DATABASE_READ_URL when set, and migrates on DATABASE_MIGRATE_URL (direct), else on DATABASE_URL', () => {
    const primary = 'postgresql://app:secret@primary.internal:5432/graphs';
    const replica = 'postgresql://app:secret@replica.internal:5432/graphs';
    const direct = 'postgresql://owner:secret@primary.internal:5432/graphs';
    const plain = loadConfig({ DATABASE_URL: primary });
    expect(plain.database).toMatchObject({ kind: 'postgres', url: primary, readUrl: undefined, pooler: 'none' });
    expect(plain.maintenanceDatabase).toMatchObject({ kind: 'postgres', url: primary, pooler: 'none', poolSize: 1, statementTimeoutMs: 0 });

    const scaled = loadConfig({
      DATABASE_URL: primary,
      DATABASE_READ_URL: replica,
      DATABASE_MIGRATE_URL: direct,
      DATABASE_POOLER: 'transaction',
    });
    expect(scaled.database).toMatchObject({ kind: 'postgres', url: primary, readUrl: replica, pooler: 'transaction', poolSize: 10 });
    // Migrations go past the pooler: a direct connection keeps named statements and session settings.
    expect(scaled.maintenanceDatabase).toMatchObject({ kind: 'postgres', url: direct, pooler: 'none', poolSize: 1, statementTimeoutMs: 0 });
    expect(scaled.maintenanceDatabase).not.toHaveProperty('readUrl');

    // Without DATABASE_MIGRATE_URL, migrations take DATABASE_URL as it is: through the pooler, so without named statements.
    expect(loadConfig({ DATABASE_URL: primary, DATABASE_POOLER: 'transaction' }).maintenanceDatabase).toMatchObject({
      url: primary,
      pooler: 'transaction',
    });
    expect(loadConfig({ DATABASE_URL: primary, DATABASE_READ_URL: '', DATABASE_MIGRATE_URL: '' }).database).toMatchObject({
      readUrl: undefined,
    });
  });

  it('names every bad database variable in one error, never echoing a URL, and says what each needs', () => {
    const password = 'hunter2-do-not-log';
    const error = configError({
      DATABASE_URL: 'postgresql://app@primary.internal:5432/graphs',
      DATABASE_READ_URL: `mysql://app:${password}@replica/graphs`,
      DATABASE_MIGRATE_URL: `postgresql://owner:${password}@`,
      DATABASE_POOLER: 'pgbouncer',
    });
    expect(error.problems).toEqual([
      'DATABASE_READ_URL: must be a URL like postgresql://user:password@host:5432/database',
      'DATABASE_MIGRATE_URL: must be a URL like postgresql://user:password@host:5432/database',
      expect.stringMatching(
        /^DATABASE_POOLER="pgbouncer": must be none .* or transaction \(it goes through PgBouncer with pool_mode=transaction/,
      ),
    ]);
    expect(error.message).not.toContain(password);
  });

  it('refuses a replica, a migration URL or a pooler without DATABASE_URL', () => {
    const replica = 'postgresql://app:secret@replica.internal:5432/graphs';
    const error = configError({ DATABASE_READ_URL: replica, DATABASE_MIGRATE_URL: replica, DATABASE_POOLER: 'transaction' });
    expect(error.problems).toEqual([
      expect.stringMatching(/^DATABASE_READ_URL is set but DATABASE_URL is not: set DATABASE_URL to the primary/),
      expect.stringMatching(/^DATABASE_MIGRATE_URL is set but DATABASE_URL is not/),
      expect.stringMatching(/^DATABASE_POOLER=transaction is set but DATABASE_URL is not/),
    ]);
    expect(error.message).not.toContain('secret');
  });

  it('treats an empty DATABASE_URL as unset', () => {
    expect(loadConfig({ DATABASE_URL: '' }).database.kind).toBe('pglite');
  });

  it('parses numbers and flags', () => {
    expect(
      loadConfig({ PORT: '0', HOST: '127.0.0.1', MIGRATE_ON_START: 'false', SEED_ON_FIRST_START: '0', SHUTDOWN_TIMEOUT_MS: '250' }),
    ).toMatchObject({ port: 0, host: '127.0.0.1', migrateOnStart: false, seedOnFirstStart: false, shutdownTimeoutMs: 250 });
  });

  it('bounds the operation cache at 32 MiB unless GRAPHQL_OPERATION_CACHE_MB says otherwise (0: none)', () => {
    expect(loadConfig({}).graphql.operationCacheBytes).toBe(32 * 1024 * 1024);
    expect(loadConfig({ GRAPHQL_OPERATION_CACHE_MB: '0' }).graphql.operationCacheBytes).toBe(0);
    expect(configError({ GRAPHQL_OPERATION_CACHE_MB: '-1' }).message).toContain('GRAPHQL_OPERATION_CACHE_MB');
  });

  it('names a malformed DATABASE_URL and a non-numeric PORT in one error, without echoing the URL', () => {
    const password = 'hunter2-do-not-log';
    const error = configError({ DATABASE_URL: `postgresql://admin:${password}@/`, PORT: 'abc' });
    expect(error.problems).toHaveLength(2);
    expect(error.message).toMatch(/DATABASE_URL/);
    expect(error.message).toMatch(/PORT/);
    expect(error.message).toContain('"abc"');
    expect(error.message).not.toContain(password);
    expect(error.message).not.toContain('admin:');
  });

  it('traces only when an OTLP endpoint is set, and not when OTEL_SDK_DISABLED or OTEL_TRACES_EXPORTER=none says so', () => {
    expect(loadConfig({}).tracing).toBeUndefined();
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' };
    expect(loadConfig(endpoint).tracing).toEqual({
      url: 'http://collector:4318/v1/traces',
      headers: {},
      timeoutMs: 10_000,
      resource: { 'service.name': 'graph-migrations-subgraph' },
      sampler: 'parentbased_always_on',
      samplerRatio: 1,
      batch: { scheduledDelayMillis: 5_000, exportTimeoutMillis: 30_000, maxQueueSize: 2_048, maxExportBatchSize: 512 },
    });
    expect(loadConfig({ ...endpoint, OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
    expect(loadConfig({ ...endpoint, OTEL_TRACES_EXPORTER: 'none' }).tracing).toBeUndefined();
    // The signal's own endpoint is taken as given; its headers and timeout win over the general ones.
    const tracing = loadConfig({
      ...endpoint,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://traces.example/ingest',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-team=graphs,Authorization=Basic%20abc',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=migrations',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_SERVICE_NAME: 'history',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=staging,service.name=ignored',
      OTEL_TRACES_SAMPLER: 'parentbased_traceidratio',
      OTEL_TRACES_SAMPLER_ARG: '0.01',
      OTEL_BSP_MAX_QUEUE_SIZE: '100',
    }).tracing!;
    expect(tracing).toMatchObject({
      url: 'https://traces.example/ingest',
      headers: { 'x-team': 'migrations', authorization: 'Basic abc' },
      timeoutMs: 3_000,
      resource: { 'service.name': 'history', 'deployment.environment.name': 'staging' },
      sampler: 'parentbased_traceidratio',
      samplerRatio: 0.01,
      batch: { maxQueueSize: 100, maxExportBatchSize: 100 },
    });
  });

  it('names each bad OpenTelemetry variable, never echoing the exporter headers (they hold API keys)', () => {
    const error = configError({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
      OTEL_EXPORTER_OTLP_HEADERS: 'api-key',
      OTEL_TRACES_SAMPLER: 'sometimes',
      OTEL_TRACES_SAMPLER_ARG: '2',
      OTEL_TRACES_EXPORTER: 'zipkin',
    });
    expect(error.problems).toHaveLength(6);
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_ENDPOINT="collector:4318": must be an http:// or https:// URL');
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_PROTOCOL="grpc": must be http/json');
    expect(error.message).toContain('OTEL_EXPORTER_OTLP_HEADERS: must be name=value pairs');
    expect(error.message).not.toContain('api-key');
    expect(error.message).toContain('OTEL_TRACES_SAMPLER="sometimes": must be one of always_on');
    expect(error.message).toContain('OTEL_TRACES_SAMPLER_ARG="2": must be a number from 0 to 1');
    expect(error.message).toContain('OTEL_TRACES_EXPORTER="zipkin": must be otlp or none');
  });

  it('refuses a URL that is not PostgreSQL', () => {
    for (const url of ['nope', 'mysql://root@localhost/db', 'postgresql://']) {
      expect(configError({ DATABASE_URL: url }).message, url).toMatch(/DATABASE_URL/);
    }
  });

  it('sheds load by default (in-flight, pool queue, heap) and turns each bound off at 0; the pool queue only on PostgreSQL', () => {
    const url = 'postgresql://app:secret@db.internal:5432/graphs';
    expect(loadConfig({})).toMatchObject({ overload: { maxInFlight: 1_000, maxEventLoopDelayMs: 0, maxHeapPercent: 90 } });
    expect(loadConfig({}).database).not.toHaveProperty('queue');
    expect(loadConfig({ DATABASE_URL: url }).database).toMatchObject({ queue: { maxWaiting: 1_000, maxWaitMs: 1_000 } });
    const off = loadConfig({
      DATABASE_URL: url,
      DATABASE_POOL_QUEUE_MAX: '0',
      DATABASE_POOL_QUEUE_TIMEOUT_MS: '0',
      OVERLOAD_MAX_IN_FLIGHT: '0',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '0',
      OVERLOAD_MAX_HEAP_PERCENT: '0',
    });
    expect(off).toMatchObject({
      database: { queue: { maxWaiting: 0, maxWaitMs: 0 } },
      overload: { maxInFlight: 0, maxEventLoopDelayMs: 0, maxHeapPercent: 0 },
    });
    expect(
      loadConfig({ OVERLOAD_MAX_IN_FLIGHT: '500', OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '2000', OVERLOAD_MAX_HEAP_PERCENT: '95' }).overload,
    ).toEqual({ maxInFlight: 500, maxEventLoopDelayMs: 2000, maxHeapPercent: 95 });
    // The migration connection is never shed.
    expect(loadConfig({ DATABASE_URL: url }).maintenanceDatabase).not.toHaveProperty('queue');
  });

  it('names every bad load-shedding setting in one error', () => {
    const error = configError({
      DATABASE_POOL_QUEUE_MAX: '-1',
      DATABASE_POOL_QUEUE_TIMEOUT_MS: '1.5',
      OVERLOAD_MAX_IN_FLIGHT: 'many',
      OVERLOAD_MAX_EVENT_LOOP_DELAY_MS: '60001',
      OVERLOAD_MAX_HEAP_PERCENT: '101',
    });
    expect(error.problems).toEqual([
      'DATABASE_POOL_QUEUE_MAX="-1": must be a whole number',
      'DATABASE_POOL_QUEUE_TIMEOUT_MS="1.5": must be a whole number',
      'OVERLOAD_MAX_IN_FLIGHT="many": must be a whole number',
      'OVERLOAD_MAX_EVENT_LOOP_DELAY_MS="60001": must be at most 60000',
      'OVERLOAD_MAX_HEAP_PERCENT="101": must be at most 100',
    ]);
  });

  it('refuses out-of-range numbers and unknown enum values, naming each', () => {
    const error = configError({ PORT: '70000', NODE_ENV: 'staging', LOG_LEVEL: 'loud', MIGRATE_ON_START: 'yes', DATABASE_POOL_SIZE: '0' });
    expect(error.problems).toHaveLength(5);
    for (const name of ['PORT', 'NODE_ENV', 'LOG_LEVEL', 'MIGRATE_ON_START', 'DATABASE_POOL_SIZE']) {
      expect(error.message).toContain(name);
    }
  });

  it('refuses a short HS256 secret without echoing it', () => {
    const error = configError({ AUTH_JWT_SECRET: 'short-secret' });
    expect(error.message).toContain('AUTH_JWT_SECRET');
    expect(error.message).not.toContain('short-secret');
  });

  it('accepts a JWKS URL over https, or http on loopback only', () => {
    expect(loadConfig({ AUTH_JWKS_URL: 'https://idp.example.com/.well-known/jwks.json' }).auth.jwksUrl).toBe(
      'https://idp.example.com/.well-known/jwks.json',
    );
    expect(loadConfig({ AUTH_JWKS_URL: 'http://127.0.0.1:8080/jwks' }).auth.jwksUrl).toBe('http://127.0.0.1:8080/jwks');
    expect(configError({ AUTH_JWKS_URL: 'http://idp.example.com/jwks' }).message).toContain('AUTH_JWKS_URL');
  });

  it('takes PUBLIC_BASE_URL as http(s) origin and optional path prefix, without a trailing slash; absent by default', () => {
    expect(loadConfig({}).http.publicBaseUrl).toBeUndefined();
    expect(loadConfig({ PUBLIC_BASE_URL: 'https://graphs.example.com/' }).http.publicBaseUrl).toBe('https://graphs.example.com');
    expect(loadConfig({ PUBLIC_BASE_URL: 'http://127.0.0.1:4000/history' }).http.publicBaseUrl).toBe('http://127.0.0.1:4000/history');
    for (const bad of [
      'graphs.example.com',
      'ftp://graphs.example.com',
      'https://graphs.example.com/?x=1',
      'https://user:pw@graphs.example.com',
    ]) {
      expect(configError({ PUBLIC_BASE_URL: bad }).problems, bad).toEqual([
        expect.stringMatching(/^PUBLIC_BASE_URL=.*must be an http\(s\) URL/),
      ]);
    }
  });

  it('refuses production without authentication', () => {
    const error = configError({ NODE_ENV: 'production' });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toMatch(/production/);
    expect(error.message).toMatch(/AUTH_JWT_SECRET/);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: SECRET }).isProduction).toBe(true);
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWKS_URL: 'https://idp.example.com/jwks' }).isProduction).toBe(true);
  });

  it('refuses both AUTH_JWT_SECRET and AUTH_JWKS_URL', () => {
    const error = configError({ AUTH_JWT_SECRET: SECRET, AUTH_JWKS_URL: 'https://idp.example.com/jwks' });
    expect(error.problems).toHaveLength(1);
    expect(error.message).toContain('AUTH_JWT_SECRET');
    expect(error.message).toContain('AUTH_JWKS_URL');
    expect(error.message).not.toContain(SECRET);
  });

  it('reports a bad variable and a missing production requirement together', () => {
    const error = configError({ NODE_ENV: 'production', PORT: 'abc' });
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('PORT');
    expect(error.message).toMatch(/production requires/);
  });

  it('listens on every interface in production and on loopback otherwise, unless HOST says where', () => {
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32) }).host).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'test' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '' }).host).toBe('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).host).toBe('0.0.0.0');
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32), HOST: '10.0.0.5' }).host).toBe('10.0.0.5');
  });

  it('serves no metrics unless METRICS_PORT is set; METRICS_HOST defaults to loopback, whatever HOST is', () => {
    expect(loadConfig({}).metrics).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '' }).metrics).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9464' }).metrics).toEqual({ port: 9464, host: '127.0.0.1' });
    expect(loadConfig({ NODE_ENV: 'production', AUTH_JWT_SECRET: 'x'.repeat(32), METRICS_PORT: '9464' }).metrics).toEqual({
      port: 9464,
      host: '127.0.0.1',
    });
    expect(loadConfig({ HOST: '0.0.0.0', METRICS_PORT: '9464', METRICS_HOST: '10.0.0.5' }).metrics).toEqual({
      port: 9464,
      host: '10.0.0.5',
    });
    // 0: a free port of the system's choosing, on both sides (tests).
    expect(loadConfig({ PORT: '0', METRICS_PORT: '0' }).metrics).toEqual({ port: 0, host: '127.0.0.1' });
  });

  it('refuses a METRICS_PORT that is not a port, or is the public PORT, with the other problems in one error', () => {
    for (const value of ['abc', '-1', '65536', '9464.5']) {
      const error = configError({ METRICS_PORT: value });
      expect(error.problems).toHaveLength(1);
      expect(error.problems[0]).toContain(`METRICS_PORT=${JSON.stringify(value)}`);
    }
    expect(configError({ METRICS_PORT: '4000' }).problems).toEqual([
      'METRICS_PORT (4000) must differ from PORT: metrics are served on a port of their own, never the public one',
    ]);
    const error = configError({ PORT: '8080', METRICS_PORT: '8080', GRAPHQL_MAX_DEPTH: '0' });
    expect(error.problems).toHaveLength(2);
    expect(error.message).toContain('GRAPHQL_MAX_DEPTH');
    expect(error.message).toContain('METRICS_PORT (8080) must differ from PORT');
  });

  it('refuses METRICS_HOST without METRICS_PORT', () => {
    expect(configError({ METRICS_HOST: '127.0.0.1' }).problems).toEqual([
      'METRICS_HOST is set but METRICS_PORT is not: set METRICS_PORT to serve metrics (unset: no metrics server)',
    ]);
  });
});
