// The subgraph schema and its Apollo Server; no listening here (src/platform/app.ts serves it, tests import it).
import type { GraphQLSchema } from 'graphql';
import { readFileSync } from 'node:fs';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { unwrapResolverError } from '@apollo/server/errors';
import { getOperationAST, GraphQLError, Kind, parse, type GraphQLFormattedError } from 'graphql';
import { HISTORY_LIMIT } from '../../queries/migrationRuns.js';
import { isDatabaseClosing, isDatabaseUnavailable, poolRefusal, RETRY_AFTER_SECONDS } from '../../database/errors.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Context } from '../../domain/context.js';
import {
  CLIENT_ERROR_CODES,
  databaseUnavailable,
  documentTooDeep,
  INTROSPECTION_DISABLED,
  introspectionDisabledMessage,
  SERVICE_UNAVAILABLE,
  unresolvedOperation,
} from './errors.js';
import { compiledRequests, type AnswerCompiled } from './compiledRequests.js';
import { costEstimator, costLimitPlugin, limitValidationRules, MAX_NESTING, OperationLimitError, type GraphQLLimits } from './limits.js';
import { jitExecution } from './executor.js';
import { createOperationCache } from './operationCache.js';
import { resolvers } from './resolvers/index.js';
import type { Tracing } from '../../observability/tracing.js';

export const SCHEMA_FILE = new URL('../../../schema.graphql', import.meta.url);

export function createSubgraphSchema() {
  return buildSubgraphSchema({ typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')), resolvers: resolvers as never });
}

/** Logs every error that is not the client's fault, with the request's logger (request id). */
const logInternalErrors: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ errors, contextValue }) {
        for (const error of errors) {
          const refused = poolRefusal(error);
          // A saturated pool is load shed (counted by reason in the metrics), not a fault: no stack.
          if (refused) contextValue.logger.debug({ reason: refused, path: error.path }, 'request shed: every pooled connection busy');
          else if (isDatabaseClosing(error)) contextValue.logger.debug('request ended by the shutdown: its client had left');
          else if (isDatabaseUnavailable(error)) {
            contextValue.logger.warn({ err: error.originalError ?? error, path: error.path }, 'database unavailable');
          } else if (!CLIENT_ERROR_CODES.has(String(error.extensions?.code))) {
            contextValue.logger.error({ err: error.originalError ?? error, path: error.path }, 'GraphQL execution failed');
          }
        }
      },
    };
  },
};

/**
 * An operationName that names no operation of the document (or none given for a document of several)
 * is the client's error. Apollo Server finds no operation, but with a gateway executor (ours, for
 * graphql-jit) it executes anyway and expects the executor to report the failure, which it cannot:
 * it is handed no operation name. Refused here, before execution, as Apollo does without a gateway.
 */
const operationResolution: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ operation, document, request }) {
        if (operation) return;
        throw unresolvedOperation(
          request.operationName,
          document.definitions.flatMap((definition) =>
            definition.kind === Kind.OPERATION_DEFINITION ? [definition.name?.value ?? null] : [],
          ),
          new HeaderMap(),
        );
      },
    };
  },
};

/**
 * A response with nothing to show because the database is unavailable is an HTTP 503 with
 * Retry-After, so load balancers, gateways and retrying clients see it as such. A response that
 * carries any data keeps 200: the errors array says which parts are missing.
 */
const unavailableStatus: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async willSendResponse({ response }) {
        if (response.body.kind !== 'single') return;
        const { data, errors } = response.body.singleResult;
        if (!errors?.some((error) => error.extensions?.code === SERVICE_UNAVAILABLE)) return;
        const hasData =
          data && Object.values(data).some((value) => value !== null && !(Array.isArray(value) && value.every((item) => item === null)));
        if (hasData) return;
        response.http.status = 503;
        response.http.headers.set('retry-after', String(RETRY_AFTER_SECONDS));
      },
    };
  },
};

/**
 * Counts every response Apollo sends (parse and validation failures included) by operation name and
 * outcome, and its errors by code, as the client sees them (after formatError). Requests refused
 * before Apollo (malformed JSON, a batch, an oversized or too deeply nested query) are only in the
 * HTTP metrics.
 */
function operationMetrics(metrics: Pick<Metrics, 'operationCompleted'>): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operationName, document, request, response }) {
          const result = response.body.kind === 'single' ? response.body.singleResult : response.body.initialResult;
          const codes = result.errors?.map((error) => error.extensions?.code) ?? [];
          // The resolved operation's name (null: anonymous); when validation failed before Apollo resolved
          // it, the parsed document's; when not even parsed, what the client named.
          const operation = operationName === undefined && document ? getOperationAST(document, request.operationName) : undefined;
          metrics.operationCompleted(
            operationName !== undefined ? operationName : operation ? (operation.name?.value ?? null) : request.operationName,
            codes,
          );
        },
      };
    },
  };
}

