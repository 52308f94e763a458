import { GraphQLError, GraphQLScalarType, Kind, print } from 'graphql';
import { DateTimeResolver, UUIDResolver } from 'graphql-scalars';
import { parseTimestamp } from '../../../queries/historyFilter.js';
import { isUuid } from '../../../queries/ids.js';
import { DATABASE_TIMESTAMP, wireTimestamp } from '../../../domain/timestamps.js';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import { Graph } from './Graph.js';
import { GraphMigrationRun } from './GraphMigrationRun.js';
import { GraphMigrationRunConnection, GraphMigrationRunEdge } from './GraphMigrationRunConnection.js';
import { resolveEntities } from './entities.js';
import { MigrationStats } from './MigrationStats.js';
import { Query } from './Query.js';
import { MigrationRunEvent, Subscription } from './Subscription.js';

// graphql-scalars' DateTime validates RFC 3339 but serializes through a JS Date, which keeps only
// milliseconds. Our timestamps arrive as the database's UTC text with microseconds: they are sent as
// REST sends them, the microseconds kept and a whole second without its fraction (checked by one
// cheap pattern; anything else goes through the full validation). As input (since/until),
// graphql-scalars would hand resolvers a Date, losing the microseconds a filter compares: an
// argument becomes the database's text instead (parseTimestamp), so resolvers get a string in the
// same format as every timestamp they read.
const NOT_A_STRING = 'a non-string value; send a string, an RFC 3339 date-time with a time zone such as 2026-04-17T21:25:43.123456Z';

const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  // Descriptions come from schema.graphql, as `_service { sdl }` serves them; graphql-scalars' generic
  // text would replace them in introspection (buildSubgraphSchema copies every defined property).
  description: undefined,
  serialize(value) {
    if (typeof value === 'string' && DATABASE_TIMESTAMP.test(value)) return wireTimestamp(value);
    const validated = DateTimeResolver.serialize(value);
    return typeof value === 'string' ? value : validated;
  },
  parseValue(value) {
    if (typeof value !== 'string') throw new TypeError(`Invalid DateTime ${JSON.stringify(value)}: ${NOT_A_STRING}`);
    const parsed = parseTimestamp(value);
    if (!parsed.ok) throw new TypeError(`Invalid DateTime: ${parsed.reason}`);
    return parsed.timestamp;
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING) throw new GraphQLError(`Invalid DateTime ${print(ast).slice(0, 64)}: ${NOT_A_STRING}`, { nodes: ast });
    const parsed = parseTimestamp(ast.value);
    if (!parsed.ok) throw new GraphQLError(`Invalid DateTime: ${parsed.reason}`, { nodes: ast });
    return parsed.timestamp;
  },
});

// graphql-scalars' UUID builds a new pattern for every value it serializes (two per run of a page):
// an id read from the database (uuid::text) passes one pattern built once, and is the same string
// graphql-scalars would return; anything else gets its full treatment.
const UUID = new GraphQLScalarType({
  ...UUIDResolver.toConfig(),
  description: undefined,
  serialize: (value) => (typeof value === 'string' && isUuid(value) ? value : UUIDResolver.serialize(value)),
});

export const resolvers: Resolvers = {
  DateTime,
  UUID,
  // Replaces @apollo/subgraph's _entities (buildSubgraphSchema adds the field; our resolvers are applied after its own).
  Query: { ...Query, _entities: resolveEntities } as Resolvers['Query'],
  Graph,
  GraphMigrationRun,
  GraphMigrationRunConnection,
  GraphMigrationRunEdge,
  MigrationStats,
  Subscription,
  MigrationRunEvent,
};
