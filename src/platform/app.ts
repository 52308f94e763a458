// The platform every door stands on, on Fastify: request ids, request logging, security headers,
// CORS, body limit, load shedding and the error answers every route shares; health and readiness.
// The doors (src/doors/graphql, src/doors/rest) are registered on it as encapsulated plugins
// (src/platform/door.ts); it imports none of them.
import { randomUUID } from 'node:crypto';
import { createServer, STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import cors from '@fastify/cors';
import proxyAddr from '@fastify/proxy-addr';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import { isDatabaseClosing, isDatabaseUnavailable, poolRefusal, RETRY_AFTER_SECONDS } from '../database/errors.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { clientErrorDetails, DEFAULT_CLIENT_TIMEOUTS, HEALTH_BODY, readinessBody, type ReadinessSides } from './answers.js';
import { doorFinder, pathOf, type Door } from './door.js';
import { admission, pressureShedding, type OverloadLimits } from './overload.js';
import { detail, getRoute, sendJson } from './reply.js';

/** The `detail` of the failures the platform answers for every route but the ones a door answers itself. */
export const FAILURE_DETAIL = {
  internal: 'Internal Server Error',
  databaseUnavailable: 'Database unavailable',
} as const;

/** What /readyz asks: whether the database answers (the primary, and the replica reads go to when there is one). */
export interface ReadinessSource {
  readiness(): Promise<{ ready: boolean; primary: boolean; replica?: boolean }>;
}

export interface AppDependencies {
  /** The doors, each an encapsulated plugin (src/platform/door.ts), registered in this order. */
  doors: readonly Door[];
  database: ReadinessSource;
  /** The live history's LISTEN session (absent: live history is off): /readyz is 503 while it is down. */
  liveSession?: { readonly listening: boolean };
  logger: Logger;
  /** Largest request body accepted (413 beyond). */
  maxBodyBytes?: number;
  /** Origins granted CORS (`*` for any); empty: no CORS headers at all. */
  corsOrigins?: string[];
  /** TRUST_PROXY: peers whose X-Forwarded-* headers count (false: none). */
  trustProxy?: boolean | number | string[];
  /** Spans for every request, trace ids in its log lines (src/observability/tracing.ts); absent: none. */
  tracing?: Tracing;
  /** Node's bounds on a client that trickles its headers or body (answered 408). */
  requestTimeoutMs?: number;
  headersTimeoutMs?: number;
  /** Request counters and durations (METRICS_PORT); absent: none. */
  metrics?: Pick<Metrics, 'requestCompleted' | 'loadShed'>;
  /** Load shedding bounds (src/platform/overload.ts); absent: none. */
  overload?: OverloadLimits;
}

// Every answer is JSON for programs, never a page to render or frame: browsers are told so.
// No Strict-Transport-Security: the service speaks plain HTTP behind the TLS-terminating gateway,
// which owns the HSTS policy for the public host name (browsers ignore HSTS over plain HTTP anyway).
const SECURITY_HEADERS = {
  'x-content-type-options': 'nosniff',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
// Long enough for a 10 kB slug in the path (Node refuses request heads over 16 KiB anyway).
const MAX_PARAM_LENGTH = 16 * 1024;

/**
 * What Node's HTTP parser refuses before Fastify sees a request (its 'clientError' event): headers
 * over Node's limit, headers or a body sent too slowly, bytes that are not HTTP. Answered as every
 * other refusal is, {"detail": …} with the security headers and a request id, then the connection
 * is closed (the parser cannot go on). Logged as one request line, counted under `unmatched`.
 */
function clientErrorAnswerer(
  logger: Logger,
  metrics: Pick<Metrics, 'requestCompleted'> | undefined,
  timeouts: { requestTimeoutMs: number; headersTimeoutMs: number },
) {
  const reasons = clientErrorDetails(timeouts);
  return (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A reset connection is gone; a response already under way cannot be replaced by another.
    const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code === 'ECONNRESET' || socket.destroyed || !socket.writable || inProgress?.headersSent) {
      socket.destroy();
      return;
    }
    const [status, message] = reasons[error.code ?? ''] ?? [400, 'Malformed HTTP request: send a valid HTTP/1.1 request'];
    const id = randomUUID();
    const body = JSON.stringify({ detail: message });
    const headers = {
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
      'cache-control': 'no-store',
      'x-request-id': id,
      ...SECURITY_HEADERS,
      connection: 'close',
    };
    const head = Object.entries(headers)
      .map(([name, value]) => `${name}: ${value}\r\n`)
      .join('');
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head}\r\n${body}`);
    // A client that stops reading must not keep the socket: the answer is small, so a second is plenty.
    setTimeout(() => socket.destroy(), 1_000).unref();
    logger.info({ requestId: id, status, reason: error.code }, 'request');
    metrics?.requestCompleted('other', undefined, status, 0);
  };
}

/** The client's X-Request-Id when it is a sane token, else a fresh UUID. */
function requestId(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

/**
 * One line per answered request, with its status and duration, under the request id (no "incoming
 * request" line); and the request metrics, by route template (never the path: it holds slugs).
 */
class RequestLog extends LogController {
  constructor(private readonly metrics?: Pick<Metrics, 'requestCompleted'>) {
    super({ requestIdLogLabel: 'requestId' });
  }
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const line = { method: request.method, path: request.url.split('?')[0], status: reply.statusCode, durationMs: reply.elapsedTime };
    if (error) request.log.error({ ...line, err: error }, 'request');
    else request.log.info(line, 'request');
    // Not-found answers and router refusals have no route template: `unmatched`.
    this.metrics?.requestCompleted(
      request.method,
      request.is404 ? undefined : request.routeOptions.url,
      reply.statusCode,
      reply.elapsedTime,
    );
  }
}

function trustFunction(trustProxy: AppDependencies['trustProxy']): (address: string, hop: number) => boolean {
  if (trustProxy === true) return () => true;
  if (trustProxy === false || trustProxy === undefined) return () => false;
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  return proxyAddr.compile(trustProxy);
}

export async function createApp({
  doors,
  database,
  liveSession,
  logger,
  maxBodyBytes = 1024 * 1024,
  corsOrigins = [],
  trustProxy,
  requestTimeoutMs = DEFAULT_CLIENT_TIMEOUTS.requestTimeoutMs,
  headersTimeoutMs = DEFAULT_CLIENT_TIMEOUTS.headersTimeoutMs,
  metrics,
  overload,
  tracing,
}: AppDependencies) {
  const trustedProxy = trustFunction(trustProxy);
  const requestLog = new RequestLog(metrics);
  const doorOf = doorFinder(doors);
  const shedding = { logger: logger as FastifyBaseLogger, onShed: metrics?.loadShed, doorOf };
  // The in-flight bound answers before Fastify does (src/platform/overload.ts): with the headers every answer carries.
  const admit = admission(overload?.maxInFlight ?? 0, {
    ...shedding,
    headers: (request) => ({ 'x-request-id': requestId(request), ...SECURITY_HEADERS }),
  });
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: requestLog,
    genReqId: requestId,
    // Every line of a request's log carries its trace id.
    ...(tracing && {
      childLoggerFactory: (parent, bindings, options, raw) => parent.child({ ...bindings, ...tracing.logFields(raw) }, options),
    }),
    bodyLimit: maxBodyBytes,
    trustProxy: trustProxy ? trustedProxy : false,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH, ignoreTrailingSlash: true },
    // Shutdown is src/platform/drain.ts's: it lets every accepted request finish and closes idle
    // keep-alive connections after a grace, before close() runs; Fastify must not answer 503 meanwhile.
    return503OnClosing: false,
    forceCloseConnections: false,
    clientErrorHandler: clientErrorAnswerer(logger, metrics, { requestTimeoutMs, headersTimeoutMs }),
    serverFactory: (handler) =>
      createServer(
        {
          requestTimeout: requestTimeoutMs,
          headersTimeout: headersTimeoutMs,
          // Node checks both timeouts on this interval (30 s by default, which would blur them).
          connectionsCheckingInterval: 1_000,
        },
        // The span covers the whole answer, a refusal for overload included; a trace is continued from trusted proxies only.
        tracing ? tracing.serve(admit(handler), (address) => trustedProxy(address, 0)) : admit(handler),
      ),
    // A path whose percent-encoding does not decode, or a parameter over the router's length: the
    // door that owns the path may answer it (REST's graph routes take any text as their slug);
    // anything else is not found.
    frameworkErrors: (error, request, reply) => {
      // Fastify runs neither hooks nor its request log for these: both are done here.
      reply.header('x-request-id', request.id).headers(SECURITY_HEADERS);
      reply.raw.once('finish', () => requestLog.requestCompleted(null, request, reply));
      if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
        const served = doorOf(pathOf(request.url))?.undecodable?.(request, reply) ?? false;
        if (served) return served.catch((failure: unknown) => answerError(failure, request, reply));
      }
      return sendJson(reply, detail(error.code === 'FST_ERR_BAD_URL' ? 404 : (error.statusCode ?? 400), 'Not Found'));
    },
  });

  if (tracing) {
    // Handlers run in their request's span (a body read on its own events would lose it); spans are named by route.
    app.addHook('onRoute', (route) => {
      const handler = route.handler;
      route.handler = function (this: FastifyInstance, request, reply) {
        return tracing.within(request.raw, () => handler.call(this, request, reply));
      };
    });
    app.addHook('onRequest', (request, _reply, done) => {
      tracing.routed(request.raw, request.is404 ? undefined : request.routeOptions.url);
      done();
    });
  }

  // What every answer carries (CORS preflights too: this hook is registered before @fastify/cors's).
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id).headers(SECURITY_HEADERS);
  });

  /**
   * The one place a failure no door answered itself is answered: the client's (4xx), the
   * database's (503) or ours (500). GraphQL results carry their own errors (src/doors/graphql/server.ts).
   */
  function answerError(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
    const status = (error as FastifyError).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      const code = (error as FastifyError).code;
      const message =
        code === 'FST_ERR_CTP_BODY_TOO_LARGE'
          ? `Request body larger than ${maxBodyBytes} bytes (MAX_BODY_BYTES)`
          : (error as Error).message;
      return sendJson(reply, detail(status, message));
    }
    const unavailable = isDatabaseUnavailable(error);
    const refused = poolRefusal(error);
    // The detail (SQL, driver messages, stack) goes to the log under the request id, never to the client.
    // A saturated pool is load shed (counted by reason in the metrics), not a fault: no stack.
    if (refused) request.log.debug({ reason: refused }, 'request shed: every pooled connection busy');
    else if (isDatabaseClosing(error)) request.log.debug('request ended by the shutdown: its client had left');
    else if (unavailable) request.log.warn({ err: error }, 'database unavailable');
    else request.log.error({ err: error }, 'request failed');
    if (reply.sent || reply.raw.headersSent) {
      reply.raw.destroy();
      return reply;
    }
    return unavailable
      ? sendJson(reply, detail(503, FAILURE_DETAIL.databaseUnavailable, { 'retry-after': String(RETRY_AFTER_SECONDS) }))
      : sendJson(reply, detail(500, FAILURE_DETAIL.internal));
  }
  app.setErrorHandler((error, request, reply) => answerError(error, request, reply));
  app.setNotFoundHandler((_request, reply) => sendJson(reply, detail(404, 'Not Found')));

  if (corsOrigins.length > 0) {
    await app.register(cors, {
      origin: corsOrigins[0] === '*' ? '*' : corsOrigins,
      methods: ['GET', 'POST', 'OPTIONS'],
      allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Apollo-Require-Preflight', 'If-None-Match'],
      exposedHeaders: ['X-Request-Id', 'Link', 'Retry-After', 'ETag'],
      maxAge: 600,
    });
  }
  // After the headers every answer carries (CORS's too, so browsers can read a 503), before any work.
  if (overload) await pressureShedding(app, overload, shedding);

  // Their bodies are declared in src/platform/answers.ts, where documents describe them from.
  getRoute(app, '/healthz', (_request, reply) => sendJson(reply, { status: 200, body: HEALTH_BODY }));
  getRoute(app, '/readyz', async (_request, reply) => {
    const { ready, primary, replica } = await database.readiness();
    // With a read replica, operators see which side is down; the status follows the side reads use.
    const sides: ReadinessSides = replica === undefined ? {} : { primary: primary ? 'up' : 'down', replica: replica ? 'up' : 'down' };
    if (!ready) return sendJson(reply, { status: 503, body: readinessBody.databaseUnavailable(sides) });
    // Live streams would get changes only by polling while the LISTEN session is down. It is on the
    // primary: while the primary is down (reads go on from a replica) nothing can change anyway.
    if (liveSession && !liveSession.listening && primary)
      return sendJson(reply, { status: 503, body: readinessBody.liveHistoryUnavailable(sides) });
    return sendJson(reply, { status: 200, body: readinessBody.ready(sides) });
  });
  for (const door of doors) await app.register(door.plugin, { trustedProxy });
  await app.ready();
  return app;
}
