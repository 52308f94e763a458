// A query whose operation graphql-jit has compiled (src/doors/graphql/executor.ts) is answered here,
// without Apollo Server's per-request pipeline, when nothing in it needs that pipeline: a plain JSON
// POST of a cached, validated query, by an authenticated viewer, within the cost limit, whose
// execution has no error. Anything else, and any execution with an error, is Apollo's to answer
// (the query is then executed by Apollo, again): the answers are the same bytes either way
// (docs/decisions/0009, test/graphql/compiledRequests.test.ts).
import { createHash } from 'node:crypto';
import { getOperationAST } from 'graphql';
import Negotiator from 'negotiator';
import type { Context } from '../../domain/context.js';
import type { Metrics } from '../../observability/metrics.js';
import type { CostEstimator } from './limits.js';
import type { OperationCache } from './operationCache.js';
import type { Tracing } from '../../observability/tracing.js';

/** The request, as far as this path reads it. */
export interface CompiledRequest {
  /** The parsed JSON body. */
  body: unknown;
  accept: string | undefined;
  /** A gateway asking for a federated trace (`apollo-federation-include-trace`): Apollo's to answer. */
  wantsTrace: boolean;
  createContext(): Promise<Context>;
}

export interface CompiledAnswer {
  contentType: string;
  /** UTF-8, outside the JS heap: written as it is, never copied or flattened again on its way out. */
  body: Buffer;
}

/** Answers `request` when it can; `undefined`: let Apollo Server answer it. */
export type AnswerCompiled = (request: CompiledRequest) => Promise<CompiledAnswer | undefined>;

// Apollo Server's media types for a single result, in its order of preference (chooseContentTypeForSingleResultResponse).
const JSON_TYPE = 'application/json; charset=utf-8';
const GRAPHQL_RESPONSE_TYPE = 'application/graphql-response+json; charset=utf-8';
const CALLBACK_TYPE = 'application/json; callbackSpec=1.0; charset=utf-8';

/** The content type Apollo Server answers a single result with, for the types answered here; undefined otherwise. */
function contentTypeFor(accept: string | undefined): string | undefined {
  if (!accept) return JSON_TYPE;
  const preferred = new Negotiator({ headers: { accept } }).mediaType([JSON_TYPE, GRAPHQL_RESPONSE_TYPE, CALLBACK_TYPE]);
  return preferred === JSON_TYPE || preferred === GRAPHQL_RESPONSE_TYPE ? preferred : undefined;
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export function compiledRequests(options: {
  operations: OperationCache;
  estimateCost: CostEstimator;
  maxCost: number;
  metrics?: Pick<Metrics, 'operationCompleted'>;
  tracing?: Pick<Tracing, 'nameOperation'>;
}): AnswerCompiled {
  const { operations, estimateCost, maxCost, metrics, tracing } = options;
  return async ({ body, accept, wantsTrace, createContext }) => {
    if (wantsTrace || !isRecord(body)) return undefined;
    const { query, variables, operationName, extensions } = body;
    // Persisted queries and other extensions, odd variables or names: Apollo checks and answers them.
    if (typeof query !== 'string' || (extensions != null && !(isRecord(extensions) && Object.keys(extensions).length === 0)))
      return undefined;
    if (variables != null && !isRecord(variables)) return undefined;
    if (operationName != null && typeof operationName !== 'string') return undefined;
    const contentType = contentTypeFor(accept);
    if (!contentType) return undefined;
    // Apollo's key for the query (its documentStore's, without the schema's prefix).
    const entry = operations.lookup(createHash('sha256').update(query).digest('hex'));
    if (!entry) return undefined;
    const operation = getOperationAST(entry.document, operationName ?? undefined);
    if (!operation || operation.operation !== 'query') return undefined;
    const compiled = entry.compiled.get(operation.name?.value ?? null);
    if (!compiled) return undefined;
    const values = variables ?? {};
    if (estimateCost(entry.document, operation, values) > maxCost) return undefined;
    tracing?.nameOperation('query', operation.name?.value);
    let context: Context;
    try {
      context = await createContext();
    } catch {
      return undefined;
    }
    if (context.viewer.kind !== 'user') return undefined;
    // Anything but a clean result, a thrown one included, is Apollo's to answer (and log).
    const result = await Promise.resolve(compiled.query(undefined, context, values)).catch(() => undefined);
    if (!result || !('data' in result) || result.errors?.length) return undefined;
    metrics?.operationCompleted(operation.name?.value ?? null, []);
    // As Apollo Server serializes a result without errors or extensions (JSON and a newline).
    const json = JSON.stringify({ data: result.data });
    const bytes = Buffer.allocUnsafe(Buffer.byteLength(json) + 1);
    bytes[bytes.write(json)] = 0x0a;
    return { contentType, body: bytes };
  };
}
