// Every error a GraphQL client can cause, with its extensions.code, in one place.
import type { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import { AccessDeniedError, NotFoundError, ResumeExpiredError, type AccessDenial, type DomainError } from '../../domain/errors.js';

const ACCESS_DENIED: Record<AccessDenial, { message: string; code: 'UNAUTHENTICATED' | 'FORBIDDEN' }> = {
  anonymous: { message: 'Not authenticated: send a bearer token in the Authorization header', code: 'UNAUTHENTICATED' },
  invalid_token: { message: 'Invalid or expired token: send a valid bearer token in the Authorization header', code: 'UNAUTHENTICATED' },
  not_member: { message: 'Not a member of this graph', code: 'FORBIDDEN' },
  superusers_only: {
    message: "Only superusers may read every graph's runs: query one graph's history through Query.graph instead",
    code: 'FORBIDDEN',
  },
};

/**
 * src/domain's refusals as this door answers them: UNAUTHENTICATED / FORBIDDEN, and BAD_USER_INPUT
 * naming the argument (with its bounds for a number out of range). Applied once, to every error of
 * a result (src/doors/graphql/server.ts).
 */
export function graphqlErrorOf(error: DomainError): GraphQLError {
  if (error instanceof AccessDeniedError) {
    const { message, code } = ACCESS_DENIED[error.denial];
    return new GraphQLError(message, { extensions: { code } });
  }
  if (error instanceof NotFoundError)
    return new GraphQLError('Graph not found: no graph has this slug, or it was deleted', { extensions: { code: 'NOT_FOUND' } });
  if (error instanceof ResumeExpiredError) {
    return new GraphQLError(
      `Argument "after": the cursor is older than the change history kept (${Math.round(error.retentionMs / 3_600_000)} h): ` +
        'subscribe without it, and read what is older from the history fields',
      { extensions: { code: 'BAD_USER_INPUT', argumentName: 'after' } },
    );
  }
  const { argument: argumentName, reason, range } = error;
  return range
    ? new GraphQLError(`Argument "${argumentName}" ${reason}`, {
        extensions: { code: 'BAD_USER_INPUT', argumentName, min: range.min, max: range.max },
      })
    : new GraphQLError(`Argument "${argumentName}": ${reason}`, { extensions: { code: 'BAD_USER_INPUT', argumentName } });
}

/**
 * A run's graph was deleted between reading the run and reading its graph (two statements of one
 * response): the run is no longer served either, which the client sees by asking again.
 */
export function graphDeletedMeanwhile(): GraphQLError {
  return new GraphQLError("The run's graph was deleted while the response was read: send the request again", {
    extensions: { code: 'NOT_FOUND' },
  });
}

/**
 * The operationName names no operation of the document, or the document has several and none is
 * named: HTTP 400, as Apollo Server answers it without a gateway executor. `defined` lists the
 * document's operations (null: an anonymous one).
 */
export function unresolvedOperation(requested: string | null | undefined, defined: (string | null)[], headers: HeaderMap): GraphQLError {
  const listed = defined.map((name) => (name === null ? 'an anonymous one' : JSON.stringify(name))).join(', ');
  const message =
    requested === undefined || requested === null
      ? `The document defines ${defined.length} operations (${listed}): name the one to run in operationName`
      : `No operation named ${JSON.stringify(requested)} in the document (it defines ${listed}): send one of its names as ` +
        'operationName, or leave operationName out when the document has a single operation';
  return new GraphQLError(message, { extensions: { code: 'OPERATION_RESOLUTION_FAILURE', http: { status: 400, headers } } });
}

/** Apollo Server's validationErrorCode for __schema / __type when introspection is off. */
export const INTROSPECTION_DISABLED = 'INTROSPECTION_DISABLED';

export const introspectionDisabledMessage =
  'Introspection (__schema, __type) is disabled on this service: its operator turns it on with GRAPHQL_INTROSPECTION=true; ' +
  'the schema is also served to gateways as _service { sdl }';

/**
 * A document whose brackets nest deeper than src/doors/graphql/limits.ts's MAX_NESTING, refused before
 * parsing: `nesting` is how deep they go (fragments written out in place), absent when graphql-js
 * itself ran out of stack (only a path that skips that check: formatError in server.ts).
 */
export function documentTooDeep(max: number, nesting?: number): GraphQLError {
  const found = nesting === undefined ? `may nest at most ${max} levels` : `nest ${nesting} levels deep; the maximum is ${max}`;
  return new GraphQLError(
    `The document is nested too deeply to parse: its brackets ({ [ (), fragment spreads written out in place, ${found}. ` +
      'Selections may nest GRAPHQL_MAX_DEPTH levels, and no argument of this schema takes a list value nested more than one level deep',
    { extensions: { code: 'GRAPHQL_PARSE_FAILED' } },
  );
}

export const SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE';

/** The database is down, restarting or saturated (src/database/errors.ts decides): retry later, nothing is wrong with the request. */
export function databaseUnavailable(): GraphQLError {
  return new GraphQLError('Database unavailable: try again shortly', { extensions: { code: SERVICE_UNAVAILABLE } });
}

/** The instance is overloaded and refused the request before reading it (src/platform/overload.ts): retry later. */
export function serviceOverloaded(): GraphQLError {
  return new GraphQLError('Service overloaded: try again shortly', { extensions: { code: SERVICE_UNAVAILABLE } });
}

/** Codes that describe the client's request and may be shown as they are; anything else is masked. */
export const CLIENT_ERROR_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  // Refused by src/doors/graphql/limits.ts before execution, or the database is down: nothing internal to hide.
  'MAX_DEPTH_LIMIT',
  'MAX_ALIASES_LIMIT',
  'MAX_ROOT_FIELDS_LIMIT',
  'COST_ESTIMATED_TOO_EXPENSIVE',
  'MAX_QUERY_SIZE_LIMIT',
  SERVICE_UNAVAILABLE,
  // A subscription's own end (src/doors/graphql/resolvers/Subscription.ts), with the cursor to resume after.
  'STREAM_OVERFLOW',
  'HISTORY_RESET',
]);

/** Every `extensions.code` a response carries once formatted: the client's codes, and the mask of everything else (the metrics' labels). */
export const ANSWERED_ERROR_CODES: readonly string[] = [...CLIENT_ERROR_CODES, 'INTERNAL_SERVER_ERROR'];