/** The error a chain of GraphQL errors wraps (Apollo wraps a parse failure twice). */
function rootCause(error: unknown): unknown {
  while (error instanceof GraphQLError && error.originalError) error = error.originalError;
  return error;
}

/** Client errors pass as they are; a database outage is SERVICE_UNAVAILABLE; anything else is answered without internals. */
export function formatError(formatted: GraphQLFormattedError, error?: unknown): GraphQLFormattedError {
  if (isDatabaseUnavailable(unwrapResolverError(error))) {
    return { ...databaseUnavailable().toJSON(), locations: formatted.locations, path: formatted.path };
  }
  // Apollo files validation-rule errors under GRAPHQL_VALIDATION_FAILED; a refused limit keeps its own code.
  const limit = error instanceof GraphQLError ? error.originalError : undefined;
  if (limit instanceof OperationLimitError) {
    const { http: _http, ...extensions } = limit.extensions;
    return { ...formatted, extensions: { ...formatted.extensions, ...extensions, code: limit.limitCode, stacktrace: undefined } };
  }
  // Apollo's texts name its own constructor options; ours name what a client or operator can change.
  if (formatted.extensions?.validationErrorCode === INTROSPECTION_DISABLED) {
    return { ...formatted, message: introspectionDisabledMessage, extensions: { ...formatted.extensions, stacktrace: undefined } };
  }
  const code = String(formatted.extensions?.code);
  // graphql-js parses recursively: a document nested thousands of levels deep overflows the stack. The
  // doors refuse those before parsing (checkNesting); this answers one that reached Apollo another way.
  if (code === 'GRAPHQL_PARSE_FAILED' && rootCause(error) instanceof RangeError) {
    return { message: documentTooDeep(MAX_NESTING).message, extensions: { code } };
  }
  if (CLIENT_ERROR_CODES.has(code)) return { ...formatted, extensions: { ...formatted.extensions, stacktrace: undefined } };
  return {
    message: 'Internal server error',
    locations: formatted.locations,
    path: formatted.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** The operation's span gets its type and name (the GraphQL conventions), never the document or variables. */
function operationTracing(tracing: Tracing): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, operationName }) {
          if (operation) tracing.nameOperation(operation.operation, operationName);
        },
      };
    },
  };
}

/** Apollo Server, and the answers to compiled queries that need none of its pipeline (src/doors/graphql/compiledRequests.ts). */
export interface GraphQLServer {
  apollo: ApolloServer<Context>;
  answerCompiled: AnswerCompiled;
}

export function createGraphQLServer(options: {
  introspection: boolean;
  limits: GraphQLLimits;
  /** Estimated bytes of documents and compiled operations kept across requests (GRAPHQL_OPERATION_CACHE_MB). */
  operationCacheBytes: number;
  logger: Logger;
  /** Operation and error counters (METRICS_PORT); absent: none. */
  metrics?: Pick<Metrics, 'operationCompleted'>;
  /** The subgraph schema, shared with the subscription transports; absent: built here. */
  schema?: GraphQLSchema;
  /** Names each operation's span once the operation is known (src/observability/tracing.ts); absent: none. */
  tracing?: Tracing;
}): GraphQLServer {
  const schema = options.schema ?? createSubgraphSchema();
  // Everything kept because of a query's text, bounded by bytes (docs/decisions/0005).
  const operations = createOperationCache(options.operationCacheBytes);
  const estimateCost = costEstimator(schema, HISTORY_LIMIT.max);
  const apollo = new ApolloServer<Context>({
    logger: options.logger,
    gateway: jitExecution(schema, operations),
    documentStore: operations.documentStore,
    persistedQueries: { cache: operations.persistedQueries },
    introspection: options.introspection,
    validationRules: limitValidationRules(options.limits),
    // Gateways and routers send one operation per request; an array body is refused (BAD_REQUEST).
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown: Apollo's own handler would re-raise the signal before the pool is closed.
    stopOnTerminationSignals: false,
    formatError,
    // No cache hints are declared, so the cache-control plugin would only cost time on every field.
    plugins: [
      logInternalErrors,
      operationResolution,
      costLimitPlugin<Context>(estimateCost, options.limits.maxCost),
      unavailableStatus,
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ...(options.metrics ? [operationMetrics(options.metrics)] : []),
      ...(options.tracing ? [operationTracing(options.tracing)] : []),
    ],
  });
  return {
    apollo,
    answerCompiled: compiledRequests({
      operations,
      estimateCost,
      maxCost: options.limits.maxCost,
      metrics: options.metrics,
      tracing: options.tracing,
    }),
  };
}
