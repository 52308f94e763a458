import { databaseUrls, loadConfigOrExit } from './config.js';
import { missingDatabaseAdvice } from './database/errors.js';
import { createLogger } from './observability/logger.js';
import { startService, type Service } from './service.js';

const config = loadConfigOrExit();
const logger = createLogger(config.logLevel);
const queryLogger = logger.child({ component: 'sql' });

// Handled from the first moment: the service answers as soon as it listens, before start-up has
// finished (the extra accepting handles, the demo data check), and a SIGTERM then must still drain.
let started: Service | undefined;
let stopping: NodeJS.Signals | undefined;
function shutdown(service: Service, signal: NodeJS.Signals) {
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
}
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    if (stopping) return;
    stopping = signal;
    if (started) shutdown(started, signal);
    else {
      logger.info({ signal }, 'shutting down once start-up has finished');
      // A start-up that cannot finish (a database that never answers) must not outlive the signal.
      setTimeout(() => {
        logger.warn({ signal }, `start-up did not finish within SHUTDOWN_TIMEOUT_MS (${config.shutdownTimeoutMs} ms): exiting`);
        process.exit(1);
      }, config.shutdownTimeoutMs).unref();
    }
  });
}

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
  started = service;
  if (stopping) shutdown(service, stopping);
} catch (error) {
  // A database not created yet is a step of the set-up, not a fault: what to run, without a stack.
  const advice = missingDatabaseAdvice(error, databaseUrls(config));
  // The reason in the message itself: it says what to fix (a misconfigured pooler names DATABASE_POOLER).
  if (advice) logger.fatal(`start-up failed: ${advice}`);
  else logger.fatal({ err: error }, `start-up failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
