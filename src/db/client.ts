// The one place that decides which database the service talks to: PostgreSQL through
// @prisma/adapter-pg when DATABASE_URL is set, an embedded PGlite in DATA_DIR otherwise.
// Everything above this module sees the same PrismaClient and runs the same SQL.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaPGlite } from 'pglite-prisma-adapter';
import type { Config } from '../config.js';
import { PrismaClient } from './generated/client.js';

export type { PrismaClient };

export interface QueryEvent {
  query: string;
  durationMs: number;
}

export interface Database {
  prisma: PrismaClient;
  kind: Config['database']['kind'];
  /** True when the database answers a trivial query. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** Called for every SQL statement Prisma sends (query logging, statement counting in tests). */
  onQuery?: (event: QueryEvent) => void;
}

export async function createDatabase(config: Config['database'], options: DatabaseOptions = {}): Promise<Database> {
  let closeDriver = async () => {};
  let adapter: PrismaPg | PrismaPGlite;
  if (config.kind === 'postgres') {
    adapter = new PrismaPg({ connectionString: config.url, max: config.poolSize });
  } else {
    const directory = path.resolve(config.dataDir, 'pglite');
    mkdirSync(directory, { recursive: true });
    const pglite = await PGlite.create(directory);
    closeDriver = () => pglite.close();
    adapter = new PrismaPGlite(pglite);
  }
  const onQuery = options.onQuery;
  const prisma = onQuery
    ? new PrismaClient({ adapter, log: [{ emit: 'event', level: 'query' }] }).$on('query', (event) =>
        onQuery({ query: event.query, durationMs: event.duration }),
      )
    : new PrismaClient({ adapter });
  return {
    prisma,
    kind: config.kind,
    async ping() {
      try {
        await prisma.$queryRaw`SELECT 1`;
        return true;
      } catch {
        return false;
      }
    },
    async close() {
      await prisma.$disconnect();
      await closeDriver();
    },
  };
}
