// Several instances of the service on one PostgreSQL database, as replicas behind the gateway run:
// two started at the same moment on a fresh database both migrate at start, and the advisory lock
// lets exactly one apply each migration; then the core cases on one, and a load spread over both.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readMigrations } from '../../src/database/migrate.js';
import { startService, type Service } from '../../src/service.js';
import { coreCases, insertCoreData, type CoreData } from '../helpers/coreCases.js';
import { createTestDatabase, postgresAvailable, type TestDatabase } from '../helpers/databases.js';
import { describeLoad, mixedLoad } from '../helpers/load.js';
import { recordingLogger, testConfig, testToken } from '../helpers/service.js';

const INSTANCES = 2;
const POOL_SIZE = 5;
const CLIENTS_PER_INSTANCE = 12;

interface Instance {
  service: Service;
  statements: string[];
  lines: Record<string, any>[];
}

describe.skipIf(!postgresAvailable)(`${INSTANCES} instances of the service on one database`, () => {
  let database: TestDatabase;
  let instances: Instance[];
  let data: CoreData;

  beforeAll(async () => {
    database = await createTestDatabase('postgres', { empty: true });
    const config = testConfig({ DATA_DIR: database.dataDir, DATABASE_URL: database.url!, DATABASE_POOL_SIZE: String(POOL_SIZE) });
    // Started together on a database that has no table yet: each migrates at start.
    const starting = Array.from({ length: INSTANCES }, async () => {
      const { logger, lines } = recordingLogger('info');
      const statements: string[] = [];
      const service = await startService(config, logger, { onQuery: (event) => statements.push(event.query) });
      return { service, statements, lines };
    });
    const settled = await Promise.allSettled(starting);
    instances = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const failed = settled.find((outcome) => outcome.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    data = await insertCoreData(instances[0]!.service.database.prisma);
  });
  afterAll(async () => {
    for (const instance of instances ?? []) await instance.service.close();
    await database?.drop();
  });

  it('applied each migration exactly once between them, recorded once in _prisma_migrations', async () => {
    const names = (await readMigrations()).map((migration) => migration.name);
    const applied = instances.map(({ lines }) => {
      const line = lines.find((entry) => Array.isArray(entry.applied));
      expect(line, 'each instance logs what it applied').toBeDefined();
      return line!.applied as string[];
    });
    expect(applied.flat().sort()).toEqual(names);
    const recorded = await instances[1]!.service.database.prisma.$queryRaw<{ migration_name: string; finished: boolean }[]>`
      SELECT migration_name, finished_at IS NOT NULL AS finished FROM "_prisma_migrations" ORDER BY migration_name`;
    expect(recorded).toEqual(names.map((name) => ({ migration_name: name, finished: true })));
  });

  describe('the second instance, on data the first one wrote', () => {
    coreCases(() => ({ url: instances[1]!.service.url, data, statements: instances[1]!.statements }));
  });

  it(
    `spreads a load over both instances (${CLIENTS_PER_INSTANCE} clients and a pool of ${POOL_SIZE} each): zero errors, each serving`,
    { timeout: 60_000 },
    async () => {
      const results = await mixedLoad(
        instances.map(({ service }) => service.url),
        { token: await testToken(data.member), slugs: [data.walked.slug, data.other.slug], connections: CLIENTS_PER_INSTANCE },
      );
      console.log(`over ${INSTANCES} instances: ${describeLoad(results)}`);
      for (const result of results) {
        expect(result).toMatchObject({ errors: 0, timeouts: 0, non2xx: 0 });
        expect(result.ok).toBeGreaterThan(CLIENTS_PER_INSTANCE);
      }
      for (const { service } of instances) {
        // The load's last requests may still be in flight when it reports: the pool drains without help.
        await expect.poll(() => service.database.poolStatus()!.waiting, { timeout: 5_000 }).toBe(0);
        expect(service.database.poolStatus()!.total).toBeLessThanOrEqual(POOL_SIZE);
      }
    },
  );
});
