// GraphQL subscriptions on /graphql, in the two protocols gateways speak to subgraphs: GraphQL over
// SSE (graphql-sse, distinct connections: GET or POST with Accept: text/event-stream; Hive
// Gateway's default) and graphql-ws over WebSocket (Apollo Router, Cosmo, Grafbase). Both libraries
// run the same preparation here: the query size and nesting, parse, validation with this service's
// limits, one subscription operation only (queries and mutations are Apollo Server's, on POST
// /graphql), the context with its live streams; and every result leaves through the same error
// mapping as Apollo's answers (src/domain's refusals in GraphQL's codes, internal errors masked).
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  getOperationAST,
  GraphQLError,
  parse,
  specifiedRules,
  subscribe,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type GraphQLSchema,
} from 'graphql';
import { createHandler } from 'graphql-sse/lib/use/fastify';
import { makeHandler } from 'graphql-ws/use/@fastify/websocket';
import type { Context, CreateContext, RequestLogger } from '../../domain/context.js';
import { StreamLimitError, type ChangeFeed } from '../../domain/feed.js';
import { openRunStream, type LiveSettings } from '../../domain/live.js';
import type { Logger } from '../../observability/logger.js';
import { RETRY_AFTER_SECONDS } from '../../database/errors.js';
import { SERVICE_UNAVAILABLE } from './errors.js';
import { doorResult } from './executor.js';
import { checkNesting, checkQuerySize, limitValidationRules, type GraphQLLimits } from './limits.js';
import { formatError } from './server.js';

export interface SubscriptionOptions {
  schema: GraphQLSchema;
  limits: GraphQLLimits;
  createContext: CreateContext;
  /** Absent: no LISTEN session; a subscription is answered SERVICE_UNAVAILABLE. */
  feed: ChangeFeed | undefined;
  settings: LiveSettings;
  /** WebSocket connections per instance (LIVE_MAX_STREAMS): beyond, a new one is closed at once with 1013. */
  maxConnections: number;
  logger: Logger;
}

interface Params {
  query?: unknown;
  variables?: unknown;
  operationName?: unknown;
}

const refusal = (message: string, code: string) => new GraphQLError(message, { extensions: { code } });

/** `error` with `code` as its extensions.code, unless it has one. */
const withCode = (error: GraphQLError, code: string) =>
  error.extensions.code
    ? error
    : new GraphQLError(error.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        extensions: { ...error.extensions, code },
      });

