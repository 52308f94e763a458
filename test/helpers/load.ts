// A short mixed load (REST and GraphQL history reads) on one or more running services at once, for
// the scale-out tests: bounded in time (SCALEOUT_LOAD_SECONDS, 3 by default) and loopback only.
import autocannon from 'autocannon';

export const LOAD_SECONDS = Number(process.env.SCALEOUT_LOAD_SECONDS ?? 3);

export interface LoadResult {
  url: string;
  requests: number;
  ok: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  rps: number;
  p99: number;
}

/** `connections` concurrent clients on each of `urls` for LOAD_SECONDS, reading `slugs`' histories as `token`. */
export async function mixedLoad(urls: string[], options: { token: string; slugs: string[]; connections: number }): Promise<LoadResult[]> {
  const authorization = `Bearer ${options.token}`;
  const requests = options.slugs.flatMap((slug) => [
    { method: 'GET' as const, path: `/api/v1/graphs/${slug}/migrations?limit=50` },
    {
      method: 'POST' as const,
      path: '/graphql',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify({ query: `{ graph(slug: "${slug}") { id migrations(limit: 20) { id status createdAt } } }` }),
    },
  ]);
  const results = await Promise.all(
    urls.map((url) =>
      autocannon({ url, connections: options.connections, duration: LOAD_SECONDS, timeout: 20, headers: { authorization }, requests }),
    ),
  );
  return results.map((result, i) => ({
    url: urls[i]!,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    rps: result.requests.average,
    p99: result.latency.p99,
  }));
}

/** One line per service, for the test log. */
export const describeLoad = (results: LoadResult[]) =>
  results
    .map(
      (r) =>
        `${r.url}: ${r.requests} requests (${Math.round(r.rps)}/s), 2xx ${r.ok}, non-2xx ${r.non2xx}, errors ${r.errors}, timeouts ${r.timeouts}, p99 ${r.p99} ms`,
    )
    .join('; ');
