// `npm run db:migrate` and `npm run db:seed`: the same steps start-up runs, for operators.
import { databaseUrls, loadConfigOrExit } from '../config.js';
import { createLogger } from '../observability/logger.js';
import { createDatabase } from '../database/client.js';
import { missingDatabaseAdvice } from '../database/errors.js';
import { applyMigrations } from '../database/migrate.js';
import { DEMO_GRAPH_SLUG, seedDemoData } from '../database/seed.js';

const command = process.argv[2];
if (command !== 'migrate' && command !== 'seed') {
  console.error('usage: npm run db:migrate | npm run db:seed (compiled: node dist/cli/database.js migrate|seed)');
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
    const added = await seedDemoData(database);
    const total = added.graphs + added.members + added.runs;
    logger.info(
      { database: database.kind, ...added },
      total > 0
        ? `demo data loaded: ${added.graphs} graphs, ${added.members} memberships, ${added.runs} runs (graph ${DEMO_GRAPH_SLUG})`
        : `demo data already present: nothing loaded (graph ${DEMO_GRAPH_SLUG})`,
    );
  }
} catch (error) {
  const advice = missingDatabaseAdvice(error, databaseUrls(config));
  if (advice) logger.error(`${command} failed: ${advice}`);
  else logger.error({ err: error }, `${command} failed`);
  process.exitCode = 1;
} finally {
  await database.close();
}
