// What the rules of src/domain refuse, said without any door's wire shape: each door maps these to its
// own answer (GraphQL: an error with extensions.code in src/doors/graphql/errors.ts; REST: a status and a
// FastAPI-style body in src/doors/rest/; the streams: the same before a stream opens). A door never
// catches another door's errors.

/** Why the viewer may not read what it asked for. */
export type AccessDenial =
  /** No bearer token was sent. */
  | 'anonymous'
  /** A token was sent that does not verify (signature, expiry, claims). */
  | 'invalid_token'
  /** The graph exists and the viewer is a user, but GRAPH_READ is not granted. */
  | 'not_member'
  /** Every graph's runs: superusers only. */
  | 'superusers_only';

export class AccessDeniedError extends Error {
  constructor(readonly denial: AccessDenial) {
    super(`access denied: ${denial}`);
    this.name = 'AccessDeniedError';
  }

  /** Not authenticated at all (no token, or one that does not verify), as opposed to authenticated but not allowed. */
  get unauthenticated(): boolean {
    return this.denial === 'anonymous' || this.denial === 'invalid_token';
  }
}

/** An argument the rules refuse; `reason` says what is wrong and how to fix it, in words every door can show. */
export class InvalidArgumentError extends Error {
  constructor(
    /** The argument's name in the API (`limit`, `first`, `after`, `status`, `since`, `until`). */
    readonly argument: string,
    readonly reason: string,
    /** For a number outside its bounds. */
    readonly range?: { value: number; min: number; max: number },
  ) {
    super(`invalid argument ${argument}: ${reason}`);
    this.name = 'InvalidArgumentError';
  }
}

/** A number outside `[min, max]`. */
export function outOfRange(argument: string, value: number, min: number, max: number): InvalidArgumentError {
  return new InvalidArgumentError(argument, `must be between ${min} and ${max}; got ${value}`, { value, min, max });
}

/** What was asked for does not exist (or no longer: a deleted graph). */
export class NotFoundError extends Error {
  constructor(readonly what: 'graph') {
    super(`${what} not found`);
    this.name = 'NotFoundError';
  }
}

/** A resume cursor older than the change history kept (LIVE_RETENTION_MS): the changes after it are gone. */
export class ResumeExpiredError extends Error {
  constructor(readonly retentionMs: number) {
    super('resume cursor expired');
    this.name = 'ResumeExpiredError';
  }
}

/** Every refusal of src/domain's rules: the errors a door maps. */
export type DomainError = AccessDeniedError | InvalidArgumentError | NotFoundError | ResumeExpiredError;

export function isDomainError(error: unknown): error is DomainError {
  return (
    error instanceof AccessDeniedError ||
    error instanceof InvalidArgumentError ||
    error instanceof NotFoundError ||
    error instanceof ResumeExpiredError
  );
}
