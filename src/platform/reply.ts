// How every route that is not GraphQL answers: JSON with FastAPI's shapes, never cached, and 405
// (not Fastify's 404) for a method the route does not serve.
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

/** An answer of a JSON route: its status, body and extra headers. */
export interface JsonAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

export const detail = (status: number, message: string, headers?: Record<string, string>): JsonAnswer => ({
  status,
  body: { detail: message },
  headers,
});

export function sendJson(reply: FastifyReply, { status, body, headers }: JsonAnswer): FastifyReply {
  return (
    reply
      .code(status)
      .headers({ ...headers, 'content-type': 'application/json', 'cache-control': 'no-store' })
      // Bytes, so Fastify sends the content type as the contract states it (a string would get `; charset=utf-8`).
      .send(Buffer.from(JSON.stringify(body), 'utf8'))
  );
}

/**
 * A 200 a poller can revalidate: a strong ETag (SHA-1 of the exact bytes), `Cache-Control: private,
 * no-cache` (kept by the client only, revalidated on every use), and 304 without a body when
 * If-None-Match names it (RFC 9110 §13.1.2: weak comparison, `*` matches).
 */
export function sendRevalidatable(request: FastifyRequest, reply: FastifyReply, { status, body, headers }: JsonAnswer): FastifyReply {
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

// Methods Fastify routes (its default set) other than the GET and HEAD these routes serve.
const OTHER_METHODS = ['DELETE', 'OPTIONS', 'PATCH', 'POST', 'PUT'] as const;

/** A GET route (HEAD included), and 405 for every other method on its path, as FastAPI answers. */
export function getRoute(
  app: FastifyInstance,
  url: string,
  handler: (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> | unknown,
): void {
  app.get(url, handler);
  app.route({
    method: [...OTHER_METHODS],
    url,
    handler: (_request, reply) => sendJson(reply, detail(405, 'Method Not Allowed', { allow: 'GET, HEAD' })),
  });
}

/**
 * Resolves once a streamed response can take more ('drain') or has closed, whichever comes first,
 * and leaves no listener behind (a stream waits this way once per write the socket did not take).
 */
export function writable(response: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      response.off('drain', done);
      response.off('close', done);
      resolve();
    };
    response.on('drain', done);
    response.on('close', done);
  });
}

/**
 * How an event stream that cannot be served now is refused (docs/contract.md#live-history): `200`, a
 * `retry:` field with the delay and an `end` event saying why, then the end of the stream. A
 * browser's EventSource treats any other status as final and never reconnects; this one it retries
 * after the delay, sending the Last-Event-ID it already had. The delay is spread over 1–5 s so a storm
 * of refused clients does not come back all at once.
 */
export function retryLaterEvents(reason: 'busy' | 'unavailable', message: string, lastEventId: string | null = null) {
  const retryMs = 1_000 + Math.floor(Math.random() * 4_000);
  return {
    headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' },
    body:
      `retry: ${retryMs}\n\n` +
      `event: end\ndata: ${JSON.stringify({ reason, detail: `${message}: reconnecting in ${Math.ceil(retryMs / 1000)} s`, last_event_id: lastEventId })}\n\n`,
  };
}

/** Whether a request asks for an event stream (an EventSource always does). */
export const acceptsEventStream = (accept: string | undefined) => /\btext\/event-stream\b/i.test(accept ?? '');
