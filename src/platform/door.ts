// What the platform knows of a door (GraphQL, REST): an encapsulated Fastify plugin with its routes,
// and the answers the platform asks it for when the platform itself answers a request on the door's
// paths before any route runs (overload, a URL the router cannot decode). The platform imports no
// door: src/service.ts hands it the doors.
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/** An answer written as it is: status, headers and the exact bytes. */
export interface Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** What the platform gives every door's plugin. */
export interface DoorOptions {
  /** Whether the peer at this address is a trusted proxy (TRUST_PROXY), whose X-Forwarded-* headers count. */
  trustedProxy: (address: string, hop: number) => boolean;
}

export interface Door {
  /** For logs and errors: `graphql`, `rest`. */
  name: string;
  /** Whether a request path (no query string, no trailing slash) is this door's. */
  owns(path: string): boolean;
  /**
   * Whether the request opens an event stream: the door bounds those itself (LIVE_MAX_STREAMS), and
   * the platform's in-flight bound never counts or refuses them.
   */
  opensStream(path: string, headers: IncomingHttpHeaders): boolean;
  /**
   * How the door refuses a request the instance is too loaded to serve (a 503 with Retry-After, or
   * what the client's library retries). Called per refusal: keep it to a prepared buffer.
   */
  overloaded(path: string, headers: IncomingHttpHeaders): Answer;
  /**
   * A request whose URL the router could not decode (bad percent-encoding, a parameter over the
   * router's length): the door answers it, or returns false for the platform's 404.
   */
  undecodable?(request: FastifyRequest, reply: FastifyReply): Promise<unknown> | false;
  /** The door's routes, hooks, error and not-found handling, registered encapsulated. */
  plugin: FastifyPluginAsync<DoorOptions>;
}

/** The request's path without query or trailing slash (the router ignores trailing slashes too). */
export function pathOf(url = '/'): string {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** The door that owns a path, if any. */
export function doorFinder(doors: readonly Door[]): (path: string) => Door | undefined {
  return (path) => doors.find((door) => door.owns(path));
}
