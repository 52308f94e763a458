// npm run bench:profile: where a GraphQL request's time and memory go. One production instance
// (`node dist/main.js`) with --cpu-prof and --trace-gc on a data set of 1,000 graphs × 200 runs,
// driven with the one-graph history query (PROFILE_SHAPE=entities: _entities × 50 graphs; rest:
// the REST list route) after a warm-up; then its CPU profile's self time by package, and the bytes
// allocated per request (the young generation's growth between scavenges, from --trace-gc).
// PROFILE_TARGET=floor or postgraphile profiles that reference server instead, with the one-graph page.
// Knobs: PROFILE_SECONDS (20), PROFILE_WARMUP_SECONDS (10), PROFILE_CONNECTIONS (16), PROFILE_DIR, PROFILE_NODE_FLAGS,
// PROFILE_ENV.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { signAccessToken } from '../src/auth/viewer.js';
import { freePort } from '../test/helpers/net.js';

const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const SECONDS = Number(process.env.PROFILE_SECONDS ?? 20);
const WARMUP = Number(process.env.PROFILE_WARMUP_SECONDS ?? 10);
const CONNECTIONS = Number(process.env.PROFILE_CONNECTIONS ?? 16);
const SHAPE = process.env.PROFILE_SHAPE ?? 'one';
/** service, or a reference server of bench/run.ts with the one-graph history: floor (its REST-shaped route), postgraphile. */
const TARGET = process.env.PROFILE_TARGET ?? 'service';
/** More flags for the profiled process (e.g. --inspect=127.0.0.1:9229 to take a heap sampling profile meanwhile). */
const NODE_FLAGS = (process.env.PROFILE_NODE_FLAGS ?? '').split(' ').filter(Boolean);
/** More environment for the profiled process, `NAME=value` separated by spaces (a setting to compare). */
const EXTRA_ENV = Object.fromEntries(
  (process.env.PROFILE_ENV ?? '')
    .split(' ')
    .filter(Boolean)
    .map((pair) => pair.split(/=(.*)/s, 2)),
);
const DIR = path.resolve(process.env.PROFILE_DIR ?? `/tmp/gms-profile-${Date.now().toString(36)}`);
const SECRET = randomBytes(32).toString('base64url');
const USER = '11111111-2222-4333-8444-555555555555';
const root = new URL('..', import.meta.url).pathname;
const dbName = `gms_profile_${Date.now().toString(36)}`;
const url = Object.assign(new URL(ADMIN_URL), { pathname: `/${dbName}` }).toString();
const log = (message: string) => console.error(`[profile ${new Date().toISOString().slice(11, 19)}] ${message}`);

