// How the platform's own answers (health, readiness, refusals, failures) and the REST door's are
// written: JSON with FastAPI's shapes, never cached, and 405 (not Fastify's 404) for a method the
// route does not serve.
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
 * Resolves once a streamed response can take more ('drain') or has closed, whichever comes first
 * (at once when it has already closed: a closed response never drains), and leaves no listener behind.
 */
export function writable(response: ServerResponse): Promise<void> {
  if (response.closed) return Promise.resolve();
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
 * Calls `then` once the response has closed (its client gone, or its end sent), at once when it
 * already has: a client can leave while the handler still awaits, before it listens for 'close'.
 */
export function whenClosed(response: ServerResponse, then: () => void): void {
  if (response.closed) then();
  else response.once('close', then);
}

/** Whether a request asks for an event stream (an EventSource always does). */
export const acceptsEventStream = (accept: string | undefined) => /\btext\/event-stream\b/i.test(accept ?? '');
