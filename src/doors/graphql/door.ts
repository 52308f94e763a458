// The GraphQL door, one encapsulated plugin (src/platform/door.ts): POST and GET /graphql through Apollo Server (@as-integrations/fastify), after the checks that need
// no parsing: malformed JSON, a batch, a query over GRAPHQL_MAX_QUERY_BYTES or nested too deeply
// to parse on any engine (src/doors/graphql/limits.ts, checkNesting); a repeated compiled
// query without Apollo's pipeline (src/doors/graphql/compiledRequests.ts). Browsers asking for HTML get
// the playground instead, when it is on. Subscriptions: GraphQL over SSE on the same path, and
// graphql-ws on its WebSocket upgrade.
import { fastifyApolloHandler } from '@as-integrations/fastify';
import websocket from '@fastify/websocket';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CreateContext } from '../../domain/context.js';
import type { Door } from '../../platform/door.js';
import { overloadedJson } from '../../platform/overload.js';
import { acceptsEventStream, sendJson } from '../../platform/reply.js';
import type { Tracing } from '../../observability/tracing.js';
import { serviceOverloaded } from './errors.js';
import { checkNesting, checkQuerySize } from './limits.js';
import { PLAYGROUND_CSP, type Playground } from './playground.js';
import type { GraphQLServer } from './server.js';
import type { subscriptionTransports } from './subscriptions.js';

type SubscriptionTransports = ReturnType<typeof subscriptionTransports>;

export interface GraphQLRouteOptions {
  graphql: GraphQLServer;
  createContext: CreateContext;
  maxQueryBytes: number;
  playground?: Playground;
  /** GraphQL over SSE and graphql-ws for subscriptions (src/doors/graphql/subscriptions.ts). */
  subscriptions: SubscriptionTransports;
  /** A span for each operation (src/observability/tracing.ts); absent: none. */
  tracing?: Tracing;
}

// application/json and its +json relatives, as Apollo Server recognises them.
const JSON_CONTENT_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;
const MALFORMED_JSON = Symbol('malformed JSON');

function graphqlError(reply: FastifyReply, status: number, message: string, extensions: Record<string, unknown>): FastifyReply {
  return sendJson(reply, { status, body: { errors: [{ message, extensions }] } });
}

const GRAPHQL_PATH = '/graphql';
const PLAYGROUND_PREFIX = '/playground/';
const REFUSAL = overloadedJson({ errors: [serviceOverloaded().toJSON()] });

export interface GraphQLDoor extends Door {
  /** Closes every graphql-ws connection with 1001 (going away) and the reason, for the shutdown. */
  goingAway(reason: string): void;
}

export function graphqlDoor(options: GraphQLRouteOptions): GraphQLDoor {
  let sockets: FastifyInstance['websocketServer'] | undefined;
  return {
    name: 'graphql',
    owns: (path) => path === GRAPHQL_PATH || path.startsWith(PLAYGROUND_PREFIX),
    // A subscription over SSE (graphql-sse's client asks for text/event-stream).
    opensStream: (path, headers) => path === GRAPHQL_PATH && acceptsEventStream(headers.accept),
    overloaded: () => REFUSAL,
    plugin: async (app) => {
      // Its own, so the shutdown reaches this door's WebSocket connections (goingAway).
      await app.register(websocket, { options: { maxPayload: options.maxQueryBytes * 2 } });
      sockets = app.websocketServer;
      await graphqlRoutes(app, options);
    },
    goingAway(reason) {
      for (const socket of sockets?.clients ?? []) socket.close(1001, reason);
    },
  };
}

