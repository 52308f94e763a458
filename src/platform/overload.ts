// Load shedding at the door (docs/decisions/0006): under overload a request the instance cannot serve
// soon is refused at once, 503 with Retry-After, before it costs anything (no authentication, no
// parsing, no database), so the requests it accepts keep a bounded latency and no client waits into
// its own timeout. Each bound is off at 0:
//  - in_flight (`admission`): requests being served at once, counted from their arrival to their
//    answer's close. The primary bound, checked per request in front of Fastify, so a refusal costs
//    a prepared buffer and no routing, hook or log line. With the database pool's bounded wait queue
//    (src/database/client.ts) it caps every queue a request can sit in.
//  - heap and event-loop delay (`pressureShedding`): @fastify/under-pressure, sampled once a second;
//    beyond a bound every new request is refused until a sample says otherwise. Backstops for what
//    the in-flight bound does not see (garbage piling up towards the heap limit, a blocked loop).
// /healthz and /readyz are never refused: an orchestrator must tell "overloaded" from "dead".
import type { IncomingMessage, OutgoingHttpHeaders, RequestListener } from 'node:http';
import { getHeapStatistics } from 'node:v8';
import underPressure from '@fastify/under-pressure';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { RETRY_AFTER_SECONDS } from '../database/errors.js';
import { serviceOverloaded } from '../doors/graphql/errors.js';
import type { ShedReason } from '../observability/metrics.js';
import { acceptsEventStream, retryLaterEvents } from './reply.js';

/** Bounds beyond which new requests are refused (config.overload); 0 turns one off. */
export interface OverloadLimits {
  /** Requests being served at once by the instance (health checks not counted). */
  maxInFlight: number;
  /** Mean event-loop delay over the last second, ms. */
  maxEventLoopDelayMs: number;
  /** V8 heap in use, as a percentage of its limit (heap_size_limit: --max-old-space-size plus the young generation). */
  maxHeapPercent: number;
}

export interface SheddingOptions {
  logger: FastifyBaseLogger;
  /** Counts each refusal (metrics). */
  onShed?: (reason: ShedReason) => void;
}

/** The `detail` of a REST (and any non-GraphQL) refusal. */
export const OVERLOADED_DETAIL = 'Service overloaded: try again shortly';

const EXEMPT_PATHS = new Set(['/healthz', '/readyz']);
const GRAPHQL_PATH = '/graphql';
// The REST event streams (src/doors/rest/stream.ts): /api/v1/…/migrations/stream.
const STREAM_SUFFIX = '/migrations/stream';
// A warning when shedding starts; then at most one per reason this often, however many are refused.
const LOG_EVERY_MS = 10_000;

// The two answers, serialized once: GraphQL's errors array (SERVICE_UNAVAILABLE) or FastAPI's detail.
const json = (body: unknown) => Buffer.from(JSON.stringify(body), 'utf8');
const GRAPHQL_REFUSAL = json({ errors: [serviceOverloaded().toJSON()] });
const REST_REFUSAL = json({ detail: OVERLOADED_DETAIL });
const REFUSAL_HEADERS = { 'retry-after': String(RETRY_AFTER_SECONDS), 'content-type': 'application/json', 'cache-control': 'no-store' };

/** The request's path without query or trailing slash (the router ignores trailing slashes too). */
function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** A REST event stream, or a GraphQL subscription over SSE (WebSocket upgrades never reach the request listener). */
function isEventStream(path: string, request: { headers: IncomingMessage['headers'] }): boolean {
  return path.endsWith(STREAM_SUFFIX) || (path === GRAPHQL_PATH && acceptsEventStream(request.headers.accept));
}

/** Counts a refusal, and logs a warning for the first of a reason in LOG_EVERY_MS (the door's, and the pool's: src/service.ts). */
export function shedder({ logger, onShed }: SheddingOptions) {
  const lastLogged = new Map<ShedReason, number>();
  return (reason: ShedReason, detail: Record<string, unknown>) => {
    onShed?.(reason);
    const now = Date.now();
    if (now - (lastLogged.get(reason) ?? -Infinity) < LOG_EVERY_MS) return;
    lastLogged.set(reason, now);
    logger.warn({ reason, ...detail }, `overloaded: refusing requests (${reason}) with 503 and Retry-After`);
  };
}

/**
 * Wraps the HTTP server's request listener (Fastify's) with the in-flight bound. `headers` gives
 * what every answer carries (request id, security headers).
 */
export function admission(
  maxInFlight: number,
  options: SheddingOptions & { headers: (request: IncomingMessage) => OutgoingHttpHeaders },
): (handler: RequestListener) => RequestListener {
  if (maxInFlight <= 0) return (handler) => handler;
  const shed = shedder(options);
  let inFlight = 0;
  return (handler) => (request, response) => {
    const path = pathOf(request.url);
    if (EXEMPT_PATHS.has(path)) return handler(request, response);
    // An event stream (REST's, or a subscription over SSE) is bounded by LIVE_MAX_STREAMS instead,
    // and its opening costs next to nothing (one coalesced look-up): a reconnect storm is served,
    // never refused here, and an open stream, idle between events, holds no slot.
    if (isEventStream(path, request)) return handler(request, response);
    if (inFlight >= maxInFlight) {
      shed('in_flight', { inFlight, maxInFlight });
      const body = path === GRAPHQL_PATH ? GRAPHQL_REFUSAL : REST_REFUSAL;
      // An unread request body is discarded by Node before the connection's next request.
      response.writeHead(503, { ...options.headers(request), ...REFUSAL_HEADERS, 'content-length': body.length }).end(body);
      return;
    }
    inFlight += 1;
    // 'close' comes once, when the answer is sent or the client went away before it.
    response.once('close', () => {
      inFlight -= 1;
    });
    handler(request, response);
  };
}

/** The heap and event-loop backstops, as an onRequest hook of @fastify/under-pressure on the app's root. */
export async function pressureShedding(app: FastifyInstance, limits: OverloadLimits, options: SheddingOptions): Promise<void> {
  if (limits.maxEventLoopDelayMs <= 0 && limits.maxHeapPercent <= 0) return;
  const shed = shedder(options);
  await app.register(underPressure, {
    maxEventLoopDelay: limits.maxEventLoopDelayMs,
    maxHeapUsedBytes: Math.floor((getHeapStatistics().heap_size_limit * limits.maxHeapPercent) / 100),
    // Returning nothing lets the request go on: through, for the exempt routes; nowhere, once answered here.
    pressureHandler: (request, reply, type, value) => {
      const path = pathOf(request.url);
      if (EXEMPT_PATHS.has(path)) return;
      shed(type === 'heapUsedBytes' ? 'heap' : 'event_loop', { value, limits });
      // A browser's EventSource never retries a non-200: it is told to come back instead.
      if (path.endsWith(STREAM_SUFFIX) && acceptsEventStream(request.headers.accept)) {
        const { headers, body } = retryLaterEvents('busy', 'Service overloaded');
        reply.code(200).headers(headers).send(body);
        return;
      }
      reply
        .code(503)
        .headers(REFUSAL_HEADERS)
        .send(path === GRAPHQL_PATH ? GRAPHQL_REFUSAL : REST_REFUSAL);
    },
  });
}
