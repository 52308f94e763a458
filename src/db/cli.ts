// `npm run db:migrate` and `npm run db:seed`: the same steps start-up runs, for operators.
import { loadConfigOrExit } from '../config.js';
import { createLogger } from '../logger.js';
import { createDatabase } from './client.js';
import { applyMigrations } from './migrate.js';
import { seedDemoData } from './seed.js';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'seed') {
  console.error('usage: tsx src/db/cli.ts migrate|seed');
  process.exit(2);
}

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
// Maintenance, not serving: the primary (DATABASE_MIGRATE_URL when set), no statement_timeout, DDL
// and the migration lock may take their time.
const database = await createDatabase(config.maintenanceDatabase);
try {
  await applyMigrations(database, logger);
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
