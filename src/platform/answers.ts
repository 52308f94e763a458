// What the platform answers by itself, declared once: /healthz and /readyz (their bodies, readiness's
// three shapes) and the refusals of Node's HTTP parser (408, 431) that come before any route.
// src/platform/app.ts answers with these values; a door that publishes a description of its routes
// (the REST door's OpenAPI document) describes the platform's answers from here, so the two cannot drift.
import { maxHeaderSize } from 'node:http';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), as far as the service's documents use it. */
export interface JsonSchema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  pattern?: string;
  enum?: readonly unknown[];
  const?: unknown;
  minimum?: number;
  maxItems?: number;
  maximum?: number;
  default?: unknown;
  items?: JsonSchema;
  prefixItems?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  dependentRequired?: Record<string, string[]>;
  additionalProperties?: boolean | JsonSchema;
  title?: string;
  description?: string;
  examples?: unknown[];
}

/** One answer of the platform's: when it is given, the schema of its JSON body, and examples of it. */
export interface PlatformAnswer {
  description: string;
  schema: JsonSchema;
  example?: unknown;
  examples?: Record<string, { summary: string; value: unknown }>;
}

/** A route the platform serves itself (GET and HEAD; no token). */
export interface PlatformRoute {
  path: string;
  operationId: string;
  summary: string;
  /** By status. */
  answers: Record<string, PlatformAnswer>;
}

/** /readyz's `status`, one per shape. */
export const READINESS = {
  ready: 'ready',
  databaseUnavailable: 'database unavailable',
  liveHistoryUnavailable: 'live history unavailable',
} as const;

/** The read replica's and the primary's state, with a read replica: `{primary, replica}`, each up or down. */
export type ReadinessSides = Record<never, never> | { primary: 'up' | 'down'; replica: 'up' | 'down' };

/** /readyz's body in each shape (src/platform/app.ts). */
export const readinessBody = {
  ready: (sides: ReadinessSides) => ({ status: READINESS.ready, ...sides }),
  databaseUnavailable: (sides: ReadinessSides) => ({ status: READINESS.databaseUnavailable, ...sides }),
  liveHistoryUnavailable: (sides: ReadinessSides) => ({ status: READINESS.liveHistoryUnavailable, listen: 'down' as const, ...sides }),
};

export const HEALTH_BODY = { status: 'ok' } as const;

/** A body `{status, …}` with exactly these properties besides `status`; `primary` and `replica` come together or not at all. */
function statusBody(status: string, properties: Record<string, JsonSchema> = {}, required: string[] = []): JsonSchema {
  const sides = Object.keys(properties).includes('primary');
  return {
    type: 'object',
    properties: { status: { type: 'string', enum: [status] }, ...properties },
    required: ['status', ...required],
    ...(sides && { dependentRequired: { primary: ['replica'], replica: ['primary'] } }),
    additionalProperties: false,
  };
}

// With a read replica: whether each side answers (reads go to the replica).
const SIDE: JsonSchema = { type: 'string', enum: ['up', 'down'] };
const SIDES = { primary: SIDE, replica: SIDE };

export const HEALTH_ROUTE: PlatformRoute = {
  path: '/healthz',
  operationId: 'health',
  summary: 'Liveness: 200 while the process runs',
  answers: {
    '200': { description: 'The process is up.', schema: statusBody(HEALTH_BODY.status) },
  },
};

export const READINESS_ROUTE: PlatformRoute = {
  path: '/readyz',
  operationId: 'readiness',
  summary: 'Readiness: 200 when the database answers, 503 otherwise',
  answers: {
    '200': {
      description:
        'The database the service reads from answers (the read replica when one is configured), and so does the live history’s LISTEN session when there is one.',
      schema: statusBody(READINESS.ready, SIDES),
      examples: {
        ready: { summary: 'Ready', value: readinessBody.ready({}) },
        replica: {
          summary: 'Ready on the replica while the primary is down',
          value: readinessBody.ready({ primary: 'down', replica: 'up' }),
        },
      },
    },
    '503': {
      description:
        'The database the service reads from does not answer (`database unavailable`); or it does, but the live history’s LISTEN session on the primary is down (`live history unavailable`, `listen: down`): live streams would miss changes until it is back.',
      schema: {
        oneOf: [
          statusBody(READINESS.databaseUnavailable, SIDES),
          statusBody(READINESS.liveHistoryUnavailable, { listen: { type: 'string', const: 'down' }, ...SIDES }, ['listen']),
        ],
      },
      examples: {
        databaseUnavailable: { summary: 'The database does not answer', value: readinessBody.databaseUnavailable({}) },
        replicaDown: {
          summary: 'With a read replica: the replica does not answer',
          value: readinessBody.databaseUnavailable({ primary: 'up', replica: 'down' }),
        },
        liveHistoryUnavailable: { summary: 'The LISTEN session is down', value: readinessBody.liveHistoryUnavailable({}) },
      },
    },
  },
};

/** The routes the platform serves itself. */
export const PLATFORM_ROUTES: readonly PlatformRoute[] = [HEALTH_ROUTE, READINESS_ROUTE];

/** Node's bounds on a client that trickles its headers or body, unless configured otherwise. */
export const DEFAULT_CLIENT_TIMEOUTS = { requestTimeoutMs: 30_000, headersTimeoutMs: 10_000 } as const;

/** The `detail` of each refusal of Node's HTTP parser, by its error code: [status, detail]. */
export function clientErrorDetails(timeouts: { requestTimeoutMs: number; headersTimeoutMs: number }): Record<string, [number, string]> {
  return {
    HPE_HEADER_OVERFLOW: [
      431,
      `Request header fields too large: the request line and headers must stay under ${maxHeaderSize} bytes together; ` +
        'send a shorter URL (a GraphQL query fits in a POST body) and fewer or shorter headers',
    ],
    ERR_HTTP_REQUEST_TIMEOUT: [
      408,
      `Request timeout: the headers must arrive within ${timeouts.headersTimeoutMs} ms and the whole request within ` +
        `${timeouts.requestTimeoutMs} ms; send it again without pausing`,
    ],
  };
}

/** A body `{"detail": …}` whose text starts as `pattern` says (it carries the limits in force). */
export const detailPattern = (title: string, pattern: string): JsonSchema => ({
  title,
  type: 'object',
  properties: { detail: { type: 'string', pattern } },
  required: ['detail'],
  additionalProperties: false,
});

const defaultDetails = clientErrorDetails(DEFAULT_CLIENT_TIMEOUTS);
const BEFORE_ANY_ROUTE = '(answered by the HTTP layer before any route, on every path; the connection is closed after it)';

/** The refusals of Node's HTTP parser that can reach a route's client (on every path), by status; titled for documents. */
export const CLIENT_ERROR_ANSWERS: Record<'408' | '431', PlatformAnswer> = {
  '408': {
    description: `The headers did not arrive within \`HEADERS_TIMEOUT_MS\`, or the whole request within \`REQUEST_TIMEOUT_MS\` ${BEFORE_ANY_ROUTE}.`,
    schema: detailPattern('RequestTimeoutError', '^Request timeout: '),
    example: { detail: defaultDetails.ERR_HTTP_REQUEST_TIMEOUT![1] },
  },
  '431': {
    description: `The request line and headers are over ${maxHeaderSize / 1024} KiB together, e.g. a slug of tens of kilobytes ${BEFORE_ANY_ROUTE}.`,
    schema: detailPattern('HeadersTooLargeError', '^Request header fields too large: '),
    example: { detail: defaultDetails.HPE_HEADER_OVERFLOW![1] },
  },
};
