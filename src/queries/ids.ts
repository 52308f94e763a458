// What a client sends as an id is untrusted text; checked before it reaches a statement.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Client-supplied ids are untrusted: a value that is not a UUID cannot match a row. */
export function isUuid(value: string): boolean {
  return UUID.test(value);
}
