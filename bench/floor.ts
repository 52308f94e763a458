// Reference server for the benchmark only: the least any Node service can do for these requests.
// node:http + pg, one optimal SQL statement per request, JSON.stringify of the rows. No auth, no GraphQL.
import { createServer } from 'node:http';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
const TS = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
const COLUMNS = `r.id, r.graph_id, r.from_version, r.to_version, r.migration_id, r.status, ${TS('r.started_at')} AS started_at,
  ${TS('r.finished_at')} AS finished_at, r.error, r.workflow_run_id, ${TS('r.created_at')} AS created_at`;

const HISTORY_BY_SLUG = `SELECT ${COLUMNS} FROM graphs g CROSS JOIN LATERAL (
  SELECT * FROM graph_migration_runs WHERE graph_id = g.id ORDER BY created_at DESC, id DESC LIMIT $2) r
  WHERE g.slug = $1`;
const HISTORIES_BY_IDS = `SELECT k.ord, ${COLUMNS} FROM unnest($1::uuid[]) WITH ORDINALITY AS k(graph_id, ord)
  CROSS JOIN LATERAL (SELECT * FROM graph_migration_runs WHERE graph_id = k.graph_id ORDER BY created_at DESC, id DESC LIMIT $2) r`;

// Every statement this server sends, so the benchmark counts statements per request for it too.
let statements = 0;
const query = (text: string, values: unknown[]) => {
  statements += 1;
  return pool.query(text, values);
};

const server = createServer(async (req, res) => {
  try {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let rows: unknown;
    if (url.pathname === '/__statements') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statements }));
      return;
    }
    const history = /^\/api\/v1\/graphs\/([^/]+)\/migrations$/.exec(url.pathname);
    if (history) {
      rows = (await query(HISTORY_BY_SLUG, [decodeURIComponent(history[1]!), Number(url.searchParams.get('limit') ?? 100)])).rows;
    } else if (url.pathname === '/entities' && req.method === 'POST') {
      let body = '';
      for await (const chunk of req) body += chunk;
      const { ids, limit } = JSON.parse(body) as { ids: string[]; limit: number };
      rows = (await query(HISTORIES_BY_IDS, [ids, limit])).rows;
    } else {
      res.writeHead(404).end();
      return;
    }
    const payload = JSON.stringify(rows);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }).end(payload);
  } catch (error) {
    console.error(error);
    res.writeHead(500).end();
  }
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.once('SIGTERM', () => server.close(() => pool.end().then(() => process.exit(0))));
