// GET /api/v1/graphs/{slug}/migrations/stream and GET /api/v1/migrations/stream: the history as
// it is recorded, as Server-Sent Events (docs/contract.md#live-history). Before the stream opens,
// every refusal is the list route's JSON answer; once open, each change is
// `id: <cursor>` / `event: run` / `data: <the list route's item>` (`event: run_deleted` with the item
// as it was, for a deleted run), a comment line keeps idle proxies from closing it, and its end is
// an `end` event that says why and where to resume (`reset` when the history was truncated).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../../domain/context.js';
import { AccessDeniedError, InvalidArgumentError, NotFoundError, ResumeExpiredError } from '../../domain/errors.js';
import { cursorOf, StreamLimitError, type ChangeFeed, type RunStream, type StreamEnd } from '../../domain/feed.js';
import { openRunStream, type LiveSettings } from '../../domain/live.js';
import { isDatabaseUnavailable } from '../../database/errors.js';
import { acceptsEventStream, detail, sendJson, whenClosed, writable, type JsonAnswer } from '../../platform/reply.js';
import type { Logger } from '../../observability/logger.js';
import type { RouteValues, STREAM_ALL_MIGRATIONS } from './routes.js';
import { ERROR_DETAIL, restItem } from './wire.js';

export interface StreamSettings extends LiveSettings {
  /** A comment line this often while nothing else is sent (at most 15 s). */
  heartbeatMs: number;
}

export interface StreamRoute {
  /** Absent: no LISTEN session is configured (a transaction pooler without DATABASE_LISTEN_URL). */
  feed: ChangeFeed | undefined;
  settings: StreamSettings;
  logger: Logger;
}

const UNAVAILABLE = detail(
  503,
  'Live history unavailable: the service has no LISTEN session (set DATABASE_LISTEN_URL to a direct connection)',
  {
    'Retry-After': '60',
  },
);

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

function endEvent(end: StreamEnd, lastCursor: string | null): string {
  const resume = lastCursor === null ? 'reconnect without Last-Event-ID' : `reconnect with Last-Event-ID: ${lastCursor}`;
  const details: Record<StreamEnd['reason'], string> = {
    overflow: `The stream fell behind (too many events unread): ${resume} to get what followed`,
    reset: `The history was emptied (the runs were truncated): reload the list route, then ${resume} to get what followed`,
    access: end.reason === 'access' && end.denial === 'not_member' ? ERROR_DETAIL.notMember : ERROR_DETAIL.invalidToken,
    graph_gone: ERROR_DETAIL.graphNotFound,
    shutdown: `The instance is shutting down: ${resume}`,
    closed: 'Closed',
  };
  // A reset's cursor was no event's id: given as this one's, a browser's EventSource reconnecting by itself resumes after it.
  const id = end.reason === 'reset' ? `id: ${lastCursor}\n` : '';
  return `${id}event: end\ndata: ${JSON.stringify({ reason: end.reason, detail: details[end.reason], last_event_id: lastCursor })}\n\n`;
}

/** The refusal of a stream that cannot open, as its list route would answer it; undefined for what is not the client's. */
function refusal(error: unknown, allGraphs: boolean, retentionMs: number, lastEventId: string | undefined): JsonAnswer | undefined {
  if (error instanceof AccessDeniedError) {
    if (error.denial === 'superusers_only') return detail(403, ERROR_DETAIL.notSuperuser);
    if (error.denial === 'not_member') return detail(403, ERROR_DETAIL.notMember);
    return detail(401, error.denial === 'invalid_token' ? ERROR_DETAIL.invalidToken : ERROR_DETAIL.notAuthenticated, {
      'WWW-Authenticate': 'Bearer',
    });
  }
  if (error instanceof NotFoundError) return detail(404, ERROR_DETAIL.graphNotFound);
  // The header's form was checked before (streamQuery): what is left is a position this feed never gave.
  if (error instanceof InvalidArgumentError && error.argument === 'after') {
    return {
      status: 422,
      body: {
        detail: [
          {
            type: 'value_error',
            loc: ['header', 'last-event-id'],
            msg: `Value error, ${error.reason}`,
            input: lastEventId,
            ctx: { error: {} },
          },
        ],
      },
    };
  }
  if (error instanceof ResumeExpiredError) {
    const hours = Math.round(retentionMs / 3_600_000);
    return detail(
      410,
      `Last-Event-ID is older than the change history kept (${hours} h): reconnect without it, and read what is older from ` +
        (allGraphs ? 'GET /api/v1/migrations' : 'the list route'),
    );
  }
  if (error instanceof StreamLimitError) {
    return detail(503, `Too many open streams on this instance (${error.limit}): try again shortly`, { 'Retry-After': '5' });
  }
  return undefined;
}

