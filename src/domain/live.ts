// Opening a live stream of runs, for every door (the REST event stream; GraphQL's subscription):
// who may follow what, the status filter, the resume cursor, and the access re-check while it is
// open. Refusals are src/domain/errors.ts's (and the feed's StreamLimitError), which each door maps.
import type { Logger } from '../observability/logger.js';
import { readable, requireSuperuser, requireUser } from './access.js';
import type { Context, RunStreamRequest } from './context.js';
import { AccessDeniedError, InvalidArgumentError, NotFoundError, ResumeExpiredError } from './errors.js';
import type { ChangeFeed, RunStream } from './feed.js';
import { filterOf } from './history.js';

export interface LiveSettings {
  /** Access is checked again this often while a stream is open (at most 60 s). */
  recheckMs: number;
  retentionMs: number;
}

const FEED_CURSOR = /^[1-9][0-9]{0,18}$/;
const MAX_TIMER_MS = 2_147_483_647;

/** Whether `text` has a feed cursor's form: a position (a positive bigint), as its decimal text. */
export function isFeedCursor(text: string): boolean {
  return FEED_CURSOR.test(text) && BigInt(text) <= 9_223_372_036_854_775_807n;
}

/** A feed cursor's position; an InvalidArgumentError naming `argument` for anything else. */
export function parseFeedCursor(text: string, argument = 'after'): bigint {
  if (!isFeedCursor(text)) {
    throw new InvalidArgumentError(
      argument,
      `${JSON.stringify(text.slice(0, 40))} is not a cursor of this feed: send the cursor (the id) of an event received`,
    );
  }
  return BigInt(text);
}

/**
 * Checks the request in the order the list routes do (authenticated, then the arguments, then the
 * graph), then the cursor against the change history kept, and registers the stream. While it is
 * open, `reopen` (a fresh context for the same credentials) is used every `recheckMs` to check
 * access again: a removed member's or a deleted graph's stream ends, and so does every stream when
 * its token expires.
 */
export async function openRunStream(
  feed: ChangeFeed,
  context: Context,
  request: RunStreamRequest,
  { reopen, settings, logger }: { reopen: () => Promise<Context>; settings: LiveSettings; logger: Logger },
): Promise<RunStream> {
  const user = request.slug === null ? requireSuperuser(context.viewer) : requireUser(context.viewer);
  const statuses = request.statuses == null ? undefined : filterOf({ status: request.statuses }).statuses;
  const after = request.after == null ? undefined : parseFeedCursor(request.after);
  let graphId: string | null = null;
  if (request.slug !== null) {
    // Coalesced with the other streams opening now (ChangeFeed.graph), not the request's loaders.
    const graph = await feed.graph(user.id, { slug: request.slug });
    if (!readable(user, graph, graph)) throw new NotFoundError('graph');
    graphId = graph!.id;
  }
  if (after !== undefined) {
    const { head, prunedThrough } = await feed.bounds();
    if (after < prunedThrough) throw new ResumeExpiredError(settings.retentionMs);
    if (after > head)
      throw new InvalidArgumentError('after', `${after} is past the last event of this feed: send the id of an event received`);
  }
  const stream = feed.open({ graphId, statuses, after });

  const recheck = setInterval(() => {
    reopen()
      .then(async (fresh) => {
        if (graphId === null) {
          requireSuperuser(fresh.viewer);
          return;
        }
        const viewer = requireUser(fresh.viewer);
        // The streams opened together re-check together: one statement for all of them, as they opened.
        if (!readable(viewer, await feed.graph(viewer.id, { id: graphId }), true)) stream.finish({ reason: 'graph_gone' });
      })
      .catch((error: unknown) => {
        if (error instanceof AccessDeniedError) {
          stream.finish({ reason: 'access', denial: error.denial === 'anonymous' ? 'invalid_token' : error.denial });
        } else {
          // The database is down for a moment: the stream stays, and the next check decides.
          logger.warn({ err: error }, "checking a live stream's access again failed; keeping it until the next check");
        }
      });
  }, settings.recheckMs);
  recheck.unref();
  // Beyond a timer's range (about 24 days) the re-check's authentication sees the expiry instead.
  const untilExpiry = user.expiresAt === undefined ? undefined : Math.max(0, user.expiresAt - Date.now());
  const expiry =
    untilExpiry === undefined || untilExpiry > MAX_TIMER_MS
      ? undefined
      : setTimeout(() => stream.finish({ reason: 'access', denial: 'invalid_token' }), untilExpiry);
  expiry?.unref();
  stream.onEnd.push(() => {
    clearInterval(recheck);
    clearTimeout(expiry);
  });
  return stream;
}
