// Helpers for the REST tests: real HTTP requests to a running service, and the contract's facts
// written out independently of the code under test.
import { TEST_JWT_SECRET } from '../helpers/service.js';

export const MIGRATIONS = (slug: string, query = '') => `/api/v1/graphs/${encodeURIComponent(slug)}/migrations${query}`;

/** The item keys in the contract's order (docs/contract.md#items). */
export const CONTRACT_KEYS = [
  'id',
  'graph_id',
  'from_version',
  'to_version',
  'migration_id',
  'status',
  'started_at',
  'finished_at',
  'error',
  'workflow_run_id',
  'created_at',
] as const;

/** A timestamp as the Python service sent it (pydantic 2): UTC, six fractional digits or none. */
export const TIMESTAMP = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{6})?Z$/;

export interface HttpAnswer {
  status: number;
  headers: Headers;
  /** The body exactly as sent (key order included). */
  text: string;
  body: any;
}

export async function get(baseUrl: string, path: string, options: { token?: string; authorization?: string } = {}): Promise<HttpAnswer> {
  const authorization = options.authorization ?? (options.token ? `Bearer ${options.token}` : undefined);
  const response = await fetch(`${baseUrl}${path}`, { headers: authorization ? { authorization } : {} });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: text ? JSON.parse(text) : undefined };
}

/** A REST item built from a GraphQL `GraphMigrationRun`: camelCase → snake_case, keys in the same order. */
export function snakeCaseKeys(item: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(item).map(([key, value]) => [key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), value]));
}

/** The GraphQL selection of every run field, in the contract's order. */
export const RUN_FIELDS = CONTRACT_KEYS.map((key) => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())).join(' ');

/** The `type` of a failed `limit` (pydantic's error types). */
export type LimitErrorType = 'int_parsing' | 'int_parsing_size' | 'greater_than_equal' | 'less_than_equal';

/** A FastAPI 422 body for `limit`, keys in FastAPI's order. */
export function limitError(type: LimitErrorType, input: string) {
  const msg = {
    int_parsing: 'Input should be a valid integer, unable to parse string as an integer',
    int_parsing_size: 'Unable to parse input string as an integer, exceeded maximum size',
    greater_than_equal: 'Input should be greater than or equal to 1',
    less_than_equal: 'Input should be less than or equal to 500',
  }[type];
  const ctx = { int_parsing: undefined, int_parsing_size: undefined, greater_than_equal: { ge: 1 }, less_than_equal: { le: 500 } }[type];
  return { detail: [{ type, loc: ['query', 'limit'], msg, input, ...(ctx && { ctx }) }] };
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An unsigned token (`alg: none`), built by hand: no library would make one. */
export function unsignedToken(claims: Record<string, unknown>): string {
  return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
}

export const OTHER_SECRET = `${TEST_JWT_SECRET}-but-another-one`;

export { freePort } from '../helpers/net.js';