export function subscriptionTransports({ schema, limits, createContext, feed, settings, maxConnections, logger }: SubscriptionOptions) {
  const rules = [...specifiedRules, ...limitValidationRules(limits)];

  /** The context of one subscription, with its live streams (re-checks authenticate the same credentials again). */
  async function liveContext(authorization: string | undefined, requestLogger: RequestLogger): Promise<Context> {
    const credentials = { authorization, logger: requestLogger };
    const context = await createContext(credentials);
    context.live = {
      open: (request) => {
        if (!feed)
          throw refusal('Live history unavailable: the service has no LISTEN session (DATABASE_LISTEN_URL)', 'SERVICE_UNAVAILABLE');
        return openRunStream(feed, context, request, { reopen: () => createContext(credentials), settings, logger }).catch(
          (error: unknown) => {
            if (error instanceof StreamLimitError) {
              throw refusal(`Too many open streams on this instance (${error.limit}): try again shortly`, SERVICE_UNAVAILABLE);
            }
            throw error;
          },
        );
      },
      refresh: async () => {
        context.loaders = (await createContext(credentials)).loaders;
      },
    };
    return context;
  }

  /** Execution arguments for a subscription request, or the errors that refuse it before it runs. */
  function prepare({ query, variables, operationName }: Params, contextValue: Context): ExecutionArgs | readonly GraphQLError[] {
    if (typeof query !== 'string' || query === '') return [refusal('Send the subscription as `query`, a string', 'BAD_REQUEST')];
    const tooLarge = checkQuerySize(query, limits.maxQueryBytes);
    if (tooLarge) return [refusal(tooLarge.message, String(tooLarge.extensions.code))];
    const tooDeep = checkNesting(query);
    if (tooDeep) return [tooDeep];
    let document: DocumentNode;
    try {
      document = parse(query);
    } catch (error) {
      return [withCode(error instanceof GraphQLError ? error : refusal('The document does not parse', ''), 'GRAPHQL_PARSE_FAILED')];
    }
    // With the codes Apollo gives the same mistakes in a query (the limits' rules bring their own).
    const invalid = validate(schema, document, rules);
    if (invalid.length > 0) return invalid.map((error) => withCode(error, 'GRAPHQL_VALIDATION_FAILED'));
    const name = typeof operationName === 'string' && operationName !== '' ? operationName : undefined;
    const operation = getOperationAST(document, name);
    if (!operation) return [refusal('No operation to run: name one in operationName', 'OPERATION_RESOLUTION_FAILURE')];
    if (operation.operation !== 'subscription') {
      return [refusal(`A ${operation.operation} is not served over this transport: POST it to /graphql`, 'BAD_REQUEST')];
    }
    const variableValues = variables && typeof variables === 'object' ? (variables as Record<string, unknown>) : undefined;
    return { schema, document, operationName: name, variableValues, contextValue };
  }

  /** A result as clients see it: the door's codes (doorResult), then Apollo's formatting rules (formatError). */
  function format(result: ExecutionResult, context: Context | undefined): ExecutionResult {
    const mapped = doorResult(result);
    if (!mapped.errors) return mapped;
    for (const error of mapped.errors) {
      if (!error.extensions?.code || error.extensions.code === 'INTERNAL_SERVER_ERROR') {
        (context?.logger ?? logger).error({ err: error.originalError ?? error, path: error.path }, 'GraphQL subscription failed');
      }
    }
    return { ...mapped, errors: mapped.errors.map((error) => formatError(error.toJSON(), error) as GraphQLError) };
  }

  /**
   * A subscription refused for now (too many streams, the database out of reach): its client is
   * told to come back rather than given a final error, in each protocol's own way.
   */
  function mustRetry(result: ExecutionResult | AsyncIterable<unknown>): boolean {
    if (Symbol.asyncIterator in result) return false;
    const { errors } = doorResult(result);
    return errors?.some((error) => formatError(error.toJSON(), error).extensions?.code === SERVICE_UNAVAILABLE) ?? false;
  }

  // Each request's context, for graphql-sse to hand to onNext with the result onSubscribe returns
  // (the request's logger, with its id): kept while the request is, no longer.
  const contexts = new WeakMap<object, Context>();
  const sse = createHandler<Context & Record<PropertyKey, unknown>>({
    schema,
    context: (request) => contexts.get(request.raw as object) as Context & Record<PropertyKey, unknown>,
    // Distinct connections only: one stream per request, nothing reserved between requests.
    authenticate: () => null,
    onSubscribe: async (request, params) => {
      const raw = request.raw as FastifyRequest;
      const context = await liveContext(raw.headers.authorization, raw.log);
      contexts.set(raw, context);
      const prepared = prepare(params as Params, context);
      // Refused before it runs: 400 with the errors, as graphql-sse answers a request it cannot run.
      if (Array.isArray(prepared)) {
        const body = JSON.stringify({ errors: (prepared as readonly GraphQLError[]).map((error) => error.toJSON()) });
        return [body, { status: 400, statusText: 'Bad Request', headers: { 'content-type': 'application/json; charset=utf-8' } }];
      }
      const result = await subscribe(prepared as ExecutionArgs);
      // A refusal graphql-sse sends as it would have (`next` with the errors, then `complete`): as a
      // one-result stream, since it takes only a result that has `data` for one.
      if (!mustRetry(result))
        return (
          Symbol.asyncIterator in result
            ? result
            : (async function* () {
                yield result;
              })()
        ) as never;
      // graphql-sse's client retries a connection answered with anything but 200 (NetworkError), and
      // takes a 200 stream's error as final: refused for now, it is a 503.
      const body = JSON.stringify(format(result as ExecutionResult, context));
      return [
        body,
        {
          status: 503,
          statusText: 'Service Unavailable',
          headers: { 'content-type': 'application/json; charset=utf-8', 'retry-after': String(RETRY_AFTER_SECONDS) },
        },
      ];
    },
    onNext: (context, _request, result) => format(result as ExecutionResult, context),
  });

  const ws = makeHandler<Record<string, unknown> | undefined>({
    schema,
    // The token: connection_init's Authorization (as routers send it), else the upgrade request's header.
    onSubscribe: async (ctx, _id, payload) => {
      const fromInit = ctx.connectionParams?.Authorization ?? ctx.connectionParams?.authorization;
      const authorization = typeof fromInit === 'string' ? fromInit : ctx.extra.request.headers.authorization;
      const context = await liveContext(authorization, ctx.extra.request.log);
      const prepared = prepare(payload, context);
      // Refused before it runs: graphql-ws sends these as the operation's `error` message.
      return prepared as ExecutionArgs | readonly GraphQLError[];
    },
    subscribe: (args) => subscribe(args),
    // graphql-ws's client takes an operation's error as final but reconnects (and subscribes again)
    // after close code 1013, Try Again Later: refused for now, the connection is closed with it.
    onOperation: (ctx, _id, _payload, _args, result) => {
      if (mustRetry(result as ExecutionResult | AsyncIterable<unknown>))
        ctx.extra.socket.close(1013, 'Too many open streams, or the database is unavailable: try again shortly');
    },
    onNext: (_ctx, _id, _payload, args, result) => format(result as ExecutionResult, args.contextValue as Context),
  });

  // An initialised connection holding no subscription counts against no stream: connections have a bound of their own.
  let connections = 0;
  const bounded: typeof ws = function (this: ThisParameterType<typeof ws>, socket, request) {
    if (connections >= maxConnections) {
      socket.close(1013, 'Too many connections on this instance: try again shortly');
      return;
    }
    connections += 1;
    socket.once('close', () => (connections -= 1));
    return ws.call(this, socket, request);
  };

  return {
    /** GET or POST /graphql asking for text/event-stream. */
    serveSse: (request: FastifyRequest, reply: FastifyReply) => sse(request, reply),
    /** The WebSocket route's handler (@fastify/websocket), at most `maxConnections` at once. */
    ws: bounded,
  };
}
