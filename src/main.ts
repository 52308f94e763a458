import { loadConfigOrExit } from './config.js';
import { createLogger } from './logger.js';
import { startService } from './service.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
const queryLogger = logger.child({ component: 'sql' });
try {
  const service = await startService(
    config,
    logger,
    logger.isLevelEnabled('debug') ? { onQuery: (event) => queryLogger.debug(event, 'sql') } : {},
  );
  logger.info({ url: service.url, database: service.database.kind }, `ready: ${service.url} on ${service.database.kind}`);
  if (service.developmentAuth) {
    logger.info('development auth: no AUTH_JWT_SECRET or AUTH_JWKS_URL set, using a secret kept in DATA_DIR');
    // Printed plainly so it can be copied as it is.
    if (service.demoCurl) console.log(`\nTry it (demo member's token, valid 30 days):\n\n  ${service.demoCurl}\n`);
    else
      console.log(
        '\nThis database holds no demo data: load it with `npm run db:seed` (same DATABASE_URL), then restart for a ready-to-paste curl line.\n',
      );
  }
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      logger.info({ signal }, 'shutting down: finishing in-flight requests');
      service.close().then(
        () => {
          logger.info('shut down cleanly');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    });
  }
} catch (error) {
  // The reason in the message itself: it says what to fix (a misconfigured pooler names DATABASE_POOLER).
  logger.fatal({ err: error }, `start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
