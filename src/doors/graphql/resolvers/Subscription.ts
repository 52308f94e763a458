// Subscription.migrationRunEvents: the live history (src/domain/live.ts) as GraphQL events. A stream
// that ends for a reason of its own (the reader fell behind, the history was truncated, access went,
// the instance stops) ends the subscription with one last event carrying that error, so the client
// knows why and where to resume; it is then completed.
import { GraphQLError } from 'graphql';
import type { Context } from '../../../domain/context.js';
import { cursorOf, type RunStream, type StreamEnd } from '../../../domain/feed.js';
import type { RunEvent } from '../../../queries/runChanges.js';
import type { MigrationRunEventResolvers, SubscriptionResolvers } from '../__generated__/resolvers-types.js';

const END = Symbol('stream end');
type Ended = { [END]: StreamEnd; lastCursor: string | null };

function endError(end: StreamEnd, lastCursor: string | null): GraphQLError {
  const resume = lastCursor === null ? 'subscribe again without `after`' : `subscribe again with after: ${JSON.stringify(lastCursor)}`;
  switch (end.reason) {
    case 'overflow':
      return new GraphQLError(`The subscription fell behind (too many events unread): ${resume}`, {
        extensions: { code: 'STREAM_OVERFLOW', lastCursor },
      });
    case 'reset':
      return new GraphQLError(`The history was emptied (the runs were truncated): read it again, then ${resume}`, {
        extensions: { code: 'HISTORY_RESET', lastCursor },
      });
    case 'access':
      return end.denial === 'not_member'
        ? new GraphQLError('Not a member of this graph', { extensions: { code: 'FORBIDDEN' } })
        : new GraphQLError('Invalid or expired token: subscribe again with a valid bearer token', {
            extensions: { code: 'UNAUTHENTICATED', lastCursor },
          });
    case 'graph_gone':
      return new GraphQLError('The graph was deleted', { extensions: { code: 'NOT_FOUND' } });
    default:
      return new GraphQLError(`The instance is shutting down: ${resume}`, { extensions: { code: 'SERVICE_UNAVAILABLE', lastCursor } });
  }
}

/**
 * The stream's events. When the transport stops reading (graphql-sse's client went away, graphql-ws's
 * `complete`), it calls `return()`: a generator waiting for the next change would only take that at
 * its next `yield`, so the stream stayed open until another change came. Closing it first ends the wait.
 */
function events(stream: RunStream, context: Context): AsyncGenerator<RunEvent | Ended> {
  const generator = read(stream, context);
  const close = generator.return.bind(generator);
  generator.return = (value) => {
    stream.close();
    return close(value);
  };
  return generator;
}

async function* read(stream: RunStream, context: Context): AsyncGenerator<RunEvent | Ended> {
  try {
    for await (const change of stream) {
      await context.live!.refresh();
      yield change;
    }
    const end = stream.end;
    if (end && end.reason !== 'closed') yield { [END]: end, lastCursor: stream.lastCursor };
  } finally {
    stream.close();
  }
}

export const Subscription: SubscriptionResolvers = {
  migrationRunEvents: {
    subscribe: async (_parent, { slug, status, after }, context) => {
      if (!context.live) {
        throw new GraphQLError(
          'Subscriptions are served over GraphQL over SSE (Accept: text/event-stream) and graphql-ws (WebSocket) on /graphql',
          { extensions: { code: 'BAD_REQUEST' } },
        );
      }
      const stream = await context.live.open({ slug: slug ?? null, statuses: status, after });
      return events(stream, context) as never;
    },
    resolve: (payload: RunEvent | Ended) => {
      if (END in payload) throw endError(payload[END], payload.lastCursor);
      return payload;
    },
  },
};

export const MigrationRunEvent: MigrationRunEventResolvers = {
  cursor: (change) => cursorOf(change),
  kind: (change) => change.kind,
  run: (change) => change.run,
};