/** The routes, in the door's plugin: its content-type parsers apply to /graphql only. */
async function graphqlRoutes(
  app: FastifyInstance,
  { graphql, createContext, maxQueryBytes, playground, subscriptions, tracing }: GraphQLRouteOptions,
) {
  // Apollo Server judges the body itself (its CSRF prevention refuses text/plain, for one), so every
  // content type reaches it; JSON is parsed here so a syntax error gets a GraphQL-shaped answer.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(JSON_CONTENT_TYPE, { parseAs: 'string' }, (_request, text, done) => {
    try {
      done(null, JSON.parse(text as string));
    } catch {
      done(null, MALFORMED_JSON);
    }
  });
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, text, done) => done(null, text));

  const contextOf = (request: FastifyRequest) => createContext({ authorization: request.headers.authorization, logger: request.log });
  const apollo = fastifyApolloHandler(graphql.apollo, { context: contextOf });

  async function handler(request: FastifyRequest, reply: FastifyReply) {
    if (playground && request.method === 'GET' && wantsPlayground(request)) {
      return reply
        .code(200)
        .headers({ 'content-type': 'text/html; charset=utf-8', 'content-security-policy': PLAYGROUND_CSP, 'cache-control': 'no-cache' })
        .send(playground.page);
    }
    // Apollo's integration builds a URL from the host (X-Forwarded-Host from a trusted proxy): one
    // that is not a host name would fail there as a 500. RFC 9112 §3.2 makes it a 400.
    if (!URL.canParse(`http://${request.host}/`)) {
      const header = request.host === request.headers.host ? 'Host' : 'X-Forwarded-Host';
      return graphqlError(reply, 400, `Invalid ${header} header`, { code: 'BAD_REQUEST' });
    }
    // A subscription over GraphQL over SSE: graphql-sse writes the stream itself.
    if (
      (request.method === 'GET' || request.method === 'POST') &&
      acceptsEventStream(request.headers.accept) &&
      request.body !== MALFORMED_JSON
    ) {
      reply.hijack();
      return subscriptions.serveSse(request, reply).catch((error: unknown) => {
        request.log.error({ err: error }, 'GraphQL over SSE failed');
        if (!reply.raw.headersSent)
          reply.raw
            .writeHead(500, { 'content-type': 'application/json' })
            .end('{"errors":[{"message":"Internal server error","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}');
        else reply.raw.end();
      });
    }
    const body = request.body;
    if (body === MALFORMED_JSON) return graphqlError(reply, 400, 'Malformed JSON in the request body', { code: 'BAD_REQUEST' });
    // Apollo Server would answer an array too ("Operation batching disabled."); said plainly here.
    if (Array.isArray(body)) {
      return graphqlError(reply, 400, 'Batched operations (a JSON array body) are not supported: send one operation per request', {
        code: 'BAD_REQUEST',
      });
    }
    const query =
      request.method === 'POST' ? (body as { query?: unknown } | undefined)?.query : (request.query as { query?: unknown }).query;
    const tooLarge = typeof query === 'string' ? checkQuerySize(query, maxQueryBytes) : undefined;
    if (tooLarge) {
      const { http: _http, ...extensions } = tooLarge.extensions;
      return graphqlError(reply, 413, tooLarge.message, extensions);
    }
    const execute = async () => {
      // A repeated query, compiled: answered without Apollo's pipeline when nothing needs it (src/doors/graphql/compiledRequests.ts).
      if (request.method === 'POST') {
        const compiled = await graphql.answerCompiled({
          body,
          accept: request.headers.accept,
          wantsTrace: request.headers['apollo-federation-include-trace'] !== undefined,
          createContext: () => contextOf(request),
        });
        if (compiled) return reply.code(200).header('content-type', compiled.contentType).send(compiled.body);
      }
      // Before Apollo parses it (a compiled query passed here the first time): graphql-js parses and
      // validates recursively, and how deep it gets before the stack runs out is the engine's to say.
      const tooDeep = typeof query === 'string' ? checkNesting(query) : undefined;
      if (tooDeep) return graphqlError(reply, 400, tooDeep.message, tooDeep.extensions);
      return apollo.call(app, request as Parameters<typeof apollo>[0], reply as Parameters<typeof apollo>[1]);
    };
    return tracing ? tracing.operation(execute) : execute();
  }
  // Apollo Server answers other methods itself (405 with Allow: GET, POST). A WebSocket upgrade of
  // GET /graphql speaks graphql-ws (@fastify/websocket, registered in this door's plugin).
  app.route({ method: 'GET', url: GRAPHQL_PATH, handler, wsHandler: subscriptions.ws });
  app.route({ method: ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'], url: GRAPHQL_PATH, handler });

  if (playground) {
    for (const [path, asset] of playground.assets) {
      app.get(path, (_request, reply) =>
        reply
          .code(200)
          .headers({ 'content-type': asset.contentType, 'content-security-policy': PLAYGROUND_CSP, 'cache-control': 'no-cache' })
          .send(asset.body),
      );
    }
  }
}

/** A browser navigating to /graphql (HTML first in Accept, no operation in the URL) gets the IDE. */
function wantsPlayground(request: FastifyRequest): boolean {
  return (request.query as { query?: unknown }).query === undefined && /^\s*text\/html\b/i.test(request.headers.accept ?? '');
}
