// The status set lives only in the database's CHECK constraint: a value a later migration adds
// reaches REST clients unchanged, with no code or schema release.
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/database/client.js';
import { MIGRATIONS_DIR, migrate } from '../../src/database/migrate.js';
import { createLogger } from '../../src/observability/logger.js';
import { startService, type Service } from '../../src/service.js';
import { signAccessToken } from '../../src/auth/viewer.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../helpers/databases.js';
import { addMember, insertGraph, insertRun } from '../helpers/fixtures.js';
import { graphql, TEST_JWT_SECRET } from '../helpers/service.js';
import { MIGRATIONS, get } from './support.js';

const EXTRA_MIGRATION = `-- A later release adds a run state.
ALTER TABLE "graph_migration_runs" DROP CONSTRAINT "ck_graph_migration_runs_status";
ALTER TABLE "graph_migration_runs" ADD CONSTRAINT "ck_graph_migration_runs_status"
  CHECK ("status" IN ('pending', 'running', 'success', 'failed', 'skipped', 'cancelled'));
`;

describe.each(DATABASE_KINDS)('a status added by a later migration, on %s', (kind) => {
  let database: TestDatabase;
  let migrationsDir: string;
  let service: Service | undefined;
  const member = randomUUID();

  beforeAll(async () => {
    database = await createTestDatabase(kind);
    migrationsDir = await mkdtemp(path.join(tmpdir(), 'gms-migrations-'));
    await cp(MIGRATIONS_DIR, migrationsDir, { recursive: true });
    await mkdir(path.join(migrationsDir, '29990101000000_add_cancelled_run_status'));
    await writeFile(path.join(migrationsDir, '29990101000000_add_cancelled_run_status', 'migration.sql'), EXTRA_MIGRATION);

    // Migrate the fresh database with the extended set of migrations, then start the service on it as it is.
    const setup = await createDatabase(database.config);
    try {
      const applied = await migrate(setup, migrationsDir);
      expect(applied.at(-1)).toBe('29990101000000_add_cancelled_run_status');
    } finally {
      await setup.close();
    }
    const config = loadConfig({
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      PORT: '0',
      LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
      DATA_DIR: database.dataDir,
      AUTH_JWT_SECRET: TEST_JWT_SECRET,
      MIGRATE_ON_START: 'false',
      SEED_ON_FIRST_START: 'false',
      ...(database.url ? { DATABASE_URL: database.url } : {}),
    });
    service = await startService(config, createLogger(config.logLevel));
  });
  afterAll(async () => {
    await service?.close();
    await database?.drop();
    if (migrationsDir) await rm(migrationsDir, { recursive: true, force: true });
  });

  it('comes through REST unchanged', async () => {
    const graph = await insertGraph(service!.database.prisma, { slug: 'extended_states' });
    await addMember(service!.database.prisma, graph.id, member);
    const runId = await insertRun(service!.database.prisma, graph.id, { createdAt: '2026-08-01T00:00:00.000000Z', status: 'cancelled' });
    await insertRun(service!.database.prisma, graph.id, { createdAt: '2026-07-01T00:00:00.000000Z', status: 'success' });

    const token = await signAccessToken(TEST_JWT_SECRET, { sub: member });
    const answer = await get(service!.url, MIGRATIONS('extended_states'), { token });
    expect(answer.status).toBe(200);
    expect(answer.body.map((run: { id: string; status: string }) => [run.id, run.status])).toEqual([
      [runId, 'cancelled'],
      [expect.any(String), 'success'],
    ]);

    // The GraphQL door agrees: status is an open String there too.
    const viaGraphQL = await graphql(service!.url, '{ graph(slug: "extended_states") { migrations(limit: 1) { id status } } }', { token });
    expect(viaGraphQL.errors).toBeUndefined();
    expect(viaGraphQL.data.graph.migrations).toEqual([{ id: runId, status: 'cancelled' }]);
  });

  it('is still refused by the database when it is not in the CHECK set', async () => {
    const graph = await insertGraph(service!.database.prisma, { slug: 'unknown_states' });
    await expect(
      insertRun(service!.database.prisma, graph.id, { createdAt: '2026-08-01T00:00:00Z', status: 'exploded' }),
    ).rejects.toThrow();
  });
});
