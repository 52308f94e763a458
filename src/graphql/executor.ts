// Executes operations with graphql-jit: an operation is compiled into a JavaScript function once and
// then runs without graphql-js's per-field interpretation (argument coercion, field lookup, type
// checks on every one of a history page's 1,100 fields). Profiled under load, graphql-js execution
// was the largest share of a GraphQL request's CPU (docs/decisions/0002).
//
// It plugs into Apollo Server through its gateway interface, the one place Apollo accepts another
// executor; parsing, validation, limits, plugins and error formatting stay Apollo's.
import type { GatewayExecutor, GatewayInterface } from '@apollo/server-gateway-interface';
import { execute, GraphQLError, printSchema, type DocumentNode, type GraphQLSchema } from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';

/**
 * An operation is compiled the second time its document is executed: a client that sends one
 * throw-away query after another makes the server interpret, never compile (compiling costs
 * milliseconds), while the operations a gateway or frontend repeats are compiled once.
 */
const COMPILE_ON_EXECUTION = 2;

interface DocumentEntry {
  executions: number;
  compiled: Map<string | null, CompiledQuery>;
}

/**
 * Apollo Server's gateway interface around a fixed subgraph schema, whose executor runs compiled
 * operations. Apollo keeps parsed and validated documents in its LRU document store and hands the
 * same DocumentNode for the same query text, so compiled operations are kept by document and go
 * when Apollo evicts it.
 */
export function jitExecution(schema: GraphQLSchema): GatewayInterface {
  const documents = new WeakMap<DocumentNode, DocumentEntry>();

  const executor: GatewayExecutor = async (request) => {
    const { document, operationName, context } = request;
    const variables = request.request.variables ?? {};
    // A gateway asking for a federated trace (ftv1) gets graphql-js, whose every resolver call the
    // tracing plugin observes; compiled code skips the calls to default resolvers.
    const interpret = () => execute({ schema, document, operationName, contextValue: context, variableValues: variables });
    if (request.metrics.captureTraces) return interpret();

    let entry = documents.get(document);
    if (!entry) documents.set(document, (entry = { executions: 0, compiled: new Map() }));
    entry.executions += 1;
    let compiled = entry.compiled.get(operationName);
    if (!compiled && entry.executions >= COMPILE_ON_EXECUTION) {
      const result = compileQuery(schema, document, operationName ?? undefined);
      // Apollo has validated the document, so compiling fails only on what graphql-js would
      // report too (an unknown operation name, bad variables): graphql-js answers those.
      if (isCompiledQuery(result)) entry.compiled.set(operationName, (compiled = result));
    }
    if (!compiled) return interpret();
    const result = await compiled.query(undefined, context, variables);
    // A result without data is variables the operation refused before executing. graphql-jit's
    // errors for them lack the variable's AST node, by which Apollo files them under BAD_USER_INPUT:
    // graphql-js coerces them again (and executes nothing) to give the exact same answer as above.
    if (!('data' in result)) return interpret();
    return result.errors?.some((error) => !error.extensions) ? { ...result, errors: result.errors.map(asGraphQLJsError) } : result;
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
 * graphql-jit locates a resolver's plain Error (a database outage, a bug) in an error of its own
 * without the `extensions` every graphql-js error has, which Apollo's error formatting reads (and
 * would fail on, answering a bare 500): the same error as graphql-js would have made it.
 */
function asGraphQLJsError(error: GraphQLError): GraphQLError {
  if (error.extensions) return error;
  const located = new GraphQLError(error.message, { path: error.path, originalError: error.originalError ?? undefined });
  (located as { locations?: GraphQLError['locations'] }).locations = error.locations;
  return located;
}
