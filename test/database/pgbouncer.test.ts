// The service behind PgBouncer in pool_mode=transaction (Debian's 1.18, no prepared-statement
// support), started by this file on a free loopback port with a server pool smaller than the
// service's pool and than the client concurrency. What a transaction pooler breaks is shown first
// (session settings at connect, named statements); then, with DATABASE_POOLER=transaction and
// migrations on a direct DATABASE_MIGRATE_URL, the core REST and GraphQL cases, a short load with
// zero errors, the migration lock through the pooler, and where statement_timeout comes from.
// A start whose DATABASE_POOLER does not match (unset behind a transaction pooler that refuses or
// drops the session settings, on DATABASE_URL or DATABASE_READ_URL) fails before it listens, with
// a message naming DATABASE_POOLER=transaction; the real process exits 1 and never logs "ready".
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, DatabaseConfigurationError, serverSession } from '../../src/database/client.js';
import { isDatabaseUnavailable } from '../../src/database/errors.js';
import { Prisma } from '../../src/database/generated/client.js';
import { migrate, readMigrations } from '../../src/database/migrate.js';
import { coreCases, insertCoreData, type CoreData } from '../helpers/coreCases.js';
import { createTestDatabase, POSTGRES_ADMIN_URL, postgresAvailable, type TestDatabase } from '../helpers/databases.js';
import { describeLoad, mixedLoad } from '../helpers/load.js';
import { freePort } from '../helpers/net.js';
import { adminQuery } from '../helpers/postgresAdmin.js';
import { pgbouncerAvailable, startPgBouncer, type PgBouncer } from '../helpers/pgbouncer.js';
import { startService } from '../../src/service.js';
import { recordingLogger, startTestService, testConfig, TEST_JWT_SECRET, testToken, type TestService } from '../helpers/service.js';

const PGBOUNCER_POOL = 2;
const SERVICE_POOL = 8;
const CLIENTS = 24;
const STATEMENT_TIMEOUT_MS = 2_000;

const target = new URL(POSTGRES_ADMIN_URL);
const server = { host: target.hostname, port: Number(target.port || 5432), user: decodeURIComponent(target.username || 'postgres') };
const databaseName = (url: string) => new URL(url).pathname.slice(1);

const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error & { cause?: { originalMessage?: string } },
  );
const reason = (error: Error & { cause?: { originalMessage?: string } }) => error.cause?.originalMessage ?? error.message;

