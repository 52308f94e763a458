// The subgraph schema and its Apollo Server; no listening here (src/http/app.ts serves it, tests import it).
import { readFileSync } from 'node:fs';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse, type GraphQLFormattedError } from 'graphql';
import type { Logger } from '../logger.js';
import type { Context } from './context.js';
import { CLIENT_ERROR_CODES } from './errors.js';
import { resolvers } from './resolvers/index.js';

export const SCHEMA_FILE = new URL('../../schema.graphql', import.meta.url);

export function createSubgraphSchema() {
  return buildSubgraphSchema({ typeDefs: parse(readFileSync(SCHEMA_FILE, 'utf8')), resolvers: resolvers as never });
}

/** Logs every error that is not the client's fault, with the request's logger (request id). */
const logInternalErrors: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ errors, contextValue }) {
        for (const error of errors) {
          if (!CLIENT_ERROR_CODES.has(String(error.extensions?.code))) {
            contextValue.logger.error({ err: error.originalError ?? error, path: error.path }, 'GraphQL execution failed');
          }
        }
      },
    };
  },
};

/** Client errors pass as they are; anything else is answered without internals. */
export function formatError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = String(formatted.extensions?.code);
  if (CLIENT_ERROR_CODES.has(code)) return { ...formatted, extensions: { ...formatted.extensions, stacktrace: undefined } };
  return { message: 'Internal server error', locations: formatted.locations, path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

export function createGraphQLServer(options: { introspection: boolean; logger: Logger }): ApolloServer<Context> {
  return new ApolloServer<Context>({
    logger: options.logger,
    schema: createSubgraphSchema(),
    introspection: options.introspection,
    includeStacktraceInErrorResponses: false,
    // main.ts owns shutdown: Apollo's own handler would re-raise the signal before the pool is closed.
    stopOnTerminationSignals: false,
    formatError,
    // No cache hints are declared, so the cache-control plugin would only cost time on every field.
    plugins: [logInternalErrors, ApolloServerPluginLandingPageDisabled(), ApolloServerPluginCacheControlDisabled()],
  });
}
