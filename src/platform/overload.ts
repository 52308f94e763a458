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
import type { ShedReason } from '../observability/metrics.js';
import { pathOf, type Answer, type Door } from './door.js';

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
  /** The door that owns a path: it says how its refusals are answered, and which requests open streams. */
  doorOf: (path: string) => Door | undefined;
}

/** The `detail` of the platform's own refusal (a path no door owns), FastAPI's shape. */
export const OVERLOADED_DETAIL = 'Service overloaded: try again shortly';

const EXEMPT_PATHS = new Set(['/healthz', '/readyz']);
// A warning when shedding starts; then at most one per reason this often, however many are refused.
const LOG_EVERY_MS = 10_000;

/** A JSON 503 with Retry-After, the shape of every refusal a door does not shape otherwise. */
export function overloadedJson(body: unknown): Answer {
  return {
    status: 503,
    headers: { 'retry-after': String(RETRY_AFTER_SECONDS), 'content-type': 'application/json', 'cache-control': 'no-store' },
    body: Buffer.from(JSON.stringify(body), 'utf8'),
  };
}

const PLATFORM_REFUSAL = overloadedJson({ detail: OVERLOADED_DETAIL });

/** Counts a refusal, and logs a warning for the first of a reason in LOG_EVERY_MS (the door's, and the pool's: src/service.ts). */
export function shedder({ logger, onShed }: Pick<SheddingOptions, 'logger' | 'onShed'>) {
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
    const door = options.doorOf(path);
    // An event stream (REST's, or a subscription over SSE) is bounded by LIVE_MAX_STREAMS instead,
    // and its opening costs next to nothing (one coalesced look-up): a reconnect storm is served,
    // never refused here, and an open stream, idle between events, holds no slot. (WebSocket
    // upgrades never reach the request listener.)
    if (door?.opensStream(path, request.headers)) return handler(request, response);
    if (inFlight >= maxInFlight) {
      shed('in_flight', { inFlight, maxInFlight });
      const { status, headers, body } = door?.overloaded(path, request.headers) ?? PLATFORM_REFUSAL;
      // An unread request body is discarded by Node before the connection's next request.
      response.writeHead(status, { ...options.headers(request), ...headers, 'content-length': body.length }).end(body);
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
      const { status, headers, body } = options.doorOf(path)?.overloaded(path, request.headers) ?? PLATFORM_REFUSAL;
      reply.code(status).headers(headers).send(body);
    },
  });
}
