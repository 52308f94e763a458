// The HTTP app on node:http: /graphql (Apollo Server), the REST shim, its OpenAPI document, health and readiness.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Database } from '../db/client.js';
import { isDatabaseUnavailable } from '../db/errors.js';
import type { Context, CreateContext } from '../graphql/context.js';
import { checkQuerySize } from '../graphql/limits.js';
import type { Logger } from '../logger.js';
import { DATABASE_UNAVAILABLE, graphMigrations, type RestResponse } from '../rest/migrations.js';
import { OPENAPI_DOCUMENT } from './openapi.js';
import { PLAYGROUND_CSP, type Playground } from './playground.js';

export interface AppDependencies {
  database: Pick<Database, 'ping'>;
  graphql: ApolloServer<Context>;
  createContext: CreateContext;
  logger: Logger;
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
  /** Largest GraphQL query text accepted, checked before parsing (413 beyond). */
  maxQueryBytes?: number;
  /** Origins granted CORS (`*` for any); empty: no CORS headers at all. */
  corsOrigins?: string[];
  /** The browser IDE served at GET /graphql to browsers (absent: off). */
  playground?: Playground;
  /** PUBLIC_BASE_URL: where clients reach the service, for absolute next-page links (absent: path-absolute links). */
  publicBaseUrl?: string;
}

// Every answer is JSON for programs, never a page to render or frame: browsers are told so.
// No Strict-Transport-Security: the service speaks plain HTTP behind the TLS-terminating gateway,
// which owns the HSTS policy for the public host name (browsers ignore HSTS over plain HTTP anyway).
const SECURITY_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
};
const CORS_ALLOWED_HEADERS = 'Authorization, Content-Type, X-Request-Id, Apollo-Require-Preflight';
const CORS_EXPOSED_HEADERS = 'X-Request-Id, Link, Retry-After';
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MIGRATIONS_ROUTE = /^\/api\/v1\/graphs\/([^/]+)\/migrations\/?$/;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function createApp({
  database,
  graphql,
  createContext,
  logger,
  maxBodyBytes = 1024 * 1024,
  maxQueryBytes = 16 * 1024,
  corsOrigins = [],
  playground,
  publicBaseUrl,
}: AppDependencies) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const log = logger.child({ requestId });
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    if (corsOrigins.length > 0 && grantCors(req, res, corsOrigins)) return;
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      log.info({ method: req.method, path: req.url?.split('?')[0], status: res.statusCode, durationMs }, 'request');
    });

    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const context = () => createContext({ authorization: req.headers.authorization, logger: log });
      if (playground && req.method === 'GET' && wantsPlayground(req, url))
        return sendPlayground(res, playground.page, 'text/html; charset=utf-8');
      const asset = playground?.assets.get(url.pathname);
      if (asset && req.method === 'GET') return sendPlayground(res, asset.body, asset.contentType);
      if (url.pathname === '/graphql') return await serveGraphQL(req, res, url, graphql, context, { maxBodyBytes, maxQueryBytes });
      if (url.pathname === '/openapi.json') return await requireGet(req, () => sendJson(res, { status: 200, body: OPENAPI_DOCUMENT }));
      if (url.pathname === '/healthz') return await requireGet(req, () => sendJson(res, { status: 200, body: { status: 'ok' } }));
      if (url.pathname === '/readyz') {
        return await requireGet(req, async () =>
          sendJson(
            res,
            (await database.ping())
              ? { status: 200, body: { status: 'ready' } }
              : { status: 503, body: { status: 'database unavailable' } },
          ),
        );
      }
      const migrations = MIGRATIONS_ROUTE.exec(url.pathname);
      if (migrations) {
        return await requireGet(req, async () => {
          const slug = decodePathSegment(migrations[1]!);
          const location = { publicBaseUrl, pathname: url.pathname };
          sendJson(res, await graphMigrations(await context(), slug, url.searchParams, location));
        });
      }
      sendJson(res, { status: 404, body: { detail: 'Not Found' } });
    } catch (error) {
      if (error instanceof HttpError) return sendJson(res, { status: error.status, body: { detail: error.message } });
      const unavailable = isDatabaseUnavailable(error);
      // The detail (SQL, driver messages, stack) goes to the log under the request id, never to the client.
      if (unavailable) log.warn({ err: error }, 'database unavailable');
      else log.error({ err: error }, 'request failed');
      if (res.headersSent) res.destroy();
      else if (unavailable) sendJson(res, DATABASE_UNAVAILABLE);
      else sendJson(res, { status: 500, body: { detail: 'Internal Server Error' } });
    }
  };
}

