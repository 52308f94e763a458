// `npm run db:migrate` and `npm run db:seed`: the same steps start-up runs, for operators.
import { ConfigError, loadConfig } from '../config.js';
import { createLogger } from '../logger.js';
import { createDatabase } from './client.js';
import { migrate } from './migrate.js';
import { seedDemoData } from './seed.js';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'seed') {
  console.error('usage: tsx src/db/cli.ts migrate|seed');
  process.exit(2);
}

let config;
try {
  config = loadConfig();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(error.message);
  process.exit(1);
}
const logger = createLogger(config.logLevel);
// Maintenance, not serving: the primary (DATABASE_MIGRATE_URL when set), no statement_timeout, DDL
// and the migration lock may take their time.
const database = await createDatabase(config.maintenanceDatabase);
try {
  const applied = await migrate(database);
  logger.info(
    { database: database.kind, applied },
    applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date',
  );
  if (command === 'seed') {
    await seedDemoData(database);
    logger.info({ database: database.kind }, 'demo data is present');
  }
} catch (error) {
  logger.error({ err: error }, `${command} failed`);
  process.exitCode = 1;
} finally {
  await database.close();
}