describe.skipIf(!postgresAvailable || !pgbouncerAvailable())('behind PgBouncer, pool_mode=transaction', () => {
  let bouncer: PgBouncer;
  let service: TestService;
  let data: CoreData;
  const { logger, lines } = recordingLogger('info');

  beforeAll(async () => {
    bouncer = await startPgBouncer({ target: server, poolSize: PGBOUNCER_POOL });
    service = await startTestService('postgres', {
      databaseUrl: (url) => bouncer.via(url),
      env: (directUrl) => ({
        DATABASE_POOLER: 'transaction',
        DATABASE_MIGRATE_URL: directUrl,
        DATABASE_POOL_SIZE: String(SERVICE_POOL),
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        // The pooler queues what its small pool cannot run at once; a busy shared machine may be slow.
        DATABASE_CONNECT_TIMEOUT_MS: '10000',
      }),
      logger,
    });
    // Through the pooler too: the service's Prisma client is on DATABASE_URL.
    data = await insertCoreData(service.prisma);
  });
  afterAll(async () => {
    await service?.close();
    await bouncer?.close();
  });

  describe('what transaction mode breaks without DATABASE_POOLER=transaction', () => {
    let scratch: TestDatabase;
    beforeAll(async () => {
      scratch = await createTestDatabase('postgres');
    });
    afterAll(() => scratch?.drop());

    it('refuses the session settings a direct connection sends at connect (statement_timeout, options)', async () => {
      for (const statementTimeoutMs of [STATEMENT_TIMEOUT_MS, 0]) {
        const database = await createDatabase({ kind: 'postgres', url: bouncer.via(scratch.url!), poolSize: 1, statementTimeoutMs });
        try {
          const error = await failure(database.query(Prisma.sql`SELECT 1`));
          expect(reason(error)).toMatch(/unsupported startup parameter: (statement_timeout|options)/);
        } finally {
          await database.close();
        }
      }
    });

    it('loses named statements between transactions even when the settings are ignored, and unnamed ones work', async () => {
      const lenient = await startPgBouncer({
        target: server,
        poolSize: PGBOUNCER_POOL,
        settings: { ignore_startup_parameters: 'options,statement_timeout' },
      });
      try {
        const url = lenient.via(scratch.url!);
        const read = (database: Awaited<ReturnType<typeof createDatabase>>) =>
          Promise.all(Array.from({ length: 12 }, (_, i) => database.query(Prisma.sql`SELECT ${i}::int AS i, pg_backend_pid() AS pid`)));
        const named = await createDatabase({ kind: 'postgres', url, poolSize: 6, statementTimeoutMs: STATEMENT_TIMEOUT_MS });
        try {
          const errors = await Promise.allSettled([read(named), read(named)]);
          const refused = errors.filter((outcome) => outcome.status === 'rejected');
          expect(refused.length).toBeGreaterThan(0);
          expect(reason((refused[0] as PromiseRejectedResult).reason)).toMatch(
            /prepared statement "gms_\w+" (already exists|does not exist)/,
          );
        } finally {
          await named.close();
        }
        const unnamed = await createDatabase({ kind: 'postgres', url, poolSize: 6, pooler: 'transaction' });
        try {
          // Rounds until the pooler has spread them over more than one of its sessions (on a busy
          // machine one session may serve a whole round): every round must succeed meanwhile.
          const sessions = new Set<unknown>();
          for (let round = 0; round < 20 && sessions.size < 2; round++) {
            const results = await read(unnamed);
            expect(results.map((result) => result.rows[0]![0])).toEqual([...Array(12).keys()]);
            for (const result of results) sessions.add(result.rows[0]![1]);
          }
          expect(sessions.size).toBeGreaterThan(1);
        } finally {
          await unnamed.close();
        }
      } finally {
        await lenient.close();
      }
    });
  });

  describe('a start whose DATABASE_POOLER does not match the deployment is refused before it listens', () => {
    let scratch: TestDatabase;
    beforeAll(async () => {
      scratch = await createTestDatabase('postgres');
    });
    afterAll(() => scratch?.drop());

    /** startService with `env` on the scratch database: the error it fails with, and what it logged. */
    const refusedStart = async (env: Record<string, string>) => {
      const { logger, lines } = recordingLogger('info');
      const error = await failure(startService(testConfig({ DATA_DIR: scratch.dataDir, ...env }), logger));
      // Refused before the HTTP listener opened: nothing was ever served, so nothing could look ready.
      expect(lines.map((line) => line.msg)).not.toContainEqual(expect.stringMatching(/^listening on/));
      return { error, lines };
    };

    it('DATABASE_URL on PgBouncer, migrations direct, DATABASE_POOLER unset: the refusal of statement_timeout names DATABASE_POOLER=transaction', async () => {
      const { error } = await refusedStart({
        DATABASE_URL: bouncer.via(scratch.url!),
        DATABASE_MIGRATE_URL: scratch.url!,
        DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
      });
      expect(error).toBeInstanceOf(DatabaseConfigurationError);
      expect(error.message).toMatch(/^DATABASE_URL reaches a connection pooler that refuses the session settings/);
      expect(error.message).toContain('"unsupported startup parameter: statement_timeout"');
      expect(error.message).toContain('Set DATABASE_POOLER=transaction when DATABASE_URL goes through PgBouncer (pool_mode=transaction)');
    });

    it('the same without a statement timeout: PgBouncer refuses `options` (plan_cache_mode, jit)', async () => {
      const { error } = await refusedStart({ DATABASE_URL: bouncer.via(scratch.url!), DATABASE_STATEMENT_TIMEOUT_MS: '0' });
      expect(error).toBeInstanceOf(DatabaseConfigurationError);
      expect(error.message).toContain('"unsupported startup parameter: options"');
      expect(error.message).toContain('DATABASE_POOLER=transaction');
    });

    it('DATABASE_READ_URL on PgBouncer without DATABASE_POOLER: named in the refusal', async () => {
      const { error } = await refusedStart({ DATABASE_URL: scratch.url!, DATABASE_READ_URL: bouncer.via(scratch.url!) });
      expect(error).toBeInstanceOf(DatabaseConfigurationError);
      expect(error.message).toMatch(/^DATABASE_READ_URL reaches a connection pooler/);
      expect(error.message).toContain('Set DATABASE_POOLER=transaction when DATABASE_READ_URL goes through PgBouncer');
    });

    it('a PgBouncer that accepts and drops the settings (ignore_startup_parameters): the session shows they did not arrive', async () => {
      const lenient = await startPgBouncer({
        target: server,
        poolSize: PGBOUNCER_POOL,
        settings: { ignore_startup_parameters: 'options,statement_timeout' },
      });
      try {
        const { error } = await refusedStart({
          DATABASE_URL: lenient.via(scratch.url!),
          DATABASE_MIGRATE_URL: scratch.url!,
          DATABASE_STATEMENT_TIMEOUT_MS: String(STATEMENT_TIMEOUT_MS),
        });
        expect(error).toBeInstanceOf(DatabaseConfigurationError);
        expect(error.message).toMatch(/^DATABASE_URL's sessions did not get the settings the service sends at connect \(/);
        expect(error.message).toContain('plan_cache_mode is auto, not force_generic_plan');
        expect(error.message).toContain(`statement_timeout is 0, not ${STATEMENT_TIMEOUT_MS}`);
        expect(error.message).toContain('ignore_startup_parameters');
        expect(error.message).toContain('Set DATABASE_POOLER=transaction when DATABASE_URL goes through PgBouncer');
        // With DATABASE_POOLER=transaction the same PgBouncer serves.
        const pooled = await startService(
          testConfig({ DATA_DIR: scratch.dataDir, DATABASE_URL: lenient.via(scratch.url!), DATABASE_POOLER: 'transaction' }),
          recordingLogger('silent').logger,
        );
        try {
          expect((await fetch(`${pooled.url}/readyz`)).status).toBe(200);
        } finally {
          await pooled.close();
        }
      } finally {
        await lenient.close();
      }
    });

    it('DATABASE_POOLER=transaction on a direct connection is harmless: it starts and serves (unnamed statements)', async () => {
      const direct = await startService(
        testConfig({ DATA_DIR: scratch.dataDir, DATABASE_URL: scratch.url!, DATABASE_POOLER: 'transaction' }),
        recordingLogger('silent').logger,
      );
      try {
        const answer = await fetch(`${direct.url}/api/v1/graphs/no_such_graph/migrations`, {
          headers: { authorization: `Bearer ${await testToken(data.member)}` },
        });
        expect(answer.status).toBe(404);
        expect((await fetch(`${direct.url}/readyz`)).status).toBe(200);
      } finally {
        await direct.close();
      }
    });

    it('a database to serve from that does not answer fails the start too, without migrations to notice it', async () => {
      const closed = new URL(scratch.url!);
      closed.hostname = '127.0.0.1';
      closed.port = String(await freePort());
      const { error } = await refusedStart({
        DATABASE_URL: closed.toString(),
        MIGRATE_ON_START: 'false',
        DATABASE_CONNECT_TIMEOUT_MS: '1000',
      });
      expect(error).not.toBeInstanceOf(DatabaseConfigurationError);
      expect(error.message).toMatch(/^the database to serve from \(DATABASE_URL\) did not answer at start: /);
      expect(isDatabaseUnavailable(error)).toBe(true);
    });

    it('the real process (node src/main.ts) exits 1 with the message, and never logs "ready"', { timeout: 120_000 }, async () => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          APOLLO_TELEMETRY_DISABLED: 'true',
          NODE_ENV: 'production',
          HOST: '127.0.0.1',
          PORT: '0',
          AUTH_JWT_SECRET: TEST_JWT_SECRET,
          DATA_DIR: scratch.dataDir,
          DATABASE_URL: bouncer.via(scratch.url!),
          DATABASE_MIGRATE_URL: scratch.url!,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      const code = await new Promise<number | null>((resolve, reject) => {
        const timer = setTimeout(() => {
          child.kill('SIGKILL');
          reject(new Error(`still running after 90 s (it should have refused to start):\n${output}`));
        }, 90_000);
        child.once('exit', (exitCode) => {
          clearTimeout(timer);
          resolve(exitCode);
        });
      });
      const messages = output
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => (JSON.parse(line) as { msg: string }).msg);
      expect(code, output).toBe(1);
      expect(
        messages.filter((msg) => /^(ready|listening)/.test(msg)),
        output,
      ).toEqual([]);
      expect(messages.at(-1), output).toMatch(
        /^start-up failed: DATABASE_URL reaches a connection pooler .*"unsupported startup parameter: statement_timeout".* Set DATABASE_POOLER=transaction /,
      );
    });
  });

  describe('with DATABASE_POOLER=transaction', () => {
    coreCases(() => ({ url: service.url, data, statements: service.statements }));

    it(`serves ${CLIENTS} concurrent clients with a server pool of ${PGBOUNCER_POOL}: zero errors`, { timeout: 60_000 }, async () => {
      const database = databaseName(service.database.url!);
      let peakServerConnections = 0;
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          peakServerConnections = Math.max(peakServerConnections, await bouncer.serverConnections(database));
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      const results = await mixedLoad([service.url], {
        token: await testToken(data.member),
        slugs: [data.walked.slug, data.other.slug],
        connections: CLIENTS,
      }).finally(() => (sampling = false));
      await sampler;
      const pool = service.service.database.poolStatus()!;
      console.log(
        `through PgBouncer: ${describeLoad(results)}; PgBouncer server connections at most ${peakServerConnections}; service pool ${JSON.stringify(pool)}`,
      );
      const [result] = results;
      expect(result!.errors).toBe(0);
      expect(result!.timeouts).toBe(0);
      expect(result!.non2xx).toBe(0);
      expect(result!.ok).toBeGreaterThan(CLIENTS);
      // The service opened more connections to the pooler than the pooler opened to PostgreSQL.
      expect(peakServerConnections).toBeGreaterThan(0);
      expect(peakServerConnections).toBeLessThanOrEqual(PGBOUNCER_POOL);
      expect(pool.total).toBeGreaterThan(PGBOUNCER_POOL);
      expect(pool.total).toBeLessThanOrEqual(SERVICE_POOL);
    });

    it('takes statement_timeout from the server: warns at start with the statement to run, which then applies', async () => {
      const warning = lines.find((line) => line.level === 40 && /DATABASE_POOLER=transaction/.test(line.msg));
      expect(warning, 'a start-up warning about statement_timeout').toBeDefined();
      expect(warning!).toMatchObject({ serverStatementTimeoutMs: 0, configuredStatementTimeoutMs: STATEMENT_TIMEOUT_MS });
      const fix = /ALTER ROLE "[^"]+" IN DATABASE "[^"]+" SET statement_timeout = \d+/.exec(warning!.msg)?.[0];
      expect(fix).toBe(
        `ALTER ROLE "${server.user}" IN DATABASE "${databaseName(service.database.url!)}" SET statement_timeout = ${STATEMENT_TIMEOUT_MS}`,
      );
      // A per-database role setting: dropped with the test database, invisible to every other one.
      await adminQuery(fix!);
      // Sessions read role settings when they start: let PgBouncer open new ones.
      await bouncer.admin(`RECONNECT ${databaseName(service.database.url!)}`);
      expect(await serverSession(service.service.database)).toMatchObject({ statementTimeoutMs: STATEMENT_TIMEOUT_MS });
      // The server itself cancels a statement that runs too long (57014), before the client's own bound (timeout + 1 s).
      const started = Date.now();
      const error = await failure(service.service.database.query(Prisma.sql`SELECT pg_sleep(10)`));
      expect(Date.now() - started).toBeLessThan(STATEMENT_TIMEOUT_MS + 1_000);
      expect(reason(error)).toMatch(/statement timeout/);
      expect(isDatabaseUnavailable(error)).toBe(true);
    });
  });

  it('migrates through the pooler too: the transaction-scoped lock lets exactly one of two instances apply each migration', async () => {
    const fresh = await createTestDatabase('postgres', { empty: true });
    const instances = await Promise.all(
      [0, 1].map(() => createDatabase({ kind: 'postgres', url: bouncer.via(fresh.url!), poolSize: 1, pooler: 'transaction' })),
    );
    try {
      const applied = await Promise.all(instances.map((database) => migrate(database)));
      const names = (await readMigrations()).map((migration) => migration.name);
      expect([...applied[0]!, ...applied[1]!].sort()).toEqual(names);
      const { rows } = await instances[0]!.query(
        Prisma.sql`SELECT migration_name FROM "_prisma_migrations" WHERE finished_at IS NOT NULL ORDER BY 1`,
      );
      expect(rows.map((row) => row[0])).toEqual(names);
    } finally {
      await Promise.all(instances.map((database) => database.close()));
      await fresh.drop();
    }
  });

  it('keeps a second migrating instance waiting on the lock while the first holds it through the pooler', async () => {
    // The lock is the one migrate() takes; held here on a pooled session for 1 s.
    const fresh = await createTestDatabase('postgres', { empty: true });
    const holder = await createDatabase({ kind: 'postgres', url: bouncer.via(fresh.url!), poolSize: 1, pooler: 'transaction' });
    const waiter = await createDatabase({ kind: 'postgres', url: bouncer.via(fresh.url!), poolSize: 1, pooler: 'transaction' });
    try {
      let released = 0;
      const holding = holder.transaction(async ({ execute }) => {
        await execute(Prisma.sql`SELECT pg_advisory_xact_lock(72707369)`);
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        released = Date.now();
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const applied = await migrate(waiter);
      const finished = Date.now();
      await holding;
      expect(applied.length).toBeGreaterThan(0);
      expect(finished).toBeGreaterThanOrEqual(released);
    } finally {
      await holder.close();
      await waiter.close();
      await fresh.drop();
    }
  });
});
