// The HTTP app on node:http: /graphql (Apollo Server), the REST shim, its OpenAPI document, health and readiness.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Database } from '../db/client.js';
import type { Context, CreateContext } from '../graphql/context.js';
import type { Logger } from '../logger.js';
import { graphMigrations, type RestResponse } from '../rest/migrations.js';
import { OPENAPI_DOCUMENT } from './openapi.js';

export interface AppDependencies {
  database: Pick<Database, 'ping'>;
  graphql: ApolloServer<Context>;
  createContext: CreateContext;
  logger: Logger;
}

const MAX_BODY_BYTES = 1024 * 1024;
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const MIGRATIONS_ROUTE = /^\/api\/v1\/graphs\/([^/]+)\/migrations\/?$/;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

export function createApp({ database, graphql, createContext, logger }: AppDependencies) {
  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : randomUUID();
    const log = logger.child({ requestId });
    res.setHeader('X-Request-Id', requestId);
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      log.info({ method: req.method, path: req.url?.split('?')[0], status: res.statusCode, durationMs }, 'request');
    });

    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const context = () => createContext({ authorization: req.headers.authorization, logger: log });
      if (url.pathname === '/graphql') return await serveGraphQL(req, res, url, graphql, context);
      if (url.pathname === '/openapi.json') return await requireGet(req, () => sendJson(res, { status: 200, body: OPENAPI_DOCUMENT }));
      if (url.pathname === '/healthz') return await requireGet(req, () => sendJson(res, { status: 200, body: { status: 'ok' } }));
      if (url.pathname === '/readyz') {
        return await requireGet(req, async () =>
          sendJson(res, (await database.ping()) ? { status: 200, body: { status: 'ready' } } : { status: 503, body: { status: 'database unavailable' } }),
        );
      }
      const migrations = MIGRATIONS_ROUTE.exec(url.pathname);
      if (migrations) {
        return await requireGet(req, async () => {
          const slug = decodePathSegment(migrations[1]!);
          sendJson(res, await graphMigrations(graphql, await context(), slug, url.searchParams));
        });
      }
      sendJson(res, { status: 404, body: { detail: 'Not Found' } });
    } catch (error) {
      if (error instanceof HttpError) return sendJson(res, { status: error.status, body: { detail: error.message } });
      log.error({ err: error }, 'request failed');
      if (!res.headersSent) sendJson(res, { status: 500, body: { detail: 'Internal Server Error' } });
      else res.destroy();
    }
  };
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
    'X-Content-Type-Options': 'nosniff',
  });
  res.end(payload);
}

async function serveGraphQL(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  graphql: ApolloServer<Context>,
  context: () => Promise<Context>,
): Promise<void> {
  const headers = new HeaderMap();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  let body: unknown = undefined;
  if (req.method === 'POST') {
    const text = await readBody(req);
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

async function readBody(req: IncomingMessage): Promise<string> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new HttpError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `Request body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
