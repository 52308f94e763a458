// Reference server for the benchmark only: PostGraphile v5 (amber preset) over the same database, no
// auth, production settings (no Ruru/GraphiQL, no watch, no explain, no websockets), on node:http.
// Loopback only. Every statement its pool clients send is counted and served on /__statements so the
// benchmark measures SQL/request for it as for the other reference servers.
import { createServer } from 'node:http';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePgService } from 'postgraphile/adaptors/pg';
import { grafserv } from 'postgraphile/grafserv/node';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { pgSmartTags } from 'postgraphile/utils';

let statements = 0;
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_SIZE ?? 10) });
pool.on('connect', (client) => {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  (client as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
    statements += 1;
    if (process.env.LOG_SQL) console.error('[sql]', JSON.stringify(args[0])); // to see what it sends
    return query(...args);
  };
});

const preset: GraphileConfig.Preset = {
  extends: [PostGraphileAmberPreset],
  // Our slug is unique through a unique index, not a constraint; PostGraphile only derives
  // `graphBySlug` from constraints (or this smart tag).
  plugins: [pgSmartTags([{ kind: 'class', match: 'graphs', tags: { unique: 'slug' } }])],
  pgServices: [makePgService({ pool, schemas: ['public'] })],
  grafserv: { graphiql: false, watch: false, websockets: false, graphqlOverGET: false },
  grafast: { explain: false },
};

const pgl = postgraphile(preset);
const serv = pgl.createServ(grafserv);
// createHandler rather than serv.addTo(server): addTo answers every path itself (404 for unknown
// ones), and the counter needs a path of its own; websockets, the only thing addTo adds, are off.
const handle = serv.createHandler();
const server = createServer((req, res) => {
  if (req.url === '/__statements') {
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ statements }));
    return;
  }
  handle(req, res);
});
await pgl.getSchema(); // build the schema (introspection) before saying ready
server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('ready'));
process.once('SIGTERM', () =>
  server.close(() =>
    Promise.resolve(pgl.release())
      .then(() => pool.end())
      .then(() => process.exit(0)),
  ),
);
