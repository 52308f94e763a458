// GET /api/v1/graphs/{slug}/migrations: the wire contract of the Python service it replaces
// (DESIGN.md §1). It validates the query string as FastAPI did, then executes one fixed GraphQL
// operation with the request's context: the same resolvers, loaders and GRAPH_READ check as /graphql.
import type { ApolloServer } from '@apollo/server';
import type { GraphQLFormattedError } from 'graphql';
import { HISTORY_LIMIT } from '../data/migrationRuns.js';
import type { Context } from '../graphql/context.js';

export interface RestResponse {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

// Aliases give the REST item its snake_case keys in the contract's order, straight from GraphQL.
export const MIGRATIONS_OPERATION = /* GraphQL */ `
  query RestGraphMigrations($slug: String!, $limit: Int!) {
    graph(slug: $slug) {
      migrations(limit: $limit) {
        id
        graph_id: graphId
        from_version: fromVersion
        to_version: toVersion
        migration_id: migrationId
        status
        started_at: startedAt
        finished_at: finishedAt
        error
        workflow_run_id: workflowRunId
        created_at: createdAt
      }
    }
  }
`;

/** The `detail` of every non-422 error, word for word as the Python service sent it (the OpenAPI document reuses them). */
export const ERROR_DETAIL = {
  notAuthenticated: 'Not authenticated',
  invalidToken: 'Invalid or expired token',
  graphNotFound: 'Graph not found',
  notMember: 'Not a member of this graph',
  internal: 'Internal Server Error',
} as const;

// FastAPI's HTTPBearer challenges with this header on every 401.
const BEARER_CHALLENGE = { 'WWW-Authenticate': 'Bearer' };

const detail = (status: number, message: string, headers?: Record<string, string>): RestResponse => ({ status, body: { detail: message }, headers });

export const NOT_FOUND = detail(404, ERROR_DETAIL.graphNotFound);

type LimitResult = { ok: true; limit: number } | { ok: false; response: RestResponse };

/** `limit` as pydantic's lax int parsing reads a query string, with FastAPI's 422 bodies. */
export function parseLimit(search: URLSearchParams): LimitResult {
  // Starlette keeps the last of repeated parameters.
  const raw = search.getAll('limit').at(-1);
  if (raw === undefined) return { ok: true, limit: HISTORY_LIMIT.default };
  const invalid = (type: string, msg: string, ctx?: Record<string, number>): LimitResult => ({
    ok: false,
    response: { status: 422, body: { detail: [{ type, loc: ['query', 'limit'], msg, input: raw, ...(ctx && { ctx }) }] } },
  });
  // pydantic accepts surrounding whitespace, a sign, and a fraction of zeros ("5.0").
  const match = /^\s*([+-]?\d+)(?:\.0+)?\s*$/.exec(raw);
  if (!match) return invalid('int_parsing', 'Input should be a valid integer, unable to parse string as an integer');
  const limit = Number(match[1]);
  if (limit < HISTORY_LIMIT.min) {
    return invalid('greater_than_equal', `Input should be greater than or equal to ${HISTORY_LIMIT.min}`, { ge: HISTORY_LIMIT.min });
  }
  if (limit > HISTORY_LIMIT.max) {
    return invalid('less_than_equal', `Input should be less than or equal to ${HISTORY_LIMIT.max}`, { le: HISTORY_LIMIT.max });
  }
  return { ok: true, limit };
}

export async function graphMigrations(
  graphql: ApolloServer<Context>,
  context: Context,
  slug: string,
  search: URLSearchParams,
): Promise<RestResponse> {
  // FastAPI resolves the auth dependency before it validates parameters: 401 comes before 422.
  if (context.viewer.kind === 'anonymous') return detail(401, ERROR_DETAIL.notAuthenticated, BEARER_CHALLENGE);
  if (context.viewer.kind === 'invalid') return detail(401, ERROR_DETAIL.invalidToken, BEARER_CHALLENGE);
  const parsed = parseLimit(search);
  if (!parsed.ok) return parsed.response;

  const response = await graphql.executeOperation<{ graph: { migrations: unknown[] } | null }>(
    { query: MIGRATIONS_OPERATION, variables: { slug, limit: parsed.limit } },
    { contextValue: context },
  );
  if (response.body.kind !== 'single') throw new Error('unexpected incremental GraphQL response');
  const { data, errors } = response.body.singleResult;
  if (errors?.length) return fromGraphQLErrors(errors, context);
  if (!data?.graph) return NOT_FOUND;
  return { status: 200, body: data.graph.migrations };
}

function fromGraphQLErrors(errors: readonly GraphQLFormattedError[], context: Context): RestResponse {
  const codes = new Set(errors.map((error) => error.extensions?.code));
  if (codes.has('UNAUTHENTICATED')) return detail(401, ERROR_DETAIL.notAuthenticated, BEARER_CHALLENGE);
  if (codes.has('FORBIDDEN')) return detail(403, ERROR_DETAIL.notMember);
  // Internal errors were logged with their detail by the GraphQL server; the client gets none.
  context.logger.error({ errors }, 'REST migrations operation failed');
  return detail(500, ERROR_DETAIL.internal);
}
