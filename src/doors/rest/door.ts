// The REST door: the migration history's pages, statistics, live streams and exports under
// /api/v1, and their OpenAPI document at /openapi.json, as one encapsulated plugin (src/platform/door.ts).
// Its routes are the declarations of routes.ts: each is registered from its path template, its
// request authenticated and its parameters validated from its declaration (validation.ts), then
// answered by the handler named by its operationId.
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
  unauthenticated,
  type RequestLocation,
} from './migrations.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { REST_ROUTES, type EXPORT_ALL_MIGRATIONS, type RestRoute, type RouteValues, type STREAM_ALL_MIGRATIONS } from './routes.js';
import { retryLaterEvents, serveStream, type StreamRoute } from './stream.js';
import { validateRequest } from './validation.js';

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

/** A request to a route, authenticated and its parameters validated. */
interface Served<Values> {
  request: FastifyRequest;
  reply: FastifyReply;
  context: Context;
  values: Values;
  /** Where the request was addressed (for the next page's link). */
  location: RequestLocation;
}

/** What answers each declared route, by its operationId: every route has one, and nothing else does. */
type Handlers = { [R in RestRoute as R['operationId']]: (served: Served<RouteValues<R>>) => Promise<unknown> };

/** A route's path as OpenAPI writes it (`{slug}`), as Fastify's router does (`:slug`). */
const routerPath = (template: string) => template.replace(/\{(\w+)\}/g, ':$1');

/** A path template as a pattern over a path as received (any text in a parameter, an optional trailing slash). */
function pathPattern(template: string): { pattern: RegExp; names: string[] } {
  const names = [...template.matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
  const source = template
    .split(/\{\w+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('([^/]+)');
  return { pattern: new RegExp(`^${source}/?$`), names };
}

function restRoutes(
  app: FastifyInstance,
  { createContext, publicBaseUrl, trustedProxy, stream }: RestOptions & Pick<DoorOptions, 'trustedProxy'>,
) {
  const credentials = (request: FastifyRequest) => ({ authorization: request.headers.authorization, logger: request.log });
  /** A JSON route's answer; a 200 is what pollers fetch again and again: they may revalidate it (If-None-Match, ETag, 304). */
  const json =
    <Values extends { ifNoneMatch: string | undefined }>(
      answer: (context: Context, values: Values, location: RequestLocation) => Promise<JsonAnswer>,
    ) =>
    async ({ reply, context, values, location }: Served<Values>) => {
      const answered = await answer(context, values, location);
      return answered.status === 200 ? sendRevalidatable(values.ifNoneMatch, reply, answered) : sendJson(reply, answered);
    };
  /** Opens an event stream; its access re-checks authenticate the same header again. */
  const openStream = ({ request, reply, context, values }: Served<RouteValues<typeof STREAM_ALL_MIGRATIONS>>, slug: string | null) =>
    serveStream(request, reply, slug, values, context, () => createContext(credentials(request)), stream);
  /** The whole selected history as one NDJSON or CSV download, read page by page as the client takes it. */
  const openExport = ({ request, reply, context, values }: Served<RouteValues<typeof EXPORT_ALL_MIGRATIONS>>, slug: string | null) =>
    serveExport(request, reply, context, slug, values);
  const handlers: Handlers = {
    listGraphMigrations: json(graphMigrations),
    listAllMigrations: json(allMigrations),
    latestMigrations: json(latestMigrations),
    graphMigrationStats: json(graphMigrationStats),
    allMigrationStats: json(allMigrationStats),
    streamGraphMigrations: (served) => openStream(served, served.values.slug),
    streamAllMigrations: (served) => openStream(served, null),
    exportGraphMigrations: (served) => openExport(served, served.values.slug),
    exportAllMigrations: (served) => openExport(served, null),
  };

  /**
   * Answers a declared route as FastAPI did: 401 before anything else (the auth dependency resolves
   * first), then the parameters (422), then the route's handler with their values.
   */
  async function serve(route: RestRoute, request: FastifyRequest, reply: FastifyReply, params: Record<string, string>): Promise<unknown> {
    const [pathname = '/', search = ''] = splitUrl(request.url);
    const context = await createContext(credentials(request));
    const refused = unauthenticated(context);
    if (refused) return sendJson(reply, refused);
    const validated = validateRequest(route.parameters, { query: new URLSearchParams(search), headers: request.headers, params });
    if (!validated.ok) return sendJson(reply, validated.answer);
    const location = { origin: publicBaseUrl ?? forwardedOrigin(request, trustedProxy), pathname };
    // The route's handler takes the values of the route's parameters, which is what validateRequest made of them.
    const handler = handlers[route.operationId] as (served: Served<unknown>) => Promise<unknown>;
    return handler({ request, reply, context, values: validated.values, location });
  }

  for (const route of REST_ROUTES) {
    getRoute(app, routerPath(route.path), (request, reply) => serve(route, request, reply, request.params as Record<string, string>));
  }
  getRoute(app, OPENAPI_PATH, (_request, reply) => sendJson(reply, { status: 200, body: OPENAPI_DOCUMENT }));

  // The routes with path parameters, to answer a path the router could not decode.
  const templated = REST_ROUTES.filter((route) => route.path.includes('{')).map((route) => ({ route, ...pathPattern(route.path) }));
  /**
   * A route with a path parameter (a graph's) whose path the router could not decode (bad
   * percent-encoding, too long): answered by that route with the text as received as its parameter,
   * an unknown graph (401 or 404 as for any other). False when the path is no such route.
   */
  const serveUndecodable = (request: FastifyRequest, reply: FastifyReply): Promise<unknown> | false => {
    const path = request.url.split('?')[0]!;
    for (const { route, pattern, names } of templated) {
      const match = pattern.exec(path);
      if (match) return serve(route, request, reply, Object.fromEntries(names.map((name, index) => [name, match[index + 1]!])));
    }
    return false;
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
function sendRevalidatable(ifNoneMatch: string | undefined, reply: FastifyReply, { status, body, headers }: JsonAnswer): FastifyReply {
  const bytes = Buffer.from(JSON.stringify(body), 'utf8');
  const etag = `"${createHash('sha1').update(bytes).digest('base64url')}"`;
  const common = { ...headers, etag, 'cache-control': 'private, no-cache' };
  if (status === 200 && noneMatch(ifNoneMatch, etag)) return reply.code(304).headers(common).send();
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
