// The OpenAPI 3.1 document of the REST door, served at GET /openapi.json: generated from the route
// declarations (routes.ts) and the platform's declarations of its own answers (/healthz, /readyz,
// the 408 and 431 that come before any route: src/platform/answers.ts), never written by hand.
// Every answer the test suite receives from a documented route is validated against it
// (test/helpers/openapiCheck.ts).
import { CLIENT_ERROR_ANSWERS, PLATFORM_ROUTES, type JsonSchema, type PlatformAnswer, type PlatformRoute } from '../../platform/answers.js';
import { component, componentName, REST_ROUTES, type HeaderDeclaration, type MediaDeclaration, type RouteDeclaration } from './routes.js';

export {
  ALL_MIGRATIONS_EXPORT_PATH,
  ALL_MIGRATIONS_PATH,
  ALL_MIGRATIONS_STATS_PATH,
  ALL_MIGRATIONS_STREAM_PATH,
  LATEST_MIGRATIONS_PATH,
  MIGRATIONS_EXPORT_PATH,
  MIGRATIONS_PATH,
  MIGRATIONS_STATS_PATH,
  MIGRATIONS_STREAM_PATH,
} from './routes.js';

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1), as far as this document uses it. */
export type SchemaObject = JsonSchema;

interface ResponseObject {
  description: string;
  headers?: Record<string, HeaderDeclaration>;
  content?: Record<string, MediaDeclaration>;
}

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  description: string;
  schema: SchemaObject;
}

interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters?: Parameter[];
  responses: Record<string, ResponseObject>;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; description: string };
  paths: Record<string, { get: Operation }>;
  components: {
    schemas: Record<string, SchemaObject>;
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; bearerFormat: string; description: string }>;
  };
}

// The platform's refusals before any route are named in the document as the routes' own refusals are.
component('RequestTimeoutError', CLIENT_ERROR_ANSWERS['408'].schema);
component('HeadersTooLargeError', CLIENT_ERROR_ANSWERS['431'].schema);

/** An answer the platform declares, as an OpenAPI response. */
function platformResponse({ description, schema, example, examples }: PlatformAnswer): ResponseObject {
  return {
    description,
    content: { 'application/json': { schema, ...(example !== undefined && { example }), ...(examples && { examples }) } },
  };
}

/** Answered on every path, before any route. */
const EVERY_PATH: Record<string, ResponseObject> = {
  '408': platformResponse(CLIENT_ERROR_ANSWERS['408']),
  '431': platformResponse(CLIENT_ERROR_ANSWERS['431']),
};

/** The document: each declared route, then the platform's own, and the schemas they name. */
export function generateDocument(
  routes: readonly RouteDeclaration[] = REST_ROUTES,
  platformRoutes: readonly PlatformRoute[] = PLATFORM_ROUTES,
): OpenApiDocument {
  const schemas: Record<string, SchemaObject> = {};
  /** The schema as the document holds it: a named one by reference (listed once under components), any other copied. */
  const schemaOf = (schema: SchemaObject): SchemaObject => {
    const name = componentName(schema);
    if (name === undefined) return copy(schema);
    if (!(name in schemas)) {
      schemas[name] = {};
      schemas[name] = copy(schema);
    }
    return { $ref: `#/components/schemas/${name}` };
  };
  const copy = (schema: SchemaObject): SchemaObject => {
    const each = (list: SchemaObject[] | undefined) => list && list.map(schemaOf);
    return {
      ...schema,
      ...(schema.items && { items: schemaOf(schema.items) }),
      ...(schema.prefixItems && { prefixItems: each(schema.prefixItems) }),
      ...(schema.anyOf && { anyOf: each(schema.anyOf) }),
      ...(schema.oneOf && { oneOf: each(schema.oneOf) }),
      ...(schema.properties && {
        properties: Object.fromEntries(Object.entries(schema.properties).map(([key, value]) => [key, schemaOf(value)])),
      }),
      ...(typeof schema.additionalProperties === 'object' && { additionalProperties: schemaOf(schema.additionalProperties) }),
    };
  };
  const responsesOf = (responses: Record<string, ResponseObject>): Record<string, ResponseObject> =>
    Object.fromEntries(
      Object.entries({ ...responses, ...EVERY_PATH })
        .sort(([a], [b]) => Number(a) - Number(b))
        .map(([status, { description, headers, content }]) => [
          status,
          {
            description,
            ...(headers && {
              headers: Object.fromEntries(
                Object.entries(headers).map(([name, header]) => [name, { ...header, schema: schemaOf(header.schema) }]),
              ),
            }),
            ...(content && {
              content: Object.fromEntries(
                Object.entries(content).map(([type, media]) => [type, { ...media, schema: schemaOf(media.schema) }]),
              ),
            }),
          },
        ]),
    );
  const paths: OpenApiDocument['paths'] = {};
  for (const route of routes) {
    paths[route.path] = {
      get: {
        operationId: route.operationId,
        summary: route.summary,
        description: route.description,
        tags: ['graphs'],
        security: [{ HTTPBearer: [] }],
        parameters: route.parameters.map(({ name, in: location, required, description, schema }) => ({
          name,
          in: location,
          required,
          description,
          schema: schemaOf(schema),
        })),
        responses: responsesOf(route.responses),
      },
    };
  }
  for (const { path, operationId, summary, answers } of platformRoutes) {
    const responses = Object.fromEntries(Object.entries(answers).map(([status, answer]) => [status, platformResponse(answer)]));
    paths[path] = { get: { operationId, summary, tags: ['operations'], security: [], responses: responsesOf(responses) } };
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    info: {
      title: 'graph-migrations-subgraph REST API',
      version: '1.0.0',
      description:
        'The REST shim of the graph-migrations subgraph. It keeps the wire contract of the Python service it replaces: the same paths, bodies, status codes and FastAPI error shapes. GraphQL is served at POST /graphql.',
    },
    paths,
    components: {
      schemas,
      securitySchemes: {
        HTTPBearer: {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description:
            'A JWT (HS256 with the configured secret, or RS256/ES256 from the configured JWKS); `sub` is the user id, `is_superuser: true` marks a superuser.',
        },
      },
    },
  };
}

export const OPENAPI_DOCUMENT: OpenApiDocument = generateDocument();