async function sql(target: string, text: string) {
  const client = new pg.Client({ connectionString: target });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/** Self time by package: node_modules/<package>, our src/, Node's internals, GC, idle. */
function byPackage(file: string) {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as {
    nodes: { id: number; callFrame: { url: string; functionName: string } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const owner = new Map<number, string>();
  for (const node of profile.nodes) {
    const { url: source, functionName } = node.callFrame;
    const module = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1];
    owner.set(
      node.id,
      module ??
        (source.includes('/dist/') || source.includes('/src/')
          ? 'ours (dist/)'
          : source.startsWith('node:')
            ? 'node: internals'
            : source === ''
              ? `(${functionName || 'native'})`.replace(/^\(\((.*)\)\)$/, '($1)')
              : source),
    );
  }
  const time = new Map<string, number>();
  profile.samples.forEach((id, i) => time.set(owner.get(id)!, (time.get(owner.get(id)!) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const busy = [...time].filter(([name]) => name !== '(idle)').reduce((sum, [, us]) => sum + us, 0);
  return [...time]
    .filter(([name]) => name !== '(idle)')
    .sort((a, b) => b[1] - a[1])
    .map(([name, us]) => ({ name, ms: us / 1000, share: us / busy }));
}

/** Pauses from --trace-gc lines, by kind of collection: count and total ms. */
function pauses(lines: string[]): string {
  const kinds = new Map<string, { count: number; ms: number }>();
  for (const line of lines) {
    const match = /ms: ([A-Za-z-]+(?: [A-Za-z-]+)?) [^,]*MB, ([\d.]+) \/ ([\d.]+) ms/.exec(line);
    if (!match) continue;
    const kind = kinds.get(match[1]!) ?? { count: 0, ms: 0 };
    kind.count += 1;
    kind.ms += Number(match[2]);
    kinds.set(match[1]!, kind);
  }
  return [...kinds].map(([kind, { count, ms }]) => `${kind} ${count}× ${ms.toFixed(0)} ms`).join(', ');
}

/** Bytes allocated from --trace-gc lines: before each scavenge minus after the previous GC. */
function allocatedBytes(lines: string[]): number {
  let total = 0;
  let lastAfter: number | undefined;
  for (const line of lines) {
    const match = /(Scavenge|Mark-Compact|Minor Mark-Sweep)[^\d]*([\d.]+) \([\d.]+\) -> ([\d.]+) \([\d.]+\) MB/.exec(line);
    if (!match) continue;
    const [before, after] = [Number(match[2]), Number(match[3])];
    if (lastAfter !== undefined && before > lastAfter) total += (before - lastAfter) * 1024 * 1024;
    lastAfter = after;
  }
  return total;
}

async function main() {
  mkdirSync(DIR, { recursive: true });
  await sql(ADMIN_URL, `CREATE DATABASE "${dbName}"`);
  const child = { process: undefined as ReturnType<typeof spawn> | undefined };
  try {
    let marking = false;
    const marked: string[] = [];
    /** Starts `target` on a free port (profiled: --cpu-prof, --trace-gc) and waits until it answers. */
    const start = async (target: string, profiled: boolean) => {
      const port = await freePort();
      const flags = profiled ? ['--cpu-prof', `--cpu-prof-dir=${DIR}`, '--trace-gc', ...NODE_FLAGS] : [];
      const program =
        target === 'service' ? ['dist/main.js'] : ['--import', 'tsx', target === 'floor' ? 'bench/floor.ts' : 'bench/postgraphile.ts'];
      child.process = spawn(process.execPath, [...flags, ...program], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? '',
          APOLLO_TELEMETRY_DISABLED: 'true',
          NODE_ENV: 'production',
          GRAPHILE_ENV: 'production',
          HOST: '127.0.0.1',
          PORT: String(port),
          LOG_LEVEL: 'warn',
          DATABASE_URL: url,
          DATABASE_POOL_SIZE: '10',
          POOL_SIZE: '10',
          AUTH_JWT_SECRET: SECRET,
          ...(profiled ? EXTRA_ENV : {}),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child.process.stdout!.on('data', (chunk: Buffer) => {
        if (marking) marked.push(...chunk.toString('utf8').split('\n'));
      });
      const base = `http://127.0.0.1:${port}`;
      for (let i = 0; ; i++) {
        const up = await fetch(`${base}${target === 'service' ? '/readyz' : '/__statements'}`).then(
          (r) => r.ok,
          () => false,
        );
        if (up) return base;
        if (i > 300) throw new Error(`${target} did not start`);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
    };
    const stop = async () => {
      const exited = new Promise((resolve) => child.process!.once('exit', resolve));
      child.process!.kill('SIGTERM');
      await exited;
    };
    // The service applies the migrations as it starts.
    let base = await start('service', TARGET === 'service');
    log('loading 1,000 graphs × 200 runs, the change feed capture off meanwhile');
    await sql(
      url,
      `ALTER TABLE graph_migration_runs DISABLE TRIGGER graph_migration_run_inserted;
       INSERT INTO graphs (id, slug, name, type_version, created_at)
       SELECT gen_random_uuid(), 'graph_' || lpad(n::text, 4, '0'), 'Graph ' || n, 1, now() - interval '400 days' FROM generate_series(1, 1000) n;
       INSERT INTO graph_migration_runs (id, graph_id, from_version, to_version, migration_id, status, started_at, finished_at, error, workflow_run_id, created_at)
       SELECT gen_random_uuid(), g.id, i, i + 1, 'migration_' || i,
         (ARRAY['success','success','success','failed','skipped','pending','running'])[1 + (i % 7)],
         ts + interval '1 second', ts + interval '42 seconds', CASE WHEN i % 7 = 3 THEN 'constraint violation on relation ' || i END,
         'wf-' || i, ts
       FROM graphs g, generate_series(1, 200) i, LATERAL (SELECT now() - make_interval(secs => i * 60) AS ts) t;
       INSERT INTO graph_members (graph_id, user_id, role) SELECT id, '${USER}', 'reader' FROM graphs;
       ALTER TABLE graph_migration_runs ENABLE TRIGGER graph_migration_run_inserted;
       ANALYZE;`,
    );
    const graphs = (await sql(url, `SELECT id::text, slug FROM graphs ORDER BY slug`)).rows as { id: string; slug: string }[];
    if (TARGET !== 'service') {
      await stop();
      base = await start(TARGET, true);
    }
    const token = await signAccessToken(SECRET, { sub: USER });
    const fields = 'id graphId fromVersion toVersion migrationId status startedAt finishedAt error workflowRunId createdAt';
    const one = `query($slug: String!) { graph(slug: $slug) { migrations(limit: 100) { ${fields} } } }`;
    const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on Graph { id migrations(limit: 100) { ${fields} } } } }`;
    let next = 0;
    const pglFields = fields.replace(/^id /, 'rowId ');
    const request = () => {
      next = (next + 1) % graphs.length;
      if (TARGET === 'floor') return { method: 'GET' as const, path: `/api/v1/graphs/${graphs[next]!.slug}/migrations?limit=100` };
      if (TARGET === 'postgraphile')
        return {
          method: 'POST' as const,
          path: '/graphql',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            query: `query($slug: String!) { graphBySlug(slug: $slug) { graphMigrationRunsByGraphId(first: 100, orderBy: [CREATED_AT_DESC, ROW_ID_DESC]) { nodes { ${pglFields} } } } }`,
            variables: { slug: graphs[next]!.slug },
          }),
        };
      if (SHAPE === 'rest')
        return {
          method: 'GET' as const,
          path: `/api/v1/graphs/${graphs[next]!.slug}/migrations?limit=100`,
          headers: { authorization: `Bearer ${token}` },
        };
      const body =
        SHAPE === 'entities'
          ? {
              query: entities,
              variables: { r: Array.from({ length: 50 }, (_, i) => ({ __typename: 'Graph', id: graphs[(next + i) % graphs.length]!.id })) },
            }
          : { query: one, variables: { slug: graphs[next]!.slug } };
      return {
        method: 'POST' as const,
        path: '/graphql',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      };
    };
    const load = (duration: number) =>
      autocannon({
        url: base,
        connections: CONNECTIONS,
        duration,
        requests: [{ setupRequest: (r: autocannon.Request) => ({ ...r, ...request() }) }],
      });
    log(`warm-up ${WARMUP} s (${SHAPE})`);
    await load(WARMUP);
    marking = true;
    log(`measuring ${SECONDS} s`);
    const result = await load(SECONDS);
    marking = false;
    const peakRss = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.process!.pid}/status`, 'utf8'))?.[1]) / 1024;
    await stop();
    const requests = result.requests.total;
    const bytes = allocatedBytes(marked);
    writeFileSync(path.join(DIR, 'trace-gc.log'), marked.join('\n'));
    console.log(
      `${TARGET} ${TARGET === 'service' ? SHAPE : 'one'}: ${requests} requests, ${result.requests.average.toFixed(0)} req/s, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, errors ${result.errors}`,
    );
    console.log(
      `peak RSS ${peakRss.toFixed(0)} MB; allocated while measured: ${(bytes / 1024 / 1024).toFixed(0)} MB, ${(bytes / requests / 1024).toFixed(1)} KiB per request; GC pauses: ${pauses(marked)}`,
    );
    // The main thread's: the largest (tsx's loader thread writes one of its own).
    const file = readdirSync(DIR)
      .filter((name) => name.endsWith('.cpuprofile'))
      .map((name) => path.join(DIR, name))
      .sort((a, b) => statSync(b).size - statSync(a).size)[0]!;
    console.log(`profile (warm-up and measured): ${file}\n| package | self ms | share |\n|---|---:|---:|`);
    for (const row of byPackage(file).slice(0, 25))
      console.log(`| ${row.name} | ${row.ms.toFixed(0)} | ${(row.share * 100).toFixed(1)}% |`);
  } finally {
    child.process?.kill('SIGKILL');
    await sql(ADMIN_URL, `DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
  }
}

await main();
