// Executes operations with graphql-jit: an operation is compiled into a JavaScript function once and
// then runs without graphql-js's per-field interpretation (argument coercion, field lookup, type
// checks on every one of a history page's 1,100 fields). Profiled under load, graphql-js execution
// was the largest share of a GraphQL request's CPU (docs/decisions/0002).
//
// It plugs into Apollo Server through its gateway interface, the one place Apollo accepts another
// executor; parsing, validation, limits, plugins and error formatting stay Apollo's.
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, GraphQLError, printSchema, type ExecutionResult, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery } from 'graphql-jit';
import type { Context } from '../../domain/context.js';
import { isDomainError } from '../../domain/errors.js';
import { graphqlErrorOf } from './errors.js';
import type { OperationCache } from './operationCache.js';

/**
 * An operation is compiled the second time its document is executed: a client that sends one
 * throw-away query after another makes the server interpret, never compile (compiling costs
 * milliseconds), while the operations a gateway or frontend repeats are compiled once.
 */
const COMPILE_ON_EXECUTION = 2;

/**
 * Built-in scalars (String, Int, Boolean, ID, Float) are sent as the resolvers return them, without
 * graphql-js's coercion per value: every value of such a field comes from a typed SQL column or is
 * computed here with its type (text, int4 and bool columns decode to string, number and boolean; an
 * `::int` count is a number), so the coercion could only repeat them, and its per-value call and
 * arguments were a fifth of a history page's allocation (docs/decisions/0002). Null checks of
 * non-null fields stay; UUID and DateTime keep their serializers. test/graphql/executor.test.ts holds
 * the compiled answers to graphql-js's, byte for byte.
 */
const COMPILER_OPTIONS = { disableLeafSerialization: true };

/**
 * Apollo Server's gateway interface around a fixed subgraph schema, whose executor runs compiled
 * operations. Documents and what is compiled from them are kept in `operations` (Apollo's
 * `documentStore` too), an LRU bounded by estimated bytes: a compiled operation is evicted with its
 * document. Only an authenticated viewer's executions are kept: an anonymous client (a gateway
 * fetching `_service`, introspection, or anyone without a token, whose reads other than those are
 * UNAUTHENTICATED errors) gets its operations parsed, validated and interpreted, and nothing of
 * them stays, so it cannot fill the cache or evict what members use (docs/decisions/0005).
 */
export function jitExecution(schema: GraphQLSchema, operations: OperationCache): GatewayInterface {
  const executor: GatewayExecutor = async (request) => {
    const { document, operationName, queryHash, source } = request;
    const context = request.context as Context;
    const variables = request.request.variables ?? {};
    const interpret = async () =>
      doorResult(await execute({ schema, document, operationName, contextValue: context, variableValues: variables }));
    if (context.viewer.kind !== 'user') return interpret();

    const entry = operations.remember(queryHash, document, source.length);
    // A gateway asking for a federated trace (ftv1) gets graphql-js, whose every resolver call the
    // tracing plugin observes; compiled code skips the calls to default resolvers.
    if (request.metrics.captureTraces) return interpret();
    entry.executions += 1;
    let compiled = entry.compiled.get(operationName);
    if (!compiled && entry.executions >= COMPILE_ON_EXECUTION) {
      const result = compileQuery(schema, entry.document, operationName ?? undefined, COMPILER_OPTIONS);
      // Apollo has validated the document, so compiling fails only on what graphql-js would
      // report too (an unknown operation name, bad variables): graphql-js answers those.
      if (isCompiledQuery(result)) {
        entry.compiled.set(operationName, (compiled = result));
        operations.compiled(queryHash, entry);
      }
    }
    if (!compiled) return interpret();
    const result = await compiled.query(undefined, context, variables);
    // A result without data is variables the operation refused before executing. graphql-jit's
    // errors for them lack the variable's AST node, by which Apollo files them under BAD_USER_INPUT:
    // graphql-js coerces them again (and executes nothing) to give the exact same answer as above.
    if (!('data' in result)) return interpret();
    return doorResult(result);
  };

  return {
    async load() {
      return { executor };
    },
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: printSchema(schema) });
      return () => {};
    },
    async stop() {},
  };
}

/**
 * A result's errors as this door answers them, whichever executor made them: src/domain's refusals
 * (AccessDeniedError, InvalidArgumentError) become their GraphQL error (`graphqlErrorOf`), at the
 * same path and locations. And graphql-jit locates a resolver's plain Error (a database outage, a
 * bug) in an error of its own without the `extensions` every graphql-js error has, which Apollo's
 * error formatting reads (and would fail on, answering a bare 500): the same error as graphql-js
 * would have made it.
 */
export function doorResult(result: ExecutionResult): ExecutionResult {
  if (!result.errors?.some((error) => !error.extensions || isDomainError(error.originalError))) return result;
  return { ...result, errors: result.errors.map(doorError) };
}

function doorError(error: GraphQLError): GraphQLError {
  const cause = error.originalError;
  if (!isDomainError(cause) && error.extensions) return error;
  const { message, extensions } = isDomainError(cause) ? graphqlErrorOf(cause) : { message: error.message, extensions: undefined };
  const located = new GraphQLError(message, { path: error.path, extensions, originalError: cause ?? undefined });
  (located as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return located;
}
