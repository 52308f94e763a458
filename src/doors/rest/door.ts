// The REST door: the migration history's pages, statistics, live streams and exports under
// /api/v1, and their OpenAPI document at /openapi.json, as one encapsulated plugin (src/platform/door.ts).
import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context, CreateContext } from '../../domain/context.js';
import type { Door, DoorOptions } from '../../platform/door.js';
import { overloadedJson, OVERLOADED_DETAIL } from '../../platform/overload.js';
import { acceptsEventStream, getRoute, sendJson, type JsonAnswer } from '../../platform/reply.js';
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
import { retryLaterEvents, serveStream, type StreamRoute } from './stream.js';

export interface RestOptions {
  createContext: CreateContext;
  /** PUBLIC_BASE_URL: where clients reach the service (absent: links from a trusted proxy's headers, or path-absolute). */
  publicBaseUrl?: string;
  /** The live history's event streams. */
  stream: StreamRoute;
}

const OPENAPI_PATH = '/openapi.json';
const PREFIX = '/api/v1/';
// The event streams: /api/v1/graphs/{slug}/migrations/stream and /api/v1/migrations/stream.
const STREAM_SUFFIX = '/migrations/stream';
const REFUSAL = overloadedJson({ detail: OVERLOADED_DETAIL });

export function restDoor(options: RestOptions): Door {
  let undecodable: Door['undecodable'];
  return {
    name: 'rest',
    owns: (path) => path.startsWith(PREFIX) || path === OPENAPI_PATH,
    opensStream: (path) => path.endsWith(STREAM_SUFFIX),
    overloaded(path, headers) {
      // A browser's EventSource never retries a non-200: it is told to come back instead.
      if (!path.endsWith(STREAM_SUFFIX) || !acceptsEventStream(headers.accept)) return REFUSAL;
      const { headers: eventHeaders, body } = retryLaterEvents('busy', 'Service overloaded');
      return { status: 200, headers: eventHeaders, body: Buffer.from(body, 'utf8') };
    },
    undecodable: (request, reply) => undecodable?.(request, reply) ?? false,
    plugin: async (app: FastifyInstance, { trustedProxy }: DoorOptions) => {
      undecodable = restRoutes(app, { ...options, trustedProxy }).serveUndecodable;
    },
  };
}

/**
 * A graph route's path as received: any percent-encoded text as the slug, then the history, its
 * statistics, export or stream, and an optional trailing slash.
 */
const GRAPH_ROUTE_PATH = /^\/api\/v1\/graphs\/([^/]+)\/migrations(?:\/(stats|export|stream))?\/?$/;

function restRoutes(
  app: FastifyInstance,
  { createContext, publicBaseUrl, trustedProxy, stream }: RestOptions & Pick<DoorOptions, 'trustedProxy'>,
) {
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
  getRoute(app, OPENAPI_PATH, (_request, reply) => sendJson(reply, { status: 200, body: OPENAPI_DOCUMENT }));
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
function forwardedOrigin(request: FastifyRequest, trustedProxy: DoorOptions['trustedProxy']): string | undefined {
  if (request.headers['x-forwarded-host'] === undefined || !trustedProxy(request.socket.remoteAddress ?? '', 0)) return undefined;
  const protocol = request.protocol === 'https' ? 'https' : 'http';
  return FORWARDED_HOST.test(request.host) ? `${protocol}://${request.host}` : undefined;
}

/**
 * A 200 a poller can revalidate: a strong ETag (SHA-1 of the exact bytes), `Cache-Control: private,
 * no-cache` (kept by the client only, revalidated on every use), and 304 without a body when
 * If-None-Match names it (RFC 9110 §13.1.2: weak comparison, `*` matches).
 */
function sendRevalidatable(request: FastifyRequest, reply: FastifyReply, { status, body, headers }: JsonAnswer): FastifyReply {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  const etag = `"${createHash('sha1').update(bytes).digest('base64url')}"`;
  const common = { ...headers, etag, 'cache-control': 'private, no-cache' };
  if (status === 200 && noneMatch(request.headers['if-none-match'], etag)) return reply.code(304).headers(common).send();
  return reply
    .code(status)
    .headers({ ...common, 'content-type': 'application/json' })
    .send(bytes);
}

function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
