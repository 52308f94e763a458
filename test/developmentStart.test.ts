// What start-up offers a developer who configured no auth: a development secret, and a curl line for
// the demo graph only when that graph is there. A PostgreSQL database gets no demo data unless asked,
// so it gets no curl line that would answer 404 (issue 12), until `npm run db:seed` loads the data.
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { seedDemoData } from '../src/database/seed.js';
import { createLogger } from '../src/observability/logger.js';
import { startService } from '../src/service.js';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from './helpers/databases.js';

describe.each(DATABASE_KINDS)('development start on %s', (kind) => {
  let database: TestDatabase;
  afterAll(() => database?.drop());

  const start = () =>
    startService(
      loadConfig({
        NODE_ENV: 'development',
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'silent',
        DATA_DIR: database.dataDir,
        SEED_ON_FIRST_START: 'false',
        PLAYGROUND_ENABLED: 'false',
        ...(database.url ? { DATABASE_URL: database.url } : {}),
      }),
      createLogger('silent'),
    );

  it('offers no curl line without demo data, and one that works once the demo data is loaded', async () => {
    database = await createTestDatabase(kind);
    const empty = await start();
    try {
      expect(empty.developmentAuth).toBe(true);
      expect(empty.demoCurl).toBeUndefined();
      await seedDemoData(empty.database);
    } finally {
      await empty.close();
    }

    const seeded = await start();
    try {
      const match = /^curl -H 'Authorization: Bearer ([^']+)' '([^']+)'$/.exec(seeded.demoCurl ?? '');
      expect(match, seeded.demoCurl).not.toBeNull();
      const response = await fetch(match![2]!, { headers: { authorization: `Bearer ${match![1]}` } });
      expect(response.status).toBe(200);
      expect(((await response.json()) as unknown[]).length).toBe(5);
    } finally {
      await seeded.close();
    }
  });
});
