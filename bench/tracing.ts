// npm run bench:tracing (and the end of npm run bench): what tracing costs a request (src/observability/tracing.ts).
// Three production instances (`node dist/main.js`) on one PostgreSQL database: tracing off (no OTLP
// endpoint), on with every trace sampled (OTEL_TRACES_SAMPLER=always_on) and on with 1%
// (traceidratio 0.01), exporting to an OTLP/HTTP sink in this process that answers at once and
// counts the spans. Two scenarios: GraphQL `graph(slug) { migrations(limit: 100) { all fields } }`
// and REST `?limit=100`, each request with a traceparent as a gateway sends it (the instances trust
// loopback: TRUST_PROXY=127.0.0.1, so the sampler follows the parent: sampled in for "100%", out of
// 99% of the trace ids for "1%"). Sides interleaved round by round, order rotated; every round is
// printed; the ratio is the median of the rounds' own ratios to the off side. Loopback only.
// Knobs: BENCH_DURATION (8 s), BENCH_ROUNDS (3), BENCH_WARMUP (10 s), BENCH_CONNECTIONS (10).
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import autocannon from 'autocannon';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { createDatabase } from '../src/database/client.js';
import { migrate } from '../src/database/migrate.js';
import { startSide, withClient, type Side } from './instances.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const DURATION = Number(process.env.BENCH_DURATION ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const SECRET = randomBytes(32).toString('base64url');
const MEMBER = randomUUID();
const SLUG = 'traced_graph';
const dbName = `gms_tracing_${Date.now().toString(36)}`;
const benchUrl = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
const log = (message: string) => console.error(`[tracing ${new Date().toISOString().slice(11, 19)}] ${message}`);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** An OTLP/HTTP collector that takes everything at once and counts the spans it is sent. */
async function startSink() {
  let spans = 0;
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
        resourceSpans: { scopeSpans: { spans: unknown[] }[] }[];
      };
      for (const resource of body.resourceSpans) for (const scope of resource.scopeSpans) spans += scope.spans.length;
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans: () => spans, close: () => server.close() };
}

const traceparent = () => `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;

async function main() {
  const admin = (text: string) => withClient(ADMIN_URL, (client) => client.query(text));
  await admin(`CREATE DATABASE "${dbName}"`);
  const sink = await startSink();
  const sides: Side[] = [
    { name: 'off', env: {} },
    { name: 'on, 100%', env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'parentbased_always_on' } },
    {
      name: 'on, 1%',
      env: { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.01' },
    },
  ];
  try {
    const database = await createDatabase({ kind: 'postgres', url: benchUrl, poolSize: 2 });
    await migrate(database);
    await database.close();
    await withClient(benchUrl, async (client: pg.Client) => {
      const { rows } = await client.query<{ id: string }>(
        `INSERT INTO graphs (id, slug, name, type_id, type_version) VALUES (gen_random_uuid(), $1, 'Traced', 'knowledge', 1) RETURNING id`,
        [SLUG],
      );
      await client.query(`INSERT INTO graph_members (graph_id, user_id, role) VALUES ($1, $2, 'reader')`, [rows[0]!.id, MEMBER]);
      await client.query(
        `INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, created_at)
         SELECT gen_random_uuid(), $1, n, n + 1, 'migration_' || n, CASE WHEN n % 10 = 0 THEN 'failed' ELSE 'success' END,
                now() - n * interval '1 minute', now() - n * interval '1 minute' + interval '40 seconds', now() - n * interval '1 minute'
         FROM generate_series(1, 1000) AS n`,
        [rows[0]!.id],
      );
    });
    const env = {
      DATABASE_URL: benchUrl,
      AUTH_JWT_SECRET: SECRET,
      DATABASE_POOL_SIZE: '10',
      TRUST_PROXY: '127.0.0.1',
      OTEL_BSP_SCHEDULE_DELAY: '1000',
    };
    for (const side of sides) await startSide(side, env);
    const authorization = `Bearer ${await signAccessToken(SECRET, { sub: MEMBER, expiresIn: '2h' })}`;
    const fields = 'id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt';
    const scenarios = {
      'GraphQL one graph × 100': () => ({
        method: 'POST' as const,
        path: '/graphql',
        headers: { authorization, traceparent: traceparent(), 'content-type': 'application/json' },
        body: JSON.stringify({ query: `query History { graph(slug: "${SLUG}") { migrations(limit: 100) { ${fields} } } }` }),
      }),
      'REST limit=100': () => ({
        method: 'GET' as const,
        path: `/api/v1/graphs/${SLUG}/migrations?limit=100`,
        headers: { authorization, traceparent: traceparent() },
      }),
    };
    const run = (side: Side, request: () => autocannon.Request, duration: number) =>
      autocannon({ url: side.url!, connections: CONNECTIONS, duration, requests: [{ setupRequest: (r) => ({ ...r, ...request() }) }] });
    const table: string[] = [];
    for (const [scenario, request] of Object.entries(scenarios)) {
      for (const side of sides) {
        const check = await fetch(`${side.url}${request().path}`, request() as RequestInit);
        if (!check.ok) throw new Error(`${side.name} answered ${check.status} for ${scenario}: ${await check.text()}`);
        await run(side, request, WARMUP);
      }
      const perSide = new Map<string, { rps: number[]; p50: number[]; p99: number[]; ratio: number[] }>();
      for (let round = 0; round < ROUNDS; round++) {
        const order = sides.map((_, i) => sides[(i + round) % sides.length]!);
        const rps = new Map<string, number>();
        for (const side of order) {
          const spansBefore = sink.spans();
          const result = await run(side, request, DURATION);
          const errors = result.errors + result.timeouts + result.non2xx;
          if (errors) throw new Error(`${side.name}: ${errors} errors in ${scenario}`);
          rps.set(side.name, result.requests.average);
          const entry = perSide.get(side.name) ?? { rps: [], p50: [], p99: [], ratio: [] };
          entry.rps.push(result.requests.average);
          entry.p50.push(result.latency.p50);
          entry.p99.push(result.latency.p99);
          perSide.set(side.name, entry);
          log(
            `${scenario} round ${round + 1} ${side.name}: ${result.requests.average.toFixed(0)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, spans exported so far +${sink.spans() - spansBefore}`,
          );
        }
        for (const side of sides) perSide.get(side.name)!.ratio.push(rps.get(side.name)! / rps.get('off')!);
      }
      for (const side of sides) {
        const entry = perSide.get(side.name)!;
        table.push(
          `| ${scenario} | ${side.name} | ${median(entry.rps).toFixed(0)} | ${median(entry.p50)} | ${median(entry.p99)} | ${median(entry.ratio).toFixed(2)} (${entry.ratio.map((r) => r.toFixed(2)).join(', ')}) |`,
        );
      }
    }
    console.log(`\nTracing cost (${ROUNDS} rounds of ${DURATION} s, ${CONNECTIONS} connections, ${sink.spans()} spans exported in all)\n`);
    console.log('| scenario | tracing | req/s | p50 ms | p99 ms | throughput vs off (rounds) |');
    console.log('|---|---|---:|---:|---:|---|');
    for (const line of table) console.log(line);
  } finally {
    for (const side of sides) side.child?.kill('SIGTERM');
    await Promise.all(sides.map((side) => side.child && new Promise((resolve) => side.child!.once('exit', resolve))));
    sink.close();
    await admin(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  }
}

await main();
