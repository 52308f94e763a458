// The GRAPH_READ rule (docs/contract.md#permission-graph_read): a superuser, anyone on the default graph, a member with any role.
import { describe, expect, it } from 'vitest';
import { canReadGraph } from '../../src/auth/permissions.js';

const someone = { kind: 'user', id: '6f1c2a4e-8b7d-4c3a-9e21-5d0b7f3a9c11', isSuperuser: false } as const;
const superuser = { ...someone, isSuperuser: true } as const;

describe('canReadGraph', () => {
  it.each(['reader', 'writer', 'admin'])('grants a member with the role %s', (role) => {
    expect(canReadGraph(someone, { isDefault: false }, role)).toBe(true);
  });

  it('grants a superuser who is not a member', () => {
    expect(canReadGraph(superuser, { isDefault: false }, null)).toBe(true);
  });

  it('grants any user on the default graph', () => {
    expect(canReadGraph(someone, { isDefault: true }, null)).toBe(true);
  });

  it('refuses a user who is none of these', () => {
    expect(canReadGraph(someone, { isDefault: false }, null)).toBe(false);
  });
});
