import type { Authenticate, Viewer } from '../auth/viewer.js';
import type { Database } from '../database/client.js';
import type { Logger } from '../observability/logger.js';
import type { RunStream } from './feed.js';
import { createLoaders, type Loaders } from './loaders.js';

/** The request's logger (Fastify's child logger, with the request id): only what resolvers and plugins log with. */
export type RequestLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export interface Context {
  viewer: Viewer;
  loaders: Loaders;
  logger: RequestLogger;
  /** On the transports that serve live streams (the GraphQL subscription's SSE and WebSocket); absent elsewhere. */
  live?: LiveContext;
}

export interface RunStreamRequest {
  /** One graph's runs (GRAPH_READ); null: every graph's (superusers only). */
  slug: string | null;
  statuses?: readonly string[] | null;
  /** The cursor of the last event received: replay what followed it, then continue. */
  after?: string | null;
}

export interface LiveContext {
  /** Opens a stream for this context's viewer (src/domain/live.ts: the checks, the cursor, the re-checks). */
  open(request: RunStreamRequest): Promise<RunStream>;
  /** Fresh loaders for the next event: a subscription's context outlives any one read. */
  refresh(): Promise<void>;
}

export type CreateContext = (request: { authorization: string | undefined; logger: RequestLogger }) => Promise<Context>;

/** One context per request, for both doors (GraphQL and REST): the viewer and fresh loaders. */
export function contextFactory(database: Pick<Database, 'query'>, authenticate: Authenticate): CreateContext {
  return async ({ authorization, logger }) => {
    const viewer = await authenticate(authorization);
    return { viewer, loaders: createLoaders((statement) => database.query(statement), viewer), logger };
  };
}
