// Prometheus metrics on a port of their own (METRICS_PORT): off unless configured, never on the
// public port, moving by exactly what requests do, and with bounded labels that carry no user data.
import { randomUUID } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { MAX_OPERATION_NAMES } from '../../src/observability/metrics.js';
import { startService } from '../../src/service.js';
import { createLogger } from '../../src/observability/logger.js';
import { createTestDatabase, DATABASE_KINDS } from '../helpers/databases.js';
import { insertGraphWithRuns, plannedHistory } from '../helpers/history.js';
import { graphql, startTestService, testConfig, type TestService } from '../helpers/service.js';

const MEMBER = randomUUID();
const SLUG = `metrics_slug_${randomUUID().slice(0, 8)}`;

type Samples = Map<string, number>;

/** A sample's key as `parse` stores it: the name and its labels sorted by name. */
function key(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([label, value]) => `${label}=${JSON.stringify(value)}`);
  return pairs.length > 0 ? `${name}{${pairs.join(',')}}` : name;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/i;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** Prometheus text format → samples; any line that is neither a comment nor a sample fails the test. */
function parse(text: string): Samples {
  const samples: Samples = new Map();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const match = SAMPLE.exec(line);
    expect(match, line).not.toBeNull();
    const labels = Object.fromEntries([...(match![2] ?? '').matchAll(LABEL)].map(([, name, value]) => [name!, JSON.parse(`"${value}"`)]));
    samples.set(key(match![1]!, labels), Number(match![3]));
  }
  return samples;
}

/** Label values of `label` across the samples of `name`. */
function labelValues(samples: Samples, name: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const sample of samples.keys()) {
    if (!sample.startsWith(`${name}{`)) continue;
    const value = new RegExp(`[{,]${label}="((?:[^"\\\\]|\\\\.)*)"`).exec(sample)?.[1];
    if (value !== undefined) values.add(value);
  }
  return values;
}

