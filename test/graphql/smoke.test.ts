import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_KINDS } from '../helpers/databases.js';
import { graphql, startTestService, type TestService } from '../helpers/service.js';

describe.each(DATABASE_KINDS)('smoke on %s', (kind) => {
  let service: TestService;
  beforeAll(async () => {
    service = await startTestService(kind, { seed: true });
  });
  afterAll(() => service?.close());

  it('serves the demo graph', async () => {
    const token = await service.token('6f1c2a4e-8b7d-4c3a-9e21-5d0b7f3a9c11');
    service.statements.length = 0;
    const result = await graphql(service.url, '{ graph(slug: "demo_knowledge") { slug migrations(limit: 2) { id createdAt } } }', { token });
    expect(result.errors).toBeUndefined();
    expect(result.data.graph.migrations).toHaveLength(2);
    expect(service.statements).toHaveLength(2);
  });
});