/** A browser navigating to /graphql (HTML first in Accept, no operation in the URL) gets the IDE. */
function wantsPlayground(req: IncomingMessage, url: URL): boolean {
  return url.pathname === '/graphql' && !url.searchParams.has('query') && /^\s*text\/html\b/i.test(req.headers.accept ?? '');
}

function sendPlayground(res: ServerResponse, body: string | Buffer, contentType: string): void {
  res.writeHead(200, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Content-Security-Policy': PLAYGROUND_CSP,
    'Cache-Control': 'no-cache',
  });
  res.end(body);
}

/**
 * Adds the CORS grant when the request's Origin is allowed; answers a preflight (OPTIONS) itself.
 * Returns true when the request has been answered.
 */
function grantCors(req: IncomingMessage, res: ServerResponse, allowed: string[]): boolean {
  const origin = req.headers.origin;
  res.setHeader('Vary', 'Origin');
  if (!origin || !(allowed[0] === '*' || allowed.includes(origin))) return false;
  res.setHeader('Access-Control-Allow-Origin', allowed[0] === '*' ? '*' : origin);
  res.setHeader('Access-Control-Expose-Headers', CORS_EXPOSED_HEADERS);
  if (req.method !== 'OPTIONS' || !req.headers['access-control-request-method']) return false;
  res.writeHead(204, {
    'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
    'Access-Control-Allow-Headers': CORS_ALLOWED_HEADERS,
    'Access-Control-Max-Age': '600',
    'Content-Length': '0',
  });
  res.end();
  return true;
}

async function requireGet(req: IncomingMessage, handler: () => void | Promise<void>): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') throw new HttpError(405, 'Method Not Allowed');
  await handler();
}

function decodePathSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function sendJson(res: ServerResponse, { status, body, headers }: RestResponse): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(payload),
    'Cache-Control': 'no-store',
  });
  res.end(payload);
}

async function serveGraphQL(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  graphql: ApolloServer<Context>,
  context: () => Promise<Context>,
  limits: { maxBodyBytes: number; maxQueryBytes: number },
): Promise<void> {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  let body: unknown = undefined;
  if (req.method === 'POST') {
    const text = await readBody(req, limits.maxBodyBytes);
    const isJson = /^application\/(?:[\w.+-]+\+)?json\b/i.test(headers.get('content-type') ?? '');
    if (isJson) {
      try {
        body = JSON.parse(text);
      } catch {
        return sendGraphQLError(res, 400, 'Malformed JSON in the request body');
      }
    } else {
      body = text;
    }
  }
  // Apollo Server would answer an array too ("Operation batching disabled."); said plainly here.
  if (Array.isArray(body)) {
    return sendGraphQLError(res, 400, 'Batched operations (a JSON array body) are not supported: send one operation per request');
  }
  const query = req.method === 'POST' ? (body as { query?: unknown } | undefined)?.query : url.searchParams.get('query');
  const tooLarge = typeof query === 'string' ? checkQuerySize(query, limits.maxQueryBytes) : undefined;
  if (tooLarge) {
    const { http: _http, ...extensions } = tooLarge.extensions;
    return sendJson(res, { status: 413, body: { errors: [{ message: tooLarge.message, extensions }] } });
  }
  const response = await graphql.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method ?? 'GET', headers, search: url.search, body },
    context,
  });
  for (const [name, value] of response.headers) res.setHeader(name, value);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
    return;
  }
  for await (const chunk of response.body.asyncIterator) res.write(chunk);
  res.end();
}

function sendGraphQLError(res: ServerResponse, status: number, message: string): void {
  sendJson(res, { status, body: { errors: [{ message, extensions: { code: 'BAD_REQUEST' } }] } });
}

async function readBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBytes) throw new HttpError(413, `Request body larger than ${maxBytes} bytes (MAX_BODY_BYTES)`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) throw new HttpError(413, `Request body larger than ${maxBytes} bytes (MAX_BODY_BYTES)`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