describe.each(DATABASE_KINDS)('metrics on %s', (kind) => {
  let service: TestService;
  let token: string;

  async function scrape(): Promise<{ text: string; samples: Samples }> {
    const response = await fetch(service.service.metricsUrl!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(Registry.PROMETHEUS_CONTENT_TYPE);
    const text = await response.text();
    return { text, samples: parse(text) };
  }

  beforeAll(async () => {
    service = await startTestService(kind, { env: { METRICS_PORT: '0' } });
    await insertGraphWithRuns(service.prisma, SLUG, MEMBER, plannedHistory(3));
    token = await service.token(MEMBER);
  });
  afterAll(() => service?.close());

  it('serves GET /metrics on its own port only: 404 elsewhere there, 405 for other methods, 404 on the public port', async () => {
    const metricsUrl = service.service.metricsUrl!;
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(new URL(metricsUrl).port).not.toBe(new URL(service.url).port);
    const elsewhere = await fetch(new URL('/other', metricsUrl));
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({ detail: 'Not Found' });
    const post = await fetch(metricsUrl, { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    const head = await fetch(metricsUrl, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const publicPort = await fetch(`${service.url}/metrics`);
    expect(publicPort.status).toBe(404);
    expect(await publicPort.json()).toEqual({ detail: 'Not Found' });
  });

  it('counts requests, operations, errors and statements by exactly what was done, with no user data in labels', async () => {
    const before = (await scrape()).samples;
    service.statements.length = 0;
    const backgroundBefore = service.background.statements;

    const rest = await fetch(`${service.url}/api/v1/graphs/${SLUG}/migrations?limit=2`, { headers: { authorization: `Bearer ${token}` } });
    expect(rest.status).toBe(200);
    const ok = await graphql(
      service.url,
      `
        query MetricsGraph($slug: String!) {
          graph(slug: $slug) {
            slug
          }
        }
      `,
      {
        token,
        variables: { slug: SLUG },
      },
    );
    expect(ok).toEqual({ data: { graph: { slug: SLUG } } });
    const invalid = await graphql(service.url, `query MetricsBroken { graph(slug: "${SLUG}") { noSuchField } }`, { token });
    expect(invalid.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    const unauthenticated = await graphql(service.url, `{ graph(slug: "${SLUG}") { slug } }`);
    expect(unauthenticated.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect((await fetch(`${service.url}/nope/${SLUG}`)).status).toBe(404);
    // Router refusals: a path that does not decode (the history route still answers it, as a slug).
    expect((await fetch(`${service.url}/nope/%zz`)).status).toBe(404);
    expect((await fetch(`${service.url}/api/v1/graphs/%zz/migrations`)).status).toBe(401);
    const statementsSent = service.statements.length;

    const { text, samples: after } = await scrape();
    // The change feed and the day counts' fold send statements on their own schedules: the metrics count them too.
    const background = service.background.statements - backgroundBefore;
    const delta = (name: string, labels?: Record<string, string>) =>
      (after.get(key(name, labels)) ?? 0) - (before.get(key(name, labels)) ?? 0);

    const history = { method: 'GET', route: '/api/v1/graphs/:slug/migrations', status: '200' };
    expect(delta('http_requests_total', history)).toBe(1);
    expect(delta('http_request_duration_seconds_count', history)).toBe(1);
    expect(delta('http_request_duration_seconds_sum', history)).toBeGreaterThan(0);
    // The success and the unauthenticated operation are 200s (errors in the body); validation is a 400.
    expect(delta('http_requests_total', { method: 'POST', route: '/graphql', status: '200' })).toBe(2);
    expect(delta('http_requests_total', { method: 'POST', route: '/graphql', status: '400' })).toBe(1);
    expect(delta('http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(2);
    expect(delta('http_requests_total', { method: 'GET', route: 'unmatched', status: '401' })).toBe(1);

    expect(delta('graphql_operations_total', { operation: 'MetricsGraph', outcome: 'success' })).toBe(1);
    expect(delta('graphql_operations_total', { operation: 'MetricsBroken', outcome: 'error' })).toBe(1);
    expect(delta('graphql_operations_total', { operation: 'anonymous', outcome: 'error' })).toBe(1);
    expect(delta('graphql_errors_total', { code: 'GRAPHQL_VALIDATION_FAILED' })).toBe(1);
    expect(delta('graphql_errors_total', { code: 'UNAUTHENTICATED' })).toBe(1);

    expect(statementsSent).toBeGreaterThan(0);
    expect(delta('sql_statements_total')).toBe(statementsSent + background);
    expect(delta('sql_statement_duration_seconds_count')).toBe(statementsSent + background);

    // Route templates, never paths; and no slug or user id anywhere.
    for (const route of labelValues(after, 'http_requests_total', 'route')) expect(route).toMatch(/^(unmatched|\/[a-z0-9/:_-]*)$/);
    expect(text).not.toContain(SLUG);
    expect(text).not.toContain(MEMBER);
  });

  it('keeps operation names to a bounded set: a flood of distinct names ends in `other`', async () => {
    const before = (await scrape()).samples;
    const names = Array.from({ length: 200 }, (_, i) => `Flood_${i}`);
    for (let i = 0; i < names.length; i += 20) {
      await Promise.all(names.slice(i, i + 20).map((name) => graphql(service.url, `query ${name} { __typename }`)));
    }
    // Names that are not GraphQL-like names of sane length are `other` even below the cap.
    await graphql(service.url, `query ${'L'.repeat(65)} { __typename }`);
    const after = (await scrape()).samples;
    const operations = labelValues(after, 'graphql_operations_total', 'operation');
    // The cap, plus `other` and `anonymous`.
    expect(operations.size).toBeLessThanOrEqual(MAX_OPERATION_NAMES + 2);
    expect(operations.has('other')).toBe(true);
    const other = key('graphql_operations_total', { operation: 'other', outcome: 'success' });
    const named = [...operations].filter((name) => name.startsWith('Flood_')).length;
    expect((after.get(other) ?? 0) - (before.get(other) ?? 0)).toBe(200 - named + 1);
  });

  it('reports pool connections on PostgreSQL only, and the event-loop lag and resident memory', async () => {
    const { samples } = await scrape();
    const pools = [...samples.keys()].filter((sample) => sample.startsWith('db_pool_connections{'));
    if (kind === 'postgres') {
      for (const pool of ['serving', 'primary']) {
        for (const state of ['total', 'idle', 'waiting'])
          expect(samples.get(key('db_pool_connections', { pool, state }))).toBeGreaterThanOrEqual(0);
      }
      expect(samples.get(key('db_pool_connections', { pool: 'serving', state: 'total' }))).toBeGreaterThan(0);
      expect(pools).toHaveLength(6);
    } else {
      expect(pools).toEqual([]);
    }
    expect(samples.get('nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    expect(samples.get('process_resident_memory_bytes')).toBeGreaterThan(0);
  });
});

describe('metrics off (no METRICS_PORT)', () => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService('pglite');
  });
  afterAll(() => service?.close());

  it('opens no metrics listener and serves no /metrics', async () => {
    expect(service.service.metricsUrl).toBeUndefined();
    expect((await fetch(`${service.url}/metrics`)).status).toBe(404);
  });
});

describe('a metrics port already taken', () => {
  it('fails the start and leaves the public port closed', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const database = await createTestDatabase('pglite');
    try {
      const config = testConfig({ DATA_DIR: database.dataDir, METRICS_PORT: String((taken.address() as AddressInfo).port) });
      const logged: string[] = [];
      const logger = createLogger('silent');
      logger.info = ((...args: unknown[]) => void logged.push(String(args.at(-1)))) as typeof logger.info;
      await expect(startService(config, logger)).rejects.toMatchObject({ code: 'EADDRINUSE' });
      const listening = logged.find((line) => line.startsWith('listening on '));
      expect(listening).toBeDefined();
      await expect(fetch(`${listening!.slice('listening on '.length)}/healthz`)).rejects.toThrow();
    } finally {
      await new Promise((resolve) => taken.close(resolve));
      await database.drop();
    }
  });
});