/**
 * Opens the stream for `slug` (null: every graph's), its parameters validated, and writes it until
 * it ends or the client goes. `reopen` makes a fresh context for the same credentials, for the
 * access re-checks.
 */
export async function serveStream(
  request: FastifyRequest,
  reply: FastifyReply,
  slug: string | null,
  { status, lastEventId }: RouteValues<typeof STREAM_ALL_MIGRATIONS>,
  context: Context,
  reopen: () => Promise<Context>,
  { feed, settings, logger }: StreamRoute,
): Promise<FastifyReply | undefined> {
  if (!feed) return sendJson(reply, UNAVAILABLE);
  let stream: RunStream;
  try {
    stream = await openRunStream(feed, context, { slug, statuses: status, after: lastEventId }, { reopen, settings, logger });
  } catch (error) {
    // Too many streams, or the database out of reach for a moment: an EventSource is told to come
    // back (a 503 would close it for good), anyone else gets the list route's 503 and Retry-After.
    const busy = error instanceof StreamLimitError;
    if ((busy || isDatabaseUnavailable(error)) && acceptsEventStream(request.headers.accept)) {
      if (!busy) logger.debug({ err: error }, 'a live history stream could not open: the database is unavailable; told to retry');
      const { headers, body } = retryLaterEvents(
        busy ? 'busy' : 'unavailable',
        busy ? `Too many open streams on this instance (${(error as StreamLimitError).limit})` : 'Database unavailable',
        lastEventId ?? null,
      );
      return reply.code(200).headers(headers).send(body);
    }
    const answer = refusal(error, slug === null, settings.retentionMs, lastEventId);
    if (answer) return sendJson(reply, answer);
    throw error;
  }
  // HEAD gets what GET would start with, and no stream.
  if (request.method === 'HEAD') {
    stream.close();
    return reply.code(200).headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-store' }).send();
  }
  reply.hijack();
  const response = reply.raw;
  response.writeHead(200, {
    ...(reply.getHeaders() as Record<string, string>),
    'content-type': 'text/event-stream',
    'cache-control': 'no-store',
    // nginx and similar proxies buffer responses unless told not to.
    'x-accel-buffering': 'no',
  });
  let written = Date.now();
  // One wait for 'drain' at a time: a heartbeat does not write while the socket has not taken the last write.
  let draining: Promise<void> | undefined;
  const write = async (text: string) => {
    written = Date.now();
    if (!response.write(text)) await (draining ??= writable(response).finally(() => (draining = undefined)));
  };
  const heartbeat = setInterval(() => {
    if (!draining && Date.now() - written >= settings.heartbeatMs - 50) void write(': keep-alive\n\n');
  }, settings.heartbeatMs / 3);
  // The client may have gone while the stream was opening (a storm's wait on the database): then it ends here.
  whenClosed(response, () => stream.close());
  try {
    await write(`: live history of ${slug === null ? 'every graph' : `graph ${slug}`}\n\n`);
    for await (const change of stream) {
      if (response.destroyed) break;
      const event = change.kind === 'DELETED' ? 'run_deleted' : 'run';
      await write(`id: ${cursorOf(change)}\nevent: ${event}\ndata: ${JSON.stringify(restItem(change.run))}\n\n`);
    }
    const end = stream.end;
    if (end && end.reason !== 'closed' && !response.destroyed) response.write(endEvent(end, stream.lastCursor));
  } catch (error) {
    logger.error({ err: error }, 'a live history stream failed');
  } finally {
    clearInterval(heartbeat);
    stream.close();
    response.end();
  }
  return undefined;
}
