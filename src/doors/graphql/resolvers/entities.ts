// Query._entities, in place of @apollo/subgraph's: the gateway's representations are checked one by
// one. Its resolver throws for the whole list on a representation it cannot place (an unknown
// __typename), and hands a missing or non-text key to __resolveReference, where it failed as an
// internal error; one bad entry nulled every entity of the batch. Here a malformed entry is a
// BAD_USER_INPUT error at its own index, a well-formed key that matches nothing is null, and the
// other entries resolve, still batched (each goes through the loaders).
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { Context } from '../../../domain/context.js';
import { Graph } from './Graph.js';
import { GraphMigrationRun } from './GraphMigrationRun.js';

type ResolveReference = (reference: Record<string, string>, context: Context, info: GraphQLResolveInfo) => unknown;

/** This subgraph's entities (schema.graphql's @key types): their key fields, in the order tried, and resolvers. */
const ENTITIES: Readonly<Record<string, { keys: readonly string[]; resolve: ResolveReference }>> = {
  Graph: { keys: ['id', 'slug'], resolve: Graph.__resolveReference as ResolveReference },
  GraphMigrationRun: { keys: ['id'], resolve: GraphMigrationRun.__resolveReference as ResolveReference },
};

const EXAMPLE = '{"__typename":"Graph","slug":"demo_knowledge"}';

function malformed(index: number, reason: string): GraphQLError {
  return new GraphQLError(`Representation ${index} ${reason}`, { extensions: { code: 'BAD_USER_INPUT', argumentName: 'representations' } });
}

const shown = (value: unknown) => {
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
};

/**
 * The representation reduced to its typename and the one key it is resolved by (`id` before `slug`
 * for a graph), or the error that says what is wrong with it. A key's value is text; a number is
 * read as its text (GraphQL's ID does so), and then, like any key nothing has, matches nothing.
 */
export function checkRepresentation(representation: unknown, index: number): Record<string, string> | GraphQLError {
  if (typeof representation !== 'object' || representation === null || Array.isArray(representation)) {
    return malformed(
      index,
      `must be an object with __typename and an entity's key fields, such as ${EXAMPLE}; got ${shown(representation)}`,
    );
  }
  const fields = representation as Record<string, unknown>;
  const typename = fields.__typename;
  const keys = typeof typename === 'string' && Object.hasOwn(ENTITIES, typename) ? ENTITIES[typename]!.keys : undefined;
  if (!keys) {
    const entities = Object.keys(ENTITIES).join(' or ');
    return typename === undefined
      ? malformed(index, `has no __typename: name the entity (${entities}), as in ${EXAMPLE}`)
      : malformed(index, `has __typename ${shown(typename)}, which is not an entity of this subgraph: use ${entities}`);
  }
  const present = keys.filter((key) => fields[key] !== undefined);
  const keyList = keys.map((key) => `"${key}"`).join(' or ');
  if (present.length === 0) return malformed(index, `(${typename}) has no key field: give ${keyList}, a string`);
  for (const key of present) {
    const value = fields[key];
    if (typeof value !== 'string' && typeof value !== 'number') {
      return malformed(index, `(${typename}) has "${key}": ${shown(value)}; a key field is a string`);
    }
  }
  const key = present[0]!;
  return { __typename: typename as string, [key]: String(fields[key]) };
}

export function resolveEntities(
  _parent: unknown,
  { representations }: { representations: unknown[] },
  context: Context,
  info: GraphQLResolveInfo,
) {
  return representations.map((representation, index) => {
    const checked = checkRepresentation(representation, index);
    // An Error in a list is that item's error: graphql-js (and graphql-jit) null the item alone.
    if (checked instanceof GraphQLError) return checked;
    const { __typename } = checked;
    // _Entity's type is read from __typename, as @apollo/subgraph sets it on what it resolves.
    return Promise.resolve(ENTITIES[__typename!]!.resolve(checked, context, info)).then((entity) =>
      entity === null || entity === undefined ? null : { ...(entity as object), __typename },
    );
  });
}
