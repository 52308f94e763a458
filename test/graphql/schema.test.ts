// The schema the service executes describes itself as schema.graphql does: introspection (what the
// playground's docs and client generators read) and `_service { sdl }` (what a gateway reads) agree.
import { readFileSync } from 'node:fs';
import { buildSchema, graphqlSync, isScalarType } from 'graphql';
import { describe, expect, it } from 'vitest';
import { createSubgraphSchema, SCHEMA_FILE } from '../../src/doors/graphql/server.js';

describe('schema descriptions', () => {
  const schema = createSubgraphSchema();
  // The file parsed on its own (federation directives declared away), as the source of the texts.
  const sdl = readFileSync(SCHEMA_FILE, 'utf8').replace(/extend schema[\s\S]*?\)\n/, '');
  const source = buildSchema(`directive @key(fields: String!) repeatable on OBJECT
directive @cost(weight: Int!) on FIELD_DEFINITION
directive @listSize(slicingArguments: [String!], sizedFields: [String!], requireOneSlicingArgument: Boolean, assumedSize: Int) on FIELD_DEFINITION
directive @shareable on OBJECT
${sdl}`);

  it.each(['DateTime', 'UUID'])("introspection describes the %s scalar with schema.graphql's text", (name) => {
    const expected = source.getType(name)!.description;
    expect(expected).toBeTruthy();
    const result = graphqlSync({ schema, source: `{ __type(name: "${name}") { description } }` });
    expect(result.errors).toBeUndefined();
    expect((result.data as { __type: { description: string } }).__type.description).toBe(expected);
  });

  it('keeps every type and field description of schema.graphql', () => {
    for (const type of Object.values(source.getTypeMap())) {
      if (type.name.startsWith('__') || (isScalarType(type) && !type.astNode)) continue;
      expect(schema.getType(type.name)?.description ?? null, type.name).toBe(type.description ?? null);
    }
  });
});
