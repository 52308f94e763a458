import { GraphQLScalarType } from 'graphql';
import { DateTimeResolver, UUIDResolver } from 'graphql-scalars';
import type { Resolvers } from '../__generated__/resolvers-types.js';
import { Graph } from './Graph.js';
import { GraphMigrationRun } from './GraphMigrationRun.js';
import { Query } from './Query.js';

// graphql-scalars' DateTime validates RFC 3339 but serializes through a JS Date, which keeps only
// milliseconds. Our timestamps arrive as the database's UTC text with microseconds: validate, keep.
const DateTime = new GraphQLScalarType({
  ...DateTimeResolver.toConfig(),
  serialize(value) {
    const validated = DateTimeResolver.serialize(value);
    return typeof value === 'string' ? value : validated;
  },
});

export const resolvers: Resolvers = { DateTime, UUID: UUIDResolver, Query, Graph, GraphMigrationRun };
