// The REST door's routes on the Fastify app: the migration history (pages, live streams, exports) and its OpenAPI document.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context, CreateContext } from '../../domain/context.js';
import { getRoute, sendJson, sendRevalidatable, type JsonAnswer } from '../../platform/reply.js';
import { serveExport } from './export.js';
import {
  allMigrations,
  allMigrationStats,
  graphMigrations,
  graphMigrationStats,
  latestMigrations,
  type RequestLocation,
} from './migrations.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { serveStream, type StreamRoute } from './stream.js';

export interface RestOptions {
  createContext: CreateContext;
  /** PUBLIC_BASE_URL: where clients reach the service (absent: links from a trusted proxy's headers, or path-absolute). */
  publicBaseUrl?: string;
  /** Whether the peer at this address is a trusted proxy (TRUST_PROXY), whose X-Forwarded-* headers count. */
  trustedProxy: (address: string, hop: number) => boolean;
  /** The live history's event streams. */
  stream: StreamRoute;
}

/**
 * A graph route's path as received: any percent-encoded text as the slug, then the history, its
 * statistics, export or stream, and an optional trailing slash.
 */
const GRAPH_ROUTE_PATH = /^\/api\/v1\/graphs\/([^/]+)\/migrations(?:\/(stats|export|stream))?\/?$/;

export function restRoutes(app: FastifyInstance, { createContext, publicBaseUrl, trustedProxy, stream }: RestOptions) {
  /** Runs a history route's answer with the request's context and where it was addressed. */
  async function serveHistory(
    request: FastifyRequest,
    reply: FastifyReply,
    answer: (context: Context, search: URLSearchParams, location: RequestLocation) => Promise<JsonAnswer>,
  ): Promise<FastifyReply> {
    const [pathname = '/', search = ''] = splitUrl(request.url);
    const context = await createContext({ authorization: request.headers.authorization, logger: request.log });
    const location = { origin: publicBaseUrl ?? forwardedOrigin(request, trustedProxy), pathname };
    const answered = await answer(context, new URLSearchParams(search), location);
    // A history page is what pollers fetch again and again: they may revalidate it (ETag, 304).
    return answered.status === 200 ? sendRevalidatable(request, reply, answered) : sendJson(reply, answered);
  }

  /** Answers the history route for `slug` (decoded); also called for a URL the router refused to decode. */
  const serveMigrations = (request: FastifyRequest, reply: FastifyReply, slug: string) =>
    serveHistory(request, reply, (context, search, location) => graphMigrations(context, slug, search, location));

  getRoute(app, '/api/v1/graphs/:slug/migrations', (request, reply) =>
    serveMigrations(request, reply, (request.params as { slug: string }).slug),
  );
  getRoute(app, '/api/v1/migrations', (request, reply) => serveHistory(request, reply, allMigrations));
  const serveStats = (request: FastifyRequest, reply: FastifyReply, slug: string) =>
    serveHistory(request, reply, (context, search) => graphMigrationStats(context, slug, search));
  getRoute(app, '/api/v1/graphs/:slug/migrations/stats', (request, reply) =>
    serveStats(request, reply, (request.params as { slug: string }).slug),
  );
  getRoute(app, '/api/v1/migrations/stats', (request, reply) => serveHistory(request, reply, allMigrationStats));
  getRoute(app, '/api/v1/migrations/latest', (request, reply) => serveHistory(request, reply, latestMigrations));
  /** Opens an event stream with the request's context; its access re-checks authenticate the same header again. */
  const openStream = async (request: FastifyRequest, reply: FastifyReply, slug: string | null) => {
    const credentials = { authorization: request.headers.authorization, logger: request.log };
    return serveStream(request, reply, slug, await createContext(credentials), () => createContext(credentials), stream);
  };
  getRoute(app, '/api/v1/graphs/:slug/migrations/stream', (request, reply) =>
    openStream(request, reply, (request.params as { slug: string }).slug),
  );
  getRoute(app, '/api/v1/migrations/stream', (request, reply) => openStream(request, reply, null));
  /** The whole selected history as one NDJSON or CSV download, read page by page as the client takes it. */
  const openExport = async (request: FastifyRequest, reply: FastifyReply, slug: string | null) =>
    serveExport(request, reply, await createContext({ authorization: request.headers.authorization, logger: request.log }), slug);
  getRoute(app, '/api/v1/graphs/:slug/migrations/export', (request, reply) =>
    openExport(request, reply, (request.params as { slug: string }).slug),
  );
  getRoute(app, '/api/v1/migrations/export', (request, reply) => openExport(request, reply, null));
  getRoute(app, '/openapi.json', (_request, reply) => sendJson(reply, { status: 200, body: OPENAPI_DOCUMENT }));
  const graphRoutes: Record<string, (request: FastifyRequest, reply: FastifyReply, slug: string) => Promise<unknown>> = {
    '': serveMigrations,
    stats: serveStats,
    export: openExport,
    stream: openStream,
  };
  /**
   * A graph route whose slug the router could not decode (bad percent-encoding, too long): answered
   * by that route with the text as received as its slug, an unknown graph (401 or 404 as for any
   * other). False when the path is no graph route.
   */
  const serveUndecodable = (request: FastifyRequest, reply: FastifyReply): Promise<unknown> | false => {
    const [, slug, route = ''] = GRAPH_ROUTE_PATH.exec(request.url.split('?')[0]!) ?? [];
    return slug === undefined ? false : graphRoutes[route]!(request, reply, slug);
  };
  return { serveUndecodable };
}

function splitUrl(url: string): [string, string] {
  const index = url.indexOf('?');
  return index === -1 ? [url, ''] : [url.slice(0, index), url.slice(index + 1)];
}

const FORWARDED_HOST = /^[A-Za-z0-9.-]+(?::\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](?::\d{1,5})?$/;

/**
 * scheme://host from X-Forwarded-Host (and -Proto) when the peer is a trusted proxy (TRUST_PROXY);
 * Fastify's `request.host` and `request.protocol` read them then. A value that is not a plain host
 * name is ignored: the link is then path-absolute.
 */
function forwardedOrigin(request: FastifyRequest, trustedProxy: RestOptions['trustedProxy']): string | undefined {
  if (request.headers['x-forwarded-host'] === undefined || !trustedProxy(request.socket.remoteAddress ?? '', 0)) return undefined;
  const protocol = request.protocol === 'https' ? 'https' : 'http';
  return FORWARDED_HOST.test(request.host) ? `${protocol}://${request.host}` : undefined;
}
