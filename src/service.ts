// Config → database → migrate (→ demo data) → GraphQL → HTTP listen. main.ts runs it for the
// process; tests run the very same function on a port of their own.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadOrCreateDevelopmentSecret } from './auth/developmentSecret.js';
import { createAuthenticator, signAccessToken } from './auth/viewer.js';
import type { Config } from './config.js';
import { createDatabase, type Database, type DatabaseOptions } from './db/client.js';
import { migrate } from './db/migrate.js';
import { DEMO_GRAPH_SLUG, DEMO_MEMBER_ID, isEmpty, seedDemoData } from './db/seed.js';
import { contextFactory } from './graphql/context.js';
import { createGraphQLServer } from './graphql/server.js';
import { createApp } from './http/app.js';
import type { Logger } from './logger.js';

export interface Service {
  url: string;
  server: Server;
  database: Database;
  /** A ready-to-paste request for the demo graph, when the service made its own development secret. */
  demoCurl?: string;
  /** Stops accepting, lets in-flight requests finish (up to the shutdown timeout), closes the pool. */
  close(): Promise<void>;
}

export async function startService(config: Config, logger: Logger, databaseOptions: DatabaseOptions = {}): Promise<Service> {
  const database = await createDatabase(config.database, databaseOptions);
  try {
    if (config.migrateOnStart) {
      const applied = await migrate(database.prisma);
      logger.info({ database: database.kind, applied }, applied.length ? `applied ${applied.length} migration(s)` : 'database schema is up to date');
    }
    if (config.seedOnFirstStart && (await isEmpty(database.prisma))) {
      await seedDemoData(database.prisma);
      logger.info('first start: demo data loaded');
    }

    const developmentSecret = config.auth.jwtSecret || config.auth.jwksUrl ? undefined : loadOrCreateDevelopmentSecret(config.dataDir);
    const authenticate = createAuthenticator({ ...config.auth, jwtSecret: config.auth.jwtSecret ?? developmentSecret });
    const graphql = createGraphQLServer({ introspection: !config.isProduction, logger: logger.child({ component: 'apollo' }) });
    await graphql.start();

    const app = createApp({ database, graphql, createContext: contextFactory(database.prisma, authenticate), logger });
    const server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.port, config.host, () => resolve());
    });
    const { port } = server.address() as AddressInfo;
    const url = `http://${config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host}:${port}`;

    let demoCurl: string | undefined;
    if (developmentSecret) {
      const token = await signAccessToken(developmentSecret, { sub: DEMO_MEMBER_ID, expiresIn: '30d' });
      demoCurl = `curl -H 'Authorization: Bearer ${token}' '${url}/api/v1/graphs/${DEMO_GRAPH_SLUG}/migrations?limit=5'`;
    }

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
        await closed;
        clearTimeout(timer);
        await graphql.stop();
        await database.close();
      })());

    return { url, server, database, demoCurl, close };
  } catch (error) {
    await database.close();
    throw error;
  }
}
