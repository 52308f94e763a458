// Real answers checked against the OpenAPI document (Ajv, draft 2020-12, the dialect of OpenAPI 3.1).
// The document is registered whole, so its own $refs are what resolves. `installFetchCheck` wraps
// globalThis.fetch (test/setupOpenApiCheck.ts does, for every test file): every answer from a
// loopback URL whose path is a documented route's is checked as it arrives, and a violation rejects
// the fetch (and fails the test) with the method, path, status and what is wrong.
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { OPENAPI_DOCUMENT, type OpenApiDocument } from '../../src/doors/rest/openapi.js';

const DOCUMENT_ID = 'https://graph-migrations-subgraph.test/openapi.json';
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JSON_TYPE = 'application/json';

/** An answer as a test received it: the body as text (absent: not read, as for a stream), parsed when JSON. */
export interface ReceivedAnswer {
  status: number;
  headers: Headers;
  text?: string;
  body?: unknown;
}

export type OpenApiValidator = ReturnType<typeof createValidator>;

export function createValidator(document: unknown) {
  const typed = document as OpenApiDocument;
  const ajv = new Ajv2020({
    strict: true,
    allErrors: true,
    formats: { 'date-time': (value: string) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)), uuid: UUID },
  });
  // The OpenAPI keywords around the schemas are not JSON Schema; declaring them keeps strict mode on for the rest.
  ajv.addVocabulary(['openapi', 'jsonSchemaDialect', 'info', 'paths', 'components']);
  ajv.addSchema(document as object, DOCUMENT_ID);
  const pointer = (...segments: string[]) =>
    `${DOCUMENT_ID}#/${segments.map((segment) => encodeURIComponent(segment.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/')}`;
  const compiled = new Map<string, ReturnType<typeof ajv.compile>>();
  const compile = (...segments: string[]) => {
    const ref = pointer(...segments);
    let validate = compiled.get(ref);
    if (!validate) compiled.set(ref, (validate = ajv.compile({ $ref: ref })));
    return validate;
  };
  const responseSchema = (path: string, status: string, contentType = JSON_TYPE) =>
    compile('paths', path, 'get', 'responses', status, 'content', contentType, 'schema');
  const parameterSchema = (path: string, index: number) => compile('paths', path, 'get', 'parameters', String(index), 'schema');
  const headerSchema = (path: string, status: string, name: string) =>
    compile('paths', path, 'get', 'responses', status, 'headers', name, 'schema');
  const templates = Object.keys(typed.paths).map((template) => ({ template, pattern: templatePattern(template) }));
  return {
    document: typed,
    responseSchema,
    parameterSchema,
    /** The documented path template a request path (no query string) is an instance of, if any. */
    templateOf: (pathname: string) => templates.find(({ pattern }) => pattern.test(pathname))?.template,
    /**
     * What is wrong with an answer to GET (or HEAD: no body) `path` (a documented template), as
     * the document describes it: its status, the headers it declares required, their values,
     * the content type, and a JSON body against its schema; [] when nothing is.
     */
    response(path: string, answer: ReceivedAnswer, method = 'GET'): string[] {
      const documented = typed.paths[path]?.get.responses[String(answer.status)];
      if (!documented) return [`status ${answer.status} is not documented for GET ${path}`];
      const errors: string[] = [];
      for (const [name, header] of Object.entries(documented.headers ?? {})) {
        const value = answer.headers.get(name);
        if (value === null) {
          if (header.required) errors.push(`header ${name} is missing`);
          continue;
        }
        const validate = headerSchema(path, String(answer.status), name);
        if (!validate(value))
          errors.push(...validate.errors!.map((error) => `header ${name}: ${JSON.stringify(value)} ${describe(error)}`));
      }
      // A documented answer without content (304) has no body.
      if (!documented.content) {
        if (answer.text) errors.push(`status ${answer.status} has a body: ${answer.text.slice(0, 100)}`);
        return errors;
      }
      const contentType = answer.headers.get('content-type') ?? '';
      if (!documented.content[contentType]) return [...errors, `content type ${JSON.stringify(contentType)} is not documented`];
      if (contentType !== JSON_TYPE || method === 'HEAD' || answer.text === undefined) return errors;
      let body = answer.body;
      if (body === undefined) {
        try {
          body = JSON.parse(answer.text);
        } catch {
          return [...errors, `the body is not JSON: ${answer.text.slice(0, 100)}`];
        }
      }
      const validate = responseSchema(path, String(answer.status));
      if (!validate(body)) errors.push(...validate.errors!.map((error) => `body${error.instancePath} ${describe(error)}`));
      return errors;
    },
    parameter: (path: string, index: number, value: unknown) => parameterSchema(path, index)(value),
  };
}

/** Ajv's message, with what was allowed or not (`const`, `enum`, `additionalProperties`). */
function describe({ message, params }: ErrorObject): string {
  const detail = params.allowedValue ?? params.allowedValues ?? params.additionalProperty;
  return detail === undefined ? `${message}` : `${message}: ${JSON.stringify(detail)}`;
}

/** A path template (`{slug}`: any text but `/`) as a pattern over a request path, with the trailing slash the router ignores. */
function templatePattern(template: string): RegExp {
  const source = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[^/]+');
  return new RegExp(`^${source}/?$`);
}

// --- the fetch check ---------------------------------------------------------------------------

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|0\.0\.0\.0)$/;
// Kept on globalThis: one wrapper and one record per worker process, whichever copy of this module runs.
const STATE = Symbol.for('graph-migrations-subgraph.openapiCheck');

interface CheckState {
  /** Violations not yet reported by a hook of the setup file. */
  violations: string[];
  /** Answers checked, by `METHOD template status`; and answers to a documented path with a method the document does not describe. */
  checked: Map<string, number>;
  unchecked: Map<string, number>;
}

function state(): CheckState {
  const holder = globalThis as { [STATE]?: CheckState };
  return (holder[STATE] ??= { violations: [], checked: new Map(), unchecked: new Map() });
}

let validator: OpenApiValidator | undefined;
/** The validator of the document the code generates in-process (the served one is checked to equal it). */
export const documentValidator = () => (validator ??= createValidator(OPENAPI_DOCUMENT));

const count = (map: Map<string, number>, key: string) => map.set(key, (map.get(key) ?? 0) + 1);

/**
 * Checks one received answer of `method url` against the document: what is wrong, as one message
 * naming the method, path, status and every error; undefined when nothing is or when the URL is
 * not a documented route's on a loopback address. Reads a JSON body from a clone, never a stream's.
 */
export async function checkFetchedAnswer(method: string, url: URL, response: Response): Promise<string | undefined> {
  if (!LOOPBACK.test(url.hostname)) return undefined;
  const validate = documentValidator();
  const template = validate.templateOf(url.pathname);
  if (template === undefined) return undefined;
  const { checked, unchecked } = state();
  // The document describes GET (HEAD: the same without a body); 405s and CORS preflights are not described.
  if (method !== 'GET' && method !== 'HEAD') {
    count(unchecked, `${method} ${template} ${response.status}`);
    return undefined;
  }
  count(checked, `${method} ${template} ${response.status}`);
  const contentType = response.headers.get('content-type');
  // A JSON body is read whole from a clone (the test reads its own); a stream, NDJSON or CSV body never.
  const readable = response.body !== null && method === 'GET' && (contentType === JSON_TYPE || contentType === null);
  let text: string | undefined;
  if (readable) {
    try {
      text = await response.clone().text();
    } catch {
      // Cut while being read: the test sees that on its own copy.
      text = undefined;
    }
  }
  const errors = validate.response(template, { status: response.status, headers: response.headers, text }, method);
  if (errors.length === 0) return undefined;
  return `OpenAPI check: ${method} ${url.pathname}${url.search.length > 200 ? `${url.search.slice(0, 200)}…` : url.search} (documented as ${template}) answered ${response.status}, which the document does not describe: ${errors.join('; ')}`;
}

/** Wraps globalThis.fetch once per process: every answer is checked (checkFetchedAnswer) before the caller gets it. */
export function installFetchCheck(): void {
  const holder = globalThis as { fetch: typeof fetch & { openApiChecked?: true } };
  if (holder.fetch.openApiChecked) return;
  const original = holder.fetch;
  const checkedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await original(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    const method = (init?.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
    const violation = await checkFetchedAnswer(method, url, response);
    if (violation !== undefined) {
      state().violations.push(violation);
      throw new Error(violation);
    }
    return response;
  };
  holder.fetch = Object.assign(checkedFetch, { openApiChecked: true as const });
}

/** The violations found since the last call (and forgets them): a test that provokes one on purpose takes it. */
export function takeViolations(): string[] {
  return state().violations.splice(0);
}

/** What was checked since the last call (and forgets it). */
export function takeCounts(): { checked: Record<string, number>; unchecked: Record<string, number> } {
  const { checked, unchecked } = state();
  const counts = { checked: Object.fromEntries(checked), unchecked: Object.fromEntries(unchecked) };
  checked.clear();
  unchecked.clear();
  return counts;
}
